//! A stage's HTTP endpoints from a test: the address it logged at start,
//! and a plain GET (status and body) of /metrics, /readyz or a page.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::Proc;

/// GET `path` on `addr`: (status code, body).
pub fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut sock = TcpStream::connect(addr).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    // One write, HTTP/1.0: no chunked answer to decode (Prometheus chunks
    // large answers to HTTP/1.1 clients).
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    sock.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    sock.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// The metrics endpoint a stage logged at start.
pub fn metrics_addr(p: &Proc) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let log = p.log_text();
        if let Some(line) = log.lines().find(|l| l.contains("serving /metrics"))
            && let Some(addr) = line
                .split("addr=")
                .nth(1)
                .and_then(|a| a.split_whitespace().next())
        {
            return addr.to_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} logged no metrics address: {}", p.label, p.log_text());
}
