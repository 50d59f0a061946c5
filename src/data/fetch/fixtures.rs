//! Test fixtures: small `.tar.gz` archives built in memory (entry names written raw, so `..`
//! can be stored), their test [`Archive`] descriptions, and folder listings.

use std::fs;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};

use super::{hex, Archive};

/// One tar entry: path (stored as is, unchecked), kind, data or link target.
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Link(&'a str, tar::EntryType, &'a str),
}

/// A `.tar.gz` holding `entries`; names are written raw so that `..` can be stored.
pub fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let mut header = tar::Header::new_old();
        let (name, data): (&str, &[u8]) = match entry {
            Entry::File(name, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                (name, data)
            }
            Entry::Link(name, kind, target) => {
                header.set_entry_type(*kind);
                header.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
                (name, &[])
            }
        };
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The MD5 of `bytes`, lower-case hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// A test archive `test.tar.gz` unpacking to `top/`, whose expected MD5 is `md5`.
pub fn archive(md5: &str) -> Archive {
    Archive {
        name: "test",
        url: "http://127.0.0.1:9/unused",
        file: "test.tar.gz",
        md5: Box::leak(md5.to_string().into_boxed_str()),
        unpacks_to: "top",
    }
}

/// 1024 bytes 0, 1, …, 255 four times, and a short text: the contents of the good archive.
pub fn contents() -> (Vec<u8>, Vec<u8>) {
    ((0..1024).map(|i| i as u8).collect(), b"hello".to_vec())
}

/// The archive of [`contents`] under `top/`.
pub fn good_archive() -> Vec<u8> {
    let (a, b) = contents();
    tar_gz(&[
        Entry::File("top/a.bin", &a),
        Entry::File("top/sub/b.txt", &b),
    ])
}

/// Every path under `dir`, relative, sorted (hidden temporary files included).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(read) = fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in read {
            let rel = rel.join(entry.unwrap().file_name());
            out.push(rel.to_string_lossy().into_owned());
            stack.push(rel);
        }
    }
    out.sort();
    out
}
