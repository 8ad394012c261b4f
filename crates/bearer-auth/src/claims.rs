//! A JWT's claims, read once and checked: what `jsonwebtoken::decode` checks
//! (`exp`, `iss` and `aud` present; `exp` and `nbf` against the clock with a
//! leeway; `iss` exactly this issuer), with the same answers, from a single
//! parse of the payload.
//!
//! `decode` parses the payload twice: once into the caller's type (here the
//! raw claims the [`Principal`](mcp_guard_core::Principal) keeps) and once
//! into its own borrowed view for validation. For an HS256 token that second
//! parse costs about as much as building the principal, so the verifier reads
//! the payload once, into the claims, and checks them here. Every rule below
//! is `jsonwebtoken` 12's (`validation.rs`), including what makes its view of
//! the claims fail to parse, which refuses the token; the tests compare the
//! two on a table of hostile payloads.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// The claims `jsonwebtoken`'s validation reads. A token naming one of them
/// twice is refused (its view of them is a struct: a repeated field is an
/// error), where a map would keep the last one silently.
const CHECKED: [&str; 5] = ["exp", "nbf", "sub", "iss", "aud"];

/// A verified token's payload: its claims, and whether it repeats a claim
/// the validation reads.
pub(crate) struct Payload {
    pub(crate) claims: Map<String, Value>,
    repeats_a_checked_claim: bool,
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PayloadVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON object of claims")
    }

    /// What `Map<String, Value>`'s own visitor does, noting repeats.
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Payload, A::Error> {
        let mut claims = Map::new();
        let mut repeats_a_checked_claim = false;
        while let Some((name, value)) = access.next_entry::<String, Value>()? {
            let checked = CHECKED.contains(&name.as_str());
            if claims.insert(name, value).is_some() && checked {
                repeats_a_checked_claim = true;
            }
        }
        Ok(Payload {
            claims,
            repeats_a_checked_claim,
        })
    }
}

/// Why the claims do not pass, in the words of `jsonwebtoken`'s error kinds
/// (the verifier turns them into client-safe reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimsError {
    /// `decode` could not read its view of the claims (`ErrorKind::Json`).
    Unreadable,
    /// A required claim is absent or of a type the view cannot hold.
    Missing(&'static str),
    /// `nbf` is present but not a NumericDate.
    NbfFormat,
    /// `exp` is earlier than now minus the leeway.
    Expired,
    /// `nbf` is later than now plus the leeway.
    Immature,
    /// `iss` does not name this verifier's issuer.
    WrongIssuer,
}

/// A claim as `jsonwebtoken`'s `TryParse` sees it.
enum Seen<T> {
    Parsed(T),
    Failed,
    Absent,
}

/// The rules of one verifier.
pub(crate) struct Rules<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) leeway_secs: u64,
}

impl Rules<'_> {
    /// Checks `payload` at `now` (seconds since 1970), in `validate`'s order:
    /// required claims (`exp`, `iss`, `aud`), then `nbf`'s format, `exp`,
    /// `nbf`, then `iss`.
    pub(crate) fn check(&self, payload: &Payload, now: u64) -> Result<(), ClaimsError> {
        let claims = &payload.claims;
        if payload.repeats_a_checked_claim || !view_parses(claims) {
            return Err(ClaimsError::Unreadable);
        }
        let exp = numeric_date(claims.get("exp"));
        let nbf = numeric_date(claims.get("nbf"));
        let iss = strings(claims.get("iss"));
        if !matches!(exp, Seen::Parsed(_)) {
            return Err(ClaimsError::Missing("exp"));
        }
        if !matches!(iss, Seen::Parsed(_)) {
            return Err(ClaimsError::Missing("iss"));
        }
        if !matches!(strings(claims.get("aud")), Seen::Parsed(_)) {
            return Err(ClaimsError::Missing("aud"));
        }
        if matches!(nbf, Seen::Failed) {
            return Err(ClaimsError::NbfFormat);
        }
        if matches!(exp, Seen::Parsed(exp) if exp < now.saturating_sub(self.leeway_secs)) {
            return Err(ClaimsError::Expired);
        }
        if matches!(nbf, Seen::Parsed(nbf) if nbf > now.saturating_add(self.leeway_secs)) {
            return Err(ClaimsError::Immature);
        }
        match iss {
            // One issuer, as RFC 7519 has it. jsonwebtoken also accepts a
            // list naming it; the principal would then carry no issuer, and
            // a session bound to it no issuer either: refused here.
            Seen::Parsed(Value::String(issuer)) if issuer == self.issuer => Ok(()),
            _ => Err(ClaimsError::WrongIssuer),
        }
    }
}

/// Whether `decode`'s view of the claims parses at all. Its fields read
/// from the token's bytes: `exp` and `nbf` as any value (`deserialize_any`),
/// `sub` as a string. A value they cannot take is skipped when it is a
/// scalar or an empty array or object, but not when it holds more (a
/// non-empty `exp`/`nbf` array or object, any `sub` array or object): the
/// parser stops inside it and the whole view fails. `iss` and `aud` are
/// buffered first, so any value is skipped cleanly.
fn view_parses(claims: &Map<String, Value>) -> bool {
    let nested = |name: &str| match claims.get(name) {
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(members)) => !members.is_empty(),
        _ => false,
    };
    let sub_nested = matches!(claims.get("sub"), Some(Value::Array(_) | Value::Object(_)));
    !nested("exp") && !nested("nbf") && !sub_nested
}

/// `exp`/`nbf` as `jsonwebtoken` reads them: a non-negative integer, or a
/// float rounded (finite, non-negative, below `u64::MAX`).
fn numeric_date(value: Option<&Value>) -> Seen<u64> {
    let Some(value) = value else {
        return Seen::Absent;
    };
    let Value::Number(number) = value else {
        return Seen::Failed;
    };
    if let Some(whole) = number.as_u64() {
        return Seen::Parsed(whole);
    }
    if number.is_i64() {
        return Seen::Failed;
    }
    match number.as_f64() {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 && seconds < u64::MAX as f64 => {
            Seen::Parsed(seconds.round() as u64)
        }
        _ => Seen::Failed,
    }
}

/// `iss`/`aud` as `jsonwebtoken` reads them: one string or a list of
/// strings; `null` is absent.
fn strings(value: Option<&Value>) -> Seen<&Value> {
    match value {
        None | Some(Value::Null) => Seen::Absent,
        Some(one @ Value::String(_)) => Seen::Parsed(one),
        Some(many @ Value::Array(items)) if items.iter().all(Value::is_string) => {
            Seen::Parsed(many)
        }
        Some(_) => Seen::Failed,
    }
}

/// The strings of a claim [`strings`] parsed: it, or each in its list.
pub(crate) fn names(value: &Value) -> impl Iterator<Item = &str> {
    let (one, many) = match value {
        Value::Array(items) => (None, items.as_slice()),
        other => (other.as_str(), &[][..]),
    };
    one.into_iter().chain(many.iter().filter_map(Value::as_str))
}
