//! The official Python MCP SDK (`mcp` from PyPI), using its OWN OAuth client
//! (`OAuthClientProvider`) with no token, gets through OAuth discovery against
//! the example server's remote preset: the MCP POST is answered 401 with
//! `WWW-Authenticate: Bearer resource_metadata="…"`, the SDK fetches that RFC
//! 9728 protected resource metadata, then the RFC 8414 metadata of the
//! authorization server it names (the example's development issuer).
//!
//! The SDK sends `MCP-Protocol-Version: 2026-07-28` on those metadata GETs, so
//! a guard that treats them as MCP traffic refuses them; the metadata documents
//! must be answered whatever MCP headers come with them.
//!
//! tests/python/oauth_discovery.py drives the SDK's flow untouched and stops it
//! at the browser step: after discovery the SDK registers itself (RFC 7591)
//! with the development issuer and builds the authorization URL, and there
//! its redirect handler raises. Only that it gets there is checked; the
//! authorization and token steps are under test in
//! the_development_authorization_server_speaks_oauth.rs. The script records
//! every request the SDK put on the wire.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{ExampleServer, python};

/// How long the example may take to print its endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the script gives the SDK's flow (it reports a timeout as an error).
const FLOW_TIMEOUT_SECONDS: u64 = 30;
/// How long the script may run at all before it is killed.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(FLOW_TIMEOUT_SECONDS + 30);

/// The metadata version the SDK stamps on its discovery GETs.
const MODERN: &str = "2026-07-28";

/// The example under the remote preset (its development authorization
/// server), or a clear failure if it does not come up in time.
fn start_remote() -> ExampleServer {
    support::start_within(&["--preset", "remote"], START_TIMEOUT)
}

/// Runs tests/python/oauth_discovery.py against `url` in `mode`, killed after
/// [`SCRIPT_TIMEOUT`], and returns its JSON report.
fn discover(url: &str, mode: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/oauth_discovery.py");
    let child = Command::new(python())
        .arg(&script)
        .arg(url)
        .arg(mode)
        .arg(FLOW_TIMEOUT_SECONDS.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Python MCP SDK's OAuth discovery script");
    let (status, stdout, stderr) = support::wait_with_timeout(child, SCRIPT_TIMEOUT);
    let Some(status) = status else {
        panic!(
            "the Python OAuth discovery script ({mode}) did not finish within {SCRIPT_TIMEOUT:?}; killed it\n\
             stdout:\n{stdout}\nstderr:\n{stderr}"
        );
    };
    assert!(
        status.success(),
        "the Python OAuth discovery script ({mode}) failed ({status}):\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("the Python OAuth discovery script ({mode}) printed no JSON report ({error}):\n{stdout}\nstderr:\n{stderr}")
    })
}

/// One line per request the SDK made, for failure messages.
fn wire_log(requests: &[Value]) -> String {
    requests
        .iter()
        .map(|request| {
            format!(
                "  {} {} -> {} (MCP-Protocol-Version: {}, Accept: {}){}{}",
                request["method"].as_str().unwrap_or("?"),
                request["url"].as_str().unwrap_or("?"),
                request["status"],
                request["mcp_protocol_version"],
                request["accept"],
                request
                    .get("json")
                    .map(|json| format!(" {json}"))
                    .unwrap_or_default(),
                request
                    .get("sdk_model_errors")
                    .filter(|errors| errors.as_array().is_some_and(|errors| !errors.is_empty()))
                    .map(|errors| format!(" (the SDK's OAuthMetadata model refuses it: {errors})"))
                    .unwrap_or_default(),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the SDK's flow in `mode` and checks that its discovery got through.
fn sdk_discovers_the_authorization_server(mode: &str) {
    let server = start_remote();
    let origin = server.origin();
    let prm_url = format!("{origin}/.well-known/oauth-protected-resource/mcp");
    let issuer = format!("{origin}/dev-issuer");
    let as_metadata_url = format!("{origin}/.well-known/oauth-authorization-server/dev-issuer");

    let report = discover(&server.url, mode);
    let requests = report["requests"].as_array().expect("a list of requests");
    let log = wire_log(requests);
    eprintln!(
        "[{mode}] the SDK's requests:\n{log}\n[{mode}] its flow ended with {}\n[{mode}] SDK state: {}",
        report["errors"], report["sdk"]
    );
    let context = format!(
        "\n(the SDK's flow in {mode} mode ended with {}; its requests are listed above)",
        report["errors"]
    );

    // Nothing pre-issued: the SDK's flow starts from nothing.
    assert!(
        requests
            .iter()
            .all(|request| request["authorization"] == false),
        "a request carried an Authorization header, but no token was given{context}"
    );
    assert!(
        !report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|error| error.as_str().unwrap().starts_with("TimeoutError")),
        "the SDK's flow hung until the script's {FLOW_TIMEOUT_SECONDS}s timeout{context}"
    );

    // 1. The first MCP request is refused with the RFC 9728 challenge.
    let first = requests.first().expect("the SDK made no request");
    assert_eq!(first["method"], "POST", "{context}");
    assert_eq!(first["url"], server.url.as_str(), "{context}");
    assert_eq!(
        first["status"], 401,
        "the token-less MCP POST is not a 401{context}"
    );
    let challenge = first["www_authenticate"].as_str().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(&format!("resource_metadata=\"{prm_url}\"")),
        "the 401's WWW-Authenticate {challenge:?} does not name {prm_url}{context}"
    );
    if mode != "legacy" {
        assert_eq!(
            first["mcp_protocol_version"], MODERN,
            "the SDK's first POST in {mode} mode should speak {MODERN}{context}"
        );
    }

    // 2. The protected resource metadata, fetched by the SDK itself.
    let prm_index = requests
        .iter()
        .position(|request| request["method"] == "GET" && request["url"] == prm_url.as_str())
        .unwrap_or_else(|| panic!("the SDK never fetched {prm_url}{context}"));
    let prm = &requests[prm_index];
    assert_eq!(
        prm["status"], 200,
        "GET {prm_url} (MCP-Protocol-Version: {}, Accept: {}) was refused; metadata GETs must be \
         answered whatever MCP headers they carry{context}",
        prm["mcp_protocol_version"], prm["accept"]
    );
    let document = &prm["json"];
    assert_eq!(
        document["resource"],
        server.url.as_str(),
        "the protected resource metadata's `resource` is not the server's canonical URL{context}"
    );
    assert!(
        document["authorization_servers"]
            .as_array()
            .is_some_and(|servers| servers.iter().any(|server| server == issuer.as_str())),
        "the protected resource metadata's `authorization_servers` does not name {issuer}{context}"
    );
    // ...and the SDK's own flow took it (the resource check passed, the issuer chosen).
    assert_eq!(
        report["sdk"]["protected_resource_metadata"]["resource"],
        server.url.as_str(),
        "the SDK did not accept the protected resource metadata{context}"
    );
    assert_eq!(
        report["sdk"]["auth_server_url"],
        issuer.as_str(),
        "{context}"
    );

    // 3. The authorization server metadata, after it.
    let as_index = requests
        .iter()
        .position(|request| {
            request["method"] == "GET" && request["url"] == as_metadata_url.as_str()
        })
        .unwrap_or_else(|| panic!("the SDK never fetched {as_metadata_url}{context}"));
    assert!(
        as_index > prm_index,
        "the SDK fetched the AS metadata before the PRM{context}"
    );
    let as_metadata = &requests[as_index];
    assert_eq!(
        as_metadata["status"], 200,
        "GET {as_metadata_url} (MCP-Protocol-Version: {}) was refused{context}",
        as_metadata["mcp_protocol_version"]
    );
    assert_eq!(
        as_metadata["json"]["issuer"],
        issuer.as_str(),
        "the authorization server metadata's `issuer` is not {issuer}{context}"
    );

    // 4. With discovery done, the SDK registers and reaches the browser step
    // (where the script stops it), at the endpoint the metadata names.
    assert!(
        requests
            .iter()
            .skip(as_index)
            .any(|request| request["method"] == "POST"
                && request["url"] == format!("{issuer}/register").as_str()
                && request["status"] == 201),
        "the SDK did not register with {issuer}/register after discovery{context}"
    );
    assert!(
        report["authorization_urls"][0]
            .as_str()
            .is_some_and(|url| url.starts_with(&format!("{issuer}/authorize?"))),
        "the SDK's flow did not stop at the browser step with {issuer}/authorize{context}"
    );

    // 5. The exact headers a real client sends on those GETs.
    if mode != "legacy" {
        for request in [prm, as_metadata] {
            assert_eq!(
                request["mcp_protocol_version"], MODERN,
                "in {mode} mode the SDK's metadata GET {} should carry MCP-Protocol-Version: {MODERN}{context}",
                request["url"]
            );
        }
    }
}

/// `mode="legacy"`: the `initialize` handshake era.
#[test]
fn in_legacy_mode() {
    sdk_discovers_the_authorization_server("legacy");
}

/// The SDK's default, `mode="auto"`: a `server/discover` probe at 2026-07-28.
#[test]
fn in_its_default_mode() {
    sdk_discovers_the_authorization_server("auto");
}

/// `mode="2026-07-28"`: the stateless era, adopted without a probe.
#[test]
fn in_the_2026_07_28_mode() {
    sdk_discovers_the_authorization_server(MODERN);
}
