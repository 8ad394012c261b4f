use std::sync::Arc;

use crate::{Owner, ProtocolVersion};

/// What the session layer tells the layers inside it about a live session:
/// its id, the protocol version negotiated at `initialize` (typed, end to
/// end) and its [`Owner`]. Inserted into the request extensions of every
/// request of a live legacy-era session, its `DELETE` included, so an inner
/// layer (sse-resume) reads it without depending on the session crate.
///
/// Cloning copies two reference counts (the id and the owner).
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    // Held inline, each part shared: the session layer builds one per
    // request from the stored record's parts without copying a string or
    // allocating a box of its own.
    id: Arc<str>,
    protocol_version: ProtocolVersion,
    owner: Owner,
}

impl SessionContext {
    /// The context of the live session `id`, which negotiated
    /// `protocol_version` and belongs to `owner`. An `Arc<str>` id is shared,
    /// not copied.
    pub fn new(id: impl Into<Arc<str>>, protocol_version: ProtocolVersion, owner: Owner) -> Self {
        SessionContext {
            id: id.into(),
            protocol_version,
            owner,
        }
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
