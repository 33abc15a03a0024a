//! The server's resident memory, read from `/proc/PID/status` (Linux).

/// `VmRSS` of process `pid`, in KiB; `None` when it cannot be read (no such process, or not
/// Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn our_own_memory_is_readable() {
        let kib = super::rss_kib(std::process::id()).expect("Linux /proc");
        assert!(kib > 0);
    }
}
