//! JWT access tokens (RFC 9068 style), verified with jsonwebtoken.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mcp_guard_core::Principal;
use serde_json::{Map, Value};

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
    /// The validation rules per algorithm, made once: building them per token
    /// cost more than an HS256 signature check.
    validations: Arc<[(Algorithm, Validation)]>,
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

/// With [`RSA_ALGORITHMS`], every algorithm jsonwebtoken verifies (`none`
/// is not one of them).
const OTHER_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The rules a token signed with `alg` must pass: that algorithm only, `exp`,
/// `iss` and `aud` present, `nbf` honoured, `iss` exactly `issuer`. The
/// audience is compared canonically after decoding, not here.
fn validation(alg: Algorithm, issuer: &str, leeway: Duration) -> Validation {
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.leeway = leeway.as_secs();
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.required_spec_claims = ["exp", "iss", "aud"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    validation
}

fn validations(issuer: &str, leeway: Duration) -> Arc<[(Algorithm, Validation)]> {
    RSA_ALGORITHMS
        .iter()
        .chain(&OTHER_ALGORITHMS)
        .map(|&alg| (alg, validation(alg, issuer, leeway)))
        .collect()
}

/// A [`JwtVerifier`] setting that is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtVerifierConfigError(String);

impl fmt::Display for JwtVerifierConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JwtVerifierConfigError {}

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

    fn verify_with<'a>(
        &self,
        token: &str,
        entries: impl Iterator<Item = &'a KeyEntry>,
        alg: Algorithm,
    ) -> Result<Principal, VerifyError> {
        let mut last_error = "no key fits this token's algorithm".to_owned();
        for entry in entries.filter(|entry| entry.algorithms.contains(&alg)) {
            match self.decode(token, entry, alg) {
                Ok(claims) => return self.principal(claims),
                Err(error) => last_error = error,
            }
        }
        Err(VerifyError::Invalid(last_error))
    }

    fn decode(
        &self,
        token: &str,
        entry: &KeyEntry,
        alg: Algorithm,
    ) -> Result<Map<String, Value>, String> {
        let made_now;
        let validation = match self.validations.iter().find(|(known, _)| *known == alg) {
            Some((_, validation)) => validation,
            None => {
                made_now = validation(alg, &self.issuer, self.leeway);
                &made_now
            }
        };
        jsonwebtoken::decode::<Map<String, Value>>(token, &entry.key, validation)
            .map(|data| data.claims)
            .map_err(|error| describe(&error))
    }

    fn principal(&self, claims: Map<String, Value>) -> Result<Principal, VerifyError> {
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences
            .iter()
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
        // jsonwebtoken has checked exp (integer or float) against the clock;
        // read here, it bounds how long the layer may cache this principal.
        if let Some(expires_at) = expiry(&claims)? {
            principal = principal.with_expires_at(expires_at);
        }
        Ok(principal.with_claims(claims))
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
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
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

    /// Clock skew allowed on `exp` and `nbf` (default 30 s).
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
        let keys = self.take_keys()?;
        Ok(JwtVerifier {
            keys,
            validations: validations(&self.issuer, self.leeway),
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
                self.verify_with(token, matching, header.alg)
            }
            #[cfg(feature = "jwks")]
            Keys::Jwks(cache) => {
                let entries = cache.keys_for(header.kid.as_deref()).await?;
                self.verify_with(token, entries.iter(), header.alg)
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
