//! Memory measurements for the benches that report bytes per stored item.
//!
//! ```no_run
//! use mcp_guard_test_support::memory::resident_bytes;
//!
//! let before = resident_bytes();
//! let kept: Vec<u64> = (0..100_000).collect();
//! let per_item = resident_bytes().saturating_sub(before) / kept.len();
//! # drop(per_item);
//! ```

/// The process's resident set size in bytes (`VmRSS`; Linux only).
///
/// # Panics
///
/// Where `/proc/self/status` does not exist or has no `VmRSS` line.
pub fn resident_bytes() -> usize {
    usize::try_from(status_kib("VmRSS:")).expect("VmRSS fits in usize") * 1024
}

/// One `… kB` field of `/proc/self/status` (e.g. `"VmRSS:"`, `"VmHWM:"`), in
/// KiB (Linux only).
///
/// # Panics
///
/// Where `/proc/self/status` does not exist or has no such field.
pub fn status_kib(field: &str) -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux only)");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}
