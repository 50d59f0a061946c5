//! `scanflow fetch` against a local HTTP server on 127.0.0.1 (nothing touches the network):
//! a body with the wrong checksum, a connection cut mid-file (with and without a length),
//! and an HTTP error leave no partial archive behind, and the message says what to do.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::thread::JoinHandle;

/// A server answering one request with `head` (status line and headers) and `body`, then
/// closing the connection; returns its URL.
fn serve_once(head: String, body: Vec<u8>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/cifar-10-binary.tar.gz",
        listener.local_addr().unwrap()
    );
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        // The client may hang up first (it has seen enough); that is not this test's concern.
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    (url, thread)
}

fn fetch(url: &str, dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(["fetch", "cifar10", "--url", url, "--dir"])
        .arg(dir)
        .output()
        .unwrap()
}

/// Runs `scanflow fetch` against the server; checks it failed and left `dir` empty.
fn failed_fetch(head: String, body: Vec<u8>) -> String {
    let (url, server) = serve_once(head, body);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = fetch(&url, &dir);
    server.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(stderr.contains(&url), "{stderr}");
    stderr
}

fn ok_head(length: usize) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
}

#[test]
fn checksum_mismatch_leaves_no_archive_and_says_to_retry_or_change_mirror() {
    let body = b"not the CIFAR-10 archive".to_vec();
    let stderr = failed_fetch(ok_head(body.len()), body);
    assert!(
        stderr.starts_with("error: checksum mismatch for http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("expected md5 c58f30108f718f92721af3b95e74349a"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the downloaded file was removed, run the same command again"),
        "{stderr}"
    );
    assert!(stderr.contains("use another mirror"), "{stderr}");
}

#[test]
fn connection_cut_mid_file_leaves_no_partial_archive() {
    let stderr = failed_fetch(ok_head(100_000), vec![7u8; 30_000]);
    assert!(
        stderr.contains("was cut off after 30000 of 100000 bytes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no partial file was kept, run the same command again"),
        "{stderr}"
    );
}

#[test]
fn connection_cut_without_a_length_is_caught_by_the_checksum() {
    let head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string();
    let stderr = failed_fetch(head, vec![7u8; 30_000]);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
}

#[test]
fn http_error_says_how_to_fetch_by_hand() {
    let head = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let stderr = failed_fetch(head.to_string(), Vec::new());
    assert!(stderr.contains("failed with HTTP status 404"), "{stderr}");
    assert!(
        stderr.contains("cifar-10-binary.tar.gz, then run the same command again"),
        "{stderr}"
    );
}
