//! Reading a stateless-era routing header value (`Mcp-Method`, `Mcp-Name`,
//! `Mcp-Param-*`): one header, plain header-safe text or the `=?base64?…?=`
//! sentinel, decoded before it is compared with the body.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use http::{HeaderMap, HeaderName};
use mcp_guard_core::truncated_for_display;

const PREFIX: &str = "=?base64?";
const SUFFIX: &str = "?=";

/// Standard-alphabet Base64; padding optional (clients differ, the value does not).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a routing header cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    Missing,
    Duplicated,
    /// Bytes outside visible ASCII, space and tab, or space/tab at either end.
    InvalidCharacters(String),
    /// The sentinel wraps something that is not Base64 of UTF-8 text.
    MalformedSentinel(String),
}

impl HeaderProblem {
    pub(crate) fn describe(&self, header: &str) -> String {
        match self {
            HeaderProblem::Missing => format!(
                "the {header} header is required and missing; mirror the body's value into it"
            ),
            HeaderProblem::Duplicated => {
                format!("the {header} header is sent more than once; send exactly one")
            }
            HeaderProblem::InvalidCharacters(value) => format!(
                "the {header} header \"{value}\" holds characters a header cannot carry; send non-ASCII, control or edge-whitespace values as =?base64?...?="
            ),
            HeaderProblem::MalformedSentinel(value) => format!(
                "the {header} header \"{value}\" is not valid =?base64?...?= (standard Base64 of UTF-8 text)"
            ),
        }
    }
}

/// The decoded value of the single `name` header, `Ok(None)` if absent.
pub(crate) fn read_optional<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<Cow<'h, str>>, HeaderProblem> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HeaderProblem::Duplicated);
    }
    decode(value.as_bytes()).map(Some)
}

/// The decoded value of the single, required `name` header.
pub(crate) fn read_required<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Cow<'h, str>, HeaderProblem> {
    read_optional(headers, name)?.ok_or(HeaderProblem::Missing)
}

/// Decodes one header value: the sentinel's payload, or the plain text itself
/// (borrowed: the usual plain value costs no copy).
pub(crate) fn decode(raw: &[u8]) -> Result<Cow<'_, str>, HeaderProblem> {
    let plain = raw
        .iter()
        .all(|&byte| byte == b'\t' || (0x20..=0x7e).contains(&byte))
        && !matches!(raw.first(), Some(b' ' | b'\t'))
        && !matches!(raw.last(), Some(b' ' | b'\t'));
    if !plain {
        return Err(HeaderProblem::InvalidCharacters(truncated_for_display(raw)));
    }
    // Only visible ASCII, space and tab remain: valid UTF-8.
    let Ok(text) = std::str::from_utf8(raw) else {
        return Err(HeaderProblem::InvalidCharacters(truncated_for_display(raw)));
    };
    let Some(payload) = text
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
    else {
        return Ok(Cow::Borrowed(text));
    };
    BASE64
        .decode(payload)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(Cow::Owned)
        .ok_or_else(|| HeaderProblem::MalformedSentinel(truncated_for_display(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_examples_decode() {
        let table: &[(&str, &str)] = &[
            // Non-ASCII text.
            ("=?base64?SGVsbG8sIOS4lueVjA==?=", "Hello, 世界"),
            // Padded text, and the same without padding.
            ("=?base64?YQ==?=", "a"),
            ("=?base64?YQ?=", "a"),
            // A newline, which no header can carry plainly.
            ("=?base64?bGluZTEKbGluZTI=?=", "line1\nline2"),
            // Leading and trailing spaces.
            ("=?base64?ICBwYWRkZWQgIA==?=", "  padded  "),
            // A literal that looks like the sentinel travels encoded itself.
            (
                "=?base64?PT9iYXNlNjQ/U0dWc2JHOD0/PQ==?=",
                "=?base64?SGVsbG8=?=",
            ),
            // Plain values stay as they are, inner spaces included.
            ("tools/call", "tools/call"),
            ("get weather", "get weather"),
            ("=?base64?not closed", "=?base64?not closed"),
            ("", ""),
        ];
        for (raw, expected) in table {
            assert_eq!(decode(raw.as_bytes()).as_deref(), Ok(*expected), "{raw}");
        }
    }

    #[test]
    fn malformed_sentinels_and_invalid_characters_are_refused() {
        for raw in ["=?base64?!!!?=", "=?base64?/w==?=", "=?base64?YQ=?=x?="] {
            assert!(
                matches!(
                    decode(raw.as_bytes()),
                    Err(HeaderProblem::MalformedSentinel(_))
                ),
                "{raw}"
            );
        }
        for raw in [
            &b" leading"[..],
            b"trailing\t",
            b"caf\xc3\xa9",
            b"nul\x00",
            b"del\x7f",
        ] {
            assert!(
                matches!(decode(raw), Err(HeaderProblem::InvalidCharacters(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn one_header_is_required_once() {
        let name = HeaderName::from_static("mcp-method");
        let mut headers = HeaderMap::new();
        assert_eq!(read_required(&headers, &name), Err(HeaderProblem::Missing));
        headers.append(&name, "ping".parse().unwrap());
        assert_eq!(read_required(&headers, &name).as_deref(), Ok("ping"));
        headers.append(&name, "ping".parse().unwrap());
        assert_eq!(
            read_required(&headers, &name),
            Err(HeaderProblem::Duplicated)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_survives_the_sentinel(text in "\\PC*") {
            let wrapped = format!("{PREFIX}{}{SUFFIX}", BASE64.encode(&text));
            let decoded = decode(wrapped.as_bytes());
            proptest::prop_assert_eq!(decoded.as_deref(), Ok(text.as_str()));
        }

        #[test]
        fn only_header_safe_bytes_are_ever_accepted(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(text) = decode(&raw) {
                let header_safe = |byte: &u8| *byte == b'\t' || (0x20..=0x7e).contains(byte);
                proptest::prop_assert!(raw.iter().all(header_safe));
                let is_sentinel = raw.starts_with(PREFIX.as_bytes()) && raw.ends_with(SUFFIX.as_bytes());
                if !is_sentinel {
                    proptest::prop_assert_eq!(text.as_bytes(), &raw[..]);
                }
            }
        }
    }
}
