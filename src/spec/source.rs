//! [`SourceText`]: a graph file's text and name, turning byte offsets (and positions reported
//! by RON for a slice of it) into `file:line:col` locations.

use ron::error::Position;

/// The text of a graph file and the name to report it by.
#[derive(Clone, Debug)]
pub struct SourceText {
    /// File path as given by the user (or `<memory>`).
    pub name: String,
    /// The whole file.
    pub text: String,
}

impl SourceText {
    /// Wraps `text` read from `name`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceText {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based (line, column) of a byte offset; columns count characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// `file:line:col` for an offset, or just the file name when there is none.
    pub fn location(&self, offset: Option<usize>) -> String {
        match offset {
            Some(offset) => {
                let (line, col) = self.line_col(offset);
                format!("{}:{line}:{col}", self.name)
            }
            None => self.name.clone(),
        }
    }

    /// Byte offset in the file of `slice`, which must borrow from this file's text.
    pub fn offset_of(&self, slice: &str) -> Option<usize> {
        let start = self.text.as_ptr() as usize;
        let at = slice.as_ptr() as usize;
        (at >= start && at <= start + self.text.len()).then(|| at - start)
    }
}

/// Byte offset inside `text` of a 1-based RON `position` reported while parsing `text`.
pub fn offset_in(text: &str, position: Position) -> usize {
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if index + 1 == position.line {
            let col = position.col.saturating_sub(1);
            return offset + line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
        }
        offset += line.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let source = SourceText::new("g.ron", "ab\ncdé\nf");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(4), (2, 2));
        assert_eq!(source.line_col(8), (3, 1));
        assert_eq!(source.location(Some(3)), "g.ron:2:1");
    }

    #[test]
    fn offset_in_inverts_line_col() {
        let text = "ab\ncdé\nf";
        assert_eq!(offset_in(text, Position { line: 2, col: 3 }), 5);
        assert_eq!(offset_in(text, Position { line: 3, col: 1 }), 8);
    }
}
