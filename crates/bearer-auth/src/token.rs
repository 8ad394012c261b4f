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
    let text = value.to_str().map_err(|_| TokenProblem::Malformed)?;
    let (scheme, token) = text.split_once(' ').ok_or(TokenProblem::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenProblem::NotBearer);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(TokenProblem::NotBearer);
    }
    if !is_b64token(token) {
        return Err(TokenProblem::Malformed);
    }
    Ok(Some(token))
}

/// RFC 6750 b64token: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|byte| B64TOKEN[usize::from(byte)])
}

/// The bytes of a b64token's body, as a table: a token is checked on every
/// request, and one lookup per byte is several times faster than the
/// character-class tests it replaces.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        byte += 1;
    }
    table
};

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
    fn the_b64token_table_is_the_rfc_6750_grammar() {
        for byte in 0..=u8::MAX {
            let expected = byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte);
            assert_eq!(B64TOKEN[usize::from(byte)], expected, "byte {byte}");
        }
        assert!(is_b64token("a.b-c_d~e+f/g=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
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
