//! A tiny HTTP/1.1 test server on 127.0.0.1: it answers every request with one canned reply,
//! counts the requests, and stops when dropped, after 8 requests or after 20 s, so that no
//! test can hang on it.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bounds on one server's life.
const MAX_REQUESTS: usize = 8;
const MAX_LIFE: Duration = Duration::from_secs(20);

/// What the server answers.
#[derive(Clone)]
pub enum Reply {
    /// `200 OK` with this body.
    Ok(Vec<u8>),
    /// `200 OK` announcing `claimed` bytes, sending `body`, then closing the connection.
    Cut { body: Vec<u8>, claimed: usize },
    /// This status with an empty body.
    Status(u16),
}

/// A running test server.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server answering `reply`.
    pub fn start(reply: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (requests.clone(), stop.clone());
        let thread = thread::spawn(move || serve(&listener, &reply, &count, &halt));
        Server {
            base,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// How many requests were answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections until stopped or a bound is reached.
fn serve(listener: &TcpListener, reply: &Reply, requests: &AtomicUsize, stop: &AtomicBool) {
    let deadline = Instant::now() + MAX_LIFE;
    while !stop.load(Ordering::SeqCst)
        && Instant::now() < deadline
        && requests.load(Ordering::SeqCst) < MAX_REQUESTS
    {
        match listener.accept() {
            Ok((stream, _)) => {
                requests.fetch_add(1, Ordering::SeqCst);
                let _ = answer(stream, reply);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(_) => return,
        }
    }
}

/// Reads one request's headers and writes `reply`, then closes the connection.
fn answer(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && request.len() < 8192 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        request.push(byte[0]);
    }
    let (status, body, length) = match reply {
        Reply::Ok(body) => (200, &body[..], body.len()),
        Reply::Cut { body, claimed } => (200, &body[..], *claimed),
        Reply::Status(status) => (*status, &[][..], 0),
    };
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )?;
    stream.write_all(body)?;
    stream.flush()
}
