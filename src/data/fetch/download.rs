//! Streaming one URL into a file: ureq response body → `.<file>.part-<pid>` (MD5 computed
//! on the fly) → length and checksum checks → atomic rename onto the target.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use super::{hex, FetchError, Temp};

/// How long to wait for a connection, and for each read, before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads `url` into `target`, which is only created once its MD5 equals `md5`.
pub(super) fn download(
    url: &str,
    target: &Path,
    md5: &str,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), FetchError> {
    let body = request(url, target)?;
    let total = body.content_length();
    let part = Temp::new(part_path(target)?);
    let file = File::create(&part.path).map_err(FetchError::io(&part.path))?;
    let mut writer = BufWriter::new(file);
    let sink = Sink {
        writer: &mut writer,
        path: &part.path,
    };
    let (received, got) = stream(url, body.into_reader(), total, sink, progress)?;
    if let Some(expected) = total.filter(|&expected| received < expected) {
        return Err(FetchError::Truncated {
            url: url.to_string(),
            received,
            expected,
        });
    }
    finish(writer, &part.path)?;
    if got != md5 {
        return Err(FetchError::Checksum {
            url: url.to_string(),
            expected: md5.to_string(),
            got,
        });
    }
    fs::rename(&part.path, target).map_err(FetchError::io(target))?;
    part.keep();
    Ok(())
}

/// Sends the GET request; connection failures become [`FetchError::Offline`].
fn request(url: &str, target: &Path) -> Result<ureq::Body, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .build()
        .into();
    match agent.get(url).call() {
        Ok(response) => Ok(response.into_body()),
        Err(ureq::Error::StatusCode(status)) => Err(FetchError::Status {
            url: url.to_string(),
            path: target.to_path_buf(),
            status,
        }),
        Err(error) => Err(FetchError::Offline {
            url: url.to_string(),
            path: target.to_path_buf(),
            reason: error.to_string(),
        }),
    }
}

/// Where the body goes: the temporary file's writer, and its path for error messages.
struct Sink<'a, W> {
    writer: &'a mut W,
    path: &'a Path,
}

/// Copies `body` into the sink, returning the byte count and the MD5 (hex) of what arrived.
fn stream(
    url: &str,
    mut body: impl Read,
    total: Option<u64>,
    sink: Sink<'_, impl Write>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(u64, String), FetchError> {
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut received = 0u64;
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => return Ok((received, hex(&hasher.finalize()))),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(transfer_error(url, received, total, source)),
        };
        hasher.update(&buffer[..n]);
        sink.writer
            .write_all(&buffer[..n])
            .map_err(FetchError::io(sink.path))?;
        received += n as u64;
        progress(received, total);
    }
}

/// A failed body read: short of a known `Content-Length` it is a truncated transfer
/// (ureq reports a connection closed early as an error rather than an end of body).
fn transfer_error(url: &str, received: u64, total: Option<u64>, source: io::Error) -> FetchError {
    match total {
        Some(expected) if received < expected => FetchError::Truncated {
            url: url.to_string(),
            received,
            expected,
        },
        _ => FetchError::Transfer {
            url: url.to_string(),
            received,
            source,
        },
    }
}

/// Flushes and fsyncs the temporary file.
fn finish(writer: BufWriter<File>, part: &Path) -> Result<(), FetchError> {
    let file = writer
        .into_inner()
        .map_err(|e| FetchError::io(part)(e.into_error()))?;
    file.sync_all().map_err(FetchError::io(part))
}

/// `dir/.<file>.part-<pid>` for `target` = `dir/<file>`.
fn part_path(target: &Path) -> Result<PathBuf, FetchError> {
    let name = target.file_name().ok_or_else(|| {
        FetchError::io(target)(io::Error::new(io::ErrorKind::InvalidInput, "no file name"))
    })?;
    let part = format!(".{}.part-{}", name.to_string_lossy(), std::process::id());
    Ok(target.with_file_name(part))
}
