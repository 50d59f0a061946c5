//! `scanflow ops`: every operator described from the registry — the same descriptions
//! the parser and validator use, with defaults taken from each parameter struct.

use std::fmt::Write;

use scanflow::ops::ErasedOperator;
use scanflow::Registry;

/// The text of `scanflow ops`.
pub fn operators(registry: &Registry) -> String {
    let mut text = String::new();
    for op in registry.iter() {
        describe(op.as_ref(), &mut text);
    }
    text.push_str("Every node also accepts `capacity` (its input channels' capacity) and `workers` (threads it may use).\n");
    text
}

fn describe(op: &dyn ErasedOperator, text: &mut String) {
    let output = op
        .output()
        .map_or("nothing (sink)".to_string(), |p| p.describe());
    let _ = writeln!(
        text,
        "{}\n    {}\n    output: {output}",
        op.name(),
        op.summary()
    );
    for port in op.inputs() {
        let need = if port.required {
            "required"
        } else {
            "optional"
        };
        let _ = writeln!(
            text,
            "    input  {:<12} {} ({need}): {}",
            port.field, port.payload, port.doc
        );
    }
    let defaults = scanflow::ops::default_fields(op);
    for param in op.params() {
        let default = defaults
            .iter()
            .find(|(name, _)| name == param.name)
            .map_or("required".to_string(), |(_, value)| {
                format!("default {value}")
            });
        let _ = writeln!(
            text,
            "    param  {:<12} {} [{default}]: {}",
            param.name, param.ty, param.doc
        );
    }
    text.push('\n');
}
