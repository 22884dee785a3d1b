//! The live dashboard's web page over HTTP: the page, its script and style
//! (embedded in the binary, no build step, nothing fetched from elsewhere)
//! and `/api/state`, the [`Board`]'s snapshot as JSON, which the page polls.
//!
//! A hand-written HTTP/1.1 responder on std threads: a few GET routes do not
//! justify a web framework, and std keeps it free of any async runtime, so
//! `tweetoscope run` serves it without the Kafka feature. Requests are
//! bounded in size and time, connections in number, and accept errors never
//! spin.

mod http;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::board::Board;
use crate::clock::now_secs;

pub use http::{Request, Response, read_request};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// Connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 32;

/// The board a page shows, shared with whatever feeds it.
pub type SharedBoard = Arc<Mutex<Board>>;

/// Locks the board. A poisoned lock means a feeder panicked mid-update; the
/// board is still plain data worth showing, so it is used as is.
pub fn lock(board: &SharedBoard) -> MutexGuard<'_, Board> {
    board
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(
        "cannot serve the web page on {addr}: {source} (choose another address with --web-addr)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the web server's bound address: {0}")]
    LocalAddr(#[source] std::io::Error),
    #[error("cannot start the web server thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Binds `addr`; a separate step so that a bad address is reported with the
/// configuration problems, before anything starts.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, WebError> {
    TcpListener::bind(addr).map_err(|source| WebError::Bind { addr, source })
}

/// Serves the page on `listener` from a background thread until the
/// process ends; returns the bound address (useful with port 0).
pub fn serve(listener: TcpListener, board: SharedBoard) -> Result<SocketAddr, WebError> {
    let addr = listener.local_addr().map_err(WebError::LocalAddr)?;
    std::thread::Builder::new()
        .name("web".into())
        .spawn(move || accept_loop(listener, board))
        .map_err(WebError::Thread)?;
    Ok(addr)
}

fn accept_loop(listener: TcpListener, board: SharedBoard) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(error) => {
                // Out of descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "web: cannot accept a connection");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = Response::text(503, "busy\n").write_to(&mut stream);
            continue;
        }
        let board = board.clone();
        let active_in = active.clone();
        let spawned = std::thread::Builder::new()
            .name("web-conn".into())
            .spawn(move || {
                http::serve_connection(stream, |req| respond(req, &board));
                active_in.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(error) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(%error, "web: cannot start a connection thread");
        }
    }
}

/// The routes: the page, its assets, its data.
pub fn respond(req: &Request, board: &SharedBoard) -> Response {
    if req.method != "GET" {
        return Response::text(405, "only GET\n");
    }
    match req.path() {
        "/" | "/index.html" => Response::new(200, "text/html; charset=utf-8", INDEX),
        "/app.js" => Response::new(200, "text/javascript; charset=utf-8", SCRIPT),
        "/style.css" => Response::new(200, "text/css; charset=utf-8", STYLE),
        "/api/state" => {
            let snapshot = lock(board).snapshot(now_secs());
            match serde_json::to_vec(&snapshot) {
                Ok(body) => Response::new(200, "application/json", body),
                Err(error) => Response::text(500, &format!("cannot encode the state: {error}\n")),
            }
        }
        "/health" => Response::text(200, "ok\n"),
        _ => Response::text(404, "not found\n"),
    }
}

#[cfg(test)]
mod tests;
