//! Property: whatever a handler answers a `tools/list` with, a caller whose
//! scopes do not allow `admin_echo` never receives it. The answers are built
//! from random choices: JSON or an event stream (any case, with parameters);
//! one response or a batch array; ids integer, float, exponent, string,
//! `null`, matching the request's or not, shared by several requests of a
//! batch; notifications, pings, errors, prompt lists and server requests
//! around the list; `admin_echo` anywhere in each tools list; SSE framed with
//! LF or CRLF, `data:` with or without its space, one JSON text over several
//! `data` lines, comments, `id`/`event`/`retry` lines, a priming event, the
//! last blank line missing; the body handed over in random chunks (cuts
//! inside lines and between a CR and its LF), with pauses and trailers.
//!
//! The oracle is the bytes: `admin_echo` appears nowhere else in what the
//! handler answers, so the received body must not hold `"admin_echo"` at
//! all. Every generated answer is well formed, so it must also be filtered,
//! not withheld: the visible tool `echo` is still there, and no `-32603`
//! error took its place. The body always ends (polled to completion under a
//! timeout), and nothing panics.
//!
//! A second property adds what the SSE specification allows beyond that:
//! lone CR line endings, and endings mixed within a stream. A third adds one
//! leading U+FEFF byte order mark, which the specification has a client
//! drop before reading the first field: it found a bypass (the filter read
//! `\u{feff}data: …` as a field it did not know and passed the event
//! unfiltered), fixed; its minimal case stays as a plain test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use mcp_bearer_auth::ScopePolicy;
use mcp_bearer_auth::discovery::DiscoveryFilterLayer;
use mcp_guard_core::{Principal, RpcEnvelope};
use proptest::prelude::*;
use proptest::sample::Index;
use tower::{Layer, ServiceExt};

const HIDDEN: &str = "admin_echo";

fn policy() -> ScopePolicy {
    ScopePolicy::new()
        .require(["mcp"])
        .require_for_tool(HIDDEN, ["mcp:admin"])
}

/// A JSON-RPC id as a handler or a client may write it.
#[derive(Debug, Clone, Copy)]
enum Id {
    One,
    OneFloat,
    OneExponent,
    OneString,
    Two,
    Letter,
    Null,
}

impl Id {
    fn json(self) -> &'static str {
        match self {
            Id::One => "1",
            Id::OneFloat => "1.0",
            Id::OneExponent => "1e0",
            Id::OneString => r#""1""#,
            Id::Two => "2",
            Id::Letter => r#""a""#,
            Id::Null => "null",
        }
    }
}

fn request_id() -> impl Strategy<Value = Id> {
    prop_oneof![
        Just(Id::One),
        Just(Id::OneFloat),
        Just(Id::OneExponent),
        Just(Id::OneString),
        Just(Id::Two),
        Just(Id::Letter),
    ]
}

fn answer_id() -> impl Strategy<Value = Id> {
    prop_oneof![request_id(), Just(Id::Null)]
}

/// Another request of a batch holding the `tools/list`.
#[derive(Debug, Clone, Copy)]
enum Other {
    Ping(Id),
    PromptsList(Id),
    ToolsList(Id),
    CallEcho(Id),
    Initialized,
}

impl Other {
    fn json(self) -> String {
        let request = |id: Id, method: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{},"method":"{method}"}}"#,
                id.json()
            )
        };
        match self {
            Other::Ping(id) => request(id, "ping"),
            Other::PromptsList(id) => request(id, "prompts/list"),
            Other::ToolsList(id) => request(id, "tools/list"),
            Other::CallEcho(id) => format!(
                r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"echo","arguments":{{}}}}}}"#,
                id.json()
            ),
            Other::Initialized => {
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into()
            }
        }
    }
}

fn other() -> impl Strategy<Value = Other> {
    prop_oneof![
        request_id().prop_map(Other::Ping),
        request_id().prop_map(Other::PromptsList),
        request_id().prop_map(Other::ToolsList),
        request_id().prop_map(Other::CallEcho),
        Just(Other::Initialized),
    ]
}

/// The request body: a `tools/list` alone, or in a batch with others.
#[derive(Debug, Clone)]
struct Requested {
    id: Id,
    others: Vec<Other>,
    /// Where the list goes among the others (modulo their count + 1).
    at: usize,
}

impl Requested {
    fn json(&self) -> String {
        let list = Other::ToolsList(self.id).json();
        if self.others.is_empty() {
            return list;
        }
        let mut all: Vec<String> = self.others.iter().map(|other| other.json()).collect();
        all.insert(self.at % (all.len() + 1), list);
        format!("[{}]", all.join(","))
    }
}

fn requested() -> impl Strategy<Value = Requested> {
    (
        request_id(),
        prop::collection::vec(other(), 0..4),
        0..4usize,
    )
        .prop_map(|(id, others, at)| Requested { id, others, at })
}

/// One tool of a list: its name, and whether it carries more than its name
/// (a description and a schema, the name last).
type Tool = (&'static str, bool);

/// One message of the handler's answer.
#[derive(Debug, Clone)]
enum Message {
    Tools {
        id: Id,
        tools: Vec<Tool>,
        cursor: bool,
        result_first: bool,
    },
    Ping(Id),
    Error(Id),
    Prompts(Id),
    Progress,
    ServerRequest,
}

impl Message {
    /// Compact JSON. No string in it holds `,`, `:`, `{` or `[`: those
    /// bytes are structure, where a JSON text may be cut into `data` lines.
    fn json(&self) -> String {
        match self {
            Message::Tools {
                id,
                tools,
                cursor,
                result_first,
            } => {
                let tools: Vec<String> = tools
                    .iter()
                    .map(|&(name, rich)| {
                        if rich {
                            format!(
                                r#"{{"description":"says what it is told","inputSchema":{{"type":"object"}},"name":"{name}"}}"#
                            )
                        } else {
                            format!(r#"{{"name":"{name}"}}"#)
                        }
                    })
                    .collect();
                let cursor = if *cursor { r#","nextCursor":"c2""# } else { "" };
                let result = format!(r#"{{"tools":[{}]{cursor}}}"#, tools.join(","));
                if *result_first {
                    format!(r#"{{"result":{result},"id":{},"jsonrpc":"2.0"}}"#, id.json())
                } else {
                    format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.json())
                }
            }
            Message::Ping(id) => format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, id.json()),
            Message::Error(id) => format!(
                r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32601,"message":"no such method"}}}}"#,
                id.json()
            ),
            Message::Prompts(id) => format!(
                r#"{{"jsonrpc":"2.0","id":{},"result":{{"prompts":[{{"name":"hello"}}]}}}}"#,
                id.json()
            ),
            Message::Progress => r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}"#.into(),
            Message::ServerRequest => r#"{"jsonrpc":"2.0","id":"s1","method":"roots/list"}"#.into(),
        }
    }
}

/// A tools list holding `admin_echo` (once or more) and `echo` (the tool the
/// caller sees) at random places among others.
fn tools_message() -> impl Strategy<Value = Message> {
    (
        answer_id(),
        prop::collection::vec(
            (prop_oneof![Just("add"), Just(HIDDEN)], any::<bool>()),
            0..4,
        ),
        (any::<Index>(), any::<bool>()),
        (any::<Index>(), any::<bool>()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                id,
                mut tools,
                (hidden_at, hidden_rich),
                (echo_at, echo_rich),
                cursor,
                result_first,
            )| {
                tools.insert(hidden_at.index(tools.len() + 1), (HIDDEN, hidden_rich));
                tools.insert(echo_at.index(tools.len() + 1), ("echo", echo_rich));
                Message::Tools {
                    id,
                    tools,
                    cursor,
                    result_first,
                }
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        tools_message(),
        answer_id().prop_map(Message::Ping),
        answer_id().prop_map(Message::Error),
        answer_id().prop_map(Message::Prompts),
        Just(Message::Progress),
        Just(Message::ServerRequest),
    ]
}

/// The answer's messages: at least one tools list, others around it.
fn messages() -> impl Strategy<Value = Vec<Message>> {
    (
        prop::collection::vec(message(), 0..4),
        tools_message(),
        any::<Index>(),
    )
        .prop_map(|(mut messages, list, at)| {
            messages.insert(at.index(messages.len() + 1), list);
            messages
        })
}

/// Which SSE framings a property draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// LF or CRLF for the whole stream.
    Listed,
    /// Also lone CRs, endings mixed line by line.
    Extended,
    /// As `Extended`, the stream opening with a byte order mark.
    ByteOrderMark,
}

#[derive(Debug, Clone)]
struct Case {
    request: Requested,
    version: &'static str,
    sse: bool,
    /// Which spelling of the content type (modulo 3).
    content_type: usize,
    messages: Vec<Message>,
    pretty: bool,
    /// Every other choice (framing, grouping, pauses), read in turn; 0 is
    /// always the plainest, so shrinking leads to the plainest framing.
    noise: Vec<u8>,
    /// Where the body is cut into chunks (modulo its length + 1).
    cuts: Vec<u16>,
    trailers: bool,
    framing: Framing,
}

fn case(framing: Framing) -> impl Strategy<Value = Case> {
    (
        requested(),
        prop_oneof![Just("2025-03-26"), Just("2025-06-18"), Just("2026-07-28")],
        any::<bool>(),
        0..3usize,
        messages(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..96),
        prop::collection::vec(any::<u16>(), 0..10),
        any::<bool>(),
    )
        .prop_map(
            move |(
                request,
                version,
                sse,
                content_type,
                messages,
                pretty,
                noise,
                cuts,
                trailers,
            )| {
                Case {
                    request,
                    version,
                    sse: sse || framing != Framing::Listed,
                    content_type,
                    messages,
                    pretty,
                    noise,
                    cuts,
                    trailers,
                    framing,
                }
            },
        )
}

/// The case's choices, read in turn (0 once they run out).
struct Dice<'a> {
    noise: &'a [u8],
    at: usize,
}

impl Dice<'_> {
    fn roll(&mut self, sides: u8) -> u8 {
        let value = self.noise.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        value % sides
    }

    fn chance(&mut self) -> bool {
        self.roll(2) == 1
    }
}

/// A JSON text: the compact one, or pretty (over several lines).
fn document(messages: &[Message], array: bool, pretty: bool) -> String {
    let compact = if array || messages.len() > 1 {
        let all: Vec<String> = messages.iter().map(Message::json).collect();
        format!("[{}]", all.join(","))
    } else {
        messages[0].json()
    };
    if pretty {
        let value: serde_json::Value = serde_json::from_str(&compact).unwrap();
        serde_json::to_string_pretty(&value).unwrap()
    } else {
        compact
    }
}

/// Writes SSE lines, each with the ending the framing draws.
struct Lines<'a, 'b> {
    out: String,
    dice: &'a mut Dice<'b>,
    framing: Framing,
    crlf: bool,
    last_cr: bool,
}

impl Lines<'_, '_> {
    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        let ending = match self.framing {
            Framing::Listed if self.crlf => "\r\n",
            Framing::Listed => "\n",
            Framing::Extended | Framing::ByteOrderMark => match self.dice.roll(3) {
                // After a lone CR, an empty line ending in LF would make
                // one CRLF of the two: no blank line, the events merged.
                0 if self.last_cr && text.is_empty() => "\r",
                0 => "\n",
                1 => "\r",
                _ => "\r\n",
            },
        };
        self.last_cr = ending == "\r";
        self.out.push_str(ending);
    }
}

/// The answer as the handler sends it.
fn render(case: &Case) -> String {
    let mut dice = Dice {
        noise: &case.noise,
        at: 0,
    };
    if !case.sse {
        let body = document(&case.messages, dice.chance(), case.pretty);
        let (before, after) = match dice.roll(3) {
            0 => ("", ""),
            1 => (" ", "\n"),
            _ => ("\r\n", " \r\n"),
        };
        return format!("{before}{body}{after}");
    }
    let crlf = dice.chance();
    let bom = case.framing == Framing::ByteOrderMark;
    let mut lines = Lines {
        out: String::new(),
        dice: &mut dice,
        framing: case.framing,
        crlf,
        last_cr: false,
    };
    if bom {
        lines.out.push('\u{feff}');
    }
    if lines.dice.chance() {
        // The priming event: an id, and empty data.
        lines.line("id: 0/p");
        let field = if lines.dice.chance() { "data" } else { "data:" };
        lines.line(field);
        lines.line("");
    }
    // Each event: one message, or several as an array.
    let mut groups: Vec<Vec<Message>> = vec![Vec::new()];
    for message in &case.messages {
        if !groups.last().unwrap().is_empty() && lines.dice.roll(3) != 0 {
            groups.push(Vec::new());
        }
        groups.last_mut().unwrap().push(message.clone());
    }
    let count = groups.len();
    for (index, group) in groups.iter().enumerate() {
        if lines.dice.roll(4) == 1 {
            lines.line(": keep-alive");
            lines.line("");
        }
        if lines.dice.chance() {
            lines.line(&format!("id: 0/{index}"));
        }
        if lines.dice.chance() {
            lines.line("event: message");
        }
        if lines.dice.roll(4) == 1 {
            lines.line(": about to answer");
        }
        let text = document(group, lines.dice.chance(), case.pretty);
        let pieces: Vec<&str> = if case.pretty {
            text.split('\n').collect()
        } else {
            // Cut after structural bytes (no string holds one).
            let mut pieces = Vec::new();
            let mut start = 0;
            for (at, byte) in text.bytes().enumerate() {
                if matches!(byte, b',' | b':' | b'{' | b'[') && lines.dice.roll(4) == 1 {
                    pieces.push(&text[start..=at]);
                    start = at + 1;
                }
            }
            pieces.push(&text[start..]);
            pieces
        };
        for piece in pieces {
            let field = if lines.dice.chance() {
                "data:"
            } else {
                "data: "
            };
            lines.line(&format!("{field}{piece}"));
        }
        if lines.dice.roll(4) == 1 {
            lines.line("retry: 1000");
        }
        if lines.dice.roll(4) == 1 {
            lines.line(": answered");
        }
        // The stream may end without the last event's blank line.
        if index + 1 < count || !lines.dice.chance() {
            lines.line("");
        }
    }
    lines.out
}

/// A handler's body handed over in the given chunks, pausing (`Pending`,
/// woken at once) before those marked, with trailers at the end.
struct Chunked {
    chunks: VecDeque<(Bytes, bool)>,
    trailers: Option<HeaderMap>,
}

impl Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if let Some((chunk, pause)) = this.chunks.front_mut() {
            if std::mem::take(pause) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let chunk = chunk.clone();
            this.chunks.pop_front();
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        Poll::Ready(
            this.trailers
                .take()
                .map(|trailers| Ok(Frame::trailers(trailers))),
        )
    }
}

const JSON_TYPES: [&str; 3] = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
];
const SSE_TYPES: [&str; 3] = [
    "text/event-stream",
    "text/event-stream; charset=utf-8",
    "Text/Event-Stream",
];

/// What the caller receives: the status and the body's bytes.
fn answer(case: &Case, sent: &str) -> (u16, String) {
    let content_type = if case.sse {
        SSE_TYPES[case.content_type % 3]
    } else {
        JSON_TYPES[case.content_type % 3]
    };
    // Chunk boundaries anywhere, also inside a UTF-8 character.
    let bytes = Bytes::from(sent.to_owned());
    let mut cuts: Vec<usize> = case
        .cuts
        .iter()
        .map(|&cut| usize::from(cut) % (bytes.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = VecDeque::new();
    let mut start = 0;
    for (index, cut) in cuts.into_iter().chain([bytes.len()]).enumerate() {
        let pause = case.noise.get(index).is_some_and(|value| value % 3 == 0);
        chunks.push_back((bytes.slice(start..cut), pause));
        start = cut;
    }
    let trailers = case.trailers.then(|| {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-done", "1".parse().unwrap());
        trailers
    });
    let body = std::sync::Mutex::new(Some(Chunked { chunks, trailers }));
    let handler = tower::service_fn(move |_: Request<Full<Bytes>>| {
        let response = Response::builder()
            .header("content-type", content_type)
            .body(body.lock().unwrap().take().unwrap())
            .unwrap();
        async move { Ok::<_, Infallible>(response) }
    });
    let service = DiscoveryFilterLayer::new(policy()).layer(handler);

    let list = case.request.json();
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", case.version)
        .body(Full::from(list.clone()))
        .unwrap();
    // What bearer auth in front leaves for a caller holding `mcp` only.
    request
        .extensions_mut()
        .insert(RpcEnvelope::parse(list.as_bytes()));
    request
        .extensions_mut()
        .insert(Principal::new().with_scopes(["mcp"]));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = service.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = tokio::time::timeout(Duration::from_secs(5), response.into_body().collect())
            .await
            .expect("the body ends")
            .unwrap()
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let sent = render(case);
    prop_assert!(sent.contains(HIDDEN), "the handler lists it: {sent:?}");
    let (status, received) = answer(case, &sent);
    let shown = format!(
        "request {}\nsent {sent:?}\nreceived {received:?}",
        case.request.json()
    );
    prop_assert_eq!(status, 200, "{}", shown);
    prop_assert!(
        !received.contains(HIDDEN),
        "the hidden tool shown: {}",
        shown
    );
    prop_assert!(
        received.contains(r#""echo""#) && !received.contains("-32603"),
        "a well-formed answer filtered, not withheld: {}",
        shown
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_hidden_tool_never_reaches_the_caller(case in case(Framing::Listed)) {
        check(&case)?;
    }

    #[test]
    fn nor_with_lone_crs_or_mixed_line_endings(case in case(Framing::Extended)) {
        check(&case)?;
    }

    #[test]
    fn nor_after_a_byte_order_mark(case in case(Framing::ByteOrderMark)) {
        check(&case)?;
    }
}

/// The minimal case the byte order mark property shrinks to: an event
/// stream opening with U+FEFF, then the list in the first event. A client
/// following the SSE specification drops the mark and reads `data: …`; the
/// filter once read a field named `\u{feff}data` and passed the event as it
/// came.
#[test]
fn a_byte_order_mark_before_the_list_hides_nothing() {
    let case = Case {
        request: Requested {
            id: Id::One,
            others: Vec::new(),
            at: 0,
        },
        version: "2025-03-26",
        sse: true,
        content_type: 0,
        messages: vec![Message::Tools {
            id: Id::One,
            tools: vec![("echo", false), (HIDDEN, false)],
            cursor: false,
            result_first: false,
        }],
        pretty: false,
        noise: Vec::new(),
        cuts: Vec::new(),
        trailers: false,
        framing: Framing::ByteOrderMark,
    };
    let sent = render(&case);
    assert_eq!(
        sent,
        "\u{feff}data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"echo\"},{\"name\":\"admin_echo\"}]}}\n\n"
    );
    let (status, received) = answer(&case, &sent);
    assert_eq!(status, 200);
    assert!(
        !received.contains(HIDDEN),
        "the hidden tool shown: {received:?}"
    );
}
