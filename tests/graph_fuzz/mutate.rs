//! A small deterministic mutator for graph files: a seeded xorshift generator and eight
//! mutations (byte flip, byte insert, range delete, range duplicate, dictionary token
//! insert, line splice from another seed, extreme-number substitution, truncation).

/// xorshift64* — a fixed, seedable generator, so every run with a seed is reproducible.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniform index below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// RON syntax and values that stress the parser and the validator.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "'",
    "\n",
    "//",
    "/*",
    "*/",
    "r#\"",
    "\"#",
    "Some(",
    "None",
    "true",
    "false",
    "()",
    "#![enable(implicit_some)]",
    "0",
    "-1",
    "1e309",
    "-0.0",
    "NaN",
    "inf",
    "18446744073709551616",
    "-9223372036854775809",
    "4294967296",
    "0x",
    "1_000",
    "\"\"",
    "\"../\"",
    "\"/\"",
    "\"\\u{0}\"",
    "é",
    "\u{feff}",
    "\\",
    "nodes",
    "name",
    "seed",
    "device",
    "capacity",
    "input",
    "model",
    "path",
    "Graph(",
    "Folder(",
    "Cifar10(",
    "Auto",
    "Cpu",
    "Cuda(0)",
    "(32, 32)",
    "[16, 32]",
];

/// Numbers a mutated literal is replaced with.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "-1e309",
    "4294967295",
    "18446744073709551615",
    "0.0",
    "1e-320",
    "99999999999999999999999",
    "-0",
    "NaN",
];

/// The mutation dictionary: [`TOKENS`] plus every operator and parameter name of `registry`.
pub fn dictionary(registry: &scanflow::Registry) -> Vec<String> {
    let mut words: Vec<String> = TOKENS.iter().map(|t| t.to_string()).collect();
    for op in registry.iter() {
        words.push(format!("{}(", op.name()));
        words.push(op.default_params());
        words.extend(op.params().iter().map(|p| format!("{}: ", p.name)));
        words.extend(op.inputs().iter().map(|p| format!("{}: ", p.field)));
    }
    words
}

/// Applies one to four random mutations to `input`, drawing splices from `pool`.
pub fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>], words: &[String]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        mutate_once(rng, &mut out, pool, words);
    }
    out
}

fn mutate_once(rng: &mut Rng, out: &mut Vec<u8>, pool: &[Vec<u8>], words: &[String]) {
    let at = rng.below(out.len() + 1);
    match rng.below(8) {
        0 if at < out.len() => out[at] ^= 1 << rng.below(8),
        1 => out.insert(at, rng.next() as u8),
        2 => {
            let end = (at + 1 + rng.below(16)).min(out.len());
            out.drain(at.min(end)..end);
        }
        3 => {
            let end = (at + 1 + rng.below(64)).min(out.len());
            let copy = out[at.min(end)..end].to_vec();
            let to = rng.below(out.len() + 1);
            out.splice(to..to, copy);
        }
        4 => insert(out, at, rng.pick(words).as_bytes()),
        5 => {
            let donor = rng.pick(pool).clone();
            splice_line(rng, out, at, &donor);
        }
        6 => replace_number(rng, out),
        _ => out.truncate(at),
    }
}

fn insert(out: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    out.splice(at..at, bytes.iter().copied());
}

/// Inserts one random line of `donor` at `at`.
fn splice_line(rng: &mut Rng, out: &mut Vec<u8>, at: usize, donor: &[u8]) {
    let lines: Vec<&[u8]> = donor.split_inclusive(|&b| b == b'\n').collect();
    if !lines.is_empty() {
        let line = lines[rng.below(lines.len())];
        insert(out, at, line);
    }
}

/// Replaces the digits around a random position with an extreme number.
fn replace_number(rng: &mut Rng, out: &mut Vec<u8>) {
    let digits: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return;
    }
    let start = *rng.pick(&digits);
    let end = (start..out.len())
        .find(|&i| !out[i].is_ascii_digit() && out[i] != b'.')
        .unwrap_or(out.len());
    out.splice(start..end, rng.pick(EXTREMES).bytes());
}
