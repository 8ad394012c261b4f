//! Host / Origin / authority parsing and allowlist matching (origin-guard
//! `pattern.rs`).
//!
//! Input: up to four lines — a host pattern, a candidate host (a `Host`
//! header), a candidate origin, an origin pattern. Checked:
//! - nothing panics;
//! - whatever parses prints back to text that parses to the same value;
//! - a parsed host holds no userinfo, path, query, fragment, whitespace or
//!   non-ASCII (no `127.0.0.1:80.evil.com`-style smuggling);
//! - a pattern without a wildcard admits exactly the host it names (and its
//!   port rule), a `*.suffix` pattern only names ending in `.suffix`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_origin_guard::{HostAndPort, HostName, HostPattern, Origin, OriginPattern};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let pattern_text = lines.next().unwrap_or_default();
    let host_text = lines.next().unwrap_or_default();
    let origin_text = lines.next().unwrap_or_default();
    let origin_pattern_text = lines.next().unwrap_or_default();

    // Every line is also tried as every kind, so each parser sees each input.
    for candidate in [pattern_text, host_text, origin_text, origin_pattern_text] {
        check_host(candidate);
        check_origin(candidate);
        let _ = candidate.parse::<HostPattern>();
        let _ = candidate.parse::<OriginPattern>();
    }

    let host = host_text.parse::<HostAndPort>();
    if let (Ok(pattern), Ok(host)) = (pattern_text.parse::<HostPattern>(), &host) {
        let printed = pattern.to_string();
        assert_eq!(
            printed.parse::<HostPattern>().as_ref(),
            Ok(&pattern),
            "a host pattern prints back as itself: {pattern_text:?} -> {printed:?}"
        );
        check_host_match(pattern_text, &pattern, host);
    }

    let origin = origin_text.parse::<Origin>();
    if let Ok(pattern) = origin_pattern_text.parse::<OriginPattern>() {
        let printed = pattern.to_string();
        assert_eq!(
            printed.parse::<OriginPattern>().as_ref(),
            Ok(&pattern),
            "an origin pattern prints back as itself: {origin_pattern_text:?} -> {printed:?}"
        );
        if let Ok(origin) = &origin
            && pattern.matches(origin)
        {
            assert!(
                origin_pattern_text
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}://", origin.scheme())),
                "the scheme matches: {origin_pattern_text:?} admitted {origin_text:?}"
            );
            let pattern_host = pattern_host_part(origin_pattern_text);
            check_name_admitted(
                pattern_host,
                origin.host(),
                origin_pattern_text,
                origin_text,
            );
        }
    }
});

fn check_host(text: &str) {
    let Ok(host) = text.parse::<HostAndPort>() else {
        return;
    };
    assert!(
        !text.contains(['@', '/', '?', '#', ' ', '\t', '\\', '%']) && text.is_ascii(),
        "{text:?} parsed as a host"
    );
    let printed = host.to_string();
    assert_eq!(
        printed.parse::<HostAndPort>().as_ref(),
        Ok(&host),
        "a host prints back as itself: {text:?} -> {printed:?}"
    );
    assert_eq!(printed, printed.to_ascii_lowercase());
    if let HostName::Domain(name) = host.host() {
        assert!(name.len() <= 253, "{name:?}");
        assert!(!name.ends_with('.') && !name.is_empty());
        assert!(
            name.parse::<std::net::Ipv4Addr>().is_err(),
            "an IPv4 address is never a domain: {name:?}"
        );
    }
    if let Some(port) = host.port() {
        assert_ne!(port, 0);
        assert!(
            text.ends_with(&format!(":{port}")),
            "the port is the digits after the last colon: {text:?}"
        );
    }
}

fn check_origin(text: &str) {
    let Ok(origin) = text.parse::<Origin>() else {
        return;
    };
    let (_, authority) = text.split_once("://").expect("an origin has ://");
    assert!(
        !authority.contains(['@', '/', '?', '#', ' ', '\\']) && text.is_ascii(),
        "{text:?} parsed as an origin"
    );
    let printed = origin.to_string();
    assert_eq!(
        printed.parse::<Origin>().as_ref(),
        Ok(&origin),
        "an origin prints back as itself: {text:?} -> {printed:?}"
    );
}

/// The host part of a pattern's text (`scheme://host:port` or `host:port`).
fn pattern_host_part(pattern: &str) -> &str {
    let authority = pattern.split_once("://").map_or(pattern, |(_, rest)| rest);
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |close| &authority[..=close]);
    }
    authority
        .split_once(':')
        .map_or(authority, |(host, _)| host)
}

fn check_host_match(pattern_text: &str, pattern: &HostPattern, host: &HostAndPort) {
    if !pattern.matches(host) {
        return;
    }
    let pattern_host = pattern_host_part(pattern_text);
    check_name_admitted(pattern_host, host.host(), pattern_text, &host.to_string());
    // The port rule: no port in the pattern admits no port; `:N` admits N.
    let rest = &pattern_text[pattern_text.find(pattern_host).unwrap_or(0) + pattern_host.len()..];
    match rest.strip_prefix(':') {
        None => assert_eq!(host.port(), None, "{pattern_text:?} admitted {host}"),
        Some("*") => {}
        Some(port) => assert_eq!(
            host.port().map(|port| port.to_string()).as_deref(),
            Some(port),
            "{pattern_text:?} admitted {host}"
        ),
    }
}

/// A pattern's host admits `host` only when they are the same host, or the
/// pattern is `*.suffix` and the host a name ending in `.suffix`.
fn check_name_admitted(pattern_host: &str, host: &HostName, pattern_text: &str, host_text: &str) {
    match pattern_host.strip_prefix("*.") {
        Some(suffix) => {
            let HostName::Domain(name) = host else {
                panic!("{pattern_text:?} admitted the address {host_text:?}");
            };
            let suffix = suffix
                .strip_suffix('.')
                .unwrap_or(suffix)
                .to_ascii_lowercase();
            assert!(
                name.ends_with(&format!(".{suffix}")) && name.len() > suffix.len() + 1,
                "{pattern_text:?} admitted {host_text:?}"
            );
        }
        None => {
            let named = pattern_host
                .parse::<HostAndPort>()
                .expect("a pattern's exact host parses as a host");
            assert_eq!(
                named.host(),
                host,
                "{pattern_text:?} admitted {host_text:?}"
            );
        }
    }
}
