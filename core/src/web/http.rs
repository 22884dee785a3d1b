//! The little HTTP/1.1 this server speaks: one request per connection,
//! read with a size and a time bound, answered, closed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The largest request head accepted; pages send a line and a few headers.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long a client may take to send its request or read the answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
}

impl Request {
    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body)
    }

    fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// Writes the status line, headers and body.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason(),
            self.content_type,
            self.body.len()
        );
        w.write_all(head.as_bytes())?;
        w.write_all(&self.body)?;
        w.flush()
    }
}

/// Reads a request head: up to the blank line, at most [`MAX_REQUEST`]
/// bytes. The error is the response to send instead.
pub fn read_request(r: &mut impl Read) -> Result<Request, Response> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() >= MAX_REQUEST {
            return Err(Response::text(431, "request too large\n"));
        }
        match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Response::text(408, "request timeout\n"));
            }
            Err(_) => return Err(Response::text(400, "unreadable request\n")),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Ok(Request {
                method: method.to_owned(),
                target: target.to_owned(),
            })
        }
        _ => Err(Response::text(400, "bad request line\n")),
    }
}

/// Reads one request from `stream`, answers it with `route`, closes.
pub fn serve_connection(mut stream: TcpStream, route: impl Fn(&Request) -> Response) {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let response = match read_request(&mut stream) {
        Ok(req) => route(&req),
        Err(refusal) => refusal,
    };
    // The client may have gone; nothing to do about it.
    let _ = response.write_to(&mut stream);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_gives_method_and_path_without_query() {
        let mut input: &[u8] = b"GET /api/state?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let req = read_request(&mut input).unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path(), "/api/state");
    }

    #[test]
    fn an_oversized_request_is_refused_with_431() {
        let big = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST * 2));
        let mut input = big.as_bytes();
        assert_eq!(read_request(&mut input).unwrap_err().status, 431);
    }

    #[test]
    fn garbage_is_refused_with_400() {
        let mut input: &[u8] = b"hello\r\n\r\n";
        assert_eq!(read_request(&mut input).unwrap_err().status, 400);
    }

    #[test]
    fn a_response_says_its_length_and_closes() {
        let mut out = Vec::new();
        Response::text(200, "ok\n").write_to(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nok\n"), "{text}");
    }
}
