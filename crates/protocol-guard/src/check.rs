//! The decisions: which revision a request speaks, and whether its headers and
//! body are acceptable for it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::ALLOW;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use mcp_guard_core::headers::{MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, is_mcp_param};
use mcp_guard_core::{
    EnvelopeLimits, Era, McpError, ProtocolVersion, RpcEnvelope, RpcMessage, error_code,
    truncated_for_display,
};

use crate::negotiation::{accepts, accepts_json_and_event_stream, is_json_content_type};
use crate::param_headers::{self, ParamHeaderRegistry};
use crate::sentinel;

/// The protocol guard's configuration.
#[derive(Debug)]
pub(crate) struct Config {
    /// Oldest first, never empty.
    pub(crate) supported: Vec<ProtocolVersion>,
    /// The limits of the guard's own body read (when no layer outside read it).
    pub(crate) envelope_limits: EnvelopeLimits,
    pub(crate) registry: Arc<ParamHeaderRegistry>,
    pub(crate) learn_from_tools_list: bool,
    /// Refuse `Mcp-Param-*` headers that cannot be compared with the body.
    pub(crate) strict_param_headers: bool,
}

/// What the `MCP-Protocol-Version` header says, read without judging it: a POST's
/// verdict waits for the body, so its rejection can carry the request's id and
/// follow the stateless era's order of checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderVersion {
    /// No header.
    Absent,
    /// A version this server supports.
    Supported(ProtocolVersion),
    /// A version this server does not support (or no version at all): what was
    /// sent, shortened for display.
    Unsupported(String),
    /// The header is sent more than once.
    Repeated,
}

/// What the header checks decided for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderVerdict {
    /// Decided without the body.
    Decided(ProtocolVersion),
    /// A POST: decided once the envelope is read. Carries the header's version.
    NeedsEnvelope(HeaderVersion),
    /// Not an MCP transport method (e.g. `OPTIONS`), or a read of a public
    /// metadata document: passed on undecided.
    PassThrough,
}

/// Methods the stateless era removed. A stateless server answers them 404 with
/// -32601, and none of them may open a session in that era.
const REMOVED_IN_STATELESS_ERA: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

impl Config {
    fn serves_legacy_era(&self) -> bool {
        self.supported
            .iter()
            .any(|version| version.era() == Era::Legacy)
    }

    fn newest_legacy(&self) -> Option<ProtocolVersion> {
        self.supported
            .iter()
            .rev()
            .copied()
            .find(|version| version.era() == Era::Legacy)
    }

    /// The checks that need only the method and headers.
    pub(crate) fn check_headers(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<HeaderVerdict, McpError> {
        let header_version = self.header_version(headers);
        match *method {
            Method::POST => {
                if !is_json_content_type(headers) {
                    return Err(unsupported_media_type(headers));
                }
                if !accepts_json_and_event_stream(headers) {
                    return Err(not_acceptable(
                        "a POST must send Accept listing both application/json and text/event-stream",
                        headers,
                    ));
                }
                Ok(HeaderVerdict::NeedsEnvelope(header_version))
            }
            Method::GET | Method::DELETE => {
                let header_version = match header_version {
                    HeaderVersion::Absent => None,
                    HeaderVersion::Supported(version) => Some(version),
                    HeaderVersion::Unsupported(sent) => return Err(self.unsupported(&sent, "")),
                    HeaderVersion::Repeated => return Err(repeated_version_header()),
                };
                let stateless =
                    header_version.is_some_and(|version| version.era() == Era::Stateless);
                if stateless || !self.serves_legacy_era() {
                    return Err(method_not_allowed(method));
                }
                if *method == Method::GET && !accepts(headers, "text", "event-stream") {
                    return Err(not_acceptable(
                        "a GET opens an SSE stream: send Accept: text/event-stream",
                        headers,
                    ));
                }
                Ok(HeaderVerdict::Decided(self.legacy_default(header_version)?))
            }
            // A preflight the CORS layer did not answer is the handler's.
            Method::OPTIONS => Ok(HeaderVerdict::PassThrough),
            // Anything else (PUT, PATCH, HEAD, …) is no MCP transport method;
            // passed on, it would skip every check here and after.
            _ => Err(self.not_a_transport_method(method)),
        }
    }

    fn not_a_transport_method(&self, method: &Method) -> McpError {
        let allow = match self.serves_legacy_era() {
            true => "GET, POST, DELETE",
            false => "POST",
        };
        McpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            error_code::SERVER_ERROR,
            format!(
                "{} is not an MCP transport method; send {allow}",
                truncated_for_display(method.as_str().as_bytes())
            ),
        )
        .with_header(ALLOW, HeaderValue::from_static(allow))
        .with_reason("method_not_allowed")
    }

    /// The legacy-era version of a request: the header's, else 2025-03-26.
    fn legacy_default(
        &self,
        header_version: Option<ProtocolVersion>,
    ) -> Result<ProtocolVersion, McpError> {
        let version = header_version.unwrap_or(ProtocolVersion::ASSUMED_WHEN_ABSENT);
        match self.supported.contains(&version) {
            true => Ok(version),
            false => Err(self.unsupported(
                version.as_str(),
                "no MCP-Protocol-Version header means 2025-03-26",
            )),
        }
    }

    /// The single `MCP-Protocol-Version` header, parsed.
    fn header_version(&self, headers: &HeaderMap) -> HeaderVersion {
        let mut values = headers.get_all(MCP_PROTOCOL_VERSION).iter();
        let Some(value) = values.next() else {
            return HeaderVersion::Absent;
        };
        if values.next().is_some() {
            return HeaderVersion::Repeated;
        }
        let text = value.to_str().unwrap_or_default();
        match text.parse::<ProtocolVersion>() {
            Ok(version) if self.supported.contains(&version) => HeaderVersion::Supported(version),
            _ => HeaderVersion::Unsupported(truncated_for_display(value.as_bytes())),
        }
    }

    /// -32022 UnsupportedProtocolVersion, with the data the 2026-07-28 spec
    /// gives it (`supported`, `requested`) in either era.
    fn unsupported(&self, requested: &str, note: &str) -> McpError {
        let supported: Vec<&str> = self
            .supported
            .iter()
            .map(|version| version.as_str())
            .collect();
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        McpError::new(
            StatusCode::BAD_REQUEST,
            error_code::UNSUPPORTED_PROTOCOL_VERSION,
            format!(
                "unsupported MCP-Protocol-Version \"{requested}\"{note}; this server supports {}",
                supported.join(", ")
            ),
        )
        .with_data(serde_json::json!({ "supported": supported, "requested": requested }))
        .with_reason("unsupported_protocol_version")
    }

    /// The checks that need the envelope: era, version, batches, mirrors.
    /// Every rejection of a single message with an id carries that id.
    pub(crate) fn check_envelope(
        &self,
        headers: &HeaderMap,
        envelope: &RpcEnvelope,
        header_version: &HeaderVersion,
    ) -> Result<ProtocolVersion, McpError> {
        if *envelope == RpcEnvelope::Unparsable {
            return Err(McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::PARSE_ERROR,
                "the body is not a JSON-RPC message (invalid JSON, a duplicated member, a null id, or a mix of request and response); send one JSON-RPC object",
            )
            .with_reason("parse_error"));
        }
        let with_id = |error: McpError| error.with_id(envelope.request_id().cloned());
        if envelope.messages().iter().any(|message| {
            !(message.is_request() || message.is_notification() || message.is_response())
        }) {
            // Neither a request, a notification nor a response: the guards
            // after this one could not tell which scopes or session rules
            // apply, and the handler may read it differently.
            return Err(with_id(McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::INVALID_REQUEST,
                "the body is not a JSON-RPC request, notification or response (a request needs \"method\" and \"id\", a notification \"method\", a response \"result\" or \"error\"; member names are case-sensitive)",
            )
            .with_reason("invalid_message")));
        }
        self.decide(headers, envelope, header_version)
            .map_err(with_id)
    }

    fn decide(
        &self,
        headers: &HeaderMap,
        envelope: &RpcEnvelope,
        header_version: &HeaderVersion,
    ) -> Result<ProtocolVersion, McpError> {
        let header = match header_version {
            HeaderVersion::Repeated => return Err(repeated_version_header()),
            HeaderVersion::Supported(version) => Some(*version),
            HeaderVersion::Absent | HeaderVersion::Unsupported(_) => None,
        };
        let messages = envelope.messages();
        let body_claims_stateless = messages
            .iter()
            .any(|message| message.meta_protocol_version().is_some());
        let stateless =
            header.is_some_and(|version| version.era() == Era::Stateless) || body_claims_stateless;
        if stateless {
            return self.decide_stateless(headers, envelope, header_version);
        }
        let version = match header_version {
            HeaderVersion::Unsupported(sent) => return Err(self.unsupported(sent, "")),
            _ => self.envelope_version(envelope, header)?,
        };
        if envelope.is_batch() && version != ProtocolVersion::V2025_03_26 {
            return Err(McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::INVALID_REQUEST,
                format!(
                    "JSON-RPC batches are allowed only in protocol version 2025-03-26, and this request speaks {version}; send one message per POST"
                ),
            )
            .with_reason("batch_not_allowed"));
        }
        self.check_legacy_mirrors(headers, envelope)?;
        Ok(version)
    }

    /// Legacy clients need not send `Mcp-Method`, `Mcp-Name` or
    /// `Mcp-Param-*`, but a gateway in front may route on them whatever the
    /// era: the ones sent must mirror the body as in the stateless era.
    fn check_legacy_mirrors(
        &self,
        headers: &HeaderMap,
        envelope: &RpcEnvelope,
    ) -> Result<(), McpError> {
        let sent = headers.contains_key(&MCP_METHOD)
            || headers.contains_key(&MCP_NAME)
            || headers.keys().any(is_mcp_param);
        if !sent {
            return Ok(());
        }
        match envelope.single() {
            Some(message) => self.check_mirrors(headers, message, Mirrors::IfSent),
            None => Err(mismatch(
                "Mcp-Method, Mcp-Name and Mcp-Param-* headers describe one message, and this body is a JSON-RPC batch; send them only with a single message".into(),
            )),
        }
    }

    /// The stateless era's checks, in the order the 2026-07-28 spec gives:
    /// header present (-32020), `_meta` complete (-32602), header equal to
    /// `_meta` (-32020), version supported (-32022), removed methods (404,
    /// -32601), then the routing-header mirrors (-32020).
    fn decide_stateless(
        &self,
        headers: &HeaderMap,
        envelope: &RpcEnvelope,
        header_version: &HeaderVersion,
    ) -> Result<ProtocolVersion, McpError> {
        let sent = match header_version {
            HeaderVersion::Absent => {
                return Err(mismatch(
                    "the body's _meta names a protocol version, but the MCP-Protocol-Version header is missing; the stateless era requires it on every POST, equal to _meta".into(),
                ));
            }
            HeaderVersion::Supported(version) => version.as_str(),
            HeaderVersion::Unsupported(sent) => sent.as_str(),
            HeaderVersion::Repeated => return Err(repeated_version_header()),
        };
        let Some(message) = envelope.single() else {
            return Err(McpError::new(
                StatusCode::BAD_REQUEST,
                error_code::INVALID_REQUEST,
                "the stateless era (2026-07-28) has no JSON-RPC batches; send one message per POST",
            )
            .with_reason("batch_not_allowed"));
        };
        if message.is_request() {
            check_meta_complete(message)?;
        }
        if let Some(meta) = message.meta_protocol_version()
            && meta != sent
        {
            return Err(mismatch(format!(
                "the MCP-Protocol-Version header \"{sent}\" does not match the body's _meta protocol version \"{}\"",
                truncated_for_display(meta.as_bytes())
            )));
        }
        let HeaderVersion::Supported(version) = *header_version else {
            return Err(self.unsupported(sent, ""));
        };
        if version.era() != Era::Stateless {
            // A legacy version in both header and _meta: a legacy request that
            // happens to carry _meta.
            return Ok(version);
        }
        if let Some(removed) = message
            .method()
            .filter(|method| REMOVED_IN_STATELESS_ERA.contains(method))
        {
            return Err(McpError::new(
                StatusCode::NOT_FOUND,
                error_code::METHOD_NOT_FOUND,
                format!(
                    "method \"{removed}\" does not exist in protocol version {version}; the stateless era has no initialize, ping, logging/setLevel or resource subscriptions (use server/discover and per-request _meta)"
                ),
            )
            .with_reason("method_not_in_era"));
        }
        self.check_mirrors(headers, message, Mirrors::Required)?;
        Ok(version)
    }

    fn envelope_version(
        &self,
        envelope: &RpcEnvelope,
        header_version: Option<ProtocolVersion>,
    ) -> Result<ProtocolVersion, McpError> {
        if let Some(version) = header_version {
            return Ok(version);
        }
        let initialize = envelope.single().filter(|message| message.is_initialize());
        match initialize {
            // Version negotiation is the handler's: an initialize may ask for
            // any version, and is answered with one the server supports. It is
            // legacy-era traffic whatever it asks for (the stateless era has no
            // initialize), so it gets a legacy version.
            Some(message) => {
                let asked = message
                    .params_protocol_version()
                    .and_then(|text| text.parse::<ProtocolVersion>().ok())
                    .filter(|version| version.era() == Era::Legacy);
                match (asked, self.newest_legacy()) {
                    (_, None) => Err(McpError::new(
                        StatusCode::NOT_FOUND,
                        error_code::METHOD_NOT_FOUND,
                        "this server serves only the stateless era (2026-07-28), which has no initialize; use server/discover and per-request _meta",
                    )
                    .with_reason("method_not_in_era")),
                    (Some(asked), Some(_)) if self.supported.contains(&asked) => Ok(asked),
                    (_, Some(newest)) => Ok(newest),
                }
            }
            None => self.legacy_default(None),
        }
    }

    fn check_mirrors(
        &self,
        headers: &HeaderMap,
        message: &RpcMessage,
        mirrors: Mirrors,
    ) -> Result<(), McpError> {
        let Some(method) = message.method() else {
            // A response the client posts back carries no method to mirror,
            // but an Mcp-Method header on it claims one the body does not
            // have: a gateway would route a message the handler never sees.
            if let Some(claimed) = headers.get(&MCP_METHOD) {
                return Err(mismatch(format!(
                    "the Mcp-Method header \"{}\" names a method, but the body has none; send Mcp-Method only with a request or notification",
                    truncated_for_display(claimed.as_bytes())
                )));
            }
            self.check_named_nothing(headers, &"a response")?;
            return self.check_strict_params(headers, None, &"a response");
        };
        if let Some(header_method) = read_mirror(headers, &MCP_METHOD, "Mcp-Method", mirrors)?
            && header_method != method
        {
            return Err(mismatch(format!(
                "the Mcp-Method header \"{}\" does not match the body's method \"{}\"",
                truncated_for_display(header_method.as_bytes()),
                truncated_for_display(method.as_bytes())
            )));
        }
        let named = match method {
            "tools/call" | "prompts/get" => Some(("params.name", message.name())),
            "resources/read" => Some(("params.uri", message.uri())),
            _ => None,
        };
        let shown_method = Shown("method", method);
        match named {
            Some((member, body_name)) => {
                let header_name = read_mirror(headers, &MCP_NAME, "Mcp-Name", mirrors)?;
                if let Some(header_name) = header_name
                    && Some(&*header_name) != body_name
                {
                    return Err(mismatch(format!(
                        "the Mcp-Name header \"{}\" does not match the body's {member} \"{}\"",
                        truncated_for_display(header_name.as_bytes()),
                        truncated_for_display(body_name.unwrap_or_default().as_bytes())
                    )));
                }
            }
            None => self.check_named_nothing(headers, &shown_method)?,
        }
        if method == "tools/call" {
            self.check_param_headers(headers, message, mirrors)
        } else {
            self.check_strict_params(headers, None, &shown_method)
        }
    }

    /// `Mcp-Name` names a tool, prompt or resource: on `what` (a message
    /// naming none) a gateway would route on a name the body does not have.
    fn check_named_nothing(
        &self,
        headers: &HeaderMap,
        what: &dyn fmt::Display,
    ) -> Result<(), McpError> {
        match headers.get(&MCP_NAME) {
            Some(claimed) => Err(mismatch(format!(
                "the Mcp-Name header \"{}\" names a tool, prompt or resource, but {what} names none; send Mcp-Name only with tools/call, prompts/get or resources/read",
                truncated_for_display(claimed.as_bytes())
            ))),
            None => Ok(()),
        }
    }

    fn check_param_headers(
        &self,
        headers: &HeaderMap,
        message: &RpcMessage,
        mirrors: Mirrors,
    ) -> Result<(), McpError> {
        let tool = message.name().unwrap_or_default();
        let params = self.registry.for_tool(tool);
        let shown_tool = Shown("tool", tool);
        self.check_strict_params(headers, params.as_deref(), &shown_tool)?;
        let Some(params) = params else {
            return Ok(());
        };
        // Only a call to an annotated tool looks inside its arguments.
        let arguments = match message.arguments_text() {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| {
                mismatch(
                    "params.arguments could not be read to compare with the Mcp-Param headers"
                        .into(),
                )
            })?),
            None => None,
        };
        param_headers::check(
            headers,
            &params,
            arguments.as_ref(),
            mirrors == Mirrors::Required,
        )
        .map_err(mismatch)
    }

    /// With [`strict_param_headers`](crate::ProtocolGuardLayerBuilder::strict_param_headers),
    /// an `Mcp-Param-*` header that `params` (the annotations of `what`, if
    /// known) does not name cannot be compared with the body: refused.
    fn check_strict_params(
        &self,
        headers: &HeaderMap,
        params: Option<&[param_headers::ParamHeader]>,
        what: &dyn fmt::Display,
    ) -> Result<(), McpError> {
        if !self.strict_param_headers {
            return Ok(());
        }
        match param_headers::unannotated(headers, params.unwrap_or_default()) {
            Some(header) => Err(mismatch(format!(
                "the {header} header cannot be checked: {what} has no parameter annotated with that x-mcp-header that this server knows, and this server refuses Mcp-Param headers it cannot compare with the body; send only the headers the tool's inputSchema annotates"
            ))),
            None => Ok(()),
        }
    }
}

/// What a refusal names, e.g. `method "tools/list"`: written only into a
/// refusal, never built for a request that passes.
struct Shown<'a>(&'static str, &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} \"{}\"",
            self.0,
            truncated_for_display(self.1.as_bytes())
        )
    }
}

/// Whether the routing headers must be sent (stateless era) or are checked
/// only when sent (legacy era).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mirrors {
    Required,
    IfSent,
}

/// The decoded value of a routing header: required, or only if sent.
fn read_mirror<'h>(
    headers: &'h HeaderMap,
    name: &http::HeaderName,
    label: &str,
    mirrors: Mirrors,
) -> Result<Option<Cow<'h, str>>, McpError> {
    let value = match mirrors {
        Mirrors::Required => sentinel::read_required(headers, name).map(Some),
        Mirrors::IfSent => sentinel::read_optional(headers, name),
    };
    value.map_err(|problem| mismatch(problem.describe(label)))
}

/// A stateless-era request's `_meta` must name the protocol version and the
/// client's capabilities: -32602 Invalid params otherwise.
fn check_meta_complete(message: &RpcMessage) -> Result<(), McpError> {
    let missing: Vec<&str> = [
        (
            "io.modelcontextprotocol/protocolVersion",
            message.meta_protocol_version().is_some(),
        ),
        (
            "io.modelcontextprotocol/clientCapabilities",
            message.meta_has_client_capabilities(),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(key, _)| key)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let what = if message.has_meta() {
        format!("params._meta lacks {}", missing.join(" and "))
    } else {
        "params._meta is missing".to_owned()
    };
    Err(McpError::new(
        StatusCode::BAD_REQUEST,
        error_code::INVALID_PARAMS,
        format!(
            "{what}; every stateless-era (2026-07-28) request carries params._meta with io.modelcontextprotocol/protocolVersion (equal to the MCP-Protocol-Version header) and io.modelcontextprotocol/clientCapabilities"
        ),
    )
    .with_data(serde_json::json!({ "missing": missing }))
    .with_reason("meta_missing"))
}

fn repeated_version_header() -> McpError {
    McpError::new(
        StatusCode::BAD_REQUEST,
        error_code::SERVER_ERROR,
        "MCP-Protocol-Version is sent more than once; send exactly one",
    )
    .with_reason("protocol_version_repeated")
}

fn mismatch(message: String) -> McpError {
    McpError::new(
        StatusCode::BAD_REQUEST,
        error_code::HEADER_MISMATCH,
        message,
    )
    .with_reason("header_mismatch")
}

fn unsupported_media_type(headers: &HeaderMap) -> McpError {
    let sent = headers
        .get(http::header::CONTENT_TYPE)
        .map(|value| truncated_for_display(value.as_bytes()))
        .unwrap_or_else(|| "none".into());
    McpError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        error_code::SERVER_ERROR,
        format!(
            "Content-Type must be application/json (got {sent}); send the JSON-RPC message as application/json"
        ),
    )
    .with_reason("unsupported_media_type")
}

fn not_acceptable(what: &str, headers: &HeaderMap) -> McpError {
    let sent = headers
        .get(http::header::ACCEPT)
        .map(|value| truncated_for_display(value.as_bytes()))
        .unwrap_or_else(|| "none".into());
    McpError::new(
        StatusCode::NOT_ACCEPTABLE,
        error_code::SERVER_ERROR,
        format!("{what} (got Accept: {sent})"),
    )
    .with_reason("not_acceptable")
}

fn method_not_allowed(method: &Method) -> McpError {
    McpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        error_code::SERVER_ERROR,
        format!("{method} is not part of the stateless era (2026-07-28): there is no session and no standalone stream; send each request as a POST"),
    )
    .with_header(ALLOW, HeaderValue::from_static("POST"))
    .with_reason("method_not_allowed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            supported: ProtocolVersion::ALL.to_vec(),
            envelope_limits: EnvelopeLimits::new(),
            registry: Arc::new(ParamHeaderRegistry::default()),
            learn_from_tools_list: false,
            strict_param_headers: false,
        }
    }

    /// Found by the `protocol_headers` fuzz target: a stateless body with no
    /// `method` (here a typo, `metho1d`) went through while `Mcp-Method`
    /// claimed `tools/call`. It is no JSON-RPC message at all (-32600), and an
    /// `Mcp-Method` on a real method-less message (a response) is a mismatch.
    #[test]
    fn an_mcp_method_header_on_a_body_without_a_method_is_refused() {
        let stateless = HeaderVersion::Supported(ProtocolVersion::V2026_07_28);
        let mut headers = HeaderMap::new();
        headers.insert(MCP_METHOD, HeaderValue::from_static("tools/call"));
        let typo = br#"{"jsonrpc":"2.0","id":1,"metho1d":"tools/call","params":{"name":"dispatch","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        let error = config()
            .check_envelope(&headers, &RpcEnvelope::parse(typo), &stateless)
            .unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error.code(), error_code::INVALID_REQUEST);

        let answer = br#"{"jsonrpc":"2.0","id":1,"result":{},"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        let error = config()
            .check_envelope(&headers, &RpcEnvelope::parse(answer), &stateless)
            .unwrap_err();
        assert_eq!(error.code(), error_code::HEADER_MISMATCH);
        assert!(
            error.message().contains("Mcp-Method"),
            "{}",
            error.message()
        );

        let response = RpcEnvelope::parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(
            config()
                .check_envelope(
                    &HeaderMap::new(),
                    &response,
                    &HeaderVersion::Supported(ProtocolVersion::V2026_07_28)
                )
                .ok(),
            Some(ProtocolVersion::V2026_07_28),
            "a response without Mcp-Method still goes through"
        );
    }
}
