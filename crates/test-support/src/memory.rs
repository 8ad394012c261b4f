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

/// Asserts that `Outer`, a type wrapping an `Inner` (a layer's response body
/// around the handler's), is at most `words` machine words larger: the
/// wrapper keeps what only some values use behind a pointer, since every
/// response carries it and every layer moves it.
///
/// ```
/// mcp_guard_test_support::memory::assert_wraps_in_words::<Option<Box<u64>>, u64>(1);
/// ```
///
/// # Panics
///
/// When `Outer` is larger, naming both types and sizes.
pub fn assert_wraps_in_words<Outer, Inner>(words: usize) {
    let (outer, inner) = (size_of::<Outer>(), size_of::<Inner>());
    assert!(
        outer <= inner + words * size_of::<usize>(),
        "{} is {outer} bytes around a {inner}-byte {}: more than {words} word(s) more",
        std::any::type_name::<Outer>(),
        std::any::type_name::<Inner>(),
    );
}
