//! Two example-server processes on one real `redis-server`, the way instances
//! behind a load balancer run: a session created on A is valid on B, a stream
//! cut on A resumes on B with everything A's handler still produced, DELETE on
//! B ends the session on A, and a Redis outage gives clear 503s, then recovery
//! without a restart and without losing an acknowledged event.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::time::Duration;

use mcp_guard_test_support::RedisServer;
use serde_json::{Value, json};
use support::{Event, ExampleServer, mcp_http, read_events};

struct Client {
    http: reqwest::Client,
}

impl Client {
    fn new() -> Client {
        Client {
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, url: &str, body: Value, session: Option<&str>) -> reqwest::Response {
        mcp_http::post(&self.http, url, &body, session)
            .send()
            .await
            .unwrap()
    }

    /// initialize (+ notifications/initialized): the new session's id.
    async fn open_session(&self, url: &str) -> String {
        let response = self.post(url, mcp_http::initialize(), None).await;
        assert_eq!(response.status(), 200, "initialize on {url}");
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        response.bytes().await.unwrap();
        let notified = self
            .post(
                url,
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                Some(&session),
            )
            .await;
        assert_eq!(notified.status(), 202);
        session
    }

    async fn echo(&self, url: &str, session: &str, text: &str) -> (u16, String) {
        let response = self
            .post(
                url,
                json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": text}}}),
                Some(session),
            )
            .await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn slow_count(
        &self,
        url: &str,
        session: &str,
        n: u32,
        interval_ms: u64,
    ) -> reqwest::Response {
        let response = self
            .post(
                url,
                json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "slow_count", "arguments": {"n": n, "interval_ms": interval_ms},
                           "_meta": {"progressToken": "redis-1"}}}),
                Some(session),
            )
            .await;
        assert_eq!(response.status(), 200);
        response
    }

    async fn resume(&self, url: &str, session: &str, last_event_id: &str) -> reqwest::Response {
        mcp_http::resume(&self.http, url, session, last_event_id)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_instance_works_and_ends_on_the_other() {
    let redis = RedisServer::start();
    let a = ExampleServer::start(&["--redis", &redis.url()]);
    let b = ExampleServer::start(&["--redis", &redis.url()]);
    let client = Client::new();

    let session = client.open_session(&a.url).await;
    let (status, reply) = client
        .echo(&b.url, &session, "made on A, served by B")
        .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("made on A, served by B"), "{reply}");

    let deleted = mcp_http::in_session(client.http.delete(&b.url), &session)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204, "DELETE on B");
    let (status, reply) = client.echo(&a.url, &session, "after DELETE").await;
    assert_eq!(status, 404, "the session ended everywhere: {reply}");
    assert!(reply.contains("-32001"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_on_one_instance_resumes_on_the_other_with_every_event_once() {
    let redis = RedisServer::start();
    let a = ExampleServer::start(&["--redis", &redis.url()]);
    let b = ExampleServer::start(&["--redis", &redis.url()]);
    let client = Client::new();
    let session = client.open_session(&a.url).await;

    let total = 30;
    let mut stream = client.slow_count(&a.url, &session, total, 40).await;
    let before = read_events(&mut stream, Duration::from_secs(10), |events| {
        events.iter().filter_map(Event::progress).count() >= 5
    })
    .await;
    drop(stream); // the connection to A dies; A's handler keeps counting into Redis
    let last_seen = before.last().and_then(|event| event.id.clone()).unwrap();

    let mut resumed = client.resume(&b.url, &session, &last_seen).await;
    assert_eq!(resumed.status(), 200, "resume on B");
    let after = read_events(&mut resumed, Duration::from_secs(15), |events| {
        events.iter().any(|event| event.is_response_to(2))
    })
    .await;
    let progress: Vec<f64> = before
        .iter()
        .chain(&after)
        .filter_map(Event::progress)
        .collect();
    assert_eq!(
        progress,
        (1..=total).map(f64::from).collect::<Vec<_>>(),
        "every event exactly once, in order"
    );
    let result = Event::response_to(&after, 2);
    assert_eq!(
        result["result"]["content"][0]["text"],
        format!("counted to {total}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_gives_503s_then_recovers_without_losing_acknowledged_events() {
    // Persistent (append-only, fsync always): a restarted Redis still has what
    // it acknowledged, as a production Redis with persistence would.
    let mut redis = RedisServer::start_persistent();
    let a = ExampleServer::start(&["--redis", &redis.url()]);
    let b = ExampleServer::start(&["--redis", &redis.url()]);
    let client = Client::new();
    let session = client.open_session(&a.url).await;

    let mut stream = client.slow_count(&a.url, &session, 200, 20).await;
    let seen = read_events(&mut stream, Duration::from_secs(10), |events| {
        events.iter().filter_map(Event::progress).count() >= 6
    })
    .await;
    let seen: Vec<&Event> = seen
        .iter()
        .filter(|event| event.progress().is_some())
        .collect();
    redis.stop();
    drop(stream);

    // While Redis is down: clear 503s with Retry-After and a JSON-RPC error, on
    // both instances, for new sessions, calls in a session, and resumes.
    let initialize = client.post(&b.url, mcp_http::initialize(), None).await;
    assert_eq!(initialize.status(), 503);
    assert!(initialize.headers().contains_key("retry-after"));
    let body: Value = initialize.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(body["error"]["message"].is_string(), "{body}");
    let (status, reply) = client.echo(&a.url, &session, "during the outage").await;
    assert_eq!(status, 503, "{reply}");
    let resume = client
        .resume(&b.url, &session, seen[1].id.as_deref().unwrap())
        .await;
    assert_eq!(resume.status(), 503);

    // Redis comes back on the same port: no instance is restarted.
    redis.restart();
    // Each instance's connections reconnect by themselves; the first request on
    // a broken connection may still get a 503 (it found the break), so poll.
    for (name, url) in [("A", &a.url), ("B", &b.url)] {
        let mut recovered = false;
        for _ in 0..100 {
            if client.echo(url, &session, "after the outage").await.0 == 200 {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            recovered,
            "the session works on {name} again within 10 s of Redis returning"
        );
    }

    // Every event the store acknowledged before the outage is still there: a
    // resume on B after the second one replays the third onwards, unchanged.
    let mut resumed = client
        .resume(&b.url, &session, seen[1].id.as_deref().unwrap())
        .await;
    assert_eq!(resumed.status(), 200);
    let replayed = read_events(&mut resumed, Duration::from_secs(10), |events| {
        events
            .iter()
            .filter(|event| event.progress().is_some())
            .count()
            >= seen.len() - 2
    })
    .await;
    let replayed: Vec<(Option<String>, String)> = replayed
        .iter()
        .filter(|event| event.progress().is_some())
        .take(seen.len() - 2)
        .map(|event| (event.id.clone(), event.data.clone()))
        .collect();
    let expected: Vec<(Option<String>, String)> = seen[2..]
        .iter()
        .map(|event| (event.id.clone(), event.data.clone()))
        .collect();
    assert_eq!(
        replayed, expected,
        "acknowledged events replay with the same ids and data"
    );
}
