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
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .any(|range| range_admits(range, kind, subtype))
}

fn range_admits(range: &str, kind: &str, subtype: &str) -> bool {
    let mut parts = range.split(';');
    let Some((range_kind, range_subtype)) = parts
        .next()
        .and_then(|essence| essence.trim().split_once('/'))
    else {
        return false;
    };
    let kind_matches = range_kind == "*" || range_kind.eq_ignore_ascii_case(kind);
    let subtype_matches = range_subtype == "*" || range_subtype.eq_ignore_ascii_case(subtype);
    let wildcard_kind_only = range_kind == "*" && range_subtype != "*";
    kind_matches && subtype_matches && !wildcard_kind_only && quality_above_zero(parts)
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
