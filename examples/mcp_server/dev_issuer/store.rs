//! What the development issuer remembers: registered clients, authorization
//! codes and refresh tokens, each in a map of bounded size that forgets its
//! oldest entry when full (memory is bounded everywhere in this project).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Registered clients kept; the oldest registration is forgotten first.
const MAX_CLIENTS: usize = 1000;
/// Outstanding authorization codes (each lives [`super::Settings::code_lifetime`]).
const MAX_CODES: usize = 1000;
/// Live refresh tokens; each refresh replaces one, so only new grants add.
const MAX_REFRESH_TOKENS: usize = 10_000;
/// How long a refresh token may be used.
pub(super) const REFRESH_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthMethod {
    /// A public client: no secret, PKCE only.
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub(super) const ALL: [AuthMethod; 3] = [
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == name)
    }
}

/// The grants the issuer implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub(super) const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|grant| grant.as_str() == name)
    }
}

/// A registered client.
#[derive(Debug, Clone)]
pub(super) struct Client {
    /// SHA-256 of the secret (confidential clients): the secret itself is
    /// only ever in the registration response.
    pub(super) secret_digest: Option<Vec<u8>>,
    pub(super) auth_method: AuthMethod,
    pub(super) redirect_uris: Vec<String>,
    pub(super) grant_types: Vec<GrantType>,
    /// The scope it registered with: the default when a request names none.
    pub(super) scope: Option<String>,
}

/// An authorization code's grant, waiting for the token request.
#[derive(Debug)]
pub(super) struct CodeGrant {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (then the
    /// token request must repeat it, RFC 6749 §4.1.3).
    pub(super) redirect_uri_given: bool,
    pub(super) code_challenge: String,
    pub(super) scope: String,
    pub(super) subject: String,
    pub(super) expires: Instant,
}

/// A refresh token's grant: the scope it may ask for, and whose it is.
#[derive(Debug, Clone)]
pub(super) struct RefreshGrant {
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) subject: String,
    pub(super) expires: Instant,
}

/// Everything remembered, behind one mutex (held briefly, never across an await).
#[derive(Debug)]
pub(super) struct Store {
    pub(super) clients: Bounded<Client>,
    pub(super) codes: Bounded<CodeGrant>,
    pub(super) refresh_tokens: Bounded<RefreshGrant>,
}

impl Store {
    pub(super) fn new() -> Self {
        Store {
            clients: Bounded::new(MAX_CLIENTS),
            codes: Bounded::new(MAX_CODES),
            refresh_tokens: Bounded::new(MAX_REFRESH_TOKENS),
        }
    }
}

/// A map that holds at most `capacity` entries: inserting into a full one
/// forgets the oldest insertion.
#[derive(Debug)]
pub(super) struct Bounded<V> {
    entries: HashMap<String, (u64, V)>,
    /// Insertion order: sequence number → key.
    order: BTreeMap<u64, String>,
    next: u64,
    capacity: usize,
}

impl<V> Bounded<V> {
    fn new(capacity: usize) -> Self {
        Bounded {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            capacity,
        }
    }

    pub(super) fn insert(&mut self, key: String, value: V) {
        self.remove(&key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let sequence = self.next;
        self.next += 1;
        self.order.insert(sequence, key.clone());
        self.entries.insert(key, (sequence, value));
    }

    pub(super) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<V> {
        let (sequence, value) = self.entries.remove(key)?;
        self.order.remove(&sequence);
        Some(value)
    }
}
