use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Principal;

/// Who owns per-caller state (a session, an event budget): the issuer,
/// subject and client id of the token that created it. State created without
/// a token is [anonymous](Owner::anonymous).
///
/// Serialized as `{"issuer":…,"subject":…,"client_id":…}` (each `null` when
/// absent), the shape session stores have always kept, so stored records stay
/// readable. [`key`](Owner::key) is a stable, unambiguous string for keying
/// maps and stores; it is computed once, and cloning an owner is a reference
/// count.
///
/// ```
/// use mcp_guard_core::{Owner, Principal};
///
/// let alice = Principal::new().with_issuer("https://auth.example.com").with_subject("alice");
/// let owner = Owner::of(&alice);
/// assert!(owner.identifies_a_user());
/// assert_eq!(owner.key(), "principal 24:https://auth.example.com 5:alice -");
/// assert_eq!(Owner::anonymous().key(), "anonymous");
/// assert_eq!(alice.owner(), &owner);
/// ```
#[derive(Clone)]
pub struct Owner {
    inner: Arc<Inner>,
}

struct Inner {
    fields: Fields,
    key: Box<str>,
}

/// The serialized shape (mcp-session's former `Binding`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Fields {
    issuer: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
}

impl Owner {
    /// The owner of state created without any principal.
    pub fn anonymous() -> Owner {
        Owner::from_fields(Fields::default())
    }

    /// The owner `principal` makes, as its fields stand. Prefer
    /// [`Principal::owner`], which computes it once per principal.
    pub fn of(principal: &Principal) -> Owner {
        Owner::from_fields(Fields {
            issuer: principal.issuer().map(str::to_owned),
            subject: principal.subject().map(str::to_owned),
            client_id: principal.client_id().map(str::to_owned),
        })
    }

    fn from_fields(fields: Fields) -> Owner {
        let key = key_of(&fields).into_boxed_str();
        Owner {
            inner: Arc::new(Inner { fields, key }),
        }
    }

    /// Whether no principal at all created the state.
    pub fn is_anonymous(&self) -> bool {
        self.inner.fields == Fields::default()
    }

    /// Whether issuer and subject are both present (a user, not just a client).
    pub fn identifies_a_user(&self) -> bool {
        self.inner.fields.issuer.is_some() && self.inner.fields.subject.is_some()
    }

    /// The token issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.fields.issuer.as_deref()
    }

    /// The token subject.
    pub fn subject(&self) -> Option<&str> {
        self.inner.fields.subject.as_deref()
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.fields.client_id.as_deref()
    }

    /// A stable key no two owners share: `anonymous`, or `principal` and the
    /// issuer, subject and client id, each length-prefixed (`5:alice`) or `-`
    /// when absent.
    ///
    /// Anonymous owners share one key on purpose: nothing tells their callers
    /// apart, and a key per anonymous session would hand an anonymous flooder
    /// a budget per session it opens.
    pub fn key(&self) -> &str {
        &self.inner.key
    }
}

/// The key of [`Owner::key`]: length-prefixed parts, so no two owners share one.
fn key_of(fields: &Fields) -> String {
    if *fields == Fields::default() {
        return "anonymous".to_owned();
    }
    let part = |value: &Option<String>| {
        value.as_deref().map_or_else(
            || "-".to_owned(),
            |value| format!("{}:{value}", value.len()),
        )
    };
    format!(
        "principal {} {} {}",
        part(&fields.issuer),
        part(&fields.subject),
        part(&fields.client_id)
    )
}

impl Default for Owner {
    /// The [anonymous](Owner::anonymous) owner.
    fn default() -> Self {
        Owner::anonymous()
    }
}

impl PartialEq for Owner {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.fields == other.inner.fields
    }
}

impl Eq for Owner {}

impl Hash for Owner {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.fields.hash(state);
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("issuer", &self.inner.fields.issuer)
            .field("subject", &self.inner.fields.subject)
            .field("client_id", &self.inner.fields.client_id)
            .finish()
    }
}

impl Serialize for Owner {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.inner.fields.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Owner {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Fields::deserialize(deserializer).map(Owner::from_fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(issuer: Option<&str>, subject: Option<&str>, client: Option<&str>) -> Owner {
        let mut principal = Principal::new();
        if let Some(issuer) = issuer {
            principal = principal.with_issuer(issuer);
        }
        if let Some(subject) = subject {
            principal = principal.with_subject(subject);
        }
        if let Some(client) = client {
            principal = principal.with_client_id(client);
        }
        Owner::of(&principal)
    }

    #[test]
    fn serializes_in_the_shape_stored_session_records_have() {
        let owner = owner(Some("https://i"), Some("alice"), None);
        assert_eq!(
            serde_json::to_value(&owner).unwrap(),
            serde_json::json!({"issuer": "https://i", "subject": "alice", "client_id": null})
        );
        let stored = r#"{"issuer":"https://i","subject":"alice","client_id":null}"#;
        let read: Owner = serde_json::from_str(stored).unwrap();
        assert_eq!(read, owner);
        assert_eq!(read.key(), owner.key());
        let anonymous: Owner =
            serde_json::from_str(r#"{"issuer":null,"subject":null,"client_id":null}"#).unwrap();
        assert!(anonymous.is_anonymous());
    }

    #[test]
    fn keys_are_unambiguous_where_plain_joining_is_not() {
        // "a b" + "c" and "a" + "b c" would join alike without length prefixes.
        let first = owner(Some("a b"), Some("c"), None);
        let second = owner(Some("a"), Some("b c"), None);
        assert_ne!(first.key(), second.key());
        assert_eq!(first.key(), "principal 3:a b 1:c -");
        // A subject is not a client id.
        assert_ne!(
            owner(Some("i"), Some("x"), None).key(),
            owner(Some("i"), None, Some("x")).key()
        );
    }

    #[test]
    fn anonymous_owners_share_one_key_and_a_client_alone_is_not_a_user() {
        assert_eq!(owner(None, None, None).key(), "anonymous");
        assert!(owner(None, None, None).is_anonymous());
        let client = owner(Some("i"), None, Some("cli"));
        assert!(!client.is_anonymous());
        assert!(!client.identifies_a_user());
        assert_eq!(client.key(), "principal 1:i - 3:cli");
    }

    /// The budget key of the SSE-resume layer's streams is [`Owner::key`]: a
    /// key per principal, one shared by the anonymous.
    #[test]
    fn each_principal_has_its_own_key_and_the_anonymous_share_one() {
        let of = |issuer, subject, client| owner(issuer, subject, client).key().to_owned();
        let keys = [
            of(Some("https://a"), Some("alice"), Some("app")),
            of(Some("https://a"), Some("alice"), None),
            of(Some("https://a"), Some("bob"), Some("app")),
            of(Some("https://b"), Some("alice"), Some("app")),
            // Parts that would run together without their lengths.
            of(Some("https://a 5:alice"), None, Some("app")),
            of(None, None, Some("app")),
            of(None, None, Some("")),
        ];
        let distinct: std::collections::HashSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
        assert_eq!(Owner::anonymous().key(), "anonymous");
        assert!(!keys.contains(&"anonymous".to_owned()));
        // The format stored event budgets are keyed by (Redis keeps them).
        assert_eq!(
            of(Some("https://a"), Some("alice"), Some("app")),
            "principal 9:https://a 5:alice 3:app"
        );
    }
}
