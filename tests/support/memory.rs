//! Peak memory of this test process, read from /proc/self/status: a bound on
//! what a flood of hostile requests makes the server hold.

/// Peak and current resident set sizes of this process, in KiB.
pub fn rss_kib() -> (u64, u64) {
    use mcp_guard_test_support::memory::status_kib;
    (status_kib("VmHWM:"), status_kib("VmRSS:"))
}

/// Measures how far the peak RSS rises above the current RSS while `work`
/// runs, and asserts it stays under `bound_mib`. The peak is reset first
/// (`/proc/self/clear_refs` 5) where the kernel allows it; otherwise the peak
/// so far is the baseline, which only makes the check stricter.
pub async fn with_bounded_memory<F: std::future::Future<Output = ()>>(
    what: &str,
    bound_mib: u64,
    work: F,
) -> u64 {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (peak_before, rss_before) = rss_kib();
    let baseline = peak_before.max(rss_before);
    work.await;
    let (peak_after, rss_after) = rss_kib();
    let grown = peak_after.saturating_sub(baseline) / 1024;
    eprintln!(
        "memory, {what}: baseline {} MiB (peak reset: {reset}), peak {} MiB (+{grown} MiB), now {} MiB",
        baseline / 1024,
        peak_after / 1024,
        rss_after / 1024
    );
    assert!(
        grown < bound_mib,
        "{what}: the peak RSS grew by {grown} MiB, over the bound of {bound_mib} MiB"
    );
    grown
}
