//! Log capture: every event a test's code logs, kept for the test to read.
//!
//! ```
//! use mcp_guard_test_support::logs::Logs;
//!
//! let logs = Logs::default();
//! {
//!     let _capture = logs.capture();
//!     tracing::info!(reason = "host_not_allowed", "origin guard rejected a request");
//! }
//! assert_eq!(logs.at(" INFO").len(), 1);
//! assert!(logs.text().contains("reason=\"host_not_allowed\""));
//! ```

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Every line a `tracing_subscriber::fmt` subscriber writes while
/// [`Logs::capture`]'s guard lives: all levels, no colours, no timestamp (so
/// each line starts with its padded level, e.g. `" INFO"`).
///
/// The capture is the thread's default subscriber: a `#[tokio::test]` runs on
/// one thread, so every task of the test logs here.
#[derive(Clone, Debug, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing; capture ends when the returned guard drops.
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        keep_a_second_dispatcher();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What `run` logs, one entry per line.
    pub fn of(run: impl FnOnce()) -> Vec<String> {
        let logs = Logs::default();
        {
            let _capture = logs.capture();
            run();
        }
        logs.lines()
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// What was logged so far, one entry per line.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// The lines logged at `level` (as `fmt` pads it: `"DEBUG"`, `" INFO"`,
    /// `" WARN"`, `"ERROR"`; leading spaces are ignored).
    pub fn at(&self, level: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|line| line.trim_start().starts_with(level.trim_start()))
            .collect()
    }

    fn bytes(&self) -> MutexGuard<'_, Vec<u8>> {
        // A test that panicked while logging still leaves readable lines.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Registers, once per process, a dispatcher that lives forever.
///
/// With exactly one registered dispatcher, `tracing-core` works out a new
/// callsite's interest from the *registering thread's* default alone: a
/// parallel test without a capture that reaches a log line first caches
/// "never" for it, and the capturing test then misses that line (about one
/// run in seven of bearer-auth's `a_disabled_layer_logs_nothing` did). With
/// two, every registered dispatcher is asked.
fn keep_a_second_dispatcher() {
    static SECOND: OnceLock<tracing::Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
