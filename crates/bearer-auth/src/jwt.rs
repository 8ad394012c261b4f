//! JWT access tokens (RFC 9068 style), verified with jsonwebtoken.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use mcp_guard_core::Principal;
use serde_json::{Map, Value};

use crate::claims::{ClaimsError, Payload, Rules, names};

#[cfg(feature = "jwks")]
use crate::jwks::{JwksCache, JwksLocation};
use crate::resource::{audience_matches, canonical_resource_uri};
use crate::verifier::{NUMERIC_DATE, TokenVerifier, VerifyError, expiry};

/// A verification key and the algorithms it may be used with. Tying the two
/// together is what stops algorithm confusion (an HS256 token "signed" with
/// an RSA public key).
#[derive(Clone)]
pub(crate) struct KeyEntry {
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
    /// An HS256 secret's HMAC key, prepared once: jsonwebtoken prepares it
    /// again for every token, which cost a tenth of an HS256 verification.
    pub(crate) hs256: Option<hmac::Key>,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl KeyEntry {
    /// A JWK's key, with the algorithms its type allows (narrowed by its
    /// `alg`); `None` for a key not meant to verify signatures.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Option<KeyEntry> {
        if not_for_signatures(jwk).is_some() {
            return None;
        }
        let key = DecodingKey::from_jwk(jwk).ok()?;
        let by_type = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => RSA_ALGORITHMS.to_vec(),
            AlgorithmParameters::EllipticCurve(params) => match params.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
            // Symmetric keys are never published in a JWKS we trust, and a
            // key type jsonwebtoken learns later is not one we vetted.
            _ => return None,
        };
        let algorithms = match jwk.common.key_algorithm {
            Some(declared) => by_type
                .into_iter()
                .filter(|alg| key_algorithm_is(declared, *alg))
                .collect(),
            None => by_type,
        };
        (!algorithms.is_empty()).then(|| KeyEntry {
            kid: jwk.common.key_id.clone(),
            key,
            algorithms,
            hs256: None,
        })
    }
}

/// Why a JWK must not verify signatures, if it must not: RFC 7517 §4.2
/// `use` other than `sig` (an encryption key, say: using it for signatures
/// is the cross-use RFC 7517 §4.2 and RFC 9068 rule out), or RFC 7517 §4.3
/// `key_ops` without `verify`. A JWK with neither is usable.
fn not_for_signatures(jwk: &Jwk) -> Option<&'static str> {
    if !matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    ) {
        return Some("its use is not sig (an encryption key cannot verify signatures)");
    }
    if jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Some("its key_ops do not include verify");
    }
    None
}

fn key_algorithm_is(declared: KeyAlgorithm, alg: Algorithm) -> bool {
    format!("{declared:?}") == format!("{alg:?}")
}

/// Where a [`JwtVerifier`] gets its keys.
#[derive(Debug, Clone)]
enum Keys {
    Static(Arc<[KeyEntry]>),
    #[cfg(feature = "jwks")]
    Jwks(Arc<JwksCache>),
}

/// Verifies JWT access tokens: signature (algorithm tied to the key type, no
/// `none`), `exp` required, `nbf` honoured with a leeway, `iss` exactly this
/// issuer, `aud` holding this server's canonical resource URI (RFC 8707;
/// uppercase scheme/host and trailing slashes compare equal). Scopes come from
/// `scope` (space-separated) or `scp` (array). `exp` and `nbf` may be
/// integers or floats (`1733170010.0`); either way `exp` is the token's
/// expiry, which also ends its place in the layer's cache. Optionally, the
/// header `typ` must say RFC 9068 access token
/// ([`require_access_token_type`](JwtVerifierBuilder::require_access_token_type)).
/// JWKs published for encryption (`use: "enc"`) never verify signatures.
#[derive(Debug, Clone)]
pub struct JwtVerifier {
    keys: Keys,
    issuer: String,
    resource: String,
    leeway: Duration,
    require_access_token_type: bool,
}

/// The algorithms an RSA key verifies.
const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// A [`JwtVerifier`] setting that is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtVerifierConfigError(String);

impl fmt::Display for JwtVerifierConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JwtVerifierConfigError {}

/// The longest clock skew [`JwtVerifierBuilder::leeway`] accepts: one hour.
/// Skew is seconds to minutes; a longer leeway would accept tokens long past
/// their `exp`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(3600);

/// Configures a [`JwtVerifier`]; start with [`JwtVerifier::builder`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to get the verifier"]
pub struct JwtVerifierBuilder {
    issuer: String,
    resource: String,
    leeway: Duration,
    keys: Vec<KeyEntry>,
    #[cfg(feature = "jwks")]
    jwks: Option<JwksLocation>,
    #[cfg(feature = "jwks")]
    jwks_min_refresh: Duration,
    #[cfg(feature = "jwks")]
    jwks_fetch_timeout: Duration,
    require_access_token_type: bool,
    errors: Vec<String>,
}

impl JwtVerifier {
    /// Tokens must come from `issuer` and be meant for `resource` (this
    /// server's canonical URI).
    pub fn builder(issuer: impl Into<String>, resource: impl Into<String>) -> JwtVerifierBuilder {
        JwtVerifierBuilder {
            issuer: issuer.into(),
            resource: resource.into(),
            leeway: Duration::from_secs(30),
            keys: Vec::new(),
            #[cfg(feature = "jwks")]
            jwks: None,
            #[cfg(feature = "jwks")]
            jwks_min_refresh: Duration::from_secs(30),
            #[cfg(feature = "jwks")]
            jwks_fetch_timeout: crate::jwks::DEFAULT_JWKS_FETCH_TIMEOUT,
            require_access_token_type: false,
            errors: Vec::new(),
        }
    }

    /// Verifies `token` (its `header` read) with the first of `entries`
    /// that fits its algorithm and verifies its signature.
    ///
    /// What `jsonwebtoken::decode` would do per key, without its repeats:
    /// the header is parsed once (it picked the keys), the payload once and
    /// only after a signature verified (`decode` parses it twice, see
    /// [`claims`](crate::claims)). The answers are `decode`'s: a key whose
    /// signature or claims fail leaves its reason and the next key is tried;
    /// the last reason is the answer.
    fn verify_with<'a>(
        &self,
        token: &str,
        header: &Header,
        entries: impl Iterator<Item = &'a KeyEntry>,
    ) -> Result<Principal, VerifyError> {
        // `decode_header` accepted it, so it has three parts.
        let Some((message, signature)) = token.rsplit_once('.') else {
            return Err(VerifyError::Invalid(describe_kind(
                &ErrorKind::InvalidToken,
            )));
        };
        let mut last_error = "no key fits this token's algorithm".to_owned();
        // The claims do not depend on the key: checked once.
        let mut claims_refused: Option<String> = None;
        for entry in entries.filter(|entry| entry.algorithms.contains(&header.alg)) {
            if let Err(error) = signed_by(header, message, signature, entry) {
                last_error = error;
                continue;
            }
            if let Some(error) = &claims_refused {
                last_error.clone_from(error);
                continue;
            }
            match self.read_claims(token) {
                Ok(payload) => return self.principal(payload.claims),
                Err(error) => {
                    last_error.clone_from(&error);
                    claims_refused = Some(error);
                }
            }
        }
        Err(VerifyError::Invalid(last_error))
    }

    /// The payload of a token whose signature verified, its claims checked
    /// as `decode` checks them.
    fn read_claims(&self, token: &str) -> Result<Payload, String> {
        // jsonwebtoken's payload decoder without its checks, which the
        // caller made (signature) and `Rules` makes (claims).
        let payload: Payload = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|error| describe(&error))?;
        let rules = Rules {
            issuer: &self.issuer,
            leeway_secs: self.leeway.as_secs(),
        };
        rules
            .check(&payload, jsonwebtoken::get_current_timestamp())
            .map_err(|error| describe_kind(&claims_error_kind(error)))?;
        Ok(payload)
    }

    fn principal(&self, claims: Map<String, Value>) -> Result<Principal, VerifyError> {
        if !claims
            .get("aud")
            .into_iter()
            .flat_map(names)
            .any(|audience| audience_matches(audience, &self.resource))
        {
            return Err(VerifyError::Invalid(format!(
                "the token's audience does not include this server ({})",
                self.resource
            )));
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let scopes = scopes_of(&claims);
        let mut principal = Principal::new().with_scopes(scopes);
        if let Some(issuer) = text("iss") {
            principal = principal.with_issuer(issuer);
        }
        if let Some(subject) = text("sub") {
            principal = principal.with_subject(subject);
        }
        if let Some(client) = text("client_id").or_else(|| text("azp")) {
            principal = principal.with_client_id(client);
        }
        // `Rules` has checked exp (integer or float) against the clock;
        // read here, it bounds how long the layer may cache this principal.
        if let Some(expires_at) = expiry(&claims)? {
            principal = principal.with_expires_at(expires_at);
        }
        Ok(principal.with_claims(claims))
    }
}

/// Whether `entry` signed `message`, as `decode` checks it: first the header
/// rules `decode` adds to `decode_header`'s (`b64`, `crit`), then the
/// signature.
fn signed_by(
    header: &Header,
    message: &str,
    signature: &str,
    entry: &KeyEntry,
) -> Result<(), String> {
    if !header_is_supported(header) {
        return Err(describe_kind(&ErrorKind::InvalidToken));
    }
    if let (Algorithm::HS256, Some(key)) = (header.alg, &entry.hs256) {
        // What jsonwebtoken's aws-lc HS256 verifier does, with the key
        // prepared: the same Base64url decoding, the same constant-time
        // HMAC check.
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| describe_kind(&ErrorKind::InvalidToken))?;
        return hmac::verify(key, message.as_bytes(), &signature)
            .map_err(|_| describe_kind(&ErrorKind::InvalidSignature));
    }
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &entry.key, header.alg) {
        Ok(true) => Ok(()),
        Ok(false) => Err(describe_kind(&ErrorKind::InvalidSignature)),
        Err(error) => Err(describe(&error)),
    }
}

/// jsonwebtoken 12's `Header::from_encoded` rules (RFC 7515 §4.1.11, RFC
/// 7797): `b64`, if present, a boolean and not `false`; `crit`, if present,
/// exactly `["b64"]` with `b64` present.
fn header_is_supported(header: &Header) -> bool {
    let Ok(b64) = header.extras.get::<bool>("b64") else {
        return false;
    };
    if b64 == Some(false) {
        return false;
    }
    match &header.crit {
        None => true,
        Some(crit) => crit.as_slice() == ["b64"] && b64.is_some(),
    }
}

/// The jsonwebtoken error `decode` reports for the claims.
fn claims_error_kind(error: ClaimsError) -> ErrorKind {
    match error {
        ClaimsError::Unreadable => ErrorKind::InvalidToken,
        ClaimsError::Missing(claim) => ErrorKind::MissingRequiredClaim(claim.to_owned()),
        ClaimsError::NbfFormat => ErrorKind::InvalidClaimFormat("nbf".to_owned()),
        ClaimsError::Expired => ErrorKind::ExpiredSignature,
        ClaimsError::Immature => ErrorKind::ImmatureSignature,
        ClaimsError::WrongIssuer => ErrorKind::InvalidIssuer,
    }
}

/// `scope` (space-separated string) or `scp` (array of strings).
fn scopes_of(claims: &Map<String, Value>) -> BTreeSet<String> {
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => scope.split_whitespace().map(str::to_owned).collect(),
        (_, Some(Value::Array(scp))) => scp
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        (_, Some(Value::String(scp))) => scp.split_whitespace().map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

/// A client-safe reason (never the token, never key material).
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    describe_kind(error.kind())
}

/// [`describe`] for a kind of error.
fn describe_kind(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "it was issued by another issuer".into(),
        ErrorKind::InvalidSignature => "its signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "its algorithm is not allowed for the key".into(),
        // jsonwebtoken reports an exp that is not a number as missing.
        ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => {
            format!("it lacks the exp claim, or its exp claim is not a {NUMERIC_DATE}")
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("it lacks the {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => {
            format!("its {claim} claim is not a {NUMERIC_DATE}")
        }
        _ => "it is not a well-formed JWT".into(),
    }
}

impl JwtVerifierBuilder {
    /// Accepts HS256 tokens signed with this shared secret.
    pub fn hs256_secret(mut self, secret: &[u8]) -> Self {
        if secret.len() < 32 {
            self.errors
                .push("hs256_secret: use at least 32 bytes of secret".into());
        }
        match DecodingKey::from_secret(secret) {
            Ok(key) => self.keys.push(KeyEntry {
                kid: None,
                key,
                algorithms: vec![Algorithm::HS256],
                hs256: Some(hmac::Key::new(hmac::HMAC_SHA256, secret)),
            }),
            Err(error) => self
                .errors
                .push(format!("hs256_secret: not a usable HMAC key: {error}")),
        }
        self
    }

    /// Accepts tokens signed with this public key (PEM) and algorithm
    /// (RS*/PS* for RSA, ES256/ES384 for EC, EdDSA for Ed25519).
    pub fn public_key_pem(mut self, pem: &[u8], algorithm: Algorithm) -> Self {
        let key = match algorithm {
            rsa if RSA_ALGORITHMS.contains(&rsa) => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            other => {
                self.errors.push(format!(
                    "public_key_pem: {other:?} is not a public-key algorithm"
                ));
                return self;
            }
        };
        match key {
            Ok(key) => self.keys.push(KeyEntry {
                kid: None,
                key,
                algorithms: vec![algorithm],
                hs256: None,
            }),
            Err(error) => self.errors.push(format!(
                "public_key_pem: the key does not parse as {algorithm:?}: {error}"
            )),
        }
        self
    }

    /// Accepts tokens signed with this public JWK (JSON). A JWK published
    /// for something else than signatures (`use` other than `sig`, `key_ops`
    /// without `verify`) does not build.
    pub fn jwk(mut self, jwk_json: &str) -> Self {
        let jwk = serde_json::from_str::<Jwk>(jwk_json).ok();
        match jwk
            .as_ref()
            .map(|jwk| (not_for_signatures(jwk), KeyEntry::from_jwk(jwk)))
        {
            Some((Some(why), _)) => self
                .errors
                .push(format!("jwk: the key cannot verify signatures: {why}")),
            Some((None, Some(entry))) => self.keys.push(entry),
            _ => self
                .errors
                .push("jwk: not a usable public JWK (RSA, EC P-256/P-384 or Ed25519)".into()),
        }
        self
    }

    /// Fetches keys from this JWKS URL (cached; refreshed on an unknown `kid`).
    #[cfg(feature = "jwks")]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks = Some(JwksLocation::Url(url.into()));
        self
    }

    /// Finds the JWKS URL in the issuer's RFC 8414 (or OpenID) metadata.
    #[cfg(feature = "jwks")]
    pub fn discover_jwks(mut self) -> Self {
        self.jwks = Some(JwksLocation::Discover(self.issuer.clone()));
        self
    }

    /// The shortest time between two JWKS fetches caused by unknown `kid`s
    /// (default 30 s): a flood of forged kids cannot stampede the issuer.
    #[cfg(feature = "jwks")]
    pub fn jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_min_refresh = interval;
        self
    }

    /// The longest one JWKS fetch may take, metadata discovery included
    /// (default 10 s). Requests with no usable cached key wait for it, so keep
    /// it below any response timeout in front of this layer.
    #[cfg(feature = "jwks")]
    pub fn jwks_fetch_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            self.errors
                .push("jwks_fetch_timeout: must be more than zero".into());
        }
        self.jwks_fetch_timeout = timeout;
        self
    }

    /// Whether the header `typ` must say RFC 9068 access token: `at+jwt` or
    /// `application/at+jwt`, compared case-insensitively (RFC 9068 §2.1, §4;
    /// RFC 7515 §4.1.9). Default `false`.
    ///
    /// On, an ID token or any other JWT the issuer signs for this audience
    /// cannot pass for an access token: it is refused `401 invalid_token`
    /// saying `typ` is not `at+jwt`. Off by default because many
    /// authorization servers sign access tokens with `typ: JWT` or no `typ`
    /// at all, and requiring `at+jwt` would refuse every token they issue;
    /// turn it on when yours follows RFC 9068.
    pub fn require_access_token_type(mut self, required: bool) -> Self {
        self.require_access_token_type = required;
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 30 s, at most
    /// [`MAX_LEEWAY`]: a longer one is refused by [`build`](Self::build)).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Checks the settings and builds the verifier.
    pub fn build(mut self) -> Result<JwtVerifier, JwtVerifierConfigError> {
        if let Some(error) = self.errors.first() {
            return Err(JwtVerifierConfigError(error.clone()));
        }
        let resource = canonical_resource_uri(&self.resource).ok_or_else(|| {
            JwtVerifierConfigError(format!(
                "resource: {:?} is not an absolute http(s) URI",
                self.resource
            ))
        })?;
        if self.issuer.is_empty() {
            return Err(JwtVerifierConfigError("issuer: must not be empty".into()));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(JwtVerifierConfigError(format!(
                "leeway: {:?} is more than clock skew ({MAX_LEEWAY:?} at most); a token past exp would pass for that long",
                self.leeway
            )));
        }
        let keys = self.take_keys()?;
        Ok(JwtVerifier {
            keys,
            issuer: self.issuer,
            resource,
            leeway: self.leeway,
            require_access_token_type: self.require_access_token_type,
        })
    }

    /// Where the verifier gets its keys: the static ones, or the JWKS (one
    /// or the other, at least one).
    fn take_keys(&mut self) -> Result<Keys, JwtVerifierConfigError> {
        let keys = std::mem::take(&mut self.keys);
        #[cfg(feature = "jwks")]
        if let Some(location) = self.jwks.take() {
            if !keys.is_empty() {
                return Err(JwtVerifierConfigError(
                    "keys: use either static keys or a JWKS, not both".into(),
                ));
            }
            return Ok(Keys::Jwks(Arc::new(JwksCache::new(
                location,
                self.jwks_min_refresh,
                self.jwks_fetch_timeout,
            ))));
        }
        if keys.is_empty() {
            return Err(JwtVerifierConfigError(
                "keys: configure at least one key or a JWKS".into(),
            ));
        }
        Ok(Keys::Static(keys.into()))
    }
}

impl TokenVerifier for JwtVerifier {
    async fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            VerifyError::Invalid(
                "it is not a well-formed JWT (or its algorithm is not supported)".into(),
            )
        })?;
        if self.require_access_token_type && !is_access_token_type(header.typ.as_deref()) {
            return Err(VerifyError::Invalid(
                "its typ header is not at+jwt, so it is not an RFC 9068 access token \
                 (an ID token, perhaps); send an access token issued for this server"
                    .into(),
            ));
        }
        match &self.keys {
            Keys::Static(entries) => {
                let matching = entries.iter().filter(|entry| {
                    header.kid.is_none() || entry.kid.is_none() || entry.kid == header.kid
                });
                self.verify_with(token, &header, matching)
            }
            #[cfg(feature = "jwks")]
            Keys::Jwks(cache) => {
                let entries = cache.keys_for(header.kid.as_deref()).await?;
                self.verify_with(token, &header, entries.iter())
            }
        }
    }
}

/// `typ` names the RFC 9068 access token media type: `at+jwt`, or in full
/// `application/at+jwt`, any case (media types are case-insensitive).
fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    })
}

#[cfg(test)]
mod tests {
    //! The verifier against what it replaced: `jsonwebtoken::decode` with
    //! the same rules, then the same principal. Every answer (the principal,
    //! or the reason of the refusal) must be the same, for hostile headers,
    //! signatures and payloads alike.

    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use jsonwebtoken::{EncodingKey, Validation};

    use super::*;

    const ISSUER: &str = "https://auth.example.com";
    const RESOURCE: &str = "https://mcp.example.com/mcp";
    const SECRET: &[u8] = b"a shared secret of at least 32 bytes!!";
    const OTHER: &[u8] = b"another shared secret, 32 bytes or more";

    fn ready<T>(future: impl Future<Output = T>) -> T {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("a static-key verification waited"),
        }
    }

    /// The previous verifier: `decode` per key with these rules.
    fn reference(verifier: &JwtVerifier, token: &str) -> Result<Principal, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            VerifyError::Invalid(
                "it is not a well-formed JWT (or its algorithm is not supported)".into(),
            )
        })?;
        let Keys::Static(entries) = &verifier.keys else {
            panic!("static keys only")
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = verifier.leeway.as_secs();
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last_error = "no key fits this token's algorithm".to_owned();
        for entry in entries.iter().filter(|entry| {
            entry.algorithms.contains(&header.alg)
                && (header.kid.is_none() || entry.kid.is_none() || entry.kid == header.kid)
        }) {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &entry.key, &validation) {
                // The one deliberate difference: an `iss` list naming the
                // issuer (decode accepts it, RFC 7519 has one string) is
                // refused, never a principal without an issuer.
                Ok(data) if !data.claims.get("iss").is_some_and(Value::is_string) => {
                    last_error = "it was issued by another issuer".into();
                }
                Ok(data) => return verifier.principal(data.claims),
                Err(error) => last_error = describe(&error),
            }
        }
        Err(VerifyError::Invalid(last_error))
    }

    fn token(header: &str, payload: &str, key: &[u8]) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let key = EncodingKey::from_secret(key).unwrap();
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256)
            .unwrap_or_default();
        format!("{message}.{signature}")
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    /// Values a claim may take, valid or not.
    fn values() -> Vec<String> {
        let now = now();
        let mut values: Vec<String> = [
            "null",
            "true",
            "0",
            "1",
            "-1",
            "-0",
            "1.5",
            "-1.5",
            "1e300",
            "1e19",
            "\"s\"",
            "[]",
            "[1]",
            "[\"x\"]",
            "{}",
            "{\"a\":1}",
            "[[]]",
            "[{}]",
            "18446744073709551615",
            "18446744073709551616",
            "\"https://auth.example.com\"",
            "[\"https://auth.example.com\"]",
            "[\"https://auth.example.com\",1]",
            "[\"x\",\"https://auth.example.com\"]",
            "\"https://mcp.example.com/mcp\"",
            "\"HTTPS://MCP.EXAMPLE.COM/mcp/\"",
            "[\"https://mcp.example.com/mcp\"]",
            "\"a \\\"quoted\\\" \\u00e9 value\"",
        ]
        .map(str::to_owned)
        .to_vec();
        for offset in [-7200i64, -60, -10, 10, 60, 7200] {
            let at = now.saturating_add_signed(offset);
            values.push(at.to_string());
            values.push(format!("{at}.4"));
        }
        values
    }

    fn base() -> Vec<(String, String)> {
        let exp = (now() + 3600).to_string();
        [
            ("iss", format!("\"{ISSUER}\"")),
            ("aud", format!("\"{RESOURCE}\"")),
            ("exp", exp),
            ("sub", "\"alice\"".to_owned()),
            ("client_id", "\"app\"".to_owned()),
            ("scope", "\"mcp tools:call\"".to_owned()),
        ]
        .map(|(name, value)| (name.to_owned(), value))
        .to_vec()
    }

    fn object(members: &[(String, String)]) -> String {
        let members: Vec<String> = members
            .iter()
            .map(|(name, value)| format!("\"{name}\":{value}"))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    /// Hostile payloads: each claim the checks read given every value,
    /// left out, or repeated (before and after).
    fn payloads() -> Vec<String> {
        let mut payloads = vec![
            object(&base()),
            "[]".into(),
            "null".into(),
            "{".into(),
            "{} x".into(),
            String::new(),
        ];
        for name in [
            "exp",
            "nbf",
            "sub",
            "iss",
            "aud",
            "scope",
            "scp",
            "client_id",
            "azp",
        ] {
            let without: Vec<(String, String)> =
                base().into_iter().filter(|(n, _)| n != name).collect();
            payloads.push(object(&without));
            for value in values() {
                let mut set = without.clone();
                set.push((name.to_owned(), value.clone()));
                payloads.push(object(&set));
                let mut repeated = base();
                repeated.insert(0, (name.to_owned(), value.clone()));
                payloads.push(object(&repeated));
                let mut repeated = base();
                repeated.push((name.to_owned(), value.clone()));
                payloads.push(object(&repeated));
            }
        }
        payloads
    }

    fn assert_same(verifier: &JwtVerifier, token: &str, what: &str) {
        let expected = reference(verifier, token);
        let actual = ready(verifier.verify(token));
        assert_eq!(actual, expected, "{what}");
    }

    fn verifier(secrets: &[&[u8]]) -> JwtVerifier {
        secrets
            .iter()
            .fold(JwtVerifier::builder(ISSUER, RESOURCE), |builder, secret| {
                builder.hs256_secret(secret)
            })
            .build()
            .unwrap()
    }

    #[test]
    fn a_leeway_beyond_clock_skew_is_refused_naming_the_setting() {
        let builder = || JwtVerifier::builder(ISSUER, RESOURCE).hs256_secret(SECRET);
        let error = builder()
            .leeway(MAX_LEEWAY + Duration::from_secs(1))
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("leeway"), "{error}");
        assert!(builder().leeway(MAX_LEEWAY).build().is_ok());
    }

    #[test]
    fn an_issuer_list_is_refused_even_when_it_names_the_issuer() {
        // jsonwebtoken accepts `"iss": [issuer]`; the principal would carry
        // no issuer, and a session bound to it none either.
        let verifier = verifier(&[SECRET]);
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let mut claims = base();
        claims.retain(|(name, _)| name != "iss");
        claims.push(("iss".to_owned(), format!("[\"{ISSUER}\"]")));
        let listed = token(header, &object(&claims), SECRET);
        assert_eq!(
            ready(verifier.verify(&listed)),
            Err(VerifyError::Invalid(
                "it was issued by another issuer".into()
            ))
        );
        let single = token(header, &object(&base()), SECRET);
        let principal = ready(verifier.verify(&single)).unwrap();
        assert_eq!(principal.issuer(), Some(ISSUER));
    }

    #[test]
    fn every_payload_gets_decodes_answer() {
        let one = verifier(&[SECRET]);
        let two = verifier(&[OTHER, SECRET]);
        let two_reversed = verifier(&[SECRET, OTHER]);
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let mut accepted = 0;
        for payload in payloads() {
            for key in [SECRET, OTHER] {
                let token = token(header, &payload, key);
                for verifier in [&one, &two, &two_reversed] {
                    assert_same(verifier, &token, &payload);
                }
                accepted += usize::from(ready(one.verify(&token)).is_ok());
            }
        }
        assert!(accepted > 50, "the table exercises accepted tokens too");
    }

    #[test]
    fn every_header_and_signature_gets_decodes_answer() {
        let one = verifier(&[SECRET]);
        let payload = object(&base());
        for header in [
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"HS256","kid":"k1"}"#,
            r#"{"alg":"HS256","crit":["b64"],"b64":true}"#,
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"HS256","b64":false}"#,
            r#"{"alg":"HS256","b64":"yes"}"#,
            r#"{"alg":"HS256","b64":null}"#,
            r#"{"alg":"HS256","crit":["b64"]}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","crit":["b64","b64"],"b64":true}"#,
            r#"{"alg":"HS256","crit":["exp"],"b64":true}"#,
            r#"{"alg":"HS384"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"none"}"#,
            r#"{"typ":"JWT"}"#,
            "not json",
        ] {
            let token = token(header, &payload, SECRET);
            assert_same(&one, &token, header);
            let (message, _) = token.rsplit_once('.').unwrap();
            for signature in ["", "AAAA", "not*base64", "x"] {
                assert_same(&one, &format!("{message}.{signature}"), signature);
            }
            assert_same(&one, &format!("{token}.extra"), "four parts");
            assert_same(&one, message, "two parts");
        }
        assert!(ready(one.verify(&token(r#"{"alg":"HS256"}"#, &payload, SECRET))).is_ok());
    }
}
