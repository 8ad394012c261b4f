//! The embedded event store passes the contract every event store must pass.

use mcp_sse_resume::store::{MemoryEventStore, contract};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_event_store_passes_the_store_contract() {
    contract::run(MemoryEventStore::new).await;
}
