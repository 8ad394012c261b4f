//! The embedded event store passes the contract every event store must pass.

#![allow(clippy::expect_used)] // Tests fail loudly by design.

use mcp_sse_resume::store::{EventStoreLimits, MemoryEventStore, contract};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_event_store_passes_the_store_contract() {
    contract::run(|limits| MemoryEventStore::new(limits).expect("the contract's limits are valid"))
        .await;
}

#[test]
fn limits_that_cannot_work_are_refused_naming_the_setting() {
    let over = EventStoreLimits {
        max_bytes_per_principal: 2048,
        max_total_bytes: 1024,
        ..EventStoreLimits::default()
    };
    let error = MemoryEventStore::new(over).expect_err("a budget above the overall cap");
    assert_eq!(error.setting(), "max_bytes_per_principal");
    assert!(error.to_string().contains("max_total_bytes"), "{error}");

    let zero = EventStoreLimits {
        max_bytes_per_principal: 0,
        ..EventStoreLimits::default()
    };
    let error = MemoryEventStore::new(zero).expect_err("a zero budget");
    assert_eq!(error.setting(), "max_bytes_per_principal");

    let defaults = EventStoreLimits::default();
    assert!(
        defaults.max_bytes_per_principal * 8 <= defaults.max_total_bytes,
        "by default it takes at least eight principals to fill the store"
    );
    MemoryEventStore::new(defaults).expect("the defaults are valid");
}
