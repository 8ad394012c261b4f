//! When the store cannot answer, clients get `503` with `Retry-After` and a
//! JSON-RPC error: never a `500`, never a `404` that would make them drop a
//! live session, never a session created somewhere else instead. When the
//! store answers again, service resumes without a restart.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use mcp_guard_test_support::outage;
use mcp_session::store::{
    Created, MemorySessionStore, SessionStore, SessionStoreLimits, StoreError,
};
use mcp_session::{Mode, SessionGuardLayer, SessionId, SessionRecord, StateChanges};
use support::{INITIALIZE, PING, collect, initialize_handler, request};
use tower::{Layer, ServiceExt};

/// The in-memory store behind a switch that makes every call fail, the way a
/// network store fails when its server is down.
#[derive(Clone, Default)]
struct Outage {
    store: MemorySessionStore,
    down: Arc<AtomicBool>,
}

impl Outage {
    fn check(&self) -> Result<(), StoreError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(StoreError::new(
                "connection refused",
                Duration::from_secs(7),
            )),
            false => Ok(()),
        }
    }
}

impl SessionStore for Outage {
    async fn create(
        &self,
        record: SessionRecord,
        limits: SessionStoreLimits,
    ) -> Result<Created, StoreError> {
        self.check()?;
        self.store.create(record, limits).await
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.check()?;
        self.store.load(id).await
    }

    async fn touch(&self, id: &SessionId, at: u64) -> Result<(), StoreError> {
        self.check()?;
        self.store.touch(id, at).await
    }

    async fn update_state(&self, id: &SessionId, changes: StateChanges) -> Result<(), StoreError> {
        self.check()?;
        self.store.update_state(id, changes).await
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.check()?;
        self.store.remove(id).await
    }
}

#[tokio::test]
async fn an_unavailable_store_means_503_and_service_resumes_after() {
    let outage = Outage::default();
    let layer = SessionGuardLayer::builder(Mode::Issue, outage.clone())
        .build()
        .unwrap();
    let service = layer.layer(initialize_handler());
    let send = |id: Option<&str>, body: &'static str| {
        service.clone().oneshot(request(Method::POST, id, body))
    };

    let id = send(None, INITIALIZE).await.unwrap().headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    outage.down.store(true, Ordering::SeqCst);

    for (case, response) in [
        (
            "a request in a live session",
            send(Some(&id), PING).await.unwrap(),
        ),
        ("an initialize", send(None, INITIALIZE).await.unwrap()),
    ] {
        let response = collect(response).await.unwrap();
        outage::assert_unavailable(case, &response, "session", "7");
        assert!(
            response.headers().get("mcp-session-id").is_none(),
            "{case}: no session handed out"
        );
    }

    // A malformed id is refused before any store lookup: 400 even now.
    let malformed = send(Some("not a valid id"), PING).await.unwrap();
    assert_eq!(
        malformed.status(),
        StatusCode::BAD_REQUEST,
        "no lookup for an id that cannot exist"
    );

    outage.down.store(false, Ordering::SeqCst);
    assert_eq!(
        send(Some(&id), PING).await.unwrap().status(),
        StatusCode::OK,
        "the session survived the outage"
    );
    assert_eq!(
        outage.store.live_sessions().await,
        1,
        "the outage created nothing"
    );
}
