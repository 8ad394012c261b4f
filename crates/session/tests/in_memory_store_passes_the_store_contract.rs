//! The embedded store passes the contract every session store must pass.

use mcp_session::store::{MemorySessionStore, contract};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_passes_the_store_contract() {
    contract::run(MemorySessionStore::new).await;
}
