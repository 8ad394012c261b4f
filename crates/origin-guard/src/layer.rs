use std::sync::Arc;

use tower_layer::Layer;

use crate::check::{Guard, HostRejectionStatus};
use crate::future::HandlerRefusal;
use crate::{Allowlist, OriginGuard, TrustedProxies};

/// Applies [`OriginGuard`] to a service: rejects requests whose `Host` or
/// `Origin` the [`Allowlist`] does not admit, before they reach anything else.
///
/// See the [crate documentation](crate) for what is checked and how.
///
/// [`OriginGuardLayer::disabled`] switches the guard off: a stack can switch
/// it off by configuration without changing its type.
#[derive(Debug, Clone)]
pub struct OriginGuardLayer {
    // `None` when disabled: every request passes, nothing is checked or logged.
    guard: Option<Arc<Guard>>,
    // The hint about a handler's own Host check: logged once per layer,
    // shared by every service it makes.
    handler_refusal: Arc<HandlerRefusal>,
}

impl OriginGuardLayer {
    /// A guard admitting what `allowlist` allows; a bad Host is answered `403`.
    pub fn new(allowlist: Allowlist) -> Self {
        OriginGuardLayer {
            handler_refusal: Arc::new(HandlerRefusal::naming(&allowlist)),
            guard: Some(Arc::new(Guard {
                allowlist,
                host_rejection: HostRejectionStatus::default(),
                trusted_proxies: None,
                public_metadata_from_any_origin: true,
            })),
        }
    }

    /// The guard switched off: its service has the same type as an enabled
    /// one, so a stack can switch the guard off by configuration without
    /// changing its type. It passes every request and response through
    /// untouched (the response body only wrapped in
    /// [`GuardBody`](mcp_guard_core::GuardBody)): no checks, no logs.
    /// The setters below change nothing on a disabled guard.
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::Full;
    /// use mcp_origin_guard::OriginGuardLayer;
    /// use tower::{Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handler = tower::service_fn(|_request: Request<Full<Bytes>>| async {
    ///     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    /// });
    /// let configured_on = false; // from the operator's configuration
    /// let layer = if configured_on { OriginGuardLayer::localhost() } else { OriginGuardLayer::disabled() };
    /// // One type either way.
    /// let _service = layer.layer(handler.clone());
    ///
    /// let off = OriginGuardLayer::disabled();
    /// assert!(!off.is_enabled());
    /// let rebinding = Request::post("/mcp")
    ///     .header("host", "attacker.example")
    ///     .body(Full::default())?;
    /// assert_eq!(off.layer(handler).oneshot(rebinding).await?.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn disabled() -> Self {
        OriginGuardLayer {
            guard: None,
            handler_refusal: Arc::default(),
        }
    }

    /// Whether the guard checks requests (`false` for
    /// [`disabled`](Self::disabled)).
    pub fn is_enabled(&self) -> bool {
        self.guard.is_some()
    }

    /// A guard for a server on the user's own machine
    /// ([`Allowlist::localhost`]).
    pub fn localhost() -> Self {
        OriginGuardLayer::new(Allowlist::localhost())
    }

    /// Sets the status for a well-formed Host that is not allowed: `403` (the
    /// default) or `421 Misdirected Request`. Malformed, missing or duplicated
    /// Host headers always get `400`.
    pub fn host_rejection_status(mut self, status: HostRejectionStatus) -> Self {
        if let Some(guard) = &mut self.guard {
            Arc::make_mut(guard).host_rejection = status;
        }
        self
    }

    /// Believes `Forwarded: host=` / `X-Forwarded-Host` from these proxies (and
    /// only from them): the forwarded host is then checked instead of `Host`.
    pub fn trust_forwarded_host_from(mut self, proxies: TrustedProxies) -> Self {
        if let Some(guard) = &mut self.guard {
            Arc::make_mut(guard).trusted_proxies = Some(proxies);
        }
        self
    }

    /// Whether `GET`, `HEAD` and `OPTIONS` requests for the RFC 9728 Protected
    /// Resource Metadata document (`/.well-known/oauth-protected-resource` and
    /// the paths below it) skip the `Origin` check. On by default: the document
    /// is public, and a browser client must be able to read it to learn how to
    /// authenticate. `Host` is checked all the same, so this opens nothing to DNS
    /// rebinding; other methods and paths are checked as usual.
    pub fn public_metadata_from_any_origin(mut self, allow: bool) -> Self {
        if let Some(guard) = &mut self.guard {
            Arc::make_mut(guard).public_metadata_from_any_origin = allow;
        }
        self
    }

    /// The allowlist this guard enforces (for building a CORS policy that
    /// agrees); `None` when the guard is [`disabled`](Self::disabled).
    pub fn allowlist(&self) -> Option<&Allowlist> {
        self.guard.as_ref().map(|guard| &guard.allowlist)
    }
}

impl<S> Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginGuard {
            inner,
            guard: self.guard.clone(),
            handler_refusal: self.handler_refusal.clone(),
        }
    }
}
