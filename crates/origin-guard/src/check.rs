//! The decision: does a request's Host and Origin pass the allowlist?

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Method, Request, StatusCode};
use mcp_guard_core::well_known::is_metadata_document;
use mcp_guard_core::{McpError, error_code, truncated_for_display};

use crate::proxy::{ForwardedHost, has_forwarded_headers};
use crate::{Allowlist, HostAndPort, Origin, TrustedProxies};

/// The status for a request whose Host is well-formed but not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostRejectionStatus {
    /// `403 Forbidden` (the default; what the TypeScript SDK answers).
    #[default]
    Forbidden,
    /// `421 Misdirected Request` (what the Python SDK answers).
    MisdirectedRequest,
}

impl HostRejectionStatus {
    fn status(self) -> StatusCode {
        match self {
            HostRejectionStatus::Forbidden => StatusCode::FORBIDDEN,
            HostRejectionStatus::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
        }
    }
}

/// The origin guard's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub(crate) allowlist: Allowlist,
    pub(crate) host_rejection: HostRejectionStatus,
    pub(crate) trusted_proxies: Option<TrustedProxies>,
    pub(crate) public_metadata_from_any_origin: bool,
}

/// Why a request was turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    MissingHost,
    DuplicateHost,
    MalformedHost {
        header: &'static str,
        value: String,
        reason: String,
    },
    HostAuthorityMismatch {
        host: String,
        authority: String,
    },
    HostNotAllowed {
        value: String,
        forwarded_ignored: bool,
    },
    DuplicateOrigin,
    NullOrigin,
    MalformedOrigin {
        value: String,
        reason: String,
    },
    OriginNotAllowed {
        value: String,
    },
}

impl Guard {
    /// Checks the request's host, then its origin.
    pub(crate) fn check<B>(&self, request: &Request<B>) -> Result<(), Rejection> {
        self.check_host(request)?;
        if self.is_public_metadata_read(request) {
            // OAuth metadata (RFC 9728, RFC 8414, OIDC) is public and read-only: browsers on any origin
            // must be able to discover how to authenticate. Host is still checked.
            return Ok(());
        }
        self.check_origin(request.headers())
    }

    fn is_public_metadata_read<B>(&self, request: &Request<B>) -> bool {
        self.public_metadata_from_any_origin
            && matches!(
                *request.method(),
                Method::GET | Method::HEAD | Method::OPTIONS
            )
            && is_metadata_document(request.uri().path())
    }

    fn check_host<B>(&self, request: &Request<B>) -> Result<(), Rejection> {
        let headers = request.headers();
        let mut host_headers = headers.get_all(HOST).iter();
        let host_header = host_headers.next();
        if host_headers.next().is_some() {
            return Err(Rejection::DuplicateHost);
        }
        let from_header = host_header
            .map(|value| parse_host("Host", value.as_bytes()))
            .transpose()?;
        let from_uri = request
            .uri()
            .authority()
            .map(|authority| parse_host(":authority", authority.as_str().as_bytes()))
            .transpose()?;
        let host = match (from_header, from_uri) {
            (Some(header), Some(authority)) if header != authority => {
                return Err(Rejection::HostAuthorityMismatch {
                    host: header.to_string(),
                    authority: authority.to_string(),
                });
            }
            (Some(host), _) | (None, Some(host)) => host,
            (None, None) => return Err(Rejection::MissingHost),
        };
        let forwarded = match &self.trusted_proxies {
            Some(proxies) => proxies.forwarded_host(request.extensions(), headers),
            None => ForwardedHost::Absent,
        };
        let host = match forwarded {
            ForwardedHost::Trusted(value) => parse_host("forwarded host", value.as_bytes())?,
            ForwardedHost::Unreadable => {
                return Err(Rejection::MalformedHost {
                    header: "forwarded host",
                    value: String::new(),
                    reason:
                        "the trusted proxy's Forwarded / X-Forwarded-Host header is not readable"
                            .into(),
                });
            }
            ForwardedHost::Absent => host,
        };
        if self.allowlist.allows_host(&host) {
            return Ok(());
        }
        let forwarded_ignored =
            matches!(forwarded, ForwardedHost::Absent) && has_forwarded_headers(headers);
        Err(Rejection::HostNotAllowed {
            value: host.to_string(),
            forwarded_ignored,
        })
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let mut origins = headers.get_all(ORIGIN).iter();
        let Some(origin) = origins.next() else {
            // No Origin: not a browser, nothing cross-site to stop.
            return Ok(());
        };
        if origins.next().is_some() {
            return Err(Rejection::DuplicateOrigin);
        }
        let text = origin.to_str().map_err(|_| Rejection::MalformedOrigin {
            value: truncated_for_display(origin.as_bytes()),
            reason: "it holds bytes that are not visible ASCII".into(),
        })?;
        if text == "null" {
            return match self.allowlist.allows_null_origin() {
                true => Ok(()),
                false => Err(Rejection::NullOrigin),
            };
        }
        let parsed: Origin = text.parse().map_err(|reason: crate::InvalidHostOrOrigin| {
            Rejection::MalformedOrigin {
                value: truncated_for_display(text.as_bytes()),
                reason: reason.to_string(),
            }
        })?;
        match self.allowlist.allows_origin(&parsed) {
            true => Ok(()),
            false => Err(Rejection::OriginNotAllowed {
                value: truncated_for_display(text.as_bytes()),
            }),
        }
    }
}

fn parse_host(header: &'static str, value: &[u8]) -> Result<HostAndPort, Rejection> {
    let malformed = |reason: String| Rejection::MalformedHost {
        header,
        value: truncated_for_display(value),
        reason,
    };
    let text = std::str::from_utf8(value).map_err(|_| malformed("it is not ASCII".into()))?;
    text.parse()
        .map_err(|reason: crate::InvalidHostOrOrigin| malformed(reason.to_string()))
}

impl Rejection {
    /// The response status and the JSON-RPC error telling the caller what to fix.
    pub(crate) fn into_error(self, host_rejection: HostRejectionStatus) -> McpError {
        let (status, header, token, message) = match self {
            Rejection::MissingHost => (
                StatusCode::BAD_REQUEST,
                "host",
                "host_missing",
                "the request has no Host header (or :authority); send the host name the server is reached under".to_owned(),
            ),
            Rejection::DuplicateHost => (
                StatusCode::BAD_REQUEST,
                "host",
                "host_duplicated",
                "the request has more than one Host header; send exactly one".to_owned(),
            ),
            Rejection::MalformedHost { header, value, reason } => (
                StatusCode::BAD_REQUEST,
                "host",
                "host_malformed",
                format!("the {header} \"{value}\" is malformed: {reason}"),
            ),
            Rejection::HostAuthorityMismatch { host, authority } => (
                StatusCode::BAD_REQUEST,
                "host",
                "host_authority_mismatch",
                format!("the Host header \"{host}\" disagrees with the request target's authority \"{authority}\"; send one host"),
            ),
            Rejection::HostNotAllowed { value, forwarded_ignored } => (
                host_rejection.status(),
                "host",
                "host_not_allowed",
                format!(
                    "Host \"{value}\" is not allowed (DNS-rebinding protection). If clients reach this server under that name, add it to the origin guard's allowed hosts, e.g. allow_host(\"{value}\"){}",
                    if forwarded_ignored {
                        "; the request's Forwarded / X-Forwarded-Host was ignored because it did not come from a trusted proxy (see TrustedProxies)"
                    } else {
                        ""
                    }
                ),
            ),
            Rejection::DuplicateOrigin => (
                StatusCode::FORBIDDEN,
                "origin",
                "origin_duplicated",
                "the request has more than one Origin header; send at most one".to_owned(),
            ),
            Rejection::NullOrigin => (
                StatusCode::FORBIDDEN,
                "origin",
                "null_origin",
                "Origin \"null\" is not allowed; serve the client page from an allowed origin, or enable allow_null_origin(true)".to_owned(),
            ),
            Rejection::MalformedOrigin { value, reason } => (
                StatusCode::FORBIDDEN,
                "origin",
                "origin_malformed",
                format!("Origin \"{value}\" is malformed ({reason}); an origin is scheme://host[:port] with nothing after it"),
            ),
            Rejection::OriginNotAllowed { value } => (
                StatusCode::FORBIDDEN,
                "origin",
                "origin_not_allowed",
                format!(
                    "Origin \"{value}\" is not allowed (cross-site request). If this web client is yours, add it to the origin guard's allowed origins, e.g. allow_origin(\"{value}\")"
                ),
            ),
        };
        McpError::new(status, error_code::SERVER_ERROR, message)
            .with_data(serde_json::json!({ "header": header }))
            .with_reason(token)
    }
}
