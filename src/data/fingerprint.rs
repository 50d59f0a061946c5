//! The fingerprint of a data source that cache keys include: what its bytes are, not when
//! they were written. A file is fingerprinted by its size and a digest of its content; a
//! directory tree by each file's relative path, size and digest, in sorted order. So a copy,
//! a fresh checkout or data provisioned again with the same bytes keeps every cached result,
//! while an edit that keeps the size (an `.npy` overwritten in place) invalidates them.
//!
//! Reading costs about a second per few GB (a folder of 10,000 CIFAR JPEGs: 0.3 s). Each
//! process reads a source once: later calls reuse the digest while the files' sizes and
//! modification times are unchanged. Sources larger than [`CONTENT_LIMIT`] in total fall back
//! to metadata (file count, total size, newest modification time), so a run never starts by
//! reading terabytes.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;

use crate::hash::StableHasher;

/// Sources up to this many bytes are fingerprinted by content, larger ones by metadata.
pub const CONTENT_LIMIT: u64 = 4 << 30;

/// Fingerprint of the file or directory tree at `path` (symlinked folders are not followed).
pub fn fingerprint_path(path: &Path) -> io::Result<String> {
    fingerprint_within(path, CONTENT_LIMIT)
}

/// Content fingerprints computed by this process, by path, with the [`listing_hash`] they
/// hold for.
static COMPUTED: LazyLock<Mutex<HashMap<PathBuf, (String, String)>>> =
    LazyLock::new(Mutex::default);

fn fingerprint_within(path: &Path, content_limit: u64) -> io::Result<String> {
    let meta = fs::metadata(path)?;
    let is_dir = meta.is_dir();
    let files = list_files(path, &meta)?;
    let total: u64 = files.iter().map(|f| f.len).sum();
    if total > content_limit {
        return Ok(metadata_fingerprint(is_dir, &files, total));
    }
    let listing = listing_hash(&files);
    let memo = COMPUTED.lock().ok().and_then(|m| m.get(path).cloned());
    if let Some((held_for, fingerprint)) = memo {
        if held_for == listing {
            return Ok(fingerprint);
        }
    }
    let fingerprint = content_fingerprint(path, is_dir, &files, total)?;
    if let Ok(mut computed) = COMPUTED.lock() {
        computed.insert(path.to_path_buf(), (listing, fingerprint.clone()));
    }
    Ok(fingerprint)
}

/// A hash of every file's relative path, size and modification time: while it holds, a
/// digest computed earlier still stands.
fn listing_hash(files: &[TreeFile]) -> String {
    let mut hasher = StableHasher::default();
    for file in files {
        hasher
            .write_str(&file.relative.to_string_lossy())
            .write(&file.len.to_le_bytes())
            .write(&file.modified.to_le_bytes());
    }
    hasher.hex()
}

/// The file at `path` (relative path empty; `meta` is its metadata) or every file under
/// it, sorted by path.
fn list_files(path: &Path, meta: &fs::Metadata) -> io::Result<Vec<TreeFile>> {
    if !meta.is_dir() {
        let (len, modified) = (meta.len(), nanos(meta));
        return Ok(vec![TreeFile {
            relative: PathBuf::new(),
            len,
            modified,
        }]);
    }
    let mut files = Vec::new();
    walk(path, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

/// `file:<size>:mtime:<ns>` or `dir:<files>:<total size>:mtime:<newest ns>`.
fn metadata_fingerprint(is_dir: bool, files: &[TreeFile], total: u64) -> String {
    let newest = files.iter().map(|f| f.modified).max().unwrap_or(0);
    match is_dir {
        false => format!("file:{total}:mtime:{newest}"),
        true => format!("dir:{}:{total}:mtime:{newest}", files.len()),
    }
}

/// `file:<size>:<digest>` or `dir:<files>:<total size>:<hash of paths, sizes and digests>`.
fn content_fingerprint(
    path: &Path,
    is_dir: bool,
    files: &[TreeFile],
    total: u64,
) -> io::Result<String> {
    let digests: Vec<u64> = files
        .par_iter()
        .map(|f| match f.relative.as_os_str().is_empty() {
            true => digest_file(path),
            false => digest_file(&path.join(&f.relative)),
        })
        .collect::<io::Result<_>>()?;
    if !is_dir {
        return Ok(format!("file:{total}:{:016x}", digests[0]));
    }
    let mut hasher = StableHasher::default();
    for (file, digest) in files.iter().zip(&digests) {
        hasher
            .write_str(&file.relative.to_string_lossy())
            .write(&file.len.to_le_bytes())
            .write(&digest.to_le_bytes());
    }
    Ok(format!("dir:{}:{total}:{}", files.len(), hasher.hex()))
}

/// One file of a directory tree.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct TreeFile {
    relative: PathBuf,
    len: u64,
    modified: u128,
}

fn walk(root: &Path, relative: &Path, files: &mut Vec<TreeFile>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = relative.join(entry.file_name());
        if kind.is_dir() {
            walk(root, &name, files)?;
        } else if !kind.is_symlink() || entry.path().is_file() {
            let meta = fs::metadata(entry.path())?;
            let (len, modified) = (meta.len(), nanos(&meta));
            files.push(TreeFile {
                relative: name,
                len,
                modified,
            });
        }
    }
    Ok(())
}

fn nanos(meta: &fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// A 64-bit digest of a file's bytes, read in 1 MiB chunks.
fn digest_file(path: &Path) -> io::Result<u64> {
    let mut file = fs::File::open(path)?;
    let mut digest = ContentDigest::default();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let filled = read_full(&mut file, &mut buffer)?;
        digest.update(&buffer[..filled]);
        if filled < buffer.len() {
            return Ok(digest.finish());
        }
    }
}

/// Fills `buffer` unless the reader ends first; returns the bytes read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

const PRIME_1: u64 = 0x9E37_79B1_85EB_CA87;
const PRIME_2: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// A stable content digest with xxHash64's round on four independent 64-bit lanes (so
/// the multiplications overlap: several GB/s), fed whole 32-byte blocks; the final partial
/// block and the length go through [`StableHasher`]. Every update but the last must be a
/// multiple of 32 bytes long.
struct ContentDigest {
    lanes: [u64; 4],
    tail: StableHasher,
    len: u64,
}

impl Default for ContentDigest {
    fn default() -> Self {
        ContentDigest {
            lanes: [PRIME_1, PRIME_2, !PRIME_1, !PRIME_2],
            tail: StableHasher::default(),
            len: 0,
        }
    }
}

impl ContentDigest {
    fn update(&mut self, bytes: &[u8]) {
        let blocks = bytes.chunks_exact(32);
        self.tail.write(blocks.remainder());
        for block in blocks {
            for (lane, word) in self.lanes.iter_mut().zip(block.chunks_exact(8)) {
                let word = u64::from_le_bytes(word.try_into().expect("8-byte chunk"));
                *lane = lane
                    .wrapping_add(word.wrapping_mul(PRIME_2))
                    .rotate_left(31)
                    .wrapping_mul(PRIME_1);
            }
        }
        self.len += bytes.len() as u64;
    }

    fn finish(&self) -> u64 {
        let mut hasher = self.tail;
        for lane in self.lanes {
            hasher.write(&lane.to_le_bytes());
        }
        hasher.write(&self.len.to_le_bytes()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn touch(path: &Path, seconds_ago: u64) {
        let file = fs::File::options().write(true).open(path).unwrap();
        let when = SystemTime::now() - Duration::from_secs(seconds_ago);
        file.set_modified(when).unwrap();
    }

    #[test]
    fn changes_when_a_nested_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/x.png"), b"1234").unwrap();
        let before = fingerprint_path(dir.path()).unwrap();
        assert_eq!(before, fingerprint_path(dir.path()).unwrap());
        fs::write(dir.path().join("a/b/x.png"), b"12345").unwrap();
        assert_ne!(before, fingerprint_path(dir.path()).unwrap());
    }

    #[test]
    fn a_file_keeps_its_fingerprint_when_only_its_time_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("features.npy");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(&file, &bytes).unwrap();
        let before = fingerprint_path(&file).unwrap();
        assert!(before.starts_with("file:100000:"), "{before}");
        touch(&file, 3600);
        assert_eq!(fingerprint_path(&file).unwrap(), before);
        let mut edited = bytes.clone();
        edited[54_321] ^= 1;
        fs::write(&file, &edited).unwrap();
        assert_ne!(
            fingerprint_path(&file).unwrap(),
            before,
            "same size, one bit flipped"
        );
    }

    #[test]
    fn a_copied_tree_has_the_same_fingerprint_and_a_renamed_file_another() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for root in [a.path(), b.path()] {
            fs::create_dir_all(root.join("cat")).unwrap();
            fs::create_dir_all(root.join("dog")).unwrap();
            fs::write(root.join("cat/0.jpg"), b"whiskers").unwrap();
            fs::write(root.join("dog/0.jpg"), b"woof").unwrap();
        }
        touch(&b.path().join("dog/0.jpg"), 7200);
        let original = fingerprint_path(a.path()).unwrap();
        assert_eq!(fingerprint_path(b.path()).unwrap(), original);
        fs::rename(b.path().join("dog/0.jpg"), b.path().join("dog/1.jpg")).unwrap();
        assert_ne!(fingerprint_path(b.path()).unwrap(), original);
    }

    #[test]
    fn sources_over_the_limit_fall_back_to_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.bin");
        fs::write(&file, [1u8; 64]).unwrap();
        let by_metadata = fingerprint_within(&file, 63).unwrap();
        assert!(by_metadata.starts_with("file:64:mtime:"), "{by_metadata}");
        touch(&file, 60);
        assert_ne!(fingerprint_within(&file, 63).unwrap(), by_metadata);
        let tree = fingerprint_within(dir.path(), 63).unwrap();
        assert!(tree.starts_with("dir:1:64:mtime:"), "{tree}");
    }

    #[test]
    fn the_digest_does_not_depend_on_how_the_bytes_are_read() {
        let bytes: Vec<u8> = (0..(3 << 20) + 5).map(|i: u32| (i % 253) as u8).collect();
        let mut whole = ContentDigest::default();
        whole.update(&bytes);
        let mut chunked = ContentDigest::default();
        for chunk in bytes.chunks(1 << 20) {
            chunked.update(chunk);
        }
        assert_eq!(whole.finish(), chunked.finish());
        let mut shorter = ContentDigest::default();
        shorter.update(&bytes[..bytes.len() - 1]);
        assert_ne!(shorter.finish(), whole.finish());
    }
}
