//! Hostile input against the whole `McpGuard::remote(...)` stack in front of a
//! real rmcp `StreamableHttpService`, served over real loopback HTTP by
//! hyper-util (so slow bodies, header floods and raw bytes are real): bodies
//! too large or too slow, huge and numerous headers, deep JSON, invalid
//! UTF-8, batches, control and non-ASCII bytes in every MCP header, floods of
//! initializes and of resumes with random `Last-Event-ID`s, and tokens of
//! every malformed shape.
//!
//! Each case asserts the status, the JSON-RPC error body where a guard
//! answers, that no task panicked and the server still answers afterwards,
//! that memory stays bounded (peak RSS from /proc/self/status), and that
//! nothing crosses from one caller's session to another's. The tests take
//! turns (one lock) so that each one's memory measurement is its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use mcp_guard::McpGuard;
use mcp_guard::bearer_auth::{BearerAuthLayer, JwtVerifier, ProtectedResourceMetadata};
use mcp_guard::core::EnvelopeLimits;
use mcp_guard::protocol_guard::ProtocolGuardLayer;
use mcp_guard_test_support::jwt::{hs256_token as sign, unix_now as now};
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use serde_json::{Value, json};
use support::mcp_http;
use support::memory::with_bounded_memory;
use support::panics::{PANICS, count_panics};
use support::raw_http::{
    PATIENCE, bearer_line, complete, parse_response, post_head, raw, read_bytes, read_response,
};
use support::rmcp_echo::echo_service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::Layer;

const ISSUER: &str = "https://auth.example.com";
const SECRET: &[u8] = b"a hostile-input secret, 32+ bytes long";
const STATELESS: &str = "2026-07-28";
const MAX_BODY: usize = 64 * 1024;
const BODY_READ_TIMEOUT: Duration = Duration::from_millis(400);

/// The tests take turns: each one's peak-RSS measurement is its own.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------- the server

struct Server {
    addr: SocketAddr,
    url: String,
    /// Requests that reached the rmcp handler.
    hits: Arc<AtomicUsize>,
}

struct Settings {
    rate_limit: Option<(u32, u32)>,
    max_sessions: (usize, usize),
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate_limit: None,
            max_sessions: (1_000, 100),
        }
    }
}

/// The remote preset with a static HS256 key, in front of rmcp's
/// [`Echo`](support::rmcp_echo::Echo) (`echo {text}` answers with the text,
/// the caller's subject and session id, so a leak across callers or sessions
/// would show), on a fresh loopback port. hyper's own limits stay at their
/// defaults (100 headers, ~400 KiB of head) with a 1 s header read timeout.
async fn start(settings: Settings) -> Server {
    count_panics();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://127.0.0.1:{}/mcp", addr.port());
    let peek = EnvelopeLimits::new()
        .max_body_bytes(MAX_BODY)
        .read_timeout(BODY_READ_TIMEOUT);
    let verifier = JwtVerifier::builder(ISSUER, &url)
        .hs256_secret(SECRET)
        .build()
        .unwrap();
    let bearer = BearerAuthLayer::builder(verifier, ProtectedResourceMetadata::new(&url, [ISSUER]))
        .envelope_limits(peek.clone())
        .build();
    // `echo`'s text is mirrored into Mcp-Param-Text in the stateless era.
    let protocol = ProtocolGuardLayer::builder()
        .envelope_limits(peek)
        .tool_input_schema(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string", "x-mcp-header": "Text"}}}),
        )
        .build()
        .unwrap();
    let mut guard = McpGuard::remote(&url)
        .bearer_auth(bearer)
        .protocol_guard(protocol)
        .max_body_bytes(MAX_BODY)
        .body_read_timeout(BODY_READ_TIMEOUT)
        .max_sessions(settings.max_sessions.0, settings.max_sessions.1);
    guard = match settings.rate_limit {
        Some((rate, burst)) => guard.rate_limit(rate, burst),
        None => guard.without_rate_limit(),
    };
    let guard = guard.build().unwrap();
    let rmcp = echo_service(StreamableHttpServerConfig::default().disable_allowed_hosts());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = {
        let hits = hits.clone();
        tower::ServiceBuilder::new()
            .map_request(move |request: http::Request<_>| {
                hits.fetch_add(1, Ordering::SeqCst);
                request
            })
            .service(rmcp)
    };
    let service = guard.layer(counted);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(1));
                // Errors are the hostile clients' doing; the connection ends.
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, url, hits }
}

// ------------------------------------------------------------------- tokens

fn claims(server: &Server, subject: &str) -> Value {
    json!({"iss": ISSUER, "aud": server.url, "sub": subject, "scope": "mcp", "exp": now() + 600})
}

fn token(server: &Server, subject: &str) -> String {
    sign(&claims(server, subject), SECRET)
}

// ----------------------------------------------------------- a proper client

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"1"}}}"#;

/// A legacy-era session of `subject`: initialize and initialized.
async fn open_session(server: &Server, http: &reqwest::Client, subject: &str) -> String {
    let initialize: Value = serde_json::from_str(INITIALIZE).unwrap();
    let response = mcp_http::post(http, &server.url, &initialize, None)
        .bearer_auth(token(server, subject))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "initialize as {subject}");
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    response.bytes().await.unwrap();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let notified = mcp_http::post(http, &server.url, &initialized, Some(&session))
        .bearer_auth(token(server, subject))
        .send()
        .await
        .unwrap();
    assert_eq!(notified.status(), 202);
    session
}

/// `echo {text}` in `session` as `subject`: the SSE events' ids and data.
async fn echo(
    server: &Server,
    http: &reqwest::Client,
    subject: &str,
    session: &str,
    text: &str,
) -> Vec<(Option<String>, String)> {
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": text}}});
    let response = mcp_http::post(http, &server.url, &body, Some(session))
        .bearer_auth(token(server, subject))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(PATIENCE, response.text())
        .await
        .expect("the echo stream ends")
        .unwrap();
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let id = block
            .lines()
            .find_map(|line| line.strip_prefix("id:"))
            .map(|id| id.trim().to_owned());
        let data: Vec<&str> = block
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        if id.is_some() || !data.is_empty() {
            events.push((id, data.join("\n")));
        }
    }
    events
}

/// The server still serves a well-formed session after whatever came before,
/// and nothing panicked anywhere in the process.
async fn assert_still_serving(server: &Server, panics_before: usize) {
    let http = reqwest::Client::new();
    let session = open_session(server, &http, "after-the-storm").await;
    let events = echo(server, &http, "after-the-storm", &session, "still here").await;
    assert!(
        events.iter().any(|(_, data)| data.contains("still here")),
        "{events:?}"
    );
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        panics_before,
        "a task panicked during the test"
    );
}

// ------------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_slow_bodies_are_cut_off_with_bounded_memory() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    let server = start(Settings::default()).await;
    let auth = bearer_line(&token(&server, "alice"));

    // A declared length over the limit: 413 before a byte of the body is read.
    let head = [
        post_head(server.addr, &[&auth]),
        b"content-length: 104857600\r\n\r\n".to_vec(),
    ]
    .concat();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&head).await.unwrap();
    let declared = read_response(&mut stream).await;
    let body = declared.assert_guard_error(413, "a 100 MiB Content-Length");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&MAX_BODY.to_string()),
        "{body}"
    );

    // Undeclared (chunked) bodies of 8 MiB each, 16 at once: 128 MiB offered,
    // each cut off at the 64 KiB limit with 413; the peak RSS shows none was
    // buffered.
    static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
    let grown = with_bounded_memory("16 chunked 8 MiB bodies", 48, async {
        let mut streams = Vec::new();
        for _ in 0..16 {
            let server_addr = server.addr;
            let auth = auth.clone();
            let host = server.addr.to_string();
            streams.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(server_addr).await.unwrap();
                let head = format!(
                    "POST /mcp HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n{}\r\ntransfer-encoding: chunked\r\n\r\n",
                    String::from_utf8(auth).unwrap()
                );
                let (mut reader, mut writer) = stream.split();
                let write = async {
                    writer.write_all(head.as_bytes()).await?;
                    for _ in 0..128 {
                        writer.write_all(b"10000\r\n").await?;
                        writer.write_all(&CHUNK).await?;
                        writer.write_all(b"\r\n").await?;
                    }
                    writer.write_all(b"0\r\n\r\n").await
                };
                let read = async {
                    let mut bytes = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !complete(&bytes) {
                        match reader.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                        }
                    }
                    bytes
                };
                // The server answers after 64 KiB and stops reading; the
                // writer then fails, which is the point.
                let (_, bytes) = tokio::time::timeout(PATIENCE, async {
                    tokio::join!(write, read)
                })
                .await
                .expect("the server answers an oversized body promptly");
                parse_response(&bytes)
            }));
        }
        for stream in streams {
            stream
                .await
                .unwrap()
                .assert_guard_error(413, "an 8 MiB chunked body");
        }
    })
    .await;
    assert!(grown < 48);

    // A slowloris body: one byte every 50 ms of a declared 200. The body read
    // timeout (400 ms) answers 408 and frees the connection.
    let started = Instant::now();
    let head = [
        post_head(server.addr, &[&auth]),
        b"content-length: 200\r\n\r\n".to_vec(),
    ]
    .concat();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&head).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        for byte in INITIALIZE.bytes().take(100) {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let answer = async {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        while !complete(&bytes) {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            }
        }
        parse_response(&bytes)
    };
    let slow = tokio::select! {
        response = answer => response,
        () = async { trickle.await; std::future::pending::<()>().await } => unreachable!(),
        () = tokio::time::sleep(PATIENCE) => panic!("the slow body was never cut off"),
    };
    slow.assert_guard_error(408, "a body trickling in at 20 bytes/s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut off after the 400 ms read timeout, not at the end: {:?}",
        started.elapsed()
    );

    // Slow headers are the HTTP server's to bound (hyper's header read
    // timeout, 1 s here): the connection is closed without a request.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nhost: ")
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    let closed = tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await;
    assert!(
        closed.is_ok(),
        "a connection stuck in its headers is closed by the header read timeout"
    );

    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "nothing reached rmcp"
    );
    assert_still_serving(&server, panics).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_numerous_headers_are_refused_and_the_server_keeps_answering() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    let server = start(Settings::default()).await;
    let auth = bearer_line(&token(&server, "alice"));
    with_bounded_memory("header floods", 32, async {
        // More headers than hyper parses (100): 431 from the HTTP server.
        let many: Vec<Vec<u8>> = (0..200)
            .map(|i| format!("x-flood-{i}: {i}").into_bytes())
            .collect();
        let many: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
        let response = raw(
            server.addr,
            &post_head(server.addr, &many),
            INITIALIZE.as_bytes(),
        )
        .await;
        assert_eq!(response.status, 431, "{response:?}");

        // A head larger than hyper buffers (~400 KiB): 431 as well, in many
        // connections at once without the memory following.
        // One shared copy on the client side, so the measurement is the server's.
        let huge = format!("x-huge: {}", "a".repeat(1024 * 1024)).into_bytes();
        let head: Arc<Vec<u8>> =
            Arc::new([post_head(server.addr, &[&huge]), b"\r\n".to_vec()].concat());
        drop(huge);
        let mut floods = Vec::new();
        for _ in 0..16 {
            let head = head.clone();
            let addr = server.addr;
            floods.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let _ = stream.write_all(&head).await;
                let bytes = read_bytes(&mut stream).await;
                (!bytes.is_empty()).then(|| parse_response(&bytes).status)
            }));
        }
        let mut answered = 0;
        for flood in floods {
            // None: reset while the client was still sending, refused too.
            if let Some(status) = flood.await.unwrap() {
                assert_eq!(status, 431, "a 1 MiB header");
                answered += 1;
            }
        }
        eprintln!("1 MiB headers: {answered} of 16 answered 431, the rest reset");

        // Large values the HTTP server accepts but the guards bound: a 64 KiB
        // token (400 invalid_request with a challenge), a 32 KiB session id
        // (400 without a store lookup).
        let long_token = format!("authorization: Bearer {}", "a".repeat(64 * 1024)).into_bytes();
        let response = raw(
            server.addr,
            &post_head(server.addr, &[&long_token]),
            INITIALIZE.as_bytes(),
        )
        .await;
        response.assert_guard_error(400, "a 64 KiB token");
        assert!(
            response
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_request"),
            "{response:?}"
        );
        let long_session = format!("mcp-session-id: {}", "s".repeat(32 * 1024)).into_bytes();
        let ping = br#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#;
        let response = raw(
            server.addr,
            &post_head(
                server.addr,
                &[&auth, &long_session, b"mcp-protocol-version: 2025-11-25"],
            ),
            ping,
        )
        .await;
        response.assert_guard_error(400, "a 32 KiB session id");
    })
    .await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "nothing reached rmcp"
    );
    assert_still_serving(&server, panics).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_invalid_utf8_and_forbidden_batches_get_json_rpc_errors() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    let server = start(Settings::default()).await;
    let auth = bearer_line(&token(&server, "alice"));
    let version = b"mcp-protocol-version: 2025-11-25".as_slice();
    with_bounded_memory("deep and broken JSON", 32, async {
        // Nesting where the guards read (the method): unparsable, 400 -32700.
        let deep_method = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":{}1{}}}"#,
            "[".repeat(20_000),
            "]".repeat(20_000)
        );
        let response = raw(server.addr, &post_head(server.addr, &[&auth, version]), deep_method.as_bytes()).await;
        let body = response.assert_guard_error(400, "a method nested 20 000 deep");
        assert_eq!(body["error"]["code"], -32700);

        // Nesting in the arguments, which the guards skip without recursion:
        // no guard overflows; the envelope peek passes it on, and without a
        // session the session layer answers 400 — rmcp never parses it.
        let deep_arguments = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":{}1{}}}}}}}"#,
            "[".repeat(30_000),
            "]".repeat(30_000)
        );
        let response =
            raw(server.addr, &post_head(server.addr, &[&auth, version]), deep_arguments.as_bytes()).await;
        response.assert_guard_error(400, "arguments nested 30 000 deep, no session");

        // Invalid UTF-8: 400 -32700.
        let response = raw(server.addr,
            &post_head(server.addr, &[&auth, version]),
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\xff\xfe\"}",
        )
        .await;
        let body = response.assert_guard_error(400, "invalid UTF-8");
        assert_eq!(body["error"]["code"], -32700);

        // Batches outside 2025-03-26: 400 -32600.
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
        let response = raw(server.addr, &post_head(server.addr, &[&auth, version]), batch).await;
        let body = response.assert_guard_error(400, "a batch in 2025-11-25");
        assert_eq!(body["error"]["code"], -32600);
        let response = raw(server.addr,
            &post_head(server.addr, &[&auth, b"mcp-protocol-version: 2026-07-28"]),
            batch,
        )
        .await;
        response.assert_guard_error(400, "a batch in the stateless era");

        // A duplicated member the guards read: ambiguous, 400 -32700.
        let response = raw(server.addr,
            &post_head(server.addr, &[&auth, version]),
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#,
        )
        .await;
        response.assert_guard_error(400, "a duplicated method");
    })
    .await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "nothing reached rmcp"
    );
    assert_still_serving(&server, panics).await;
}

/// (the header, the request head, the body, the statuses a guard may answer with)
type HeaderCase<'a> = (&'a str, Vec<u8>, Vec<u8>, Vec<u16>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_and_non_ascii_bytes_in_every_mcp_header_are_refused() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    let server = start(Settings::default()).await;
    let http = reqwest::Client::new();
    let session = open_session(&server, &http, "alice").await;
    let hits_before = server.hits.load(Ordering::SeqCst);
    let auth = bearer_line(&token(&server, "alice"));
    let session_line = format!("mcp-session-id: {session}").into_bytes();
    let legacy = b"mcp-protocol-version: 2025-11-25".as_slice();
    let stateless_body = format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hi"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"{STATELESS}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
    );
    let ping = br#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#;
    // Bytes hyper passes on (obs-text, inner tab, edge space) and bytes it
    // refuses itself (controls and DEL: 400 before any guard).
    let hostile: [&[u8]; 6] = [
        b"caf\xc3\xa9",
        b"\xff\xfe",
        b"a\x7fb",
        b"a\tb",
        b"x ",
        b"a\x01b",
    ];

    with_bounded_memory("hostile header bytes", 32, async {
        for value in hostile {
            let reaches_guards = !value.contains(&0x01) && !value.contains(&0x7f);
            let line = |name: &str| [name.as_bytes(), b": ", value].concat();
            let mut cases: Vec<HeaderCase<'_>> = Vec::new();
            cases.push((
                "mcp-session-id",
                post_head(server.addr, &[&auth, legacy, &line("mcp-session-id")]),
                ping.to_vec(),
                vec![400, 404],
            ));
            cases.push((
                "mcp-protocol-version",
                post_head(server.addr, &[&auth, &session_line, &line("mcp-protocol-version")]),
                ping.to_vec(),
                vec![400],
            ));
            let stateless = b"mcp-protocol-version: 2026-07-28".as_slice();
            cases.push((
                "mcp-method",
                post_head(server.addr, &[&auth, stateless, &line("mcp-method"), b"mcp-name: echo", b"mcp-param-text: hi"]),
                stateless_body.clone().into_bytes(),
                vec![400],
            ));
            cases.push((
                "mcp-name",
                post_head(server.addr, &[&auth, stateless, b"mcp-method: tools/call", &line("mcp-name"), b"mcp-param-text: hi"]),
                stateless_body.clone().into_bytes(),
                vec![400],
            ));
            cases.push((
                "mcp-param-text",
                post_head(server.addr, &[&auth, stateless, b"mcp-method: tools/call", b"mcp-name: echo", &line("mcp-param-text")]),
                stateless_body.clone().into_bytes(),
                vec![400],
            ));
            cases.push((
                "last-event-id",
                [
                    format!("GET /mcp HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n", server.addr).into_bytes(),
                    [auth.as_slice(), b"\r\n", &session_line, b"\r\n", legacy, b"\r\n", &line("last-event-id"), b"\r\n"].concat(),
                ]
                .concat(),
                Vec::new(),
                vec![400],
            ));
            cases.push((
                "authorization",
                post_head(server.addr, &[&line("authorization")]),
                ping.to_vec(),
                vec![400, 401],
            ));
            cases.push((
                "origin",
                post_head(server.addr, &[&auth, &line("origin")]),
                INITIALIZE.as_bytes().to_vec(),
                vec![403],
            ));
            cases.push((
                "host",
                [
                    b"POST /mcp HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n".to_vec(),
                    line("host"),
                    b"\r\n".to_vec(),
                    auth.clone(),
                    b"\r\n".to_vec(),
                ]
                .concat(),
                INITIALIZE.as_bytes().to_vec(),
                vec![400, 403, 421],
            ));
            for (header, head, body, statuses) in cases {
                let what = format!("{header}: {:?}", String::from_utf8_lossy(value));
                let response = raw(server.addr, &head, &body).await;
                if reaches_guards && header != "host" {
                    assert!(statuses.contains(&response.status), "{what}: {response:?}");
                    response.assert_guard_error(response.status, &what);
                } else {
                    // hyper refuses control bytes, and may refuse a bad Host,
                    // before any guard runs; either way, a 4xx.
                    assert!((400..500).contains(&response.status), "{what}: {response:?}");
                    if response.header("content-type") == Some("application/json") {
                        response.assert_guard_error(response.status, &what);
                    }
                }
            }
        }
    })
    .await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        hits_before,
        "no request with a hostile MCP header reached rmcp"
    );
    assert_still_serving(&server, panics).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_initializes_meets_the_caps_and_the_rate_limit_with_retry_after() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    // Session caps: 3 per principal, 5 in all.
    let server = start(Settings {
        rate_limit: None,
        max_sessions: (5, 3),
    })
    .await;
    let server = &server;
    let initialize_as = |subject: &str| {
        let head = post_head(server.addr, &[&bearer_line(&token(server, subject))]);
        async move { raw(server.addr, &head, INITIALIZE.as_bytes()).await }
    };
    with_bounded_memory("an initialize flood", 32, async {
        let mut alice = Vec::new();
        for _ in 0..20 {
            alice.push(initialize_as("alice").await);
        }
        let created = alice
            .iter()
            .filter(|response| response.status == 200)
            .count();
        assert_eq!(created, 3, "alice's cap");
        for refused in alice.iter().filter(|response| response.status != 200) {
            let body = refused.assert_guard_error(429, "alice over her cap");
            assert!(refused.header("retry-after").is_some(), "{refused:?}");
            assert!(body["error"]["message"].is_string());
        }
        for _ in 0..2 {
            assert_eq!(
                initialize_as("bob").await.status,
                200,
                "bob has his own cap"
            );
        }
        let carol = initialize_as("carol").await;
        carol.assert_guard_error(503, "the server-wide cap");
        assert!(carol.header("retry-after").is_some(), "{carol:?}");

        // Ending one of alice's sessions frees a place.
        let ended = alice
            .iter()
            .find_map(|response| response.header("mcp-session-id"))
            .unwrap()
            .to_owned();
        let deleted = mcp_http::in_session(reqwest::Client::new().delete(&server.url), &ended)
            .bearer_auth(token(server, "alice"))
            .send()
            .await
            .unwrap();
        assert!(deleted.status().is_success(), "{}", deleted.status());
    })
    .await;

    // The per-principal rate limit: a burst of 5, then 429 with Retry-After.
    let limited = start(Settings {
        rate_limit: Some((1, 5)),
        max_sessions: (1_000, 1_000),
    })
    .await;
    let head = post_head(limited.addr, &[&bearer_line(&token(&limited, "mallory"))]);
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let response = raw(limited.addr, &head, INITIALIZE.as_bytes()).await;
        if response.status == 429 {
            response.assert_guard_error(429, "mallory over the rate limit");
            let retry: u64 = response.header("retry-after").unwrap().parse().unwrap();
            assert!(retry >= 1);
        }
        statuses.push(response.status);
    }
    let passed = statuses.iter().filter(|status| **status == 200).count();
    let limited_count = statuses.iter().filter(|status| **status == 429).count();
    assert!(
        (5..=7).contains(&passed),
        "the burst of 5 (plus refills): {statuses:?}"
    );
    assert_eq!(passed + limited_count, 30, "{statuses:?}");
    let other = raw(
        limited.addr,
        &post_head(limited.addr, &[&bearer_line(&token(&limited, "trent"))]),
        INITIALIZE.as_bytes(),
    )
    .await;
    assert_eq!(other.status, 200, "the limit is per principal");

    assert_still_serving(server, panics).await;
    assert_still_serving(&limited, panics).await;
}

/// A tiny deterministic generator (xorshift), so the flood is the same every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn id(&mut self, stream_like: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        match self.next() % 5 {
            // Another session's real stream, another sequence number.
            0 => format!("{stream_like}-{}", self.next() % 1000),
            // A plausible random id.
            1 => {
                let length = 1 + (self.next() % 32) as usize;
                let stream: String = (0..length)
                    .map(|_| ALPHABET[(self.next() % 64) as usize] as char)
                    .collect();
                format!("{stream}-{}", self.next() % 100)
            }
            // Numbers, huge numbers, and no stream at all.
            2 => format!("{}", self.next()),
            3 => format!("x-{}{}", self.next(), self.next()),
            // Printable junk.
            _ => (0..(1 + self.next() % 40))
                .map(|_| (0x21 + (self.next() % 94) as u8) as char)
                .collect(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_resumes_with_random_last_event_ids_is_refused_and_leaks_nothing() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    let server = start(Settings::default()).await;
    let http = reqwest::Client::new();
    let alice_session = open_session(&server, &http, "alice").await;
    let secret = "alice's-secret-echo-7f3a";
    let events = echo(&server, &http, "alice", &alice_session, secret).await;
    assert!(
        events.iter().any(|(_, data)| data.contains(secret)),
        "{events:?}"
    );
    let alice_ids: Vec<String> = events.iter().filter_map(|(id, _)| id.clone()).collect();
    assert!(!alice_ids.is_empty(), "the layer gives events ids");
    let alice_stream = alice_ids[0].rsplit_once('-').unwrap().0.to_owned();

    let bob_session = open_session(&server, &http, "bob").await;
    let bob_token = token(&server, "bob");
    let resume = |session: &str, token: &str, last_event_id: &str| {
        mcp_http::resume(&http, &server.url, session, last_event_id)
            .bearer_auth(token)
            .timeout(PATIENCE)
            .send()
    };

    with_bounded_memory("a resume flood", 32, async {
        let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut ids: Vec<String> = (0..300).map(|_| random.id(&alice_stream)).collect();
        // Alice's real event ids, stolen by bob.
        ids.extend(alice_ids.iter().cloned());
        for chunk in ids.chunks(25) {
            let responses = futures_util::future::join_all(
                chunk.iter().map(|id| resume(&bob_session, &bob_token, id)),
            )
            .await;
            for (id, response) in chunk.iter().zip(responses) {
                let response = response.unwrap();
                let status = response.status();
                let content_type = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body = response.text().await.unwrap();
                assert_eq!(status, 400, "bob resuming {id:?}: {body}");
                assert_eq!(content_type, "application/json");
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["jsonrpc"], "2.0");
                assert!(body["error"]["code"].is_i64());
                assert!(!body.to_string().contains(secret), "leaked: {body}");
            }
        }
    })
    .await;

    // Bob with alice's session id: the same 404 as an unknown session.
    let stolen = resume(&alice_session, &bob_token, &alice_ids[0])
        .await
        .unwrap();
    assert_eq!(stolen.status(), 404);
    assert!(!stolen.text().await.unwrap().contains(secret));
    // Alice herself with a random id on her own session: 400, nothing replayed.
    let forged = resume(&alice_session, &token(&server, "alice"), "AAAAAAAAAAAA-1")
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(!forged.text().await.unwrap().contains(secret));

    // Bob's own echo carries bob's subject and session, nothing of alice's.
    let bob_events = echo(&server, &http, "bob", &bob_session, "bob's echo").await;
    let all: String = bob_events.iter().map(|(_, data)| data.as_str()).collect();
    assert!(
        all.contains("bob's echo") && all.contains(&bob_session),
        "{all}"
    );
    assert!(
        !all.contains(secret) && !all.contains(&alice_session),
        "{all}"
    );
    for (id, _) in &bob_events {
        if let Some(id) = id {
            assert!(
                !alice_ids.contains(id),
                "event ids are not shared across sessions"
            );
        }
    }
    assert_still_serving(&server, panics).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_every_malformed_shape_are_refused_with_a_challenge() {
    let _turn = TURN.lock().await;
    let panics = PANICS.load(Ordering::SeqCst);
    let server = start(Settings::default()).await;
    let good = claims(&server, "alice");
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        sign(&claims, SECRET)
    };
    let without = |key: &str| {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().remove(key);
        sign(&claims, SECRET)
    };
    let unsigned = |header: &str, claims: &Value| {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    };
    let valid = token(&server, "alice");
    let (head_and_claims, _) = valid.rsplit_once('.').unwrap();
    let tampered = format!("{head_and_claims}.{}", "A".repeat(43));
    // (what, Authorization header values, the status, the challenge's error)
    type Case = (&'static str, Vec<String>, u16, Option<&'static str>);
    let bad_request =
        |what, header: String| -> Case { (what, vec![header], 400, Some("invalid_request")) };
    let bad_token = |what, token: String| -> Case {
        (
            what,
            vec![format!("Bearer {token}")],
            401,
            Some("invalid_token"),
        )
    };
    let cases: Vec<Case> = vec![
        ("no header", vec![], 401, None),
        bad_request("Bearer and nothing", "Bearer".into()),
        bad_request("Bearer and spaces", "Bearer    ".into()),
        bad_request("Basic credentials", "Basic YWxpY2U6cGFzcw==".into()),
        bad_request("a token with a space", "Bearer abc def".into()),
        bad_request("a token with a quote", "Bearer abc\"def".into()),
        bad_request("only padding", "Bearer ====".into()),
        (
            "two Authorization headers",
            vec![format!("Bearer {valid}"), format!("Bearer {valid}")],
            400,
            Some("invalid_request"),
        ),
        bad_token("not a JWT", "abc.def".into()),
        bad_token("three parts of garbage", "a.b.c".into()),
        bad_token("alg none", unsigned(r#"{"alg":"none","typ":"JWT"}"#, &good)),
        bad_token(
            "alg RS256 with no key",
            unsigned(r#"{"alg":"RS256","kid":"x\"y"}"#, &good),
        ),
        bad_token("a tampered signature", tampered.clone()),
        bad_token(
            "another key",
            sign(&good, b"not the server's secret, 32+ bytes!"),
        ),
        bad_token("expired", with("exp", json!(now() - 3600))),
        bad_token("no exp", without("exp")),
        bad_token("not yet valid", with("nbf", json!(now() + 3600))),
        bad_token("another issuer", with("iss", json!("https://evil.example"))),
        bad_token(
            "another audience",
            with("aud", json!("https://other.example/mcp")),
        ),
        bad_token(
            "an audience list without us",
            with("aud", json!(["https://a.example", "https://b.example"])),
        ),
        bad_token("exp as a string", with("exp", json!("tomorrow"))),
        (
            "a 64 KiB token",
            vec![format!("Bearer {}", "a".repeat(64 * 1024))],
            400,
            Some("invalid_request"),
        ),
    ];
    let metadata_url = format!(
        "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
        server.addr.port()
    );
    with_bounded_memory("malformed tokens", 32, async {
        for (what, values, status, error) in &cases {
            let lines: Vec<Vec<u8>> = values
                .iter()
                .map(|value| format!("authorization: {value}").into_bytes())
                .collect();
            let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
            let response = raw(server.addr, &post_head(server.addr, &lines), INITIALIZE.as_bytes()).await;
            response.assert_guard_error(*status, what);
            let challenge = response.header("www-authenticate").unwrap_or_else(|| panic!("{what}: no challenge"));
            assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
            assert!(
                challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
                "{what}: {challenge}"
            );
            match error {
                Some(error) => assert!(challenge.contains(&format!("error=\"{error}\"")), "{what}: {challenge}"),
                None => assert!(!challenge.contains("error="), "{what}: {challenge}"),
            }
            for value in values {
                let token = value.split_once(' ').map_or("", |(_, token)| token.trim());
                if token.len() >= 16 {
                    assert!(
                        !String::from_utf8_lossy(&response.body).contains(token) && !challenge.contains(token),
                        "{what}: the token is echoed"
                    );
                }
            }
        }
        // A token in the query string: 400, even with a good header.
        let head = [
            format!("POST /mcp?access_token={valid} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n", server.addr).into_bytes(),
            bearer_line(&valid),
            b"\r\n".to_vec(),
        ]
        .concat();
        raw(server.addr, &head, INITIALIZE.as_bytes())
            .await
            .assert_guard_error(400, "a token in the query string");
    })
    .await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "no malformed token reached rmcp"
    );
    // The lowercase scheme with the valid token is accepted.
    let lowercase = raw(
        server.addr,
        &post_head(
            server.addr,
            &[format!("authorization: bearer {valid}").as_bytes()],
        ),
        INITIALIZE.as_bytes(),
    )
    .await;
    assert_eq!(lowercase.status, 200, "{lowercase:?}");
    assert_still_serving(&server, panics).await;
}
