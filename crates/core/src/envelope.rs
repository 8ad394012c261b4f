//! The JSON-RPC envelope of a POST body: the few members the guards route and
//! authorize on, parsed without building a tree of the whole document.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The `_meta` key carrying the protocol version in the stateless era.
const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key carrying the client's capabilities in the stateless era.
const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key carrying the W3C `traceparent` (SEP-414).
const META_TRACEPARENT: &str = "traceparent";
/// The `_meta` key carrying the W3C `tracestate` (SEP-414).
const META_TRACESTATE: &str = "tracestate";

/// A JSON-RPC request id: a number or a string (MCP forbids `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum RpcId {
    /// A numeric id.
    Number(serde_json::Number),
    /// A string id.
    String(String),
}

impl RpcId {
    /// Whether `value`, the `id` of a JSON-RPC response, answers a request
    /// with this id, the way a handler sees ids: numbers by value (`1.0`
    /// answers `1`, as rmcp and most JSON parsers read it), strings exactly.
    /// Layers that match answers to requests (the discovery filter, the
    /// observe layer) must agree with the handler, or an answer whose id the
    /// handler normalised slips past them.
    ///
    /// ```
    /// use mcp_guard_core::RpcId;
    /// use serde_json::json;
    ///
    /// let one = RpcId::Number(serde_json::Number::from_f64(1.0).unwrap());
    /// assert!(one.matches(&json!(1)));
    /// assert!(RpcId::Number(7.into()).matches(&json!(7.0)));
    /// assert!(!RpcId::Number(7.into()).matches(&json!("7")));
    /// assert!(RpcId::String("a".into()).matches(&json!("a")));
    /// ```
    pub fn matches(&self, value: &serde_json::Value) -> bool {
        match (self, value) {
            (RpcId::String(id), serde_json::Value::String(answer)) => id == answer,
            (RpcId::Number(id), serde_json::Value::Number(answer)) => same_number(id, answer),
            _ => false,
        }
    }
}

/// Two JSON numbers with the same value: exactly when both are integers,
/// else as floats (`1` and `1.0` are the same id to a handler).
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a == b;
    }
    matches!((a.as_f64(), b.as_f64()), (Some(a), Some(b)) if a == b)
}

/// The JSON-RPC envelope of a POST body, as far as the guards need it.
///
/// Put in request extensions by [`EnvelopeLimits`](crate::EnvelopeLimits). Malformed
/// JSON is not rejected here (the handler answers parse errors); it shows up as
/// [`RpcEnvelope::Unparsable`] so that a guard can decide.
///
/// ```
/// use mcp_guard_core::RpcEnvelope;
///
/// let envelope = RpcEnvelope::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call",
///     "params":{"name":"weather","arguments":{"city":"Oslo"},
///     "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#);
/// let message = envelope.single().unwrap();
/// assert_eq!(message.method(), Some("tools/call"));
/// assert_eq!(message.name(), Some("weather"));
/// assert_eq!(message.meta_protocol_version(), Some("2026-07-28"));
/// assert!(message.is_request());
/// assert!(!envelope.is_batch());
///
/// assert_eq!(RpcEnvelope::parse(b"{not json"), RpcEnvelope::Unparsable);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum RpcEnvelope {
    /// One JSON-RPC message.
    Single(RpcMessage),
    /// A JSON array of messages (a batch; legal only in 2025-03-26).
    Batch(Vec<RpcMessage>),
    /// Not UTF-8 JSON, not an object or array of objects, or ambiguous: a member
    /// the guards read is of the wrong type or appears twice, the id is `null`, or
    /// a message mixes `method`, `result` and `error`. Ambiguity is where a
    /// gateway and the handler could each read a different message.
    Unparsable,
}

impl RpcEnvelope {
    /// Parses the envelope of a JSON-RPC body. Never fails: what cannot be read is
    /// [`RpcEnvelope::Unparsable`].
    ///
    /// Members the guards do not read (tool arguments, results) are skipped,
    /// checked for JSON syntax but not built into values: skipping is iterative,
    /// so deep nesting there cannot overflow the stack, and the members read are
    /// bounded by `serde_json`'s recursion limit. A skipped member that breaks a
    /// rule only a full parse checks (a lone surrogate escape, nesting deeper
    /// than the handler's parser allows) is left for the handler to reject.
    pub fn parse(body: &[u8]) -> RpcEnvelope {
        // The whole body is UTF-8 (skipped members too), checked once; the
        // parser then reads it as text and does not check each string again.
        let Ok(text) = std::str::from_utf8(body) else {
            return RpcEnvelope::Unparsable;
        };
        RpcEnvelope::parse_text(text, Source::Copied)
    }

    /// [`parse`](RpcEnvelope::parse) for a body held in [`Bytes`] (as the
    /// envelope peek holds it): the strings kept (`params.name`, `uri`, the
    /// protocol versions, the arguments' text) are slices of `body`, not
    /// copies, so a request costs no allocation for them.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mcp_guard_core::RpcEnvelope;
    ///
    /// let body = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":{"city":"Oslo"}}}"#);
    /// let envelope = RpcEnvelope::parse_shared(&body);
    /// assert_eq!(envelope, RpcEnvelope::parse(&body));
    /// assert_eq!(envelope.single().unwrap().name(), Some("weather"));
    /// ```
    pub fn parse_shared(body: &Bytes) -> RpcEnvelope {
        let Ok(text) = ByteString::try_from(body.clone()) else {
            return RpcEnvelope::Unparsable;
        };
        RpcEnvelope::parse_text(&text, Source::Shared(&text))
    }

    /// This envelope with every string it keeps in its own allocation: for
    /// a copy that outlives the request (an observer's record of it), so
    /// that it does not keep the whole body alive as slices would.
    pub fn detached(&self) -> RpcEnvelope {
        match self {
            RpcEnvelope::Single(message) => RpcEnvelope::Single(message.detached()),
            RpcEnvelope::Batch(messages) => {
                RpcEnvelope::Batch(messages.iter().map(RpcMessage::detached).collect())
            }
            RpcEnvelope::Unparsable => RpcEnvelope::Unparsable,
        }
    }

    fn parse_text(text: &str, source: Source<'_>) -> RpcEnvelope {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = EnvelopeSeed(source)
            .deserialize(&mut deserializer)
            .and_then(|envelope| deserializer.end().map(|()| envelope));
        parsed.unwrap_or(RpcEnvelope::Unparsable)
    }

    /// Whether the body is a batch.
    pub fn is_batch(&self) -> bool {
        matches!(self, RpcEnvelope::Batch(_))
    }

    /// The message, when the body holds exactly one (not a batch).
    pub fn single(&self) -> Option<&RpcMessage> {
        match self {
            RpcEnvelope::Single(message) => Some(message),
            _ => None,
        }
    }

    /// The id of the body's request, when it holds exactly one message with
    /// an id: what a rejection of it answers with.
    pub fn request_id(&self) -> Option<&RpcId> {
        self.single().and_then(RpcMessage::id)
    }

    /// Every message of the body: one for a single message, none when unparsable.
    pub fn messages(&self) -> &[RpcMessage] {
        match self {
            RpcEnvelope::Single(message) => std::slice::from_ref(message),
            RpcEnvelope::Batch(messages) => messages,
            RpcEnvelope::Unparsable => &[],
        }
    }

    /// Whether the body carries at least one message and no requests: only
    /// notifications and responses, which the server answers with `202 Accepted`.
    pub fn is_notifications_or_responses_only(&self) -> bool {
        let messages = self.messages();
        !messages.is_empty() && messages.iter().all(|message| !message.is_request())
    }
}

/// One JSON-RPC message of a POST body: the members the guards read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RpcMessage {
    method: Option<Cow<'static, str>>,
    id: Option<RpcId>,
    name: Option<ByteString>,
    uri: Option<ByteString>,
    meta_protocol_version: Option<ByteString>,
    params_protocol_version: Option<ByteString>,
    /// `params.arguments` kept as its JSON text: only a tool call whose
    /// arguments are mirrored into headers (or logged) ever looks inside.
    arguments: Option<ByteString>,
    has_result_or_error: bool,
    has_meta: bool,
    meta_has_client_capabilities: bool,
    trace_context: Option<Box<TraceContext>>,
}

/// The W3C trace context a client put in `params._meta` (SEP-414): boxed,
/// because most messages carry none and the envelope stays small.
#[derive(Debug, Clone, Default, PartialEq)]
struct TraceContext {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl RpcMessage {
    /// The message with its kept strings copied out of the body they slice.
    fn detached(&self) -> RpcMessage {
        let copy = |text: &Option<ByteString>| text.as_deref().map(ByteString::from);
        RpcMessage {
            name: copy(&self.name),
            uri: copy(&self.uri),
            meta_protocol_version: copy(&self.meta_protocol_version),
            params_protocol_version: copy(&self.params_protocol_version),
            arguments: copy(&self.arguments),
            ..self.clone()
        }
    }

    /// `method`, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// `id`, absent for notifications.
    pub fn id(&self) -> Option<&RpcId> {
        self.id.as_ref()
    }

    /// `params.name` when it is a string (tools/call, prompts/get).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `params.uri` when it is a string (resources/read).
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// `params._meta["io.modelcontextprotocol/protocolVersion"]` (stateless era).
    pub fn meta_protocol_version(&self) -> Option<&str> {
        self.meta_protocol_version.as_deref()
    }

    /// Whether `params._meta` is present (as an object).
    pub fn has_meta(&self) -> bool {
        self.has_meta
    }

    /// Whether `params._meta` holds `io.modelcontextprotocol/clientCapabilities`
    /// (required on every stateless-era request).
    pub fn meta_has_client_capabilities(&self) -> bool {
        self.meta_has_client_capabilities
    }

    /// `params._meta.traceparent`: the W3C trace context a client continuing
    /// its trace put in the request (SEP-414), exactly as sent (not validated).
    pub fn meta_traceparent(&self) -> Option<&str> {
        self.trace_context.as_ref()?.traceparent.as_deref()
    }

    /// `params._meta.tracestate`, the vendor part of the W3C trace context
    /// (SEP-414), exactly as sent.
    pub fn meta_tracestate(&self) -> Option<&str> {
        self.trace_context.as_ref()?.tracestate.as_deref()
    }

    /// `params.protocolVersion` (what a legacy `initialize` asks for).
    pub fn params_protocol_version(&self) -> Option<&str> {
        self.params_protocol_version.as_deref()
    }

    /// `params.arguments` (tools/call) as its JSON text, exactly as sent.
    pub fn arguments(&self) -> Option<&RawValue> {
        // Read again from the text kept: only a call of a tool whose
        // arguments are mirrored into headers (or logged) asks for them.
        serde_json::from_str(self.arguments_text()?).ok()
    }

    /// `params.arguments` as the JSON text it was sent as (its syntax was
    /// checked by the parse): for a reader that builds its own value from
    /// it, without the second scan [`arguments`](RpcMessage::arguments) makes.
    pub fn arguments_text(&self) -> Option<&str> {
        self.arguments.as_deref()
    }

    /// A request: has a method and an id.
    pub fn is_request(&self) -> bool {
        self.method.is_some() && self.id.is_some()
    }

    /// A notification: has a method and no id.
    pub fn is_notification(&self) -> bool {
        self.method.is_some() && self.id.is_none()
    }

    /// A response: no method, a `result` or an `error`.
    pub fn is_response(&self) -> bool {
        self.method.is_none() && self.has_result_or_error
    }

    /// An `initialize` request.
    pub fn is_initialize(&self) -> bool {
        self.is_request() && self.method() == Some("initialize")
    }
}

impl<'de> Deserialize<'de> for RpcEnvelope {
    /// Deserializes the envelope from any JSON source; the strings kept are
    /// copies (see [`RpcEnvelope::parse_shared`] for slices of a body).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EnvelopeSeed(Source::Copied).deserialize(deserializer)
    }
}

impl<'de> Deserialize<'de> for RpcMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        MessageSeed(Source::Copied).deserialize(deserializer)
    }
}

/// Where the strings the envelope keeps come from: slices of the body's
/// text when the parse reads a shared body, else copies.
#[derive(Clone, Copy)]
enum Source<'s> {
    Shared(&'s ByteString),
    Copied,
}

impl Source<'_> {
    /// `text` as kept: a slice of the shared body when it lies in it (a
    /// string without escapes), else a copy.
    fn keep(self, text: &str) -> ByteString {
        if let Source::Shared(body) = self {
            let start = body.as_ptr() as usize;
            let at = text.as_ptr() as usize;
            if at >= start && at + text.len() <= start + body.len() {
                return body.slice_ref(text);
            }
        }
        ByteString::from(text)
    }
}

/// The whole body: one message or a batch.
struct EnvelopeSeed<'s>(Source<'s>);

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = RpcEnvelope;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RpcEnvelope, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = RpcEnvelope;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message or an array of them")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        MessageSeed(self.0).visit_map(map).map(RpcEnvelope::Single)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut messages = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(message) = seq.next_element_seed(MessageSeed(self.0))? {
            messages.push(message);
        }
        Ok(RpcEnvelope::Batch(messages))
    }
}

/// Stores `value` in `slot`, failing when the member was already seen.
fn set_once<T, E: de::Error>(
    slot: &mut Option<T>,
    value: T,
    member: &'static str,
) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::duplicate_field(member));
    }
    Ok(())
}

/// One message object.
struct MessageSeed<'s>(Source<'s>);

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = RpcMessage;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RpcMessage, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = RpcMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut message = RpcMessage::default();
        let mut params: Option<Params> = None;
        let (mut seen_result, mut seen_error) = (false, false);
        while let Some(key) = map.next_key::<MessageKey>()? {
            match key {
                MessageKey::Method => {
                    set_once(&mut message.method, map.next_value::<Method>()?.0, "method")?
                }
                MessageKey::Id => set_once(&mut message.id, map.next_value::<RpcId>()?, "id")?,
                MessageKey::Params => set_once(
                    &mut params,
                    map.next_value_seed(ParamsSeed(self.0))?,
                    "params",
                )?,
                MessageKey::Result | MessageKey::Error => {
                    let seen = if key == MessageKey::Result {
                        &mut seen_result
                    } else {
                        &mut seen_error
                    };
                    if std::mem::replace(seen, true) {
                        return Err(de::Error::duplicate_field("result/error"));
                    }
                    map.next_value::<IgnoredAny>()?;
                }
                MessageKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if (seen_result && seen_error) || (message.method.is_some() && (seen_result || seen_error))
        {
            return Err(de::Error::custom(
                "a message is a request, a notification or a response, not a mix",
            ));
        }
        message.has_result_or_error = seen_result || seen_error;
        if let Some(params) = params {
            message.name = params.name;
            message.uri = params.uri;
            message.meta_protocol_version = params.meta_protocol_version;
            message.has_meta = params.has_meta;
            message.trace_context = params.trace_context;
            message.meta_has_client_capabilities = params.meta_has_client_capabilities;
            message.params_protocol_version = params.protocol_version;
            message.arguments = params.arguments;
        }
        Ok(message)
    }
}

/// A string member, kept as [`Source::keep`] says.
struct TextSeed<'s>(Source<'s>);

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = ByteString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ByteString, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = ByteString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteString, E> {
        // Not borrowed from the body (it held escapes): a copy.
        Ok(ByteString::from(text))
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<ByteString, E> {
        Ok(self.0.keep(text))
    }
}

/// `params.arguments`: its JSON text, checked for syntax, not built into
/// values.
struct ArgumentsSeed<'s>(Source<'s>);

impl<'de> DeserializeSeed<'de> for ArgumentsSeed<'_> {
    type Value = ByteString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ByteString, D::Error> {
        match self.0 {
            // The shared body's parser reads from text: the value borrows.
            Source::Shared(_) => {
                let raw = <&'de RawValue>::deserialize(deserializer)?;
                Ok(self.0.keep(raw.get()))
            }
            Source::Copied => {
                let raw = Box::<RawValue>::deserialize(deserializer)?;
                Ok(ByteString::from(String::from(Box::<str>::from(raw))))
            }
        }
    }
}

/// `method`: one of MCP's own methods is a `&'static str` (no allocation on
/// the per-request path), any other name is copied.
struct Method(Cow<'static, str>);

/// The methods MCP clients send (requests and notifications).
const MCP_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/call",
    "tools/list",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MethodVisitor;

        impl<'de> Visitor<'de> for MethodVisitor {
            type Value = Method;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a method name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Method, E> {
                Ok(Method(
                    match MCP_METHODS.iter().find(|known| **known == name) {
                        Some(known) => Cow::Borrowed(*known),
                        None => Cow::Owned(name.to_owned()),
                    },
                ))
            }
        }

        deserializer.deserialize_str(MethodVisitor)
    }
}

#[derive(PartialEq, Eq)]
enum MessageKey {
    Method,
    Id,
    Params,
    Result,
    Error,
    Other,
}

impl<'de> Deserialize<'de> for MessageKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key| match key {
            "method" => MessageKey::Method,
            "id" => MessageKey::Id,
            "params" => MessageKey::Params,
            "result" => MessageKey::Result,
            "error" => MessageKey::Error,
            _ => MessageKey::Other,
        }))
    }
}

/// Maps an object key to a small enum without allocating.
struct KeyVisitor<K>(fn(&str) -> K);

impl<'de, K> Visitor<'de> for KeyVisitor<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<K, E> {
        Ok((self.0)(key))
    }
}

impl<'de> Deserialize<'de> for RpcId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl<'de> Visitor<'de> for IdVisitor {
            type Value = RpcId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RpcId, E> {
                Ok(RpcId::Number(v.into()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RpcId, E> {
                Ok(RpcId::Number(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RpcId, E> {
                serde_json::Number::from_f64(v)
                    .map(RpcId::Number)
                    .ok_or_else(|| E::custom("id is not a finite number"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RpcId, E> {
                Ok(RpcId::String(v.to_owned()))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// The members of `params` the guards read.
#[derive(Default)]
struct Params {
    name: Option<ByteString>,
    uri: Option<ByteString>,
    protocol_version: Option<ByteString>,
    meta_protocol_version: Option<ByteString>,
    has_meta: bool,
    meta_has_client_capabilities: bool,
    trace_context: Option<Box<TraceContext>>,
    arguments: Option<ByteString>,
}

#[derive(PartialEq, Eq)]
enum ParamsKey {
    Name,
    Uri,
    ProtocolVersion,
    Meta,
    Arguments,
    Other,
}

impl<'de> Deserialize<'de> for ParamsKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key| match key {
            "name" => ParamsKey::Name,
            "uri" => ParamsKey::Uri,
            "protocolVersion" => ParamsKey::ProtocolVersion,
            "_meta" => ParamsKey::Meta,
            "arguments" => ParamsKey::Arguments,
            _ => ParamsKey::Other,
        }))
    }
}

/// `params`, its strings kept as [`Source::keep`] says.
struct ParamsSeed<'s>(Source<'s>);

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = Params;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Params, D::Error> {
        struct ParamsVisitor<'s>(Source<'s>);

        impl<'de> Visitor<'de> for ParamsVisitor<'_> {
            type Value = Params;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("params as an object or an array")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Params, A::Error> {
                // Positional params carry none of the members the guards read.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Params::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
                let mut params = Params::default();
                let mut meta: Option<Meta> = None;
                while let Some(key) = map.next_key::<ParamsKey>()? {
                    match key {
                        ParamsKey::Name => set_once(
                            &mut params.name,
                            map.next_value_seed(TextSeed(self.0))?,
                            "params.name",
                        )?,
                        ParamsKey::Uri => set_once(
                            &mut params.uri,
                            map.next_value_seed(TextSeed(self.0))?,
                            "params.uri",
                        )?,
                        ParamsKey::ProtocolVersion => set_once(
                            &mut params.protocol_version,
                            map.next_value_seed(TextSeed(self.0))?,
                            "params.protocolVersion",
                        )?,
                        ParamsKey::Meta => set_once(
                            &mut meta,
                            map.next_value_seed(MetaSeed(self.0))?,
                            "params._meta",
                        )?,
                        ParamsKey::Arguments => set_once(
                            &mut params.arguments,
                            map.next_value_seed(ArgumentsSeed(self.0))?,
                            "params.arguments",
                        )?,
                        ParamsKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if let Some(meta) = meta {
                    params.has_meta = true;
                    params.meta_protocol_version = meta.protocol_version;
                    params.meta_has_client_capabilities = meta.has_client_capabilities;
                    params.trace_context = meta.trace_context;
                }
                Ok(params)
            }
        }

        deserializer.deserialize_any(ParamsVisitor(self.0))
    }
}

/// What the guards read of `_meta`: the protocol version, and whether the
/// client capabilities are there; other members skipped.
struct Meta {
    protocol_version: Option<ByteString>,
    has_client_capabilities: bool,
    trace_context: Option<Box<TraceContext>>,
}

/// A `_meta` trace context member: its text when it is a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum TraceValue {
    Text(String),
    Other(IgnoredAny),
}

#[derive(PartialEq, Eq)]
enum MetaKey {
    ProtocolVersion,
    ClientCapabilities,
    Traceparent,
    Tracestate,
    Other,
}

impl<'de> Deserialize<'de> for MetaKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key| match key {
            META_PROTOCOL_VERSION => MetaKey::ProtocolVersion,
            META_CLIENT_CAPABILITIES => MetaKey::ClientCapabilities,
            META_TRACEPARENT => MetaKey::Traceparent,
            META_TRACESTATE => MetaKey::Tracestate,
            _ => MetaKey::Other,
        }))
    }
}

/// `params._meta`, its protocol version kept as [`Source::keep`] says.
struct MetaSeed<'s>(Source<'s>);

impl<'de> DeserializeSeed<'de> for MetaSeed<'_> {
    type Value = Meta;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Meta, D::Error> {
        struct MetaVisitor<'s>(Source<'s>);

        impl<'de> Visitor<'de> for MetaVisitor<'_> {
            type Value = Meta;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("_meta as an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut version = None;
                let mut capabilities = false;
                // Allocated only when the client sent a trace context.
                let mut trace: Option<Box<TraceContext>> = None;
                while let Some(key) = map.next_key::<MetaKey>()? {
                    match key {
                        MetaKey::ProtocolVersion => set_once(
                            &mut version,
                            map.next_value_seed(TextSeed(self.0))?,
                            "_meta protocolVersion",
                        )?,
                        MetaKey::ClientCapabilities => {
                            if std::mem::replace(&mut capabilities, true) {
                                return Err(de::Error::duplicate_field("_meta clientCapabilities"));
                            }
                            map.next_value::<IgnoredAny>()?;
                        }
                        // Read leniently: a trace context is for tracing only,
                        // so one that is not a string (or repeats) is left
                        // out rather than making the envelope unparsable.
                        MetaKey::Traceparent => {
                            if let TraceValue::Text(value) = map.next_value()? {
                                let slot = &mut trace.get_or_insert_default().traceparent;
                                slot.get_or_insert(value);
                            }
                        }
                        MetaKey::Tracestate => {
                            if let TraceValue::Text(value) = map.next_value()? {
                                let slot = &mut trace.get_or_insert_default().tracestate;
                                slot.get_or_insert(value);
                            }
                        }
                        MetaKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Meta {
                    protocol_version: version,
                    has_client_capabilities: capabilities,
                    trace_context: trace,
                })
            }
        }

        deserializer.deserialize_map(MetaVisitor(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(body: &str) -> RpcMessage {
        match RpcEnvelope::parse(body.as_bytes()) {
            RpcEnvelope::Single(message) => message,
            other => panic!("expected a single message from {body}, got {other:?}"),
        }
    }

    #[test]
    fn reads_what_meta_holds() {
        let complete = single(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"x":[1]},"io.modelcontextprotocol/protocolVersion":"2026-07-28","other":{}}}}"#,
        );
        assert!(complete.has_meta() && complete.meta_has_client_capabilities());
        assert_eq!(complete.meta_protocol_version(), Some("2026-07-28"));
        let partial = single(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert!(partial.has_meta() && !partial.meta_has_client_capabilities());
        let none = single(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#);
        assert!(!none.has_meta() && !none.meta_has_client_capabilities());
        assert_eq!(
            RpcEnvelope::parse(
                br#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientCapabilities":{}}}}"#
            ),
            RpcEnvelope::Unparsable,
            "a repeated clientCapabilities is ambiguous"
        );
    }

    #[test]
    fn reads_the_trace_context_in_meta() {
        let message = single(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"congo=t61rcWkgMzE"}}}"#,
        );
        assert_eq!(
            message.meta_traceparent(),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        assert_eq!(message.meta_tracestate(), Some("congo=t61rcWkgMzE"));
        let without =
            single(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{}}}"#);
        assert_eq!(without.meta_traceparent(), None);
        assert_eq!(without.meta_tracestate(), None);
        // Read leniently: tracing never makes a request unparsable.
        let odd = single(
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":{"traceparent":5,"tracestate":"a","tracestate":"b"}}}"#,
        );
        assert_eq!(odd.meta_traceparent(), None);
        assert_eq!(odd.meta_tracestate(), Some("a"));
        assert_eq!(odd.method(), Some("m"));
    }

    #[test]
    fn a_shared_parse_keeps_slices_of_the_body_not_copies() {
        let body = Bytes::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","uri":"file:///x","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        let within = |text: &str| {
            let (start, at) = (body.as_ptr() as usize, text.as_ptr() as usize);
            at >= start && at + text.len() <= start + body.len()
        };
        let envelope = RpcEnvelope::parse_shared(&body);
        let message = envelope.single().unwrap();
        for text in [
            message.name().unwrap(),
            message.uri().unwrap(),
            message.meta_protocol_version().unwrap(),
            message.arguments().unwrap().get(),
        ] {
            assert!(within(text), "{text:?} is a copy");
        }
        assert_eq!(message.arguments().unwrap().get(), r#"{"text":"hi"}"#);
        assert_eq!(message.arguments_text(), Some(r#"{"text":"hi"}"#));
        // A name with an escape is decoded, so it is a copy.
        let escaped = Bytes::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#,
        );
        let envelope = RpcEnvelope::parse_shared(&escaped);
        assert_eq!(envelope.single().unwrap().name(), Some("echo"));
        // The copying parse holds no slice of its input.
        let envelope = RpcEnvelope::parse(&body);
        assert!(!within(envelope.single().unwrap().name().unwrap()));
        // Nor does a detached copy of the shared parse (what an observer's
        // trail keeps past the request), which reads the same.
        let shared = RpcEnvelope::parse_shared(&body);
        let detached = shared.detached();
        assert_eq!(detached, shared);
        let message = detached.single().unwrap();
        for text in [
            message.name().unwrap(),
            message.uri().unwrap(),
            message.meta_protocol_version().unwrap(),
            message.arguments().unwrap().get(),
        ] {
            assert!(!within(text), "{text:?} still slices the body");
        }
        assert_eq!(
            RpcEnvelope::parse_shared(&Bytes::from_static(&[0xff, b'{'])),
            RpcEnvelope::Unparsable
        );
    }

    #[test]
    fn reads_a_request() {
        let message = single(
            r#"{"jsonrpc":"2.0","id":"a-1","method":"resources/read","params":{"uri":"file:///x"}}"#,
        );
        assert_eq!(message.id(), Some(&RpcId::String("a-1".into())));
        assert_eq!(message.method(), Some("resources/read"));
        assert_eq!(message.uri(), Some("file:///x"));
        assert_eq!(message.name(), None);
        assert!(message.is_request() && !message.is_notification() && !message.is_response());
    }

    #[test]
    fn reads_initialize_protocol_version() {
        let message = single(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        );
        assert!(message.is_initialize());
        assert_eq!(message.params_protocol_version(), Some("2025-06-18"));
        assert_eq!(message.id(), Some(&RpcId::Number(0.into())));
    }

    #[test]
    fn tells_notifications_and_responses_apart() {
        let notification = single(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(notification.is_notification() && !notification.is_request());
        let response = single(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#);
        assert!(response.is_response() && !response.is_request());
        let error = single(r#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}"#);
        assert!(error.is_response());
    }

    #[test]
    fn reads_batches() {
        let envelope = RpcEnvelope::parse(
            br#"[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":1,"result":{}}]"#,
        );
        assert!(envelope.is_batch());
        assert_eq!(envelope.messages().len(), 2);
        assert!(envelope.single().is_none());
        assert!(envelope.is_notifications_or_responses_only());
        assert_eq!(RpcEnvelope::parse(b"[]"), RpcEnvelope::Batch(vec![]));
        assert!(!RpcEnvelope::parse(b"[]").is_notifications_or_responses_only());
    }

    #[test]
    fn positional_params_and_unknown_members_are_skipped() {
        let message = single(
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1,{"name":"x"}],"extra":{"deep":[[]]}}"#,
        );
        assert_eq!(message.name(), None);
        assert_eq!(message.method(), Some("m"));
    }

    #[test]
    fn meta_protocol_version_ignores_other_meta_keys() {
        let message = single(
            r#"{"id":1,"method":"tools/list","params":{"_meta":{"progressToken":5,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert_eq!(message.meta_protocol_version(), Some("2026-07-28"));
    }

    #[test]
    fn unreadable_bodies_are_unparsable() {
        for body in [
            "",
            "{",
            "null",
            "42",
            "\"text\"",
            "[1,2]",
            r#"{"method":1}"#,
            r#"{"id":{}}"#,
            r#"{"id":1,"method":"a"} trailing"#,
            r#"{"id":1,"method":"a","params":3}"#,
            r#"{"id":1,"method":"tools/call","params":{"name":5}}"#,
            // A null id reads as a request here and as a notification elsewhere.
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            // Mixed message kinds.
            r#"{"id":1,"method":"m","result":{}}"#,
            r#"{"id":1,"result":{},"error":{"code":1,"message":"x"}}"#,
            r#"{"method":"m","error":{}}"#,
        ] {
            assert_eq!(
                RpcEnvelope::parse(body.as_bytes()),
                RpcEnvelope::Unparsable,
                "{body}"
            );
        }
        assert_eq!(
            RpcEnvelope::parse(&[0xff, 0xfe, b'{']),
            RpcEnvelope::Unparsable
        );
    }

    #[test]
    fn duplicated_members_are_unparsable() {
        for body in [
            r#"{"id":1,"method":"tools/call","method":"tools/list"}"#,
            r#"{"id":1,"id":2,"method":"a"}"#,
            r#"{"id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            r#"{"id":1,"method":"m","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"2025-06-18"}}}"#,
            r#"{"id":1,"result":{},"result":{}}"#,
        ] {
            assert_eq!(
                RpcEnvelope::parse(body.as_bytes()),
                RpcEnvelope::Unparsable,
                "{body}"
            );
        }
    }

    #[test]
    fn deep_nesting_neither_overflows_nor_parses() {
        let deep_envelope = "[".repeat(200_000);
        assert_eq!(
            RpcEnvelope::parse(deep_envelope.as_bytes()),
            RpcEnvelope::Unparsable
        );
        // Deep nesting inside a skipped member is skipped without recursion.
        let deep_member = format!(
            r#"{{"id":1,"method":"m","params":{{"arguments":{}{}}}}}"#,
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let envelope = RpcEnvelope::parse(deep_member.as_bytes());
        assert_eq!(envelope.single().and_then(RpcMessage::method), Some("m"));
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let envelope = RpcEnvelope::parse(&bytes);
            proptest::prop_assert_eq!(RpcEnvelope::parse(&bytes), envelope.clone());
            // The shared parse reads exactly what the copying one reads.
            proptest::prop_assert_eq!(RpcEnvelope::parse_shared(&Bytes::from(bytes)), envelope);
        }

        #[test]
        fn a_shared_parse_reads_what_a_copying_parse_reads(
            name in ".{0,24}",
            escaped in proptest::bool::ANY,
            arguments in proptest::collection::vec(".{0,8}", 0..4),
            version in "[0-9-]{0,12}",
            batch in proptest::bool::ANY,
        ) {
            // Names with escapes (a quote, a backslash, a control character,
            // or written as \u escapes) cannot be slices of the body.
            let name = if escaped { format!("{name}\"\n") } else { name };
            let message = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": name, "arguments": arguments, "_meta": {META_PROTOCOL_VERSION: version}}});
            let body = if batch { serde_json::json!([message, message]) } else { message };
            let body = Bytes::from(body.to_string());
            let shared = RpcEnvelope::parse_shared(&body);
            proptest::prop_assert_eq!(&shared, &RpcEnvelope::parse(&body));
            for message in shared.messages() {
                proptest::prop_assert_eq!(message.name(), Some(name.as_str()));
                proptest::prop_assert_eq!(message.meta_protocol_version(), Some(version.as_str()));
                let read: Vec<String> = serde_json::from_str(message.arguments().unwrap().get()).unwrap();
                proptest::prop_assert_eq!(read, arguments.clone());
            }
        }

        #[test]
        fn serialized_requests_read_back_as_sent(
            id in proptest::prop_oneof![
                proptest::num::i64::ANY.prop_map(serde_json::Value::from),
                ".{0,12}".prop_map(serde_json::Value::from),
            ],
            method in ".{0,24}",
            name in proptest::option::of(".{0,24}"),
            uri in proptest::option::of(".{0,24}"),
            version in proptest::option::of("[0-9-]{0,12}"),
            arguments in proptest::collection::vec(".{0,8}", 0..4),
        ) {
            let mut params = serde_json::json!({"arguments": arguments});
            if let Some(name) = &name { params["name"] = name.clone().into(); }
            if let Some(uri) = &uri { params["uri"] = uri.clone().into(); }
            if let Some(version) = &version {
                params["_meta"] = serde_json::json!({META_PROTOCOL_VERSION: version});
            }
            let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            let envelope = RpcEnvelope::parse(body.to_string().as_bytes());
            let message = envelope.single().expect("a serialized request parses");
            proptest::prop_assert_eq!(message.method(), Some(method.as_str()));
            proptest::prop_assert_eq!(message.name(), name.as_deref());
            proptest::prop_assert_eq!(message.uri(), uri.as_deref());
            proptest::prop_assert_eq!(message.meta_protocol_version(), version.as_deref());
            proptest::prop_assert_eq!(serde_json::to_value(message.id()).unwrap(), id);
            proptest::prop_assert!(message.is_request());
        }
    }
}
