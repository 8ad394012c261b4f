//! The stacked service: one fixed nesting of the guards' own services, each
//! enabled or disabled by configuration. A guard whose Cargo feature is off is
//! absent (its type below is the service inside it).

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use http::Request;
use mcp_guard_core::EnvelopePeek;
use tower_layer::Layer;
use tower_service::Service;

use super::Types;
use super::endpoint::Endpoint;
use super::layer::Guards;
use super::response_timeout::ResponseTimeout;

#[cfg(feature = "origin-guard")]
type OriginGuard<S> = mcp_origin_guard::OriginGuard<S>;
#[cfg(not(feature = "origin-guard"))]
type OriginGuard<S> = S;

#[cfg(feature = "cors")]
type Cors<S> = mcp_cors_preset::McpCors<S>;
#[cfg(not(feature = "cors"))]
type Cors<S> = S;

#[cfg(feature = "protocol-guard")]
type ProtocolGuard<S> = mcp_protocol_guard::ProtocolGuard<S>;
#[cfg(not(feature = "protocol-guard"))]
type ProtocolGuard<S> = S;

// The guards typed by the verifier or a store are macros, not aliases: with
// their feature off the type parameter is unused, which an alias does not allow.
#[cfg(feature = "bearer-auth")]
macro_rules! bearer_auth {
    ($s:ty, $v:ty) => { mcp_bearer_auth::BearerAuth<$s, $v> };
}
#[cfg(not(feature = "bearer-auth"))]
macro_rules! bearer_auth {
    ($s:ty, $v:ty) => {
        $s
    };
}

#[cfg(feature = "rate-limit")]
type RateLimit<S> = mcp_rate_limit::RateLimit<S>;
#[cfg(not(feature = "rate-limit"))]
type RateLimit<S> = S;

#[cfg(feature = "session")]
macro_rules! session {
    ($s:ty, $ss:ty) => { mcp_session::SessionGuard<$s, $ss> };
}
#[cfg(not(feature = "session"))]
macro_rules! session {
    ($s:ty, $ss:ty) => {
        $s
    };
}

#[cfg(feature = "sse-resume")]
macro_rules! sse_resume {
    ($s:ty, $es:ty) => { mcp_sse_resume::SseResume<$s, $es> };
}
#[cfg(not(feature = "sse-resume"))]
macro_rules! sse_resume {
    ($s:ty, $es:ty) => {
        $s
    };
}

#[cfg(feature = "bearer-auth")]
macro_rules! discovery_filter {
    ($s:ty) => { mcp_bearer_auth::discovery::DiscoveryFilter<$s> };
}
#[cfg(not(feature = "bearer-auth"))]
macro_rules! discovery_filter {
    ($s:ty) => {
        $s
    };
}

/// Every guard's service around the handler `$s`, outermost first.
macro_rules! stack {
    ($s:ty, $v:ty, $ss:ty, $es:ty) => {
        ResponseTimeout<
            OriginGuard<
                Cors<
                    EnvelopePeek<
                        ProtocolGuard<
                            bearer_auth!(
                                RateLimit<session!(sse_resume!(discovery_filter!($s), $es), $ss)>,
                                $v
                            ),
                        >,
                    >,
                >,
            >,
        >
    };
}

impl<V, Ss, Es> Guards<V, Ss, Es> {
    /// The guards' services around `handler`, innermost first.
    pub(super) fn layer<S: Clone>(&self, handler: S) -> stack!(S, V, Ss, Es) {
        #[cfg(feature = "bearer-auth")]
        let handler = self.discovery_filter.layer(handler);
        #[cfg(feature = "sse-resume")]
        let handler = self.sse_resume.layer(handler);
        #[cfg(feature = "session")]
        let handler = self.session.layer(handler);
        #[cfg(feature = "rate-limit")]
        let handler = self.rate_limit.layer(handler);
        #[cfg(feature = "bearer-auth")]
        let handler = self.bearer_auth.layer(handler);
        #[cfg(feature = "protocol-guard")]
        let handler = self.protocol_guard.layer(handler);
        let handler = self.envelope_peek.layer(handler);
        #[cfg(feature = "cors")]
        let handler = self.cors.layer(handler);
        #[cfg(feature = "origin-guard")]
        let handler = self.origin_guard.layer(handler);
        ResponseTimeout::new(handler, self.response_timeout)
    }
}

/// The service [`McpGuardLayer`](super::McpGuardLayer) wraps a handler in: the
/// guards, in the order of the request's path.
pub struct McpGuardService<S, V, Ss, Es> {
    stack: stack!(S, V, Ss, Es),
    /// With an [endpoint](super::McpGuard::endpoint): the same stack with
    /// every guard disabled, for requests to other paths.
    #[allow(clippy::type_complexity)] // `stack!` is the guards' nesting, not a tangle
    unguarded: Option<Unguarded<stack!(S, V, Ss, Es)>>,
    _types: Types<V, Ss, Es>,
}

/// The stack with every guard disabled, and the endpoint whose requests do
/// not take it.
#[derive(Debug, Clone)]
struct Unguarded<T> {
    endpoint: Endpoint,
    stack: T,
}

impl<S: Clone, V, Ss, Es> McpGuardService<S, V, Ss, Es> {
    /// `guards` around `handler`; with an `endpoint`, the same stack disabled
    /// for requests to other paths.
    pub(super) fn new(guards: &Guards<V, Ss, Es>, endpoint: Option<&Endpoint>, handler: S) -> Self {
        let unguarded = endpoint.map(|endpoint| Unguarded {
            endpoint: endpoint.clone(),
            stack: Guards::<V, Ss, Es>::disabled().layer(handler.clone()),
        });
        McpGuardService {
            stack: guards.layer(handler),
            unguarded,
            _types: PhantomData,
        }
    }
}

impl<S, V, Ss, Es> Clone for McpGuardService<S, V, Ss, Es>
where
    stack!(S, V, Ss, Es): Clone,
{
    fn clone(&self) -> Self {
        McpGuardService {
            stack: self.stack.clone(),
            unguarded: self.unguarded.clone(),
            _types: PhantomData,
        }
    }
}

impl<S, V, Ss, Es> fmt::Debug for McpGuardService<S, V, Ss, Es>
where
    stack!(S, V, Ss, Es): fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpGuardService")
            .field("stack", &self.stack)
            .field("unguarded", &self.unguarded)
            .finish()
    }
}

impl<S, V, Ss, Es, B> Service<Request<B>> for McpGuardService<S, V, Ss, Es>
where
    stack!(S, V, Ss, Es): Service<Request<B>>,
{
    type Response = <stack!(S, V, Ss, Es) as Service<Request<B>>>::Response;
    type Error = <stack!(S, V, Ss, Es) as Service<Request<B>>>::Error;
    type Future = <stack!(S, V, Ss, Es) as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Either may take the next request, so both must be ready (as in
        // `tower::steer`).
        std::task::ready!(self.stack.poll_ready(cx))?;
        match &mut self.unguarded {
            Some(unguarded) => unguarded.stack.poll_ready(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match &mut self.unguarded {
            Some(unguarded) if !unguarded.endpoint.covers(request.uri().path()) => {
                unguarded.stack.call(request)
            }
            _ => self.stack.call(request),
        }
    }
}

// The local preset's guards: the default features.
#[cfg(all(test, feature = "default"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::{BodyExt, Full};
    use tower::{Layer, ServiceExt};

    use crate::McpGuard;

    /// Echoes the request body.
    async fn echo<B: http_body::Body<Data = Bytes>>(
        request: Request<B>,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible>
    where
        B::Error: std::fmt::Debug,
    {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        Ok(Response::new(Full::new(body)))
    }

    /// Outside the endpoint every guard is off, the body read included: a
    /// body over the limit, from a host the origin guard refuses, reaches the
    /// handler whole; the same request to the endpoint is refused.
    #[tokio::test]
    async fn other_paths_pass_every_guard_and_keep_their_bodies() {
        let guard = McpGuard::local()
            .endpoint("/mcp")
            .max_body_bytes(16)
            .build()
            .unwrap();
        let service = guard.layer(tower::service_fn(echo));
        let upload = |path: &str| {
            Request::post(path)
                .header("host", "files.example")
                .body(Full::new(Bytes::from("x".repeat(1024))))
                .unwrap()
        };
        let response = service.clone().oneshot(upload("/upload")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 1024, "the handler got the whole body");

        let refused = service.oneshot(upload("/mcp")).await.unwrap();
        assert_eq!(refused.status(), 403, "the endpoint is guarded");
    }

    /// With every guard that reads the envelope switched off, nothing reads
    /// the body: the limit is theirs, not the stack's.
    #[tokio::test]
    async fn a_stack_whose_guards_read_no_envelope_reads_no_body() {
        let guard = McpGuard::local()
            .without_protocol_guard()
            .without_session()
            .without_sse_resume()
            .max_body_bytes(16)
            .build()
            .unwrap();
        assert_eq!(guard.guards(), ["response-timeout", "origin-guard", "cors"]);
        let request = Request::post("/mcp")
            .header("host", "localhost:8080")
            .body(Full::new(Bytes::from("x".repeat(1024))))
            .unwrap();
        let response = guard.layer(tower::service_fn(echo)).oneshot(request).await;
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 1024);
    }
}
