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

/// Every log line written while it is the thread's default subscriber
/// (`#[tokio::test]` runs on one thread), at every level.
#[derive(Clone, Default)]
pub(crate) struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing; capture ends when the returned guard drops.
    pub(crate) fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
