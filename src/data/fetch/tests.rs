//! Fetch tests against the local test server: success, reuse of a present archive, checksum
//! mismatch, a connection cut mid-file, an unreachable server, HTTP errors and unsafe entries.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use super::fixtures::{archive, contents, good_archive, listing, md5_hex, tar_gz, Entry};
use super::server::{Reply, Server};
use super::*;

/// Every `progress(done, total)` call of one fetch.
type Calls = Vec<(u64, Option<u64>)>;

/// Fetches `archive` into `dir` from `url`, recording the progress calls.
fn run(archive: &Archive, dir: &Path, url: &str) -> (Result<PathBuf, FetchError>, Calls) {
    let mut calls = Vec::new();
    let result = fetch(archive, dir, Some(url), &mut |done, total| {
        calls.push((done, total))
    });
    (result, calls)
}

#[test]
fn downloads_verifies_and_unpacks() {
    let bytes = good_archive();
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (result, calls) = run(
        &archive(&md5_hex(&bytes)),
        &dir,
        &format!("{}/t", server.base),
    );
    assert_eq!(result.unwrap(), dir.join("top"));
    let (a, b) = contents();
    assert_eq!(fs::read(dir.join("top/a.bin")).unwrap(), a);
    assert_eq!(fs::read(dir.join("top/sub/b.txt")).unwrap(), b);
    assert_eq!(fs::read(dir.join("test.tar.gz")).unwrap(), bytes);
    assert_eq!(
        listing(&dir),
        [
            "test.tar.gz",
            "top",
            "top/a.bin",
            "top/sub",
            "top/sub/b.txt"
        ]
    );
    let total = bytes.len() as u64;
    assert_eq!(calls.last(), Some(&(total, Some(total))));
    assert_eq!(server.requests(), 1);
}

#[test]
fn present_archive_or_folder_is_not_downloaded_again() {
    let bytes = good_archive();
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("test.tar.gz"), &bytes).unwrap();
    let archive = archive(&md5_hex(&bytes));
    let url = format!("{}/t", server.base);
    let (result, calls) = run(&archive, tmp.path(), &url);
    assert_eq!(result.unwrap(), tmp.path().join("top"));
    assert_eq!(
        fs::read(tmp.path().join("top/sub/b.txt")).unwrap(),
        b"hello"
    );
    // The unpacked folder now exists: a second fetch touches nothing either.
    fs::remove_file(tmp.path().join("test.tar.gz")).unwrap();
    run(&archive, tmp.path(), &url).0.unwrap();
    assert!(calls.is_empty());
    assert_eq!(server.requests(), 0);
}

#[test]
fn archive_with_wrong_checksum_on_disk_is_downloaded_again() {
    let bytes = good_archive();
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("test.tar.gz"), &bytes[..10]).unwrap();
    let (result, _) = run(&archive(&md5_hex(&bytes)), tmp.path(), &server.base);
    result.unwrap();
    assert_eq!(fs::read(tmp.path().join("test.tar.gz")).unwrap(), bytes);
    assert_eq!(server.requests(), 1);
}

#[test]
fn checksum_mismatch_removes_the_file() {
    let bytes = good_archive();
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let expected = "0".repeat(32);
    let url = format!("{}/t", server.base);
    let err = run(&archive(&expected), tmp.path(), &url).0.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "checksum mismatch for {url}: expected md5 {expected}, got {}; \
             the downloaded file was removed, run the same command again \
             (if it fails the same way, that server holds another file: use another mirror)",
            md5_hex(&bytes)
        )
    );
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
}

#[test]
fn connection_cut_mid_file_leaves_nothing() {
    let bytes = good_archive();
    let reply = Reply::Cut {
        body: bytes[..100].to_vec(),
        claimed: bytes.len(),
    };
    let server = Server::start(reply);
    let tmp = tempfile::tempdir().unwrap();
    let err = run(&archive(&md5_hex(&bytes)), tmp.path(), &server.base)
        .0
        .unwrap_err();
    // 100 bytes were sent before closing; Content-Length announced the whole archive.
    assert!(
        matches!(err, FetchError::Truncated { received: 100, expected, .. } if expected == bytes.len() as u64),
        "{err}"
    );
    assert!(
        err.to_string().contains("no partial file was kept"),
        "{err}"
    );
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
}

#[test]
fn unreachable_server_says_how_to_fetch_by_hand() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/test.tar.gz");
    let err = run(&archive(&"0".repeat(32)), tmp.path(), &url)
        .0
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, FetchError::Offline { .. }), "{text}");
    assert!(
        text.starts_with(&format!("the archive could not be downloaded from {url} (")),
        "{text}"
    );
    let by_hand = format!(
        "download {url} and save it as {}, then run the same command again",
        tmp.path().join("test.tar.gz").display()
    );
    assert!(text.ends_with(&by_hand), "{text}");
    assert!(listing(tmp.path()).is_empty());
}

#[test]
fn http_error_status_is_reported() {
    let server = Server::start(Reply::Status(404));
    let tmp = tempfile::tempdir().unwrap();
    let err = run(&archive(&"0".repeat(32)), tmp.path(), &server.base)
        .0
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(listing(tmp.path()).is_empty());
}

/// Serves `entries` as a verified archive into `root/data` and returns the error and what `root` holds.
fn refused(entries: &[Entry]) -> (FetchError, Vec<String>) {
    let bytes = tar_gz(entries);
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let err = run(&archive(&md5_hex(&bytes)), &dir, &server.base)
        .0
        .unwrap_err();
    (err, listing(tmp.path()))
}

#[test]
fn entry_climbing_out_is_refused_and_nothing_is_written() {
    let (err, left) = refused(&[
        Entry::File("top/ok.txt", b"ok"),
        Entry::File("../evil", b"x"),
    ]);
    assert!(
        matches!(&err, FetchError::UnsafeEntry { entry, .. } if entry == "../evil"),
        "{err}"
    );
    assert!(
        err.to_string().contains("refusing unsafe entry `../evil`"),
        "{err}"
    );
    // Only the verified download remains: no `evil` beside `data`, no temporary folder.
    assert_eq!(left, ["data", "data/test.tar.gz"]);
}

#[test]
fn links_pointing_outside_are_refused() {
    use tar::EntryType::{Link, Symlink};
    for (name, kind, target) in [
        ("top/out", Symlink, "../../outside"),
        ("top/abs", Symlink, "/etc"),
        ("top/hard", Link, "../x"),
    ] {
        let (err, left) = refused(&[Entry::Link(name, kind, target)]);
        assert!(
            matches!(&err, FetchError::UnsafeEntry { entry, .. } if entry == name),
            "{err}"
        );
        assert_eq!(left, ["data", "data/test.tar.gz"]);
    }
}

#[test]
fn links_inside_are_unpacked() {
    let bytes = tar_gz(&[
        Entry::File("top/a.txt", b"a"),
        Entry::Link("top/sub/up", tar::EntryType::Symlink, "../a.txt"),
    ]);
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    run(&archive(&md5_hex(&bytes)), tmp.path(), &server.base)
        .0
        .unwrap();
    assert_eq!(fs::read(tmp.path().join("top/sub/up")).unwrap(), b"a");
}

#[test]
fn archive_without_its_top_folder_is_an_error() {
    let (err, left) = refused(&[Entry::File("other/a.txt", b"a")]);
    assert!(
        err.to_string().contains("it holds no `top/` folder"),
        "{err}"
    );
    assert_eq!(left, ["data", "data/test.tar.gz"]);
}

#[test]
fn known_names_and_did_you_mean() {
    assert_eq!(known("stl10").unwrap().unpacks_to, "stl10_binary");
    let err = lookup("cifar1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown data set `cifar1` (did you mean `cifar10`?); known: cifar10, cifar100, stl10"
    );
}

#[test]
fn link_depth_is_followed_lexically() {
    assert_eq!(unpack_climbs("a/../b", 0), Some(1));
    assert_eq!(unpack_climbs("../x", 1), Some(1));
    assert_eq!(unpack_climbs("../../x", 1), None);
}

fn unpack_climbs(path: &str, depth: usize) -> Option<usize> {
    unpack::climbs(Path::new(path), depth)
}

#[test]
fn corrupt_download_is_an_archive_error() {
    let bytes = b"not a gzip stream".to_vec();
    let server = Server::start(Reply::Ok(bytes.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let err = run(&archive(&md5_hex(&bytes)), tmp.path(), &server.base)
        .0
        .unwrap_err();
    assert!(matches!(err, FetchError::Archive { .. }), "{err}");
    assert_eq!(listing(tmp.path()), ["test.tar.gz"]);
}
