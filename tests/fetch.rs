//! `scanflow fetch` through the real binary: an unknown name, and an unreachable mirror
//! (127.0.0.1 on a closed port; nothing here touches the network).

use std::net::TcpListener;
use std::process::{Command, Output};

fn scanflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanflow"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn unknown_name_lists_the_known_ones_and_fails() {
    let out = scanflow(&["fetch", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: unknown data set `nosuch`; known: cifar10, cifar100, stl10\n"
    );
    let out = scanflow(&["fetch", "cifar1O"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("(did you mean `cifar10`?)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unreachable_mirror_says_how_to_fetch_by_hand() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/x");
    let dir = tmp.path().join("data");
    let out = scanflow(&[
        "fetch",
        "cifar10",
        "--url",
        &url,
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: the archive could not be downloaded from {url} ("
        )),
        "{stderr}"
    );
    let by_hand = format!(
        "download {url} and save it as {}, then run the same command again\n",
        dir.join("cifar-10-binary.tar.gz").display()
    );
    assert!(stderr.ends_with(&by_hand), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
