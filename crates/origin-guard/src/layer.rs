use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tower_layer::Layer;

use crate::check::{Guard, HostRejectionStatus};
use crate::{Allowlist, OriginGuard, TrustedProxies};

/// Applies [`OriginGuard`] to a service: rejects requests whose `Host` or
/// `Origin` the [`Allowlist`] does not admit, before they reach anything else.
///
/// See the [crate documentation](crate) for what is checked and how.
#[derive(Debug, Clone)]
pub struct OriginGuardLayer {
    guard: Arc<Guard>,
    // Whether the hint about a handler's own Host check was logged: once per
    // layer, shared by every service it makes.
    handler_refusal_logged: Arc<AtomicBool>,
}

impl OriginGuardLayer {
    /// A guard admitting what `allowlist` allows; a bad Host is answered `403`.
    pub fn new(allowlist: Allowlist) -> Self {
        OriginGuardLayer {
            guard: Arc::new(Guard {
                allowlist,
                host_rejection: HostRejectionStatus::default(),
                trusted_proxies: None,
                public_metadata_from_any_origin: true,
            }),
            handler_refusal_logged: Arc::new(AtomicBool::new(false)),
        }
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
        Arc::make_mut(&mut self.guard).host_rejection = status;
        self
    }

    /// Believes `Forwarded: host=` / `X-Forwarded-Host` from these proxies (and
    /// only from them): the forwarded host is then checked instead of `Host`.
    pub fn trust_forwarded_host_from(mut self, proxies: TrustedProxies) -> Self {
        Arc::make_mut(&mut self.guard).trusted_proxies = Some(proxies);
        self
    }

    /// Whether `GET`, `HEAD` and `OPTIONS` requests for the RFC 9728 Protected
    /// Resource Metadata document (`/.well-known/oauth-protected-resource` and
    /// the paths below it) skip the `Origin` check. On by default: the document
    /// is public, and a browser client must be able to read it to learn how to
    /// authenticate. `Host` is checked all the same, so this opens nothing to DNS
    /// rebinding; other methods and paths are checked as usual.
    pub fn public_metadata_from_any_origin(mut self, allow: bool) -> Self {
        Arc::make_mut(&mut self.guard).public_metadata_from_any_origin = allow;
        self
    }

    /// The allowlist this guard enforces (for building a CORS policy that agrees).
    pub fn allowlist(&self) -> &Allowlist {
        &self.guard.allowlist
    }
}

impl<S> Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginGuard {
            inner,
            guard: self.guard.clone(),
            handler_refusal_logged: self.handler_refusal_logged.clone(),
        }
    }
}
