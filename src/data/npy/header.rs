//! Parsing the Python-literal header dict of a `.npy` file, e.g.
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`: string keys; values that
//! are strings, `True`/`False` or tuples of integers.

/// A parsed header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    /// A quoted string.
    Str(String),
    /// `True` or `False`.
    Bool(bool),
    /// A tuple of non-negative integers.
    Tuple(Vec<u64>),
}

/// The three header fields a `.npy` file must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// The dtype, e.g. `<f4`.
    pub descr: String,
    /// Whether the data is stored column-major.
    pub fortran_order: bool,
    /// The array shape.
    pub shape: Vec<u64>,
}

/// Parses a header dict; the error says what could not be parsed.
pub(super) fn parse_header(text: &str) -> Result<Header, String> {
    let entries = parse_dict(text)?;
    let field = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("the header has no '{key}' key"))
    };
    match (field("descr")?, field("fortran_order")?, field("shape")?) {
        (Value::Str(descr), Value::Bool(fortran_order), Value::Tuple(shape)) => Ok(Header {
            descr,
            fortran_order,
            shape,
        }),
        _ => Err("the header's 'descr', 'fortran_order' or 'shape' has the wrong type".into()),
    }
}

/// A cursor over the header text.
struct Parser<'a> {
    rest: &'a str,
}

/// Parses `{key: value, ...}` (trailing comma allowed) into its entries.
fn parse_dict(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut p = Parser { rest: text.trim() };
    p.expect('{')?;
    let mut entries = Vec::new();
    while !p.eat('}') {
        let key = p.string()?;
        p.expect(':')?;
        entries.push((key, p.value()?));
        if !p.eat(',') {
            p.expect('}')?;
            break;
        }
    }
    if !p.rest.trim().is_empty() {
        return Err(format!(
            "unexpected `{}` after the header dict",
            p.rest.trim()
        ));
    }
    Ok(entries)
}

impl Parser<'_> {
    /// Skips spaces, then consumes `c` when it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Consumes `c` or fails saying what came instead.
    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            return Ok(());
        }
        let found: String = self.rest.chars().take(12).collect();
        Err(format!(
            "expected `{c}` in the header dict, found `{found}`"
        ))
    }

    /// A single- or double-quoted string without escapes.
    fn string(&mut self) -> Result<String, String> {
        self.rest = self.rest.trim_start();
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err("expected a quoted key or string in the header dict".into()),
        };
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or("unterminated string in the header dict")?;
        self.rest = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    /// A string, `True`, `False` or a tuple of integers.
    fn value(&mut self) -> Result<Value, String> {
        self.rest = self.rest.trim_start();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(Value::Bool(value));
            }
        }
        if self.eat('(') {
            return self.tuple().map(Value::Tuple);
        }
        self.string().map(Value::Str)
    }

    /// The rest of a tuple after its `(`: integers separated by commas, then `)`.
    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        let mut items = Vec::new();
        while !self.eat(')') {
            let digits = self.rest.len()
                - self
                    .rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let number = self.rest[..digits].parse().map_err(|_| {
                format!(
                    "bad shape entry `{}`",
                    self.rest.chars().take(12).collect::<String>()
                )
            })?;
            self.rest = &self.rest[digits..];
            items.push(number);
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
}
