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
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux only)");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}
