//! [`Diagnostic`]: one problem found in a graph file, located by file, line:column, node and
//! field, with an optional "did you mean" hint; [`Diagnostics`] collects all of a file's.

use std::fmt;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Severity {
    /// The graph cannot run.
    Error,
    /// The graph runs, but probably not as intended.
    Warning,
}

/// One problem in a graph file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where it is: `file:line:col`, `file`, or `--set node.param`.
    pub location: String,
    /// The node concerned, if any.
    pub node: Option<String>,
    /// The field concerned, if any.
    pub field: Option<String>,
    /// What is wrong, as a lower-case sentence.
    pub message: String,
    /// A suggestion, e.g. "did you mean `train`?".
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location: location.into(),
            node: None,
            field: None,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `location`.
    pub fn warning(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(location, message)
        }
    }

    /// Names the node concerned.
    pub fn node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// Names the field concerned.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a hint (only if there is one).
    pub fn hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{kind}: {}: ", self.location)?;
        match (&self.node, &self.field) {
            (Some(node), Some(field)) => write!(f, "node `{node}`, field `{field}`: ")?,
            (Some(node), None) => write!(f, "node `{node}`: ")?,
            (None, Some(field)) => write!(f, "field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every error (and warning) found in one graph file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// True when at least one error was found.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let errors = self.errors().count();
        write!(f, "{errors} error{}", if errors == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

/// The closest of `candidates` to `word`, phrased as a hint, when one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["train", "views", "pretext"];
        assert_eq!(
            did_you_mean("trian", names),
            Some("did you mean `train`?".into())
        );
        assert_eq!(did_you_mean("zzz", names), None);
    }

    #[test]
    fn display_names_location_node_and_field() {
        let d = Diagnostic::error("g.ron:3:7", "no node named `trian`")
            .node("views")
            .field("input")
            .hint(Some("did you mean `train`?".into()));
        assert_eq!(
            d.to_string(),
            "error: g.ron:3:7: node `views`, field `input`: no node named `trian` (did you mean `train`?)"
        );
    }
}
