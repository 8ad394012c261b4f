//! Resumable SSE's wiring: its store, setters and build step.

use std::marker::PhantomData;

use mcp_sse_resume::{EventStore, MemoryEventStore, SseResumeLayer};

use super::{McpGuard, McpGuardConfigError};

/// Builds the preset's layer on a store. Chosen where the store type is known
/// to be an [`EventStore`], so `build` needs no bound on it.
type PresetLayer<Es> = fn(Es) -> SseResumeLayer<Es>;

/// The layer (`None`: the preset's, on `store`).
pub(super) struct Wiring<Es> {
    layer: Option<SseResumeLayer<Es>>,
    store: Option<(Es, PresetLayer<Es>)>,
}

impl Wiring<MemoryEventStore> {
    /// The presets' resumable SSE, its events in memory.
    pub(super) fn in_memory() -> Self {
        Wiring {
            layer: None,
            store: Some((MemoryEventStore::default(), preset_layer)),
        }
    }
}

impl<Es> Wiring<Es> {
    /// The same wiring with `layer` and `store` of another store type; still
    /// off if it was off.
    fn retype<Es2>(
        self,
        layer: Option<SseResumeLayer<Es2>>,
        store: Option<(Es2, PresetLayer<Es2>)>,
    ) -> Wiring<Es2> {
        let off = self.layer.as_ref().is_some_and(|layer| !layer.is_enabled());
        Wiring {
            layer: if off {
                Some(SseResumeLayer::disabled())
            } else {
                layer
            },
            store,
        }
    }

    /// The layer to stack: yours, the disabled one, or the preset's.
    pub(super) fn build(self) -> Result<SseResumeLayer<Es>, McpGuardConfigError> {
        match (self.layer, self.store) {
            (Some(layer), _) => Ok(layer),
            (None, Some((store, preset))) => Ok(preset(store)),
            (None, None) => Err(McpGuardConfigError::new(
                "event_store",
                "no event store: pass one with `event_store`, or your own layer with `sse_resume`",
            )),
        }
    }
}

impl<V, Ss, Es> McpGuard<V, Ss, Es> {
    /// Where resumable streams' events live (e.g. Redis, shared by many
    /// instances), instead of memory.
    pub fn event_store<Es2: EventStore>(self, store: Es2) -> McpGuard<V, Ss, Es2> {
        self.with_sse_resume(|sse_resume| sse_resume.retype(None, Some((store, preset_layer))))
    }

    /// Your own resumable-SSE layer instead of the preset's.
    pub fn sse_resume<Es2>(self, layer: SseResumeLayer<Es2>) -> McpGuard<V, Ss, Es2> {
        self.with_sse_resume(|sse_resume| sse_resume.retype(Some(layer), None))
    }

    /// No resumable SSE: a dropped stream's events are lost.
    pub fn without_sse_resume(mut self) -> Self {
        self.sse_resume.layer = Some(SseResumeLayer::disabled());
        self
    }

    /// The same builder with the resume wiring `change` makes of this one.
    fn with_sse_resume<Es2>(
        self,
        change: impl FnOnce(Wiring<Es>) -> Wiring<Es2>,
    ) -> McpGuard<V, Ss, Es2> {
        McpGuard {
            common: self.common,
            #[cfg(feature = "bearer-auth")]
            bearer_auth: self.bearer_auth,
            session: self.session,
            sse_resume: change(self.sse_resume),
            _types: PhantomData,
        }
    }
}

/// The preset's resumable-SSE layer on `store`, with the layer's defaults.
fn preset_layer<Es: EventStore>(store: Es) -> SseResumeLayer<Es> {
    SseResumeLayer::builder(store).build()
}
