//! The parameters of an authorization request (query) or a token request
//! (form body), read with RFC 6749 §3.1's rules, and the URL encoding the
//! redirects and HTTP Basic credentials need.

use std::collections::HashSet;

use axum::extract::Form;
use axum::extract::rejection::FormRejection;

use super::errors::OAuthError;

/// More parameters than any OAuth request has: refused, so a request cannot
/// make the duplicate check below work hard.
const MAX_PARAMETERS: usize = 64;

/// The one parameter RFC 8707 lets a client repeat.
const RESOURCE: &str = "resource";

/// Name-value pairs, each name at most once (except `resource`).
#[derive(Debug)]
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// Reads the query (GET) or the form body (POST), refusing what RFC 6749
    /// §3.1 forbids: a parameter given twice.
    pub(super) fn parse(
        form: Result<Form<Vec<(String, String)>>, FormRejection>,
    ) -> Result<Self, OAuthError> {
        let Form(pairs) = form.map_err(|rejection| {
            OAuthError::invalid_request(format!(
                "the parameters must be application/x-www-form-urlencoded ({})",
                rejection.body_text()
            ))
        })?;
        if pairs.len() > MAX_PARAMETERS {
            return Err(OAuthError::invalid_request(format!(
                "more than {MAX_PARAMETERS} parameters"
            )));
        }
        let mut seen = HashSet::new();
        for (name, _) in &pairs {
            if name != RESOURCE && !seen.insert(name.as_str()) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{name}` appears more than once"
                )));
            }
        }
        Ok(Params(pairs))
    }

    /// The parameter's value; RFC 6749 §3.1: a parameter without a value is
    /// treated as omitted.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// The parameter, or `invalid_request` naming it.
    pub(super) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("the parameter `{name}` is missing"))
        })
    }

    /// Every `resource` given (RFC 8707 allows several).
    pub(super) fn resources(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|(key, value)| key == RESOURCE && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// value put into a redirect's query.
pub(super) fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Undoes form encoding (RFC 6749 §2.3.1 encodes the Basic credentials'
/// id and secret); `None` for a malformed escape or invalid UTF-8.
pub(super) fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                // Two hex digits exactly (from_str_radix alone would take a sign).
                let hex = bytes.get(index + 1..index + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                decoded.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                index += 3;
            }
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}
