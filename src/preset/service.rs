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

/// Every guard's service around the handler `$s`, outermost first.
macro_rules! stack {
    ($s:ty, $v:ty, $ss:ty, $es:ty) => {
        ResponseTimeout<
            OriginGuard<
                Cors<
                    EnvelopePeek<
                        ProtocolGuard<
                            bearer_auth!(RateLimit<session!(sse_resume!($s, $es), $ss)>, $v),
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
