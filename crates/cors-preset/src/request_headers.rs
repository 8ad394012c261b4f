//! Which requested headers a preflight may be granted.
//!
//! CORS has no prefix wildcard, yet the stateless era sends `Mcp-Param-{Name}`
//! headers whose names depend on the tool. So the preflight's
//! `Access-Control-Request-Headers` is cut down to the headers this policy allows
//! (the MCP ones, any `mcp-param-*`, and the configured extras), for allowed
//! origins only, and tower-http then mirrors what is left. A header that is not
//! granted makes the browser refuse the request, which is the point.

use http::header::{
    ACCEPT, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION,
    CONTENT_TYPE, ORIGIN,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use mcp_guard_core::headers::{
    LAST_EVENT_ID, MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, MCP_SESSION_ID, is_mcp_param,
};
use mcp_origin_guard::Allowlist;

use crate::config::MCP_METHODS;

/// The request headers of the MCP Streamable HTTP transport, both eras.
pub(crate) const MCP_REQUEST_HEADERS: [HeaderName; 8] = [
    CONTENT_TYPE,
    ACCEPT,
    AUTHORIZATION,
    MCP_SESSION_ID,
    MCP_PROTOCOL_VERSION,
    LAST_EVENT_ID,
    MCP_METHOD,
    MCP_NAME,
];

/// At most this many requested names are considered; the rest are not granted.
/// A real client asks for a handful; the cap bounds the work a hostile
/// preflight can cause.
pub(crate) const MAX_REQUESTED_HEADERS: usize = 64;

/// What a preflight is granted of the headers it asks for.
#[derive(Debug)]
struct Grant {
    /// The granted names, comma-separated; `None` for none.
    value: Option<HeaderValue>,
    /// Whether every requested name is granted.
    all: bool,
}

impl Default for Grant {
    /// Nothing granted (of something asked for).
    fn default() -> Self {
        Grant {
            value: None,
            all: false,
        }
    }
}

#[derive(Debug)]
pub(crate) struct RequestHeaderPolicy {
    allowlist: Allowlist,
    extra: Vec<HeaderName>,
    any: bool,
}

impl RequestHeaderPolicy {
    pub(crate) fn new(allowlist: Allowlist, extra: Vec<HeaderName>, any: bool) -> Self {
        RequestHeaderPolicy {
            allowlist,
            extra,
            any,
        }
    }

    /// Rewrites a preflight's `Access-Control-Request-Headers` to the names that
    /// may be granted (none for an origin the allowlist does not admit), and
    /// says why the browser will refuse the request it asks about, if it will:
    /// the [`Rejection`](mcp_guard_core::Rejection) reason of a refused
    /// preflight (`origin_not_allowed`, `method_not_allowed`,
    /// `header_not_allowed`).
    pub(crate) fn restrict_preflight(&self, headers: &mut HeaderMap) -> Option<&'static str> {
        let preflight =
            headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        let origin_allowed = headers
            .get(ORIGIN)
            .is_some_and(|origin| self.allowlist.allows_origin_value(origin));
        let method_allowed = headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|method| Method::from_bytes(method.as_bytes()).ok())
            .is_some_and(|method| MCP_METHODS.contains(&method));
        let mut all_granted = true;
        if headers.contains_key(ACCESS_CONTROL_REQUEST_HEADERS) {
            let granted = match origin_allowed {
                true => self.grantable(headers),
                false => Grant::default(),
            };
            all_granted = granted.all;
            match granted.value {
                Some(value) => {
                    headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, value);
                }
                None => {
                    headers.remove(ACCESS_CONTROL_REQUEST_HEADERS);
                }
            }
        }
        match (preflight, origin_allowed, method_allowed, all_granted) {
            (false, ..) | (true, true, true, true) => None,
            (true, false, ..) => Some("origin_not_allowed"),
            (true, true, false, _) => Some("method_not_allowed"),
            (true, true, true, false) => Some("header_not_allowed"),
        }
    }

    /// The requested names this policy grants, as one comma-separated value,
    /// and whether that is every name requested.
    fn grantable(&self, headers: &HeaderMap) -> Grant {
        let mut granted: Vec<HeaderName> = Vec::new();
        let mut all = true;
        let requested = headers
            .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|list| list.split(','))
            .map(|name| name.trim())
            .filter(|name| !name.is_empty());
        for (index, name) in requested.enumerate() {
            let name = match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) if index < MAX_REQUESTED_HEADERS && self.allows(&name) => name,
                _ => {
                    all = false;
                    if index >= MAX_REQUESTED_HEADERS {
                        break;
                    }
                    continue;
                }
            };
            if !granted.contains(&name) {
                granted.push(name);
            }
        }
        if granted.is_empty() {
            return Grant { value: None, all };
        }
        let joined = granted
            .iter()
            .map(HeaderName::as_str)
            .collect::<Vec<_>>()
            .join(",");
        Grant {
            value: HeaderValue::from_str(&joined).ok(),
            all,
        }
    }

    fn allows(&self, name: &HeaderName) -> bool {
        self.any
            || MCP_REQUEST_HEADERS.contains(name)
            || is_mcp_param(name)
            || self.extra.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &[&'static str], any: bool) -> RequestHeaderPolicy {
        RequestHeaderPolicy::new(
            Allowlist::localhost(),
            extra
                .iter()
                .map(|name| HeaderName::from_static(name))
                .collect(),
            any,
        )
    }

    fn restricted(
        policy: &RequestHeaderPolicy,
        origin: &str,
        requested: &[&str],
    ) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        for value in requested {
            headers.append(
                ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        policy.restrict_preflight(&mut headers);
        headers
            .get(ACCESS_CONTROL_REQUEST_HEADERS)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    #[test]
    fn mcp_headers_and_mcp_param_headers_are_kept_other_headers_dropped() {
        let kept = restricted(
            &policy(&[], false),
            "http://localhost:5173",
            &[
                "Content-Type, MCP-Protocol-Version ,mcp-param-Region, x-evil, mcp-param-, authorization",
            ],
        );
        assert_eq!(
            kept.as_deref(),
            Some("content-type,mcp-protocol-version,mcp-param-region,authorization")
        );
    }

    fn refusal(origin: &str, method: &str, requested: &str) -> Option<&'static str> {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(method).unwrap(),
        );
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_str(requested).unwrap(),
        );
        policy(&[], false).restrict_preflight(&mut headers)
    }

    #[test]
    fn a_preflight_that_cannot_get_what_it_asks_names_why() {
        let local = "http://localhost:5173";
        assert_eq!(refusal(local, "POST", "content-type, mcp-session-id"), None);
        assert_eq!(
            refusal("https://evil.example", "POST", "content-type"),
            Some("origin_not_allowed")
        );
        assert_eq!(
            refusal(local, "PUT", "content-type"),
            Some("method_not_allowed")
        );
        assert_eq!(
            refusal(local, "POST", "content-type, x-evil"),
            Some("header_not_allowed")
        );
        assert_eq!(
            refusal(local, "POST", "mcp-param-a b"),
            Some("header_not_allowed"),
            "a name that is not a token is not granted"
        );
        let many: Vec<String> = (0..=MAX_REQUESTED_HEADERS)
            .map(|index| format!("mcp-param-p{index}"))
            .collect();
        assert_eq!(
            refusal(local, "POST", &many.join(",")),
            Some("header_not_allowed"),
            "names past the cap are not granted"
        );
    }

    #[test]
    fn a_disallowed_origin_is_granted_no_header() {
        let kept = restricted(
            &policy(&[], false),
            "https://evil.example",
            &["content-type"],
        );
        assert_eq!(kept, None);
    }

    #[test]
    fn extras_and_any_widen_the_grant() {
        let kept = restricted(
            &policy(&["traceparent"], false),
            "http://localhost:1",
            &["traceparent,x-evil"],
        );
        assert_eq!(kept.as_deref(), Some("traceparent"));
        let kept = restricted(&policy(&[], true), "http://localhost:1", &["x-anything"]);
        assert_eq!(kept.as_deref(), Some("x-anything"));
    }

    #[test]
    fn repeated_and_split_values_are_merged_without_duplicates() {
        let kept = restricted(
            &policy(&[], false),
            "http://localhost:1",
            &["accept,accept", "ACCEPT, mcp-session-id"],
        );
        assert_eq!(kept.as_deref(), Some("accept,mcp-session-id"));
    }

    #[test]
    fn a_huge_request_list_is_cut_at_the_cap() {
        let names: Vec<String> = (0..1000)
            .map(|index| format!("mcp-param-p{index}"))
            .collect();
        let kept = restricted(
            &policy(&[], false),
            "http://localhost:1",
            &[&names.join(",")],
        )
        .unwrap();
        assert_eq!(kept.split(',').count(), MAX_REQUESTED_HEADERS);
    }

    #[test]
    fn names_that_are_not_tokens_are_never_granted() {
        let kept = restricted(
            &policy(&[], false),
            "http://localhost:1",
            &["mcp-param-a b, mcp-param-(x), accept"],
        );
        assert_eq!(kept.as_deref(), Some("accept"));
    }
}
