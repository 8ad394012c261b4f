//! `Content-Type` and `Accept`, parsed as media types: parameters, whitespace,
//! case differences and quality values as real clients send them.

use http::HeaderMap;
use http::header::{ACCEPT, CONTENT_TYPE};

/// Whether the request's single `Content-Type` is `application/json` (any
/// parameters, any case).
pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether `Accept` (all its values) admits the media type `kind/subtype`:
/// listed exactly, or through `kind/*` or `*/*`, with a quality above zero.
pub(crate) fn accepts(headers: &HeaderMap, kind: &str, subtype: &str) -> bool {
    accepts_all(headers, [(kind, subtype)])[0]
}

/// Whether `Accept` admits both `application/json` and `text/event-stream`, as
/// a POST must. The values the official SDKs send are recognised as they are,
/// without parsing the list.
pub(crate) fn accepts_json_and_event_stream(headers: &HeaderMap) -> bool {
    const SDK_VALUES: [&[u8]; 3] = [
        b"application/json, text/event-stream",
        b"text/event-stream, application/json",
        b"application/json,text/event-stream",
    ];
    let mut values = headers.get_all(ACCEPT).iter();
    if let (Some(value), None) = (values.next(), values.next())
        && SDK_VALUES
            .iter()
            .any(|known| value.as_bytes().eq_ignore_ascii_case(known))
    {
        return true;
    }
    let [json, event_stream] =
        accepts_all(headers, [("application", "json"), ("text", "event-stream")]);
    json && event_stream
}

/// Whether `Accept` admits each of `types` (`(kind, subtype)` pairs), in one
/// pass over the header: a POST needs two answers from it on every request.
pub(crate) fn accepts_all<const N: usize>(
    headers: &HeaderMap,
    types: [(&str, &str); N],
) -> [bool; N] {
    let mut admitted = [false; N];
    let ranges = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','));
    for range in ranges {
        let Some(range) = MediaRange::parse(range) else {
            continue;
        };
        for (admits, (kind, subtype)) in admitted.iter_mut().zip(types) {
            *admits = *admits || range.admits(kind, subtype);
        }
        if admitted.iter().all(|admits| *admits) {
            break;
        }
    }
    admitted
}

/// One range of an `Accept` list: `kind/subtype` and its parameters.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    parameters: &'a str,
}

impl<'a> MediaRange<'a> {
    fn parse(range: &'a str) -> Option<Self> {
        let (essence, parameters) = range.split_once(';').unwrap_or((range, ""));
        let (kind, subtype) = essence.trim().split_once('/')?;
        Some(MediaRange {
            kind,
            subtype,
            parameters,
        })
    }

    fn admits(&self, kind: &str, subtype: &str) -> bool {
        let kind_matches = self.kind == "*" || self.kind.eq_ignore_ascii_case(kind);
        let subtype_matches = self.subtype == "*" || self.subtype.eq_ignore_ascii_case(subtype);
        let wildcard_kind_only = self.kind == "*" && self.subtype != "*";
        kind_matches
            && subtype_matches
            && !wildcard_kind_only
            && quality_above_zero(self.parameters.split(';'))
    }
}

/// `q=0` (or `0.0`, `0.000`) means "not acceptable"; anything else, or no `q`, is.
fn quality_above_zero<'a>(parameters: impl Iterator<Item = &'a str>) -> bool {
    for parameter in parameters {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            let value = value.trim();
            return value.parse::<f32>().is_ok_and(|q| q > 0.0);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(name: http::HeaderName, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn content_types_real_clients_send_are_json() {
        for value in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            " application/json ;charset=UTF-8",
        ] {
            assert!(
                is_json_content_type(&headers(CONTENT_TYPE, &[value])),
                "{value}"
            );
        }
        for value in [
            "text/plain",
            "application/jsonx",
            "application/json-seq",
            "",
            "json",
        ] {
            assert!(
                !is_json_content_type(&headers(CONTENT_TYPE, &[value])),
                "{value}"
            );
        }
        assert!(!is_json_content_type(&HeaderMap::new()));
        assert!(!is_json_content_type(&headers(
            CONTENT_TYPE,
            &["application/json", "text/plain"]
        )));
    }

    #[test]
    fn accept_lists_are_read_with_parameters_case_and_quality() {
        let table: &[(&[&str], bool, bool)] = &[
            (&["application/json, text/event-stream"], true, true),
            (&["text/event-stream, application/json"], true, true),
            (&["APPLICATION/JSON,TEXT/EVENT-STREAM"], true, true),
            // Near the values recognised without parsing, but not them.
            (&["application/json, text/event-streams"], true, false),
            (
                &["application/json, text/event-stream", "text/html"],
                true,
                true,
            ),
            (
                &["text/event-stream;q=0.9, application/json;q=1"],
                true,
                true,
            ),
            (&["Application/Json", "TEXT/EVENT-STREAM"], true, true),
            (&["*/*"], true, true),
            (&["application/*, text/*"], true, true),
            (&["application/json"], true, false),
            (&["application/json, text/event-stream;q=0"], true, false),
            (
                &["application/json, text/event-stream; q=0.000"],
                true,
                false,
            ),
            (&["*/json"], false, false),
            (&["text/html"], false, false),
            (&[""], false, false),
        ];
        for (values, json, sse) in table {
            let headers = headers(ACCEPT, values);
            assert_eq!(
                accepts_json_and_event_stream(&headers),
                *json && *sse,
                "{values:?} both"
            );
            assert_eq!(
                accepts(&headers, "application", "json"),
                *json,
                "{values:?} json"
            );
            assert_eq!(
                accepts(&headers, "text", "event-stream"),
                *sse,
                "{values:?} sse"
            );
        }
    }
}
