use std::any::Any;
use std::sync::Arc;

use crate::{Owner, ProtocolVersion};

/// What the session layer tells the layers inside it about a live session:
/// its id, the protocol version negotiated at `initialize` (typed, end to
/// end) and its [`Owner`]. Inserted into the request extensions of every
/// request of a live legacy-era session, its `DELETE` included, so an inner
/// layer (sse-resume) reads it without depending on the session crate.
///
/// It also carries the session layer's own handle for the handler (the
/// session crate's `Session`, read with `Session::from_extensions`), so a live session
/// costs the request one extension, not two: every extension is a box of
/// its own, and a fourth grows the map's table once more.
///
/// Cloning copies reference counts (the id, the owner, the handle).
///
/// ```
/// use mcp_guard_core::{Owner, ProtocolVersion, SessionContext};
///
/// let context = SessionContext::new("a1b2", ProtocolVersion::V2025_06_18, Owner::anonymous());
/// let mut extensions = http::Extensions::new();
/// extensions.insert(context);
///
/// // Inside, another layer reads it:
/// let context = extensions.get::<SessionContext>().unwrap();
/// assert_eq!(context.id(), "a1b2");
/// assert_eq!(context.protocol_version(), ProtocolVersion::V2025_06_18);
/// assert!(context.owner().is_anonymous());
/// ```
#[derive(Clone)]
pub struct SessionContext {
    // Held inline, each part shared: the session layer builds one per
    // request from the stored record's parts without copying a string or
    // allocating a box of its own.
    id: Arc<str>,
    protocol_version: ProtocolVersion,
    owner: Owner,
    /// What the session layer hands the handler, typed by that layer.
    handle: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionContext")
            .field("id", &self.id)
            .field("protocol_version", &self.protocol_version)
            .field("owner", &self.owner)
            .field("handle", &self.handle.is_some())
            .finish()
    }
}

/// Two contexts are equal when they name the same session the same way; the
/// handle is the session layer's view of it and is not compared.
impl PartialEq for SessionContext {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.protocol_version == other.protocol_version
            && self.owner == other.owner
    }
}

impl Eq for SessionContext {}

impl SessionContext {
    /// The context of the live session `id`, which negotiated
    /// `protocol_version` and belongs to `owner`. An `Arc<str>` id is shared,
    /// not copied.
    pub fn new(id: impl Into<Arc<str>>, protocol_version: ProtocolVersion, owner: Owner) -> Self {
        SessionContext {
            id: id.into(),
            protocol_version,
            owner,
            handle: None,
        }
    }

    /// The context with the session layer's handle for the handler; a
    /// layer reads it back, typed, with [`handle`](Self::handle).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mcp_guard_core::{Owner, ProtocolVersion, SessionContext};
    ///
    /// let context = SessionContext::new("a1b2", ProtocolVersion::V2025_06_18, Owner::anonymous())
    ///     .with_handle(Arc::new(42_u32));
    /// assert_eq!(context.handle::<u32>().as_deref(), Some(&42));
    /// assert!(context.handle::<String>().is_none());
    /// ```
    pub fn with_handle(mut self, handle: Arc<dyn Any + Send + Sync>) -> Self {
        self.handle = Some(handle);
        self
    }

    /// The handle the session layer attached, if it is a `T` (a reference
    /// count, not a copy).
    pub fn handle<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.handle.clone()?.downcast::<T>().ok()
    }

    /// The session id (what the client sends as `Mcp-Session-Id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The session id, shared: a clone is a reference count, not a copy
    /// (for layers that key their own state by session).
    pub fn shared_id(&self) -> &Arc<str> {
        &self.id
    }

    /// The protocol version negotiated at `initialize`.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol_version
    }

    /// Who owns the session.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;

    #[test]
    fn clones_share_one_context() {
        let owner = Principal::new()
            .with_issuer("i")
            .with_subject("s")
            .owner()
            .clone();
        let context = SessionContext::new(
            String::from("id-1"),
            ProtocolVersion::V2025_11_25,
            owner.clone(),
        );
        let clone = context.clone();
        assert!(Arc::ptr_eq(&context.id, &clone.id));
        assert_eq!(clone.owner(), &owner);
        assert_eq!(clone.owner().key(), "principal 1:i 1:s -");
        assert_ne!(
            context,
            SessionContext::new("id-2", ProtocolVersion::V2025_11_25, owner)
        );
    }
}
