//! A broker of its own for each run, so that a run starts from an empty
//! broker and the broker's CPU is the run's alone: Tansu in memory on a
//! free port, or a one-node Apache Kafka (KRaft) from `scripts/kafka.sh`.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which broker the runs use.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The `tansu` binary.
    Tansu(PathBuf),
    /// Apache Kafka through scripts/kafka.sh, its node on this port.
    Kafka { port: u16 },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Tansu(_) => "tansu",
            Kind::Kafka { .. } => "kafka",
        }
    }
}

/// A running broker, stopped when dropped.
pub struct Broker {
    process: Process,
    pub address: String,
}

enum Process {
    Tansu(Child),
    /// The state folder of scripts/kafka.sh and the node's pid.
    Kafka(PathBuf, u32),
}

fn kafka_sh(args: &[&str]) -> std::process::Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka.sh");
    Command::new("bash")
        .arg(&script)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
}

impl Broker {
    /// Starts the broker and waits until it serves.
    pub fn start(kind: &Kind, log: &Path) -> Broker {
        match kind {
            Kind::Tansu(tansu) => Self::tansu(tansu, log),
            Kind::Kafka { port } => {
                let dir = log.with_extension("kafka");
                let dir_s = dir.display().to_string();
                let out = kafka_sh(&["start", "--port", &port.to_string(), "--dir", &dir_s]);
                let text = String::from_utf8_lossy(&out.stdout);
                let address = text
                    .lines()
                    .last()
                    .and_then(|l| l.strip_prefix("bootstrap="))
                    .filter(|_| out.status.success())
                    .unwrap_or_else(|| panic!("scripts/kafka.sh start failed: {text}"))
                    .to_owned();
                let pid =
                    String::from_utf8_lossy(&kafka_sh(&["node-pid", "1", "--dir", &dir_s]).stdout)
                        .trim()
                        .parse()
                        .unwrap_or_else(|e| panic!("no pid of the Kafka node: {e}"));
                Broker {
                    process: Process::Kafka(dir, pid),
                    address,
                }
            }
        }
    }

    fn tansu(tansu: &Path, log: &Path) -> Broker {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let address = format!("127.0.0.1:{port}");
        let url = format!("tcp://{address}");
        let out = File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let child = Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tansu.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&address).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {address}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker {
            process: Process::Tansu(child),
            address,
        }
    }

    pub fn pid(&self) -> u32 {
        match &self.process {
            Process::Tansu(c) => c.id(),
            Process::Kafka(_, pid) => *pid,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        match &mut self.process {
            Process::Tansu(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Process::Kafka(dir, _) => {
                let _ = kafka_sh(&["stop", "--dir", &dir.display().to_string()]);
            }
        }
    }
}
