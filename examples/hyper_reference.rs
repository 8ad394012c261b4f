//! The load benchmark's ceiling: a minimal hyper `service_fn` that answers
//! `tools/call echo` with the same JSON-RPC result, in the same SSE shape, as
//! the rmcp handler of `examples/mcp_server` — no rmcp, no guard, no session.
//! `scripts/load.sh` drives it beside the example's presets, so its table shows
//! how far rmcp itself is from what this machine can serve.
//!
//! ```text
//! cargo run --release --example hyper_reference -- [--addr 127.0.0.1:8082]
//! ```
//!
//! Only `POST /mcp` with a `tools/call` of `echo` is answered (200); a
//! notification gets 202, anything else a JSON-RPC error with a 4xx status, so
//! a workload that drifts from what the benchmark means fails wrk's 2xx check.
//! A request whose `params._meta` names protocol version 2026-07-28 gets the
//! stateless era's result (`resultType: "complete"`), any other the legacy
//! one, byte for byte what rmcp 3 sends for each.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The protocol version whose `tools/call` result carries `resultType`.
const STATELESS_VERSION: &str = "2026-07-28";

/// The part of a JSON-RPC message the echo tool needs, borrowed from the body.
#[derive(Debug, Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<Params<'a>>,
}

#[derive(Debug, Deserialize)]
struct Params<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arguments: Option<Arguments<'a>>,
    #[serde(borrow, rename = "_meta")]
    meta: Option<Meta<'a>>,
}

#[derive(Debug, Deserialize)]
struct Arguments<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Meta<'a> {
    #[serde(borrow, rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<Cow<'a, str>>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = parse_addr(std::env::args().skip(1))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    println!("MCP endpoint: http://{}/mcp", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        // As in the example server: a response must leave at once, not wait
        // on Nagle's algorithm for the client's delayed ACK.
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            // hyper-util's auto builder, as under axum::serve (HTTP/1 and 2).
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
            if let Err(error) = served {
                eprintln!("hyper_reference: connection error: {error}");
            }
        });
    }
}

/// The whole server: one `tools/call echo` in, its result out.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/mcp" {
        return Ok(plain(StatusCode::NOT_FOUND, "try /mcp"));
    }
    if request.method() != Method::POST {
        return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "POST only"));
    }
    // rmcp answers with SSE whenever the client accepts it; so does this.
    let sse = request
        .headers()
        .get(ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return Ok(plain(StatusCode::BAD_REQUEST, &error.to_string())),
    };
    Ok(match answer(&body) {
        Some((status, reply)) => json_rpc(status, reply, sse),
        None => plain(StatusCode::ACCEPTED, ""),
    })
}

/// The status and JSON-RPC answer to `body`: the echo result, an error for
/// anything else, or `None` for a notification (no answer).
fn answer(body: &[u8]) -> Option<(StatusCode, String)> {
    let Ok(message) = serde_json::from_slice::<Message<'_>>(body) else {
        return Some((
            StatusCode::BAD_REQUEST,
            error("null", -32700, "parse error"),
        ));
    };
    let id = message.id?.get();
    let params = message.params.as_ref();
    let is_echo = message.method == "tools/call"
        && params.and_then(|params| params.name.as_deref()) == Some("echo");
    if !is_echo {
        let refusal = error(id, -32601, "only tools/call echo is served");
        return Some((StatusCode::NOT_FOUND, refusal));
    }
    let text = params
        .and_then(|params| params.arguments.as_ref())
        .and_then(|arguments| arguments.text.as_deref())
        .unwrap_or_default();
    let text = serde_json::to_string(text).unwrap_or_default();
    let stateless = params
        .and_then(|params| params.meta.as_ref())
        .and_then(|meta| meta.protocol_version.as_deref())
        == Some(STATELESS_VERSION);
    // The field order rmcp 3 serializes, so the bytes on the wire match.
    let result_type = if stateless {
        r#""resultType":"complete","#
    } else {
        ""
    };
    Some((
        StatusCode::OK,
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{{result_type}"content":[{{"type":"text","text":{text}}}],"isError":false}}}}"#
        ),
    ))
}

/// A JSON-RPC error object answering `id` (raw JSON).
fn error(id: &str, code: i32, message: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":"{message}"}}}}"#)
}

/// `reply` as one SSE event with rmcp's headers, or as `application/json`.
/// (rmcp streams its SSE body chunked; this one has a length: the ceiling.)
fn json_rpc(status: StatusCode, reply: String, sse: bool) -> Response<Full<Bytes>> {
    let (body, content_type) = if sse {
        (format!("data: {reply}\n\n"), "text/event-stream")
    } else {
        (reply, "application/json")
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if sse {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
    response
}

/// A short text answer (no content type) to what is not JSON-RPC at all.
fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Reads `--addr HOST:PORT` (default `127.0.0.1:8082`).
fn parse_addr(mut args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut address = SocketAddr::from(([127, 0, 0, 1], 8082));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args
                    .next()
                    .ok_or("--addr needs a value, e.g. 127.0.0.1:8082")?;
                address = value
                    .parse()
                    .map_err(|_| format!("--addr {value:?} is not an IP:port"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: hyper_reference [--addr IP:PORT]"
                ));
            }
        }
    }
    Ok(address)
}
