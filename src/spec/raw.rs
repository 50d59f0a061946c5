//! Serde helpers that keep RON text unparsed: an ordered node map and a struct body,
//! each value kept as a borrowed [`RawValue`] so its position in the file is known.

use std::fmt;

use ron::value::RawValue;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// `{ "id": Operator(...), ... }` in file order, values unparsed.
pub struct RawMap<'a>(pub Vec<(String, &'a RawValue)>);

/// The body of a struct, `(field: value, ...)`, in file order, values unparsed.
pub struct RawFields<'a>(pub Vec<(String, &'a RawValue)>);

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("named entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(entries)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawMap<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = deserializer.deserialize_map(EntriesVisitor)?;
        Ok(RawMap(entries))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = deserializer.deserialize_struct("", &[], EntriesVisitor)?;
        Ok(RawFields(entries))
    }
}

/// Checks that `text` is one RON string literal and returns its value.
pub fn parse_string(text: &str) -> Option<String> {
    ron::from_str::<String>(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_order_and_raw_text() {
        let text = "(b: Folder(path: \"x\"), a: (1, 2), c: \"s\")";
        let fields: RawFields = ron::from_str(text).unwrap();
        let names: Vec<_> = fields.0.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(fields.0[0].1.get_ron(), "Folder(path: \"x\")");
        assert_eq!(fields.0[1].1.get_ron(), "(1, 2)");
    }

    #[test]
    fn map_keeps_file_order() {
        let map: RawMap = ron::from_str("{\"z\": A(), \"a\": B}").unwrap();
        assert_eq!(map.0[0].0, "z");
        assert_eq!(map.0[1].1.get_ron(), "B");
    }
}
