//! What the CORS preset's tests share: a handler, a preflight, and reading a
//! comma-separated header back as a list.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Ready;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::Full;

/// The type of [`handler`], nameable in helpers.
pub(crate) type Handler = tower::util::ServiceFn<
    fn(Request<Full<Bytes>>) -> Ready<Result<Response<Full<Bytes>>, Infallible>>,
>;

/// A handler answering `200` with an empty body.
pub(crate) fn handler() -> Handler {
    fn reply(_: Request<Full<Bytes>>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
        std::future::ready(Ok(Response::new(Full::default())))
    }
    tower::service_fn(reply as fn(_) -> _)
}

/// A browser's preflight of a `POST /mcp` from `origin` asking for
/// `requested_headers`.
pub(crate) fn preflight_request<V>(origin: &str, requested_headers: V) -> http::request::Builder
where
    http::HeaderValue: TryFrom<V>,
    <http::HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
{
    Request::options("/mcp")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", requested_headers)
}

/// Every item of a comma-separated header (all its lines), trimmed and lower-cased.
pub(crate) fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .collect()
}
