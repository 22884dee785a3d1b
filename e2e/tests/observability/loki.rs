//! Loki: a local endpoint decodes what tracing-loki pushes (raw snappy of
//! a protobuf PushRequest, read by hand) and the test checks the labels.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Reads one protobuf varint.
fn varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = buf[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
    }
    v
}

/// The (field, bytes) of the length-delimited fields of a message; other
/// wire types are skipped.
fn fields(buf: &[u8]) -> Vec<(u64, &[u8])> {
    let (mut at, mut out) = (0, Vec::new());
    while at < buf.len() {
        let key = varint(buf, &mut at);
        match key & 7 {
            0 => {
                varint(buf, &mut at);
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let len = varint(buf, &mut at) as usize;
                out.push((key >> 3, &buf[at..at + len]));
                at += len;
            }
            t => panic!("unexpected wire type {t}"),
        }
    }
    out
}

/// A Loki push body: snappy (raw) of a PushRequest { streams = 1:
/// { labels = 1, entries = 2: { timestamp = 1, line = 2 } } }.
fn decode_push(body: &[u8]) -> Vec<(String, String)> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .unwrap_or_else(|e| panic!("the push body is not raw snappy: {e}"));
    let mut lines = Vec::new();
    for (_, stream) in fields(&raw).into_iter().filter(|(f, _)| *f == 1) {
        let parts = fields(stream);
        let labels = parts
            .iter()
            .find(|(f, _)| *f == 1)
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        for (_, entry) in parts.iter().filter(|(f, _)| *f == 2) {
            for (f, b) in fields(entry) {
                if f == 2 {
                    lines.push((labels.clone(), String::from_utf8_lossy(b).into_owned()));
                }
            }
        }
    }
    lines
}

/// A fake Loki: answers every push with 204 and hands the decoded
/// (labels, line) pairs to the channel.
fn fake_loki() -> (String, mpsc::Receiver<(String, String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let url = format!("http://{addr}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve_pushes(sock, &tx));
        }
    });
    (url, rx)
}

fn serve_pushes(mut sock: TcpStream, tx: &mpsc::Sender<(String, String, String)>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // One request: headers, then Content-Length bytes.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..head_end + len).skip(head_end).collect();
        for (labels, line) in decode_push(&body) {
            let _ = tx.send((path.clone(), labels, line));
        }
        if sock
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

#[test]
fn loki_receives_records_labelled_by_stage_instance_and_level_with_ids_in_the_line() {
    use tracing_subscriber::layer::SubscriberExt;
    let (url, rx) = fake_loki();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (layer, controller, task) =
        tweetoscope_core::telemetry::loki::layer(&url, "estimator", tracing::Level::INFO).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    rt.block_on(async {
        let task = tokio::spawn(task);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(cid = "cascade-77", window = 600u64, "fit failed");
            tracing::info!(partitions = 2u64, "consuming");
            tracing::debug!("below the Loki level");
            tracing::error!(target: "tweetoscope_core::kafka::context", "librdkafka");
        });
        controller.shutdown().await;
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the Loki task drains")
            .unwrap();
    });
    let got: Vec<(String, String, String)> = rx.try_iter().collect();
    assert!(
        got.iter().all(|(path, _, _)| path == "/loki/api/v1/push"),
        "{got:?}"
    );
    let line_of = |needle: &str| got.iter().find(|(_, _, line)| line.contains(needle));
    let (_, labels, line) =
        line_of("fit failed").unwrap_or_else(|| panic!("no fit failed record: {got:?}"));
    assert!(labels.contains(r#"stage="estimator""#), "{labels}");
    assert!(labels.contains(r#"level="warn""#), "{labels}");
    assert!(labels.contains("instance="), "{labels}");
    assert!(
        !labels.contains("cascade-77"),
        "a cascade id in labels: {labels}"
    );
    let json: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(
        (json["cid"].as_str(), json["window"].as_u64()),
        (Some("cascade-77"), Some(600))
    );
    let (_, labels, _) = line_of("consuming").unwrap_or_else(|| panic!("no INFO record: {got:?}"));
    assert!(labels.contains(r#"level="info""#), "{labels}");
    assert!(line_of("below the Loki level").is_none(), "{got:?}");
    assert!(
        line_of("librdkafka").is_none(),
        "client records must stay local: {got:?}"
    );
}
