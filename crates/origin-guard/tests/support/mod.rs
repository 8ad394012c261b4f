//! What the origin guard's tests share: a handler that says it was reached,
//! and a request with the Host and Origin under test.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Ready;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;

/// The body the [`handler`] answers with, so a test tells its answer from the
/// guard's.
pub(crate) const REACHED: &str = "reached the handler";

/// The type of [`handler`]: a nameable service, so helpers can take a layer
/// and build the stack themselves.
pub(crate) type Handler = tower::util::ServiceFn<
    fn(Request<Full<Bytes>>) -> Ready<Result<Response<Full<Bytes>>, Infallible>>,
>;

/// A handler answering `200` with [`REACHED`].
pub(crate) fn handler() -> Handler {
    fn reply(_: Request<Full<Bytes>>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(
            REACHED.as_bytes(),
        )))))
    }
    tower::service_fn(reply as fn(_) -> _)
}

/// A `POST /mcp` with these `Host` and `Origin` headers (each left out when `None`).
pub(crate) fn request(host: Option<&str>, origin: Option<&str>) -> http::request::Builder {
    let mut builder = Request::post("/mcp");
    if let Some(host) = host {
        builder = builder.header("host", host);
    }
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder
}
