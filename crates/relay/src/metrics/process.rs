//! The standard `process_*` metrics, read from `/proc/self` at scrape time (Linux only; on other
//! systems, and for any file that cannot be read, the metric is left out).

/// `USER_HZ`: the unit of the clock-tick fields of `/proc/<pid>/stat` and `/proc/stat`. Fixed
/// at 100 by the kernel's user-space ABI on every architecture Linux runs the relay on (reading
/// `sysconf(_SC_CLK_TCK)` would need `libc` and `unsafe`, which the crate forbids).
const USER_HZ: f64 = 100.0;

/// What one scrape read; `None` where a file or field was missing.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ProcessStats {
    /// User + system CPU time, in seconds.
    pub(crate) cpu_seconds: Option<f64>,
    /// `VmRSS`, in bytes.
    pub(crate) resident_bytes: Option<u64>,
    /// `VmSize`, in bytes.
    pub(crate) virtual_bytes: Option<u64>,
    /// Entries of `/proc/self/fd`.
    pub(crate) open_fds: Option<u64>,
    /// The soft `Max open files` limit.
    pub(crate) max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub(crate) start_time_seconds: Option<f64>,
}

impl ProcessStats {
    /// Reads `/proc/self` (and `/proc/stat` for the boot time) now.
    pub(crate) fn read() -> ProcessStats {
        if !cfg!(target_os = "linux") {
            return ProcessStats::default();
        }
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let stat = read("/proc/self/stat");
        let stat = stat.as_deref().and_then(StatFields::parse);
        let status = read("/proc/self/status");
        let boot = read("/proc/stat").and_then(|s| boot_time(&s));
        ProcessStats {
            cpu_seconds: stat.map(|s| (s.utime + s.stime) as f64 / USER_HZ),
            resident_bytes: status.as_deref().and_then(|s| status_kib(s, "VmRSS:")),
            virtual_bytes: status.as_deref().and_then(|s| status_kib(s, "VmSize:")),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as u64),
            max_fds: read("/proc/self/limits").and_then(|s| max_open_files(&s)),
            start_time_seconds: stat
                .zip(boot)
                .map(|(s, b)| b as f64 + s.starttime as f64 / USER_HZ),
        }
    }
}

/// The clock-tick fields of `/proc/<pid>/stat` the metrics use.
#[derive(Debug, Clone, Copy)]
struct StatFields {
    utime: u64,
    stime: u64,
    starttime: u64,
}

impl StatFields {
    fn parse(stat: &str) -> Option<StatFields> {
        // The command name (field 2) may hold spaces and parentheses: fields resume after the
        // last ')', at field 3 (the state).
        let mut f = stat.rsplit_once(')')?.1.split_whitespace();
        let mut nth = |n: usize| -> Option<u64> { f.nth(n)?.parse().ok() };
        // Fields 14, 15 and 22 of proc(5), counted from field 3.
        let utime = nth(11)?;
        let stime = nth(0)?;
        let starttime = nth(6)?;
        Some(StatFields {
            utime,
            stime,
            starttime,
        })
    }
}

/// A `Key:   123 kB` line of `/proc/self/status`, in bytes.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `btime` of `/proc/stat`: the boot time, in seconds since the Unix epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// The soft limit of the `Max open files` row of `/proc/self/limits` (`None` if "unlimited").
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_a_command_name_with_spaces_and_parentheses() {
        let stat = "42 (a b) c)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 12345 999 7 0";
        let f = StatFields::parse(stat).unwrap();
        assert_eq!((f.utime, f.stime, f.starttime), (250, 50, 12345));
    }

    #[test]
    fn status_limits_and_boot_time_lines_parse() {
        assert_eq!(
            status_kib("Name:\tx\nVmRSS:\t    1968 kB\n", "VmRSS:"),
            Some(1968 * 1024)
        );
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 4096                 files\n";
        assert_eq!(max_open_files(limits), Some(1024));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_memory_descriptors_and_a_start_time() {
        let p = ProcessStats::read();
        assert!(p.resident_bytes.unwrap() > 0);
        assert!(p.virtual_bytes.unwrap() >= p.resident_bytes.unwrap());
        assert!(p.open_fds.unwrap() >= 3);
        assert!(p.cpu_seconds.unwrap() >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = p.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start}"
        );
    }
}
