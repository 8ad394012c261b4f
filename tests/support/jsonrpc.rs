//! A trivial JSON-RPC handler to stack the presets in front of, driven
//! in-process: what reaches it is a well-formed MCP request, so it answers
//! like a minimal MCP server and tells nothing about the guards.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

/// The JSON-RPC message in a request body, `null` if it is not JSON.
pub async fn read_message<B>(body: B) -> Value
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let body = body.collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

/// The answer to `message`: `initialize` gets a result an MCP client
/// accepts, everything else an empty result; `tools/call slow` first waits
/// `slow`.
pub async fn reply(message: &Value, slow: Duration) -> Response<Full<Bytes>> {
    if message["params"]["name"] == "slow" {
        tokio::time::sleep(slow).await;
    }
    let result = if message["method"] == "initialize" {
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "t", "version": "1"}})
    } else {
        json!({})
    };
    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

/// [`reply`] as a service, for any request body the guards hand on.
pub fn handler<B>(
    slow: Duration,
) -> impl tower::Service<
    Request<B>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    tower::service_fn(move |request: Request<B>| async move {
        let message = read_message(request.into_body()).await;
        Ok::<_, Infallible>(reply(&message, slow).await)
    })
}
