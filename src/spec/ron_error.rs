//! RON parse errors rephrased for people: lower-case sentences, located in the graph file,
//! with a "did you mean" for misspelt fields and variants.

use ron::error::{Error, SpannedError};

use super::{offset_in, SourceText};
use crate::diagnostic::{did_you_mean, Diagnostic};

/// A message and an optional hint for a RON error.
pub fn describe_ron_error(error: &Error) -> (String, Option<String>) {
    let inside = |outer: &Option<String>| {
        outer
            .as_ref()
            .map_or(String::new(), |o| format!(" in `{o}`"))
    };
    match error {
        Error::NoSuchStructField {
            expected,
            found,
            outer,
        } => (
            format!("unknown field `{found}`{}", inside(outer)),
            hint(found, expected),
        ),
        Error::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => (
            format!("unknown variant `{found}`{}", inside(outer)),
            hint(found, expected),
        ),
        Error::MissingStructField { field, outer } => (
            format!("missing required field `{field}`{}", inside(outer)),
            None,
        ),
        other => (lower_first(&other.to_string()), None),
    }
}

fn hint(found: &str, expected: &[&str]) -> Option<String> {
    did_you_mean(found, expected.iter().copied()).or_else(|| {
        let names: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
        (!names.is_empty()).then(|| format!("expected one of {}", names.join(", ")))
    })
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A RON parse error found in `text` (which starts at byte `base` of the file), located in the file.
pub fn ron_error(source: &SourceText, base: usize, text: &str, error: &SpannedError) -> Diagnostic {
    let offset = base + offset_in(text, error.span.start);
    let (message, hint) = describe_ron_error(&error.code);
    Diagnostic::error(source.location(Some(offset)), message).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_field_gets_a_suggestion() {
        let error = Error::NoSuchStructField {
            expected: &["name", "seed", "nodes"],
            found: "sead".into(),
            outer: Some("Graph".into()),
        };
        let (message, hint) = describe_ron_error(&error);
        assert_eq!(message, "unknown field `sead` in `Graph`");
        assert_eq!(hint.as_deref(), Some("did you mean `seed`?"));
    }

    #[test]
    fn other_errors_are_lower_cased() {
        assert_eq!(
            describe_ron_error(&Error::ExpectedInteger).0,
            "expected integer"
        );
    }
}
