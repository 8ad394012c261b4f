use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_guard_core::Principal;
use serde_json::{Map, Number, Value};

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The token is not valid (signature, expiry, issuer, audience…): `401`
    /// with `error="invalid_token"`. The text is safe to show the client; it
    /// never contains the token.
    Invalid(String),
    /// The verifier could not decide (its key source or introspection endpoint
    /// is down, and no cached answer applies): `503` with `Retry-After`.
    Unavailable {
        /// What went wrong (logged only).
        reason: String,
        /// When to retry.
        retry_after: Duration,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Invalid(reason) => write!(f, "invalid token: {reason}"),
            VerifyError::Unavailable { reason, .. } => {
                write!(f, "token verification unavailable: {reason}")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// Turns a bearer token into the [`Principal`] it stands for. Async and
/// fallible, so any verifier fits: the shipped [`JwtVerifier`](crate::JwtVerifier),
/// introspection, or your own.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`. The principal's `expires_at` bounds how long the layer
    /// caches the answer.
    fn verify(&self, token: &str) -> impl Future<Output = Result<Principal, VerifyError>> + Send;

    /// The longest the layer may reuse a verified answer (it never reuses one
    /// past the token's expiry either). `None`: the layer's own limit.
    fn max_cache_ttl(&self) -> Option<std::time::Duration> {
        None
    }
}

/// What an `exp` or `nbf` must be (RFC 7519 §2), as refusals say it.
pub(crate) const NUMERIC_DATE: &str = "NumericDate (a non-negative number of seconds since 1970)";

/// A NumericDate claim (`exp`, `nbf`; RFC 7519 §2): seconds since 1970, which
/// issuers write as integers or, from `time.time()`, as floats
/// (`1733170010.0`). Both verifiers read them here, so a float is a time too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumericDate {
    /// A time `SystemTime` can hold.
    At(SystemTime),
    /// Later than `SystemTime` can hold: never, in practice (adding such an
    /// `exp` to the epoch overflowed, a panic the fuzzer found).
    Beyond,
}

/// Claim `name` as a [`NumericDate`]: `None` when absent (or `null`), a
/// reason naming the claim when it is not a non-negative number.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<NumericDate>, VerifyError> {
    let since_epoch = match claims.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => seconds_of(number),
        Some(_) => None,
    }
    .ok_or_else(|| VerifyError::Invalid(format!("its {name} claim is not a {NUMERIC_DATE}")))?;
    Ok(Some(
        UNIX_EPOCH
            .checked_add(since_epoch)
            .map_or(NumericDate::Beyond, NumericDate::At),
    ))
}

/// A non-negative number of seconds: whole ones exactly (an `f64` would
/// round the largest), fractions as given, too many for a `Duration` as
/// [`Duration::MAX`]. `None` when negative.
fn seconds_of(number: &Number) -> Option<Duration> {
    if let Some(whole) = number.as_u64() {
        return Some(Duration::from_secs(whole));
    }
    let seconds = number.as_f64().filter(|seconds| *seconds >= 0.0)?;
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// When the token expires by its `exp` claim: `None` without one, or when it
/// is beyond what `SystemTime` holds.
pub(crate) fn expiry(claims: &Map<String, Value>) -> Result<Option<SystemTime>, VerifyError> {
    Ok(match numeric_date(claims, "exp")? {
        Some(NumericDate::At(expires_at)) => Some(expires_at),
        Some(NumericDate::Beyond) | None => None,
    })
}

/// Refuses a token that is not valid yet (`nbf` later than now + `leeway`) or
/// no longer (`exp` earlier than now − `leeway`); returns its expiry. (JWTs
/// get this check from jsonwebtoken, which reads floats too.)
#[cfg(feature = "introspection")]
pub(crate) fn check_validity_window(
    claims: &Map<String, Value>,
    leeway: Duration,
) -> Result<Option<SystemTime>, VerifyError> {
    let now = SystemTime::now();
    let not_yet = match numeric_date(claims, "nbf")? {
        Some(NumericDate::At(not_before)) => now
            .checked_add(leeway)
            .is_some_and(|latest| not_before > latest),
        Some(NumericDate::Beyond) => true,
        None => false,
    };
    if not_yet {
        return Err(VerifyError::Invalid("it is not valid yet (nbf)".into()));
    }
    let expires_at = expiry(claims)?;
    if expires_at.is_some_and(|exp| exp.checked_add(leeway).is_some_and(|end| end < now)) {
        return Err(VerifyError::Invalid("it has expired".into()));
    }
    Ok(expires_at)
}
