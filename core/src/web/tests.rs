//! The server over a real socket: routes, the state as JSON, refusals.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::*;
use crate::board::BoardConfig;
use crate::schema::AlertMsg;

fn get(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn server() -> (SocketAddr, SharedBoard) {
    let board = Arc::new(Mutex::new(Board::new(BoardConfig::default())));
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let addr = serve(listener, board.clone()).unwrap();
    (addr, board)
}

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let (addr, _) = server();
    let (status, page) = get(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/app.js\">"), "{page}");
    let (status, script) = get(addr, "GET /app.js HTTP/1.1\r\n\r\n");
    assert_eq!(status, 200);
    assert!(script.contains("/api/state"));
    let (status, css) = get(addr, "GET /style.css HTTP/1.1\r\n\r\n");
    assert_eq!(status, 200);
    assert!(!css.is_empty());
}

#[test]
fn the_state_endpoint_returns_the_boards_snapshot_as_json() {
    let (addr, board) = server();
    let alert = AlertMsg {
        kind: "alert".into(),
        cid: "31".into(),
        msg: String::new(),
        t_obs: 1200,
        n_tot: 321.0,
        w: None,
        n_obs: Some(40),
        n_tot_median: None,
        n_tot_low: None,
        n_tot_high: None,
        cold_start: None,
    };
    board.lock().unwrap().alert(&alert, now_secs());
    let (status, body) = get(addr, "GET /api/state HTTP/1.1\r\n\r\n");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["top"][0]["cid"], "31");
    assert_eq!(json["top"][0]["window"], 1200);
    assert_eq!(json["rates"]["alerts_total"], 1);
}

#[test]
fn unknown_paths_other_methods_and_garbage_are_refused() {
    let (addr, _) = server();
    assert_eq!(get(addr, "GET /nope HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(get(addr, "POST /api/state HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(get(addr, "not http\r\n\r\n").0, 400);
}

#[test]
fn a_second_server_on_a_taken_address_says_what_to_change() {
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let taken = listener.local_addr().unwrap();
    let error = bind(taken).unwrap_err().to_string();
    assert!(error.contains(&taken.to_string()), "{error}");
    assert!(error.contains("--web-addr"), "{error}");
}
