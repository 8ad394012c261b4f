//! Counts panics anywhere in the test process, server tasks included: a
//! spawned task's panic never reaches the test otherwise.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Panics anywhere in the process since [`count_panics`] first ran.
pub static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Installs (once) a panic hook that counts into [`PANICS`], then runs the
/// default hook.
pub fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}
