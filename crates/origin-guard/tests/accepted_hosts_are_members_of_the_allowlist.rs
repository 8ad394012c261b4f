//! Property: whatever Host the guard lets through is, parsed by an independent
//! URL parser (the `url` crate, WHATWG rules), a member of the allowlist.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly by design.

use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use mcp_origin_guard::{Allowlist, OriginGuardLayer};
use proptest::prelude::*;
use tower::{Layer, ServiceExt};

mod support;

/// The allowlist under test, stated twice: as patterns for the guard, and as a
/// plain membership rule for the oracle.
fn allowlist() -> Allowlist {
    Allowlist::builder()
        .allow_hosts([
            "localhost:*",
            "127.0.0.1:*",
            "[::1]:*",
            "*.example.com:8443",
            "mcp.test",
        ])
        .build()
        .unwrap()
}

fn is_member(host: &url::Host<&str>, port: Option<u16>) -> bool {
    match host {
        url::Host::Domain(name) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name == "localhost"
                || (name.ends_with(".example.com")
                    && name.len() > ".example.com".len()
                    && port == Some(8443))
                || (name == "mcp.test" && port.is_none())
        }
        url::Host::Ipv4(address) => *address == std::net::Ipv4Addr::LOCALHOST,
        url::Host::Ipv6(address) => *address == std::net::Ipv6Addr::LOCALHOST,
    }
}

fn guard_accepts(runtime: &tokio::runtime::Runtime, host: &HeaderValue) -> bool {
    let service = OriginGuardLayer::new(allowlist()).layer(support::handler());
    let request = Request::post("/mcp")
        .header("host", host.clone())
        .body(Full::default())
        .unwrap();
    let response = runtime.block_on(service.oneshot(request)).unwrap();
    match response.status() {
        StatusCode::OK => true,
        StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => false,
        other => panic!("unexpected status {other} for {host:?}"),
    }
}

fn host_part() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("localhost".to_owned()),
        Just("LocalHost".to_owned()),
        Just("localhost.".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("127.0.0.2".to_owned()),
        Just("127.1".to_owned()),
        Just("[::1]".to_owned()),
        Just("[::ffff:127.0.0.1]".to_owned()),
        Just("api.example.com".to_owned()),
        Just("example.com".to_owned()),
        Just("evilexample.com".to_owned()),
        Just("mcp.test".to_owned()),
        Just("localhost.evil.com".to_owned()),
        Just("evil.com@localhost".to_owned()),
        "[a-zA-Z0-9.\\-_@:\\[\\]%]{0,24}",
    ]
}

fn port_part() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (0u32..70000).prop_map(|port| format!(":{port}")),
        Just(":8443".to_owned()),
        Just(":80.evil.com".to_owned()),
        Just(":".to_owned()),
        "[:0-9a-z.]{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn an_accepted_host_is_in_the_allowlist(host in host_part(), port in port_part()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let text = format!("{host}{port}");
        let Ok(value) = HeaderValue::from_str(&text) else { return Ok(()) };
        if guard_accepts(&runtime, &value) {
            let reparsed = url::Url::parse(&format!("http://{text}/"));
            prop_assert!(reparsed.is_ok(), "accepted {text:?}, which url cannot parse");
            let reparsed = reparsed.unwrap();
            // `url` hides the scheme's default port; the guard sees what was sent.
            let sent_port = reparsed.port().or_else(|| text.ends_with(":80").then_some(80));
            prop_assert!(
                reparsed.host().is_some_and(|parsed| is_member(&parsed, sent_port)),
                "accepted {text:?}, parsed by url as {:?} port {:?}", reparsed.host(), sent_port
            );
        }
    }

    #[test]
    fn any_header_bytes_get_an_answer_not_a_panic(
        host in proptest::collection::vec(32u8..=255, 0..64),
        origin in proptest::collection::vec(32u8..=255, 0..64),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (Ok(host), Ok(origin)) = (HeaderValue::from_bytes(&host), HeaderValue::from_bytes(&origin)) else {
            return Ok(());
        };
        let service = OriginGuardLayer::new(allowlist()).layer(support::handler());
        let request = Request::post("/mcp").header("host", host).header("origin", origin).body(Full::default()).unwrap();
        let status = runtime.block_on(service.oneshot(request)).unwrap().status();
        prop_assert!(matches!(status.as_u16(), 200 | 400 | 403), "status {status}");
    }
}

#[test]
fn the_oracle_itself_accepts_members_and_rejects_strangers() {
    let parse = |text: &str| url::Url::parse(&format!("http://{text}/")).unwrap();
    let member = |text: &str| {
        let url = parse(text);
        is_member(&url.host().unwrap(), url.port())
    };
    assert!(member("localhost:1"));
    assert!(member("a.example.com:8443"));
    assert!(!member("a.example.com:8080"));
    assert!(!member("evil.com"));
    // The guard is stricter than WHATWG here: `127.1` is 127.0.0.1 to `url`, but
    // the guard rejects the shorthand outright.
    assert!(member("127.1"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(!guard_accepts(&runtime, &HeaderValue::from_static("127.1")));
}
