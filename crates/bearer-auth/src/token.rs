//! Where a bearer token may come from: one `Authorization: Bearer …` header,
//! nothing else (RFC 6750 §2.1; MCP forbids the query string).

use http::header::AUTHORIZATION;
use http::{HeaderMap, Uri};

/// Why a request's credentials are malformed (`400 invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// `access_token=` in the query string.
    InQuery,
    /// More than one `Authorization` header.
    Repeated,
    /// A scheme other than Bearer, or no token after it.
    NotBearer,
    /// Characters outside the token68 syntax.
    Malformed,
    /// Longer than the configured limit.
    TooLong(usize),
}

impl TokenProblem {
    pub(crate) fn describe(self) -> String {
        match self {
            TokenProblem::InQuery => {
                "access tokens are not accepted in the query string; send Authorization: Bearer <token>".into()
            }
            TokenProblem::Repeated => "send exactly one Authorization header".into(),
            TokenProblem::NotBearer => "the Authorization header must be Bearer <token>".into(),
            TokenProblem::Malformed => "the bearer token holds characters a token cannot (RFC 6750 b64token)".into(),
            TokenProblem::TooLong(limit) => format!("the bearer token is longer than this server's limit of {limit} bytes"),
        }
    }
}

/// The request's bearer token: `Ok(None)` when it sends none.
pub(crate) fn bearer_token<'a>(
    headers: &'a HeaderMap,
    uri: &Uri,
    max_len: usize,
) -> Result<Option<&'a str>, TokenProblem> {
    if query_has_access_token(uri) {
        return Err(TokenProblem::InQuery);
    }
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenProblem::Repeated);
    }
    if value.len() > max_len + "Bearer ".len() {
        return Err(TokenProblem::TooLong(max_len));
    }
    // The grammar is checked over the header's bytes: the scheme, the spaces
    // after it and a b64token are all visible ASCII, so a value they make up
    // whole is a valid header string, and needs no `to_str` check first.
    let Some(after_scheme) = after_bearer_scheme(value.as_bytes()) else {
        // Another scheme, or none. As always, a value that is not visible
        // ASCII is malformed whatever its scheme.
        return Err(match value.to_str() {
            Ok(_) => TokenProblem::NotBearer,
            Err(_) => TokenProblem::Malformed,
        });
    };
    let Some(start) = after_scheme.iter().position(|&byte| byte != b' ') else {
        return Err(TokenProblem::NotBearer);
    };
    let token = &after_scheme[start..];
    if !is_b64token(token) {
        return Err(TokenProblem::Malformed);
    }
    // ASCII now, so this is a short pass that cannot fail.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| TokenProblem::Malformed)
}

/// What follows `Bearer ` (the scheme in any case, then a space): the
/// scheme is what comes before the value's first space.
fn after_bearer_scheme(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_first_chunk::<7>()?;
    let (name, space) = scheme.split_at(6);
    (name.eq_ignore_ascii_case(b"bearer") && space == b" ").then_some(rest)
}

/// RFC 6750 b64token: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let mut body = token;
    while let [rest @ .., b'='] = body {
        body = rest;
    }
    // Every byte, no early exit: the compiler checks many at a time (SIMD).
    !body.is_empty()
        && body
            .iter()
            .fold(true, |ok, &byte| ok & is_b64token_body(byte))
}

/// A byte of a b64token's body, in ranges (`-./0-9` is one) rather than a
/// table: a token is checked on every request, and the comparisons run on
/// many bytes at once where a table is read a byte at a time.
fn is_b64token_body(byte: u8) -> bool {
    // ASCII letters are the bytes whose lower case is `a..=z`.
    ((byte | 0x20).wrapping_sub(b'a') < 26)
        | (byte.wrapping_sub(b'-') <= b'9' - b'-')
        | (byte == b'+')
        | (byte == b'_')
        | (byte == b'~')
}

fn query_has_access_token(uri: &Uri) -> bool {
    uri.query().is_some_and(|query| {
        query.split('&').any(|pair| {
            pair.split('=')
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("access_token"))
        })
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn token(values: &[&str], uri: &str) -> Result<Option<String>, TokenProblem> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        bearer_token(&headers, &uri.parse().unwrap(), 64).map(|token| token.map(str::to_owned))
    }

    #[test]
    fn one_bearer_header_any_case() {
        assert_eq!(
            token(&["Bearer abc.def-ghi_~+/=="], "/mcp"),
            Ok(Some("abc.def-ghi_~+/==".into()))
        );
        assert_eq!(token(&["bearer abc"], "/mcp"), Ok(Some("abc".into())));
        assert_eq!(token(&["BEARER abc"], "/mcp"), Ok(Some("abc".into())));
        assert_eq!(token(&[], "/mcp"), Ok(None));
    }

    #[test]
    fn the_b64token_bytes_are_the_rfc_6750_grammar() {
        for byte in 0..=u8::MAX {
            let expected = byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte);
            assert_eq!(is_b64token_body(byte), expected, "byte {byte}");
        }
        assert!(is_b64token(b"a.b-c_d~e+f/g=="));
        assert!(!is_b64token(b"=="));
        assert!(!is_b64token(b"a=b"));
    }

    /// The check runs over many bytes at a time: a wrong byte is found at
    /// any place in a token of any length, the tail after the last full
    /// block included.
    #[test]
    fn a_wrong_byte_is_found_anywhere_in_a_token() {
        for len in 1..=100 {
            assert!(is_b64token(&vec![b'a'; len]), "length {len}");
            for at in 0..len {
                for wrong in [
                    b' ', b'=', b'"', b'\t', b'@', b'[', b'`', b'{', 0x7f, 0x80, 0xc1, 0xff,
                ] {
                    let mut token = vec![b'a'; len];
                    token[at] = wrong;
                    let padding = wrong == b'=' && at == len - 1 && len > 1;
                    assert_eq!(is_b64token(&token), padding, "{wrong} at {at} of {len}");
                }
            }
        }
    }

    /// How a header was judged before the one-pass check: the whole value a
    /// visible-ASCII string, split at its first space, then the token.
    fn judged_as_before(value: &HeaderValue, max_len: usize) -> Result<String, TokenProblem> {
        if value.len() > max_len + "Bearer ".len() {
            return Err(TokenProblem::TooLong(max_len));
        }
        let text = value.to_str().map_err(|_| TokenProblem::Malformed)?;
        let (scheme, token) = text.split_once(' ').ok_or(TokenProblem::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(TokenProblem::NotBearer);
        }
        let token = token.trim_start_matches(' ');
        if token.is_empty() {
            return Err(TokenProblem::NotBearer);
        }
        let body = token.trim_end_matches('=');
        let b64 = !body.is_empty()
            && body
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte));
        if !b64 {
            return Err(TokenProblem::Malformed);
        }
        Ok(token.to_owned())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2048))]

        /// The one-pass check accepts and refuses what the check before it
        /// did, with the same problem, for any header value a request can
        /// carry (obs-text and tabs included).
        #[test]
        fn the_one_pass_check_judges_as_before(
            scheme in proptest::sample::select(vec![
                "", "Bearer ", "bearer ", "BEARER  ", "bEaReR ", "Bearer", "Bearer\t",
                "Bearerx ", "Beare ", "Basic ", " Bearer ", "B\u{e9}arer ",
            ]),
            rest in proptest::collection::vec(
                proptest::prop_oneof![
                    12 => proptest::sample::select(b"aZ09-._~+/".to_vec()),
                    2 => proptest::sample::select(b"= ".to_vec()),
                    1 => proptest::sample::select(b"\t\"@[`{\x80\xc3\xa9\xff".to_vec()),
                ],
                0..40,
            ),
            max_len in proptest::sample::select(vec![16usize, 64, 64, 64]),
        ) {
            let mut bytes = scheme.as_bytes().to_vec();
            bytes.extend(rest);
            let value = HeaderValue::from_bytes(&bytes).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, value.clone());
            let now = bearer_token(&headers, &"/mcp".parse().unwrap(), max_len)
                .map(|token| token.map(str::to_owned));
            proptest::prop_assert_eq!(now, judged_as_before(&value, max_len).map(Some));
        }
    }

    #[test]
    fn everything_else_is_a_malformed_request() {
        assert_eq!(
            token(&[], "/mcp?access_token=abc"),
            Err(TokenProblem::InQuery)
        );
        assert_eq!(
            token(&["Bearer a"], "/mcp?x=1&ACCESS_TOKEN=abc"),
            Err(TokenProblem::InQuery)
        );
        assert_eq!(
            token(&["Bearer a", "Bearer b"], "/mcp"),
            Err(TokenProblem::Repeated)
        );
        assert_eq!(
            token(&["Basic dXNlcjpwYXNz"], "/mcp"),
            Err(TokenProblem::NotBearer)
        );
        assert_eq!(token(&["Bearer"], "/mcp"), Err(TokenProblem::NotBearer));
        assert_eq!(token(&["Bearer  "], "/mcp"), Err(TokenProblem::NotBearer));
        assert_eq!(token(&["Bearer a b"], "/mcp"), Err(TokenProblem::Malformed));
        assert_eq!(
            token(&["Bearer a\"b"], "/mcp"),
            Err(TokenProblem::Malformed)
        );
        assert_eq!(
            token(&[&format!("Bearer {}", "a".repeat(65))], "/mcp"),
            Err(TokenProblem::TooLong(64))
        );
    }
}
