//! Fuzzing the graph loader and validator (a property test standing in for `cargo fuzz`,
//! which needs nightly): mutated valid graphs and arbitrary bytes go through
//! `Graph::from_source`; none may panic, and every error must carry a location
//! (`file:line:col`, or the node it concerns).
//!
//! In CI a fixed number of executions runs from a fixed seed. `SCANFLOW_FUZZ_SECS=600`
//! runs for that long instead (`SCANFLOW_FUZZ_SEED` picks the seed), prints executions per
//! second, and saves failing inputs (`crash-*`) and inputs giving a new kind of error
//! message (`msg-*`) into `tests/fuzz-corpus/`, every file of which is replayed below.

mod mutate;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mutate::{dictionary, mutate, Rng};
use scanflow::spec::SourceText;
use scanflow::{Diagnostic, Graph, Registry};

/// The name inputs are reported under.
const NAME: &str = "fuzz.ron";
/// Executions in a CI run.
const CI_EXECUTIONS: u64 = 20_000;
/// Most `msg-*` files one long run adds to the corpus.
const MAX_SAVED: usize = 40;
/// Longest input tried (mutants are cut to it, so inputs do not grow without bound).
const MAX_INPUT: usize = 16 * 1024;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    root().join("tests/fuzz-corpus")
}

/// The files of `dir` with extension `ext` (any when `None`), sorted.
fn files(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| ext.is_none_or(|ext| p.extension().is_some_and(|e| e == ext)));
    files.sort();
    files
}

/// The valid graphs, the golden bad graphs, and the corpus.
fn seeds() -> Vec<Vec<u8>> {
    let mut paths = files(&root().join("graphs"), Some("ron"));
    paths.extend(files(&root().join("tests/graphs/bad"), Some("ron")));
    paths.extend(files(&corpus_dir(), None));
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Whether `location` is `NAME:line:col`.
fn has_line_col(location: &str) -> bool {
    let Some(rest) = location.strip_prefix(&format!("{NAME}:")) else {
        return false;
    };
    let mut parts = rest.split(':');
    let number =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    number(parts.next()) && number(parts.next()) && parts.next().is_none()
}

/// Whether an error says where it is: a line and column, or its node.
fn located(d: &Diagnostic) -> bool {
    has_line_col(&d.location) || (d.location.starts_with(NAME) && d.node.is_some())
}

/// What loading `input` gave: `Ok(signature of the first error)` or `Err(why it failed the property)`.
fn check(input: &[u8], registry: &Registry) -> Result<String, String> {
    let text = String::from_utf8_lossy(input).into_owned();
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        Graph::from_source(SourceText::new(NAME, text), registry, &[])
    }));
    let errors = match loaded {
        Err(panic) => return Err(format!("panic: {}", panic_text(&*panic))),
        Ok(Ok(_)) => return Ok(String::from("ok")),
        Ok(Err(diagnostics)) => diagnostics.0,
    };
    let errors: Vec<&Diagnostic> = errors
        .iter()
        .filter(|d| d.severity == scanflow::diagnostic::Severity::Error)
        .collect();
    if errors.is_empty() {
        return Err("failed without an error".into());
    }
    if let Some(bad) = errors.iter().find(|d| !located(d) || d.message.is_empty()) {
        return Err(format!("error without a location: {bad}"));
    }
    Ok(signature(&errors[0].message))
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// The kind of error a message is: its lower-case words before the first quote (quoted
/// parts echo the input, and may themselves hold quotes).
fn signature(message: &str) -> String {
    let head = message.split(['`', '"', '\'']).next().unwrap_or_default();
    let words: Vec<&str> = head
        .split(|c: char| !c.is_ascii_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ")
}

/// How long a campaign runs.
enum Budget {
    Executions(u64),
    Time(Duration),
}

/// What a campaign found.
#[derive(Default)]
struct Findings {
    executions: u64,
    failures: Vec<(Vec<u8>, String)>,
    kinds: HashSet<String>,
    saved: usize,
}

/// Mutates seeds (and, one time in sixteen, strings random bytes and tokens) until the
/// budget is spent; inputs giving a new kind of error join the pool.
fn campaign(seed: u64, budget: &Budget, save: bool) -> Findings {
    let registry = Registry::builtin();
    let words = dictionary(&registry);
    let mut pool = seeds();
    let mut rng = Rng::new(seed);
    let mut found = Findings::default();
    let start = Instant::now();
    while match budget {
        Budget::Executions(n) => found.executions < *n,
        Budget::Time(t) => start.elapsed() < *t,
    } {
        let input = next_input(&mut rng, &pool, &words);
        found.executions += 1;
        match check(&input, &registry) {
            Err(why) => record_failure(&mut found, input, why, save),
            Ok(kind) if found.kinds.insert(kind.clone()) => {
                if save && found.saved < MAX_SAVED {
                    found.saved += 1;
                    store(&input, "msg");
                }
                pool.push(input);
            }
            Ok(_) => {}
        }
    }
    found
}

/// A mutant of a pool member or, one time in sixteen, a soup; at most [`MAX_INPUT`] bytes.
fn next_input(rng: &mut Rng, pool: &[Vec<u8>], words: &[String]) -> Vec<u8> {
    let mut input = match rng.below(16) {
        0 => soup(rng, words),
        _ => {
            let parent = &pool[rng.below(pool.len())];
            mutate(rng, parent, pool, words)
        }
    };
    input.truncate(MAX_INPUT);
    input
}

/// Random bytes and dictionary words strung together.
fn soup(rng: &mut Rng, words: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(64) {
        match rng.below(2) {
            0 => out.push(rng.next() as u8),
            _ => out.extend_from_slice(rng.pick(words).as_bytes()),
        }
    }
    out
}

fn record_failure(found: &mut Findings, input: Vec<u8>, why: String, save: bool) {
    if found.failures.iter().any(|(_, w)| *w == why) {
        return;
    }
    eprintln!(
        "FAILURE ({why}) on input:\n{}",
        String::from_utf8_lossy(&input)
    );
    if save {
        store(&input, "crash");
    }
    found.failures.push((input, why));
}

/// Writes `input` into the corpus as `<prefix>-<hash>.ron`.
fn store(input: &[u8], prefix: &str) {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    std::fs::create_dir_all(corpus_dir()).unwrap();
    std::fs::write(
        corpus_dir().join(format!("{prefix}-{hash:016x}.ron")),
        input,
    )
    .unwrap();
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn mutated_graphs_never_panic_and_every_error_is_located() {
    let secs = env_u64("SCANFLOW_FUZZ_SECS");
    let seed = env_u64("SCANFLOW_FUZZ_SEED").unwrap_or(0);
    let budget = match secs {
        Some(s) => Budget::Time(Duration::from_secs(s)),
        None => Budget::Executions(CI_EXECUTIONS),
    };
    let start = Instant::now();
    let found = campaign(seed, &budget, secs.is_some());
    let elapsed = start.elapsed().as_secs_f64();
    eprintln!(
        "graph fuzz: seed {seed}, {} executions in {elapsed:.1} s ({:.0}/s), {} kinds of error, {} failures, {} inputs saved",
        found.executions,
        found.executions as f64 / elapsed,
        found.kinds.len(),
        found.failures.len(),
        found.saved,
    );
    let whys: Vec<&String> = found.failures.iter().map(|(_, why)| why).collect();
    assert!(whys.is_empty(), "{whys:#?}");
    assert!(
        found.kinds.len() > 20,
        "the mutator reaches too few kinds of error"
    );
}

#[test]
fn corpus_inputs_replay_without_panic_and_with_locations() {
    let registry = Registry::builtin();
    for path in files(&corpus_dir(), None) {
        let input = std::fs::read(&path).unwrap();
        if let Err(why) = check(&input, &registry) {
            panic!("{}: {why}", path.display());
        }
    }
}

/// Shipped graphs load, except that a graph for the user's own data (`features.ron` reads
/// `data/features.npy`, which a fresh clone lacks) may name a missing input file, and only that.
#[test]
fn shipped_graphs_are_valid_seeds() {
    let registry = Registry::builtin();
    for path in files(&root().join("graphs"), Some("ron")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let Err(diagnostics) = Graph::from_source(SourceText::new(NAME, text), &registry, &[])
        else {
            continue;
        };
        for error in diagnostics.errors() {
            assert!(
                error.message.contains("data/") && error.message.contains("is not a file"),
                "{}: {error:?}",
                path.display()
            );
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let registry = Registry::builtin();
    for open in ["(", "[", "{", "Some("] {
        let text = format!(
            "Graph(name: \"x\", nodes: {{\"a\": Images(source: {})}})",
            open.repeat(100_000)
        );
        assert!(check(text.as_bytes(), &registry).is_ok(), "{open}");
    }
}

#[test]
fn graph_file_that_is_not_utf8_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.ron");
    std::fs::write(&path, b"Graph(name: \"caf\xe9\", nodes: {})").unwrap();
    let Err(errors) = Graph::from_file(&path, &Registry::builtin(), &[]) else {
        panic!("a file that is not UTF-8 loaded");
    };
    let errors = errors.0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].location, path.display().to_string());
    assert!(
        errors[0].message.contains("cannot read the graph file"),
        "{}",
        errors[0]
    );
}
