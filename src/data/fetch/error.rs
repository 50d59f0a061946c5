//! [`FetchError`]: why downloading, verifying or unpacking a data-set archive failed; every
//! variant names the URL, file or archive entry involved and says what to do next.

use std::path::PathBuf;

/// An error while fetching a data-set archive. Whatever the error, no partial or temporary
/// file is left behind in the target folder.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The name is not one of the known archives.
    #[error("unknown data set `{name}`{}; known: {known}", hint.as_ref().map_or(String::new(), |h| format!(" ({h})")))]
    Unknown {
        /// The name asked for.
        name: String,
        /// A "did you mean" hint, if a known name is close.
        hint: Option<String>,
        /// The known names, comma-separated.
        known: String,
    },
    /// The server could not be reached (offline, refused, DNS, TLS, timeout).
    #[error(
        "the archive could not be downloaded from {url} ({reason}); \
         download {url} and save it as {}, then run the same command again",
        path.display()
    )]
    Offline {
        /// The URL tried.
        url: String,
        /// Where the archive belongs.
        path: PathBuf,
        /// What went wrong, from the HTTP client.
        reason: String,
    },
    /// The server answered with an HTTP error status.
    #[error(
        "downloading {url} failed with HTTP status {status}; \
         download {url} and save it as {}, then run the same command again",
        path.display()
    )]
    Status {
        /// The URL tried.
        url: String,
        /// Where the archive belongs.
        path: PathBuf,
        /// The HTTP status code.
        status: u16,
    },
    /// The connection ended before the announced number of bytes arrived.
    #[error(
        "the download of {url} was cut off after {received} of {expected} bytes; \
         no partial file was kept, run the same command again"
    )]
    Truncated {
        /// The URL tried.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced by `Content-Length`.
        expected: u64,
    },
    /// Reading the response failed part-way (without a known length to compare against).
    #[error(
        "the download of {url} failed after {received} bytes: {source}; \
         no partial file was kept, run the same command again"
    )]
    Transfer {
        /// The URL tried.
        url: String,
        /// Bytes received before the failure.
        received: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The downloaded file's MD5 is not the expected one.
    #[error(
        "checksum mismatch for {url}: expected md5 {expected}, got {got}; \
         the downloaded file was removed, run the same command again \
         (if it fails the same way, that server holds another file: use another mirror)"
    )]
    Checksum {
        /// The URL tried.
        url: String,
        /// The expected MD5, lower-case hex.
        expected: String,
        /// The MD5 of what arrived, lower-case hex.
        got: String,
    },
    /// An archive entry would write outside the target folder; nothing was unpacked.
    #[error("refusing unsafe entry `{entry}` in archive `{}`: {reason}; nothing was unpacked", archive.display())]
    UnsafeEntry {
        /// The archive file.
        archive: PathBuf,
        /// The entry's path as stored.
        entry: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The archive is corrupt, unreadable, or lacks the expected top folder.
    #[error("cannot unpack archive `{}`: {message}; nothing was unpacked", archive.display())]
    Archive {
        /// The archive file.
        archive: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A local file or folder could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// An [`FetchError::Io`] naming `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FetchError {
        let path = path.into();
        move |source| FetchError::Io { path, source }
    }
}
