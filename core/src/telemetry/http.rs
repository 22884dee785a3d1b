//! `/metrics`, `/livez`, `/readyz` and `/health` over a hand-written
//! HTTP/1.1 responder on its own thread: four GET routes do not justify a
//! web framework, and a thread keeps the probes answering when the stage's
//! async runtime is busy (or stuck, which `/livez` must then report).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::{Health, Metrics, TelemetryError};

/// Longest a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Pauses after failed `accept`s: from the first to the longest.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Serves the endpoints on `addr` until the process ends; returns the
/// bound address (useful with port 0).
pub fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    health: Health,
) -> Result<SocketAddr, TelemetryError> {
    let listener =
        TcpListener::bind(addr).map_err(|source| TelemetryError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| TelemetryError::Bind { addr, source })?;
    let spawned = std::thread::Builder::new()
        .name("telemetry-http".into())
        .spawn(move || accept_loop(&listener, &metrics, &health));
    spawned.map_err(|source| TelemetryError::Bind { addr, source })?;
    Ok(bound)
}

fn accept_loop(listener: &TcpListener, metrics: &Metrics, health: &Health) {
    let mut pause = None;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                pause = None;
                answer(sock, metrics, health);
            }
            Err(error) => {
                // Out of file descriptors, for example: retrying at once
                // would spin a core; the pause grows until accept succeeds.
                let wait = next_backoff(pause);
                pause = Some(wait);
                tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "metrics server cannot accept");
                std::thread::sleep(wait);
            }
        }
    }
}

/// The pause after one more failed accept: doubling, capped.
pub fn next_backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(BACKOFF_FIRST, |p| (p * 2).min(BACKOFF_MAX))
}

fn answer(mut sock: TcpStream, metrics: &Metrics, health: &Health) {
    let _ = sock.set_read_timeout(Some(READ_TIMEOUT));
    let _ = sock.set_write_timeout(Some(READ_TIMEOUT));
    // The request line and headers, however many segments they come in.
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while n < buf.len() && !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(read) => n += read,
            Err(_) => return,
        }
    }
    let request = String::from_utf8_lossy(&buf[..n]);
    let (status, ctype, body) = route(&request, metrics, health);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes());
    let _ = sock.write_all(&body);
}

/// Status line, content type and body of a request.
pub fn route(
    request: &str,
    metrics: &Metrics,
    health: &Health,
) -> (&'static str, &'static str, Vec<u8>) {
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    let probe = |v: super::health::Verdict| {
        let status = if v.ok {
            "200 OK"
        } else {
            "503 Service Unavailable"
        };
        (status, "text/plain", format!("{}\n", v.reason).into_bytes())
    };
    match path {
        "/metrics" => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        "/livez" | "/health" | "/healthz" => probe(health.live()),
        "/readyz" => probe(health.ready()),
        _ => (
            "404 Not Found",
            "text/plain",
            b"not found: try /metrics, /livez, /readyz\n".to_vec(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_doubling_up_to_a_second() {
        let mut p = None;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let next = next_backoff(p);
            seen.push(next);
            p = Some(next);
        }
        assert_eq!(seen[0], BACKOFF_FIRST);
        assert_eq!(seen[1], BACKOFF_FIRST * 2);
        assert!(seen.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*seen.last().unwrap(), BACKOFF_MAX);
    }

    #[test]
    fn probes_answer_503_with_the_reason_until_healthy() {
        let metrics = Metrics::new().unwrap();
        let health = Health::new(Duration::from_secs(30));
        health.expect_group();
        let (status, _, body) = route("GET /readyz HTTP/1.1\r\n\r\n", &metrics, &health);
        assert_eq!(status, "503 Service Unavailable");
        assert!(String::from_utf8_lossy(&body).contains("broker"));
        health.broker_answered();
        health.joined_group();
        assert_eq!(
            route("GET /readyz HTTP/1.1\r\n\r\n", &metrics, &health).0,
            "200 OK"
        );
        assert_eq!(
            route("GET /health HTTP/1.1\r\n\r\n", &metrics, &health).0,
            "200 OK"
        );
        assert_eq!(
            route("GET /nope HTTP/1.1\r\n\r\n", &metrics, &health).0,
            "404 Not Found"
        );
    }

    #[test]
    fn a_request_sent_in_pieces_is_read_whole() {
        let metrics = Metrics::new().unwrap();
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            metrics,
            Health::new(Duration::from_secs(30)),
        )
        .unwrap();
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.write_all(b"GET ").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        sock.write_all(b"/livez HTTP/1.1\r\n\r\n").unwrap();
        let mut text = String::new();
        sock.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    }

    #[test]
    fn the_server_answers_metrics_over_tcp() {
        let metrics = Metrics::new().unwrap();
        metrics.log_records.with_label_values(&["sent"]).inc();
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            metrics,
            Health::new(Duration::from_secs(30)),
        )
        .unwrap();
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        let mut text = String::new();
        sock.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(
            text.contains("tweetoscope_log_records_total{outcome=\"sent\"} 1"),
            "{text}"
        );
    }
}
