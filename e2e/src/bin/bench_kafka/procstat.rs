//! What a process has used, from /proc (Linux): CPU seconds (user +
//! system) and peak resident memory (VmHWM).

use std::sync::OnceLock;

/// Clock ticks per second of /proc's times (`getconf CLK_TCK`, 100 on
/// Linux unless told otherwise).
fn ticks_per_s() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Fields of /proc/`pid`/stat after the command name (the 3rd field is the
/// first), which may hold spaces and parentheses.
fn stat_fields(pid: &str) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// CPU seconds a live process used so far (utime + stime).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let f = stat_fields(&pid.to_string())?;
    // Fields 14 and 15 (1-based) are utime and stime.
    Some((f.get(11)? + f.get(12)?) as f64 / ticks_per_s())
}

/// CPU seconds of this process's children that have exited and been
/// waited for (cutime + cstime).
pub fn reaped_children_cpu_seconds() -> f64 {
    stat_fields("self")
        .and_then(|f| Some((f.get(13)? + f.get(14)?) as f64 / ticks_per_s()))
        .unwrap_or(0.0)
}

/// A `/proc/PID/status` field given in kB, in MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Peak resident set size of a live process, in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmHWM:")
}

/// Resident set size of a live process now, in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}
