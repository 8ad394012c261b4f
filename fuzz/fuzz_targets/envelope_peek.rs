//! The JSON-RPC envelope parse and the bounded body peek (core `envelope.rs`,
//! `peek.rs`).
//!
//! Input: two bytes choosing the body limit and the chunk size, then the body.
//! Checked:
//! - `RpcEnvelope::parse` never panics (deep nesting included), and
//!   `RpcEnvelope::parse_shared` reads the same envelope;
//! - what it reads agrees with `serde_json::Value` wherever both parse: the
//!   method, id, `params.name`, `params.uri` and `_meta` protocol version of a
//!   single message, the length of a batch;
//! - `EnvelopeLimits::peek` over the body in arbitrary chunks answers 413 exactly
//!   when the body is over the limit, and otherwise hands on the same bytes
//!   and puts the same envelope in the extensions.
#![no_main]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use libfuzzer_sys::fuzz_target;
use mcp_guard_core::{EnvelopeLimits, RpcEnvelope, RpcId, RpcMessage};
use mcp_guard_fuzz::RUNTIME;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let [limit, chunk, body @ ..] = data else {
        return;
    };
    let envelope = RpcEnvelope::parse(body);
    assert_eq!(
        RpcEnvelope::parse_shared(&Bytes::copy_from_slice(body)),
        envelope,
        "the shared parse reads what the copying parse reads"
    );
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        compare(&envelope, &value);
    }
    if std::str::from_utf8(body).is_err() {
        assert_eq!(envelope, RpcEnvelope::Unparsable, "non-UTF-8 is unparsable");
    }

    let limit = usize::from(*limit) * 16;
    let chunk = usize::from(*chunk).max(1);
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = body
        .chunks(chunk)
        .map(|part| Ok(Frame::data(Bytes::copy_from_slice(part))))
        .collect();
    let request = Request::post("/mcp")
        .body(StreamBody::new(futures_util::stream::iter(frames)))
        .expect("a request");
    RUNTIME.block_on(async {
        let peeked = EnvelopeLimits::new()
            .max_body_bytes(limit)
            .peek(request)
            .await;
        match peeked {
            Err(error) => {
                assert!(body.len() > limit, "a body within the limit was refused");
                assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
            }
            Ok(request) => {
                assert!(body.len() <= limit, "a body over the limit was read");
                assert_eq!(request.extensions().get::<RpcEnvelope>(), Some(&envelope));
                let bytes = request
                    .into_body()
                    .collect()
                    .await
                    .expect("buffered")
                    .to_bytes();
                assert_eq!(&bytes[..], body, "the handler gets the bytes unchanged");
            }
        }
    });
});

fn compare(envelope: &RpcEnvelope, value: &Value) {
    match (envelope, value) {
        (RpcEnvelope::Single(message), Value::Object(_)) => compare_message(message, value),
        (RpcEnvelope::Batch(messages), Value::Array(items)) => {
            assert_eq!(messages.len(), items.len());
            for (message, item) in messages.iter().zip(items) {
                compare_message(message, item);
            }
        }
        (RpcEnvelope::Unparsable, _) => {}
        (envelope, value) => panic!("{envelope:?} read from {value}"),
    }
}

fn compare_message(message: &RpcMessage, value: &Value) {
    assert_eq!(
        message.method(),
        value["method"].as_str(),
        "method of {value}"
    );
    assert_eq!(
        message.name(),
        value["params"]["name"].as_str(),
        "name of {value}"
    );
    assert_eq!(
        message.uri(),
        value["params"]["uri"].as_str(),
        "uri of {value}"
    );
    assert_eq!(
        message.meta_protocol_version(),
        value["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].as_str(),
        "_meta version of {value}"
    );
    assert_eq!(
        message.has_meta(),
        value["params"]["_meta"].is_object(),
        "_meta presence of {value}"
    );
    assert_eq!(
        message.meta_has_client_capabilities(),
        value["params"]["_meta"]
            .get("io.modelcontextprotocol/clientCapabilities")
            .is_some(),
        "_meta clientCapabilities of {value}"
    );
    match (message.id(), value.get("id")) {
        (None, None) => {}
        (Some(RpcId::String(id)), Some(Value::String(expected))) => assert_eq!(id, expected),
        (Some(RpcId::Number(id)), Some(Value::Number(expected))) => {
            assert_eq!(id.as_f64(), expected.as_f64(), "id of {value}");
        }
        (id, expected) => panic!("id {id:?} read where the body has {expected:?}"),
    }
}
