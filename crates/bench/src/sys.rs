//! What `hush bench` reads from the kernel: CPU time per thread and the process's peak RSS.
//!
//! CPU split (Linux): the relay runs on its own tokio runtime whose threads are named
//! [`RELAY_THREAD`], the clients on another named [`CLIENT_THREAD`], and in the `connector`
//! mode the connector on a third named [`CONNECTOR_THREAD`] (counted apart: it is a service in
//! the provider's cloud, neither the relay nor a participant's device). Each thread's CPU time is
//! read from `/proc/self/task/<tid>/schedstat` (first field: nanoseconds on CPU; falls back to
//! `utime + stime` of `/proc/self/task/<tid>/stat` in 10 ms ticks) and summed by name.
//!
//! Peak RSS is `VmHWM` of `/proc/self/status`: process-wide (relay, clients and harness
//! together). It is reset before each mode by writing `5` to `/proc/self/clear_refs`, so each
//! run reports its own peak; when the reset is refused the value is the peak so far.

use std::collections::HashMap;

/// Name of the relay runtime's threads (a `comm` is at most 15 bytes).
pub const RELAY_THREAD: &str = "hush-relay";
/// Name of the client runtime's threads.
pub const CLIENT_THREAD: &str = "hush-client";
/// Name of the connector runtime's threads (`connector` mode).
pub const CONNECTOR_THREAD: &str = "hush-connector";

/// CPU nanoseconds of every thread of this process, by thread id, with the thread's name.
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    threads: HashMap<u32, (String, u64)>,
}

/// CPU seconds spent between two snapshots, by role.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSplit {
    /// Threads named [`RELAY_THREAD`].
    pub relay_s: f64,
    /// Threads named [`CLIENT_THREAD`].
    pub clients_s: f64,
    /// Threads named [`CONNECTOR_THREAD`].
    pub connector_s: f64,
}

fn thread_cpu_ns(tid: &str) -> Option<u64> {
    if let Ok(s) = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        && let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok())
    {
        return Some(ns);
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux ABI.
    Some((utime + stime) * 10_000_000)
}

impl CpuSnapshot {
    /// Reads every thread of the process now (empty where `/proc` is unavailable).
    pub fn take() -> Self {
        let mut threads = HashMap::new();
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return CpuSnapshot { threads };
        };
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(tid) = name.to_str() else { continue };
            let Ok(id) = tid.parse::<u32>() else { continue };
            let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            if let Some(ns) = thread_cpu_ns(tid) {
                threads.insert(id, (comm, ns));
            }
        }
        CpuSnapshot { threads }
    }

    /// CPU spent since `earlier`, by role. Threads born after `earlier` count from zero.
    pub fn since(&self, earlier: &CpuSnapshot) -> CpuSplit {
        let mut split = CpuSplit::default();
        for (tid, (name, ns)) in &self.threads {
            let before = earlier.threads.get(tid).map_or(0, |(_, b)| *b);
            let s = ns.saturating_sub(before) as f64 / 1e9;
            if name.starts_with(RELAY_THREAD) {
                split.relay_s += s;
            } else if name.starts_with(CLIENT_THREAD) {
                split.clients_s += s;
            } else if name.starts_with(CONNECTOR_THREAD) {
                split.connector_s += s;
            }
        }
        split
    }
}

/// Resets the kernel's peak-RSS mark; false if the kernel refused.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size of the process in MiB (`VmHWM`), 0 if unknown.
pub fn peak_rss_mb() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn named_thread_cpu_is_attributed_to_its_role() {
        let before = CpuSnapshot::take();
        let t = std::thread::Builder::new()
            .name(RELAY_THREAD.into())
            .spawn(|| {
                let mut x = 0u64;
                for i in 0..20_000_000u64 {
                    x = x.wrapping_mul(31).wrapping_add(i);
                }
                std::hint::black_box(x);
                CpuSnapshot::take()
            })
            .unwrap();
        let inside = t.join().unwrap();
        let split = inside.since(&before);
        assert!(split.relay_s > 0.0, "{split:?}");
        assert_eq!(split.clients_s, 0.0);
        assert_eq!(split.connector_s, 0.0);
        assert!(peak_rss_mb() > 0.0);
    }
}
