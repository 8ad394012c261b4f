//! The official Python MCP SDK (`mcp` 2.3.0 from PyPI) completes the whole
//! OAuth flow against the example server's remote preset and its embedded
//! development authorization server with its OWN OAuth providers and no
//! pre-issued token, in both protocol eras:
//!
//! - `ClientCredentialsOAuthProvider`, with a confidential client the test
//!   registers first (RFC 7591, `client_secret_basic`);
//! - `OAuthClientProvider`: dynamic registration, authorization code with PKCE
//!   S256, a headless browser that reads the code from the redirect.
//!
//! Each run: the bare 401 → RFC 9728 and RFC 8414 metadata → (registration →
//! authorization 302) → token → `tools/list` (without `admin_echo`: the
//! example filters discovery by scope), `whoami` (the principal) →
//! `admin_echo` answered 403 `insufficient_scope` → the SDK steps up by itself
//! → `admin_echo` succeeds → `echo` still works with the stepped-up token,
//! and `tools/list` now shows `admin_echo`. Then
//! a token for another resource: the authorization server refuses to mint one
//! for another URI on its origin (RFC 8707 `invalid_target`), and the SDK's
//! token presented to a second server that trusts the same issuer but is
//! another resource is refused with 401 (audience).
//!
//! tests/python/oauth_flows.py drives the SDK and records every HTTP request
//! at the transport; this file starts the servers and checks the record.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{ExampleServer, python};

/// How long an example server may take to print its endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the script gives the whole run (it reports a timeout as an error).
const FLOW_TIMEOUT_SECONDS: u64 = 60;
/// How long the script may run at all before it is killed.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(FLOW_TIMEOUT_SECONDS + 30);

/// Where the headless browser is sent back to (the script's `REDIRECT_URI`).
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// The scope `admin_echo` needs.
const ADMIN: &str = "mcp:admin";
/// The scope of every other call (the example's other known scope).
const BASE: &str = "mcp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    ClientCredentials,
    AuthorizationCode,
}

impl Flow {
    fn arg(self) -> &'static str {
        match self {
            Flow::ClientCredentials => "client_credentials",
            Flow::AuthorizationCode => "authorization_code",
        }
    }
}

/// Starts an example server with `args`, or fails clearly if it does not come
/// up in time.
fn start(args: Vec<String>) -> ExampleServer {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    support::start_within(&args, START_TIMEOUT)
}

/// Runs tests/python/oauth_flows.py, killed after [`SCRIPT_TIMEOUT`], and
/// returns its JSON report.
fn run_script(flow: Flow, url: &str, mode: &str, other_url: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/oauth_flows.py");
    let child = Command::new(python())
        .arg(&script)
        .args([flow.arg(), url, mode, other_url])
        .arg(FLOW_TIMEOUT_SECONDS.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Python MCP SDK's OAuth flow script");
    let (status, stdout, stderr) = support::wait_with_timeout(child, SCRIPT_TIMEOUT);
    let name = format!("{} in {mode} mode", flow.arg());
    let Some(status) = status else {
        panic!(
            "the Python OAuth flow script ({name}) did not finish within {SCRIPT_TIMEOUT:?}; killed it\n\
             stdout:\n{stdout}\nstderr:\n{stderr}"
        );
    };
    assert!(
        status.success(),
        "the Python OAuth flow script ({name}) failed ({status}):\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("the Python OAuth flow script ({name}) printed no JSON report ({error}):\n{stdout}\nstderr:\n{stderr}")
    })
}

/// One line per recorded request, for failure messages.
fn wire_log(requests: &[Value]) -> String {
    requests
        .iter()
        .map(|request| {
            let mut line = format!(
                "  #{} [{}/{}] {} {} {} -> {}",
                request["index"],
                request["phase"].as_str().unwrap_or("?"),
                request["step"].as_str().unwrap_or("?"),
                request["kind"].as_str().unwrap_or("?"),
                request["method"].as_str().unwrap_or("?"),
                request["url"].as_str().unwrap_or("?"),
                request["status"],
            );
            for (key, label) in [
                ("rpc", "rpc"),
                ("token", "bearer"),
                ("form", "form"),
                ("www_authenticate", "WWW-Authenticate"),
                ("location", "Location"),
                ("transport_error", "error"),
            ] {
                if let Some(value) = request.get(key).filter(|value| !value.is_null()) {
                    line.push_str(&format!(" {label}: {value}"));
                }
            }
            if let Some(issued) = request.get("issued") {
                line.push_str(&format!(
                    " issued: {} scope {}",
                    issued["token"], issued["scope"]
                ));
            }
            if let Some(document) = request
                .get("json")
                .filter(|_| request["kind"] != "mcp" || request["status"] != 200)
            {
                line.push_str(&format!(" json: {document}"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A space-separated scope string or a JSON array of scopes, as a list.
fn scopes(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The value of `name` in a `WWW-Authenticate: Bearer …` challenge.
fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let end = challenge[start..].find('"')? + start;
    Some(challenge[start..end].to_owned())
}

/// `kind status` of each request, e.g. `mcp 401`.
fn labels(requests: &[&Value]) -> Vec<String> {
    requests
        .iter()
        .map(|request| {
            format!(
                "{} {}",
                request["kind"].as_str().unwrap_or("?"),
                request["status"]
            )
        })
        .collect()
}

/// Runs one flow in one mode and checks everything the report shows.
fn sdk_completes_the_oauth_flow(flow: Flow, mode: &str) {
    let server = start(vec!["--preset".into(), "remote".into()]);
    let url = server.url.clone();
    let origin = server.origin();
    let issuer = format!("{origin}/dev-issuer");
    // Another resource that trusts the same issuer (same keys): only the audience differs.
    let other = start(vec![
        "--preset".into(),
        "remote".into(),
        "--issuer".into(),
        issuer.clone(),
    ]);

    let report = run_script(flow, &url, mode, &other.url);
    let requests = report["requests"].as_array().expect("a list of requests");
    let log = wire_log(requests);
    let name = format!("{} in {mode} mode", flow.arg());
    eprintln!(
        "[{name}] every request:\n{log}\n[{name}] steps: {}\n[{name}] checks: {}\n[{name}] SDK state: {}",
        report["steps"], report["checks"], report["sdk"]
    );
    let context = format!(
        "\n({name}; the requests are listed above; errors: {})",
        report["errors"]
    );

    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.is_empty(),
        "the run failed: {errors:?}\n{}{context}",
        report["traceback"].as_str().unwrap_or_default()
    );

    // Set-up (client credentials only): a confidential client registered at the
    // discovered registration endpoint.
    let setup: Vec<&Value> = requests.iter().filter(|r| r["phase"] == "setup").collect();
    let registered_client = match flow {
        Flow::ClientCredentials => {
            assert_eq!(
                labels(&setup),
                ["prm 200", "as_metadata 200", "register 201"],
                "the set-up's discovery and registration{context}"
            );
            let client = &report["setup"];
            assert_eq!(
                client["token_endpoint_auth_method"], "client_secret_basic",
                "{context}"
            );
            assert_eq!(client["has_client_secret"], true, "{context}");
            client["client_id"]
                .as_str()
                .expect("a client_id")
                .to_owned()
        }
        Flow::AuthorizationCode => {
            assert!(setup.is_empty(), "the code flow has no set-up{context}");
            report["sdk"]["client_id"]
                .as_str()
                .expect("the SDK registered a client")
                .to_owned()
        }
    };

    let sdk: Vec<&Value> = requests.iter().filter(|r| r["phase"] == "sdk").collect();
    // The legacy era's standalone GET stream (and the closing DELETE) come and
    // go beside the calls; the sequence below is about the calls.
    let calls: Vec<&Value> = sdk
        .iter()
        .copied()
        .filter(|r| !(r["kind"] == "mcp" && r["method"] != "POST"))
        .collect();
    for request in sdk
        .iter()
        .filter(|r| r["kind"] == "mcp" && r["method"] != "POST")
    {
        let status = request["status"].as_u64().unwrap_or_default();
        assert!(
            [200, 202, 204, 405].contains(&status),
            "the SDK's {} {} was answered {status}{context}",
            request["method"],
            request["url"]
        );
    }

    // 1. Discovery from the bare 401, registration and authorization, the first token.
    let expected_start: &[&str] = match flow {
        Flow::ClientCredentials => &["mcp 401", "prm 200", "as_metadata 200", "token 200"],
        Flow::AuthorizationCode => &[
            "mcp 401",
            "prm 200",
            "as_metadata 200",
            "register 201",
            "authorize 302",
            "token 200",
        ],
    };
    let start_len = expected_start.len();
    assert!(calls.len() > start_len, "the SDK stopped early{context}");
    assert_eq!(
        labels(&calls[..start_len]),
        expected_start,
        "the SDK's way from the bare 401 to its first token{context}"
    );
    let first = calls[0];
    assert_eq!(first["method"], "POST", "{context}");
    assert_eq!(first["url"], url.as_str(), "{context}");
    assert!(
        first["authorization"].is_null(),
        "the first request carried credentials, but none were given{context}"
    );
    let prm_url = format!("{origin}/.well-known/oauth-protected-resource/mcp");
    let challenge = first["www_authenticate"].as_str().unwrap_or_default();
    assert_eq!(
        challenge_param(challenge, "resource_metadata").as_deref(),
        Some(prm_url.as_str()),
        "the 401's WWW-Authenticate {challenge:?}{context}"
    );
    assert_eq!(calls[1]["url"], prm_url.as_str(), "{context}");
    assert_eq!(calls[1]["json"]["resource"], url.as_str(), "{context}");
    assert_eq!(
        calls[2]["url"],
        format!("{origin}/.well-known/oauth-authorization-server/dev-issuer").as_str(),
        "{context}"
    );
    assert_eq!(calls[2]["json"]["issuer"], issuer.as_str(), "{context}");
    assert_eq!(report["sdk"]["issuer"], issuer.as_str(), "{context}");
    if flow == Flow::AuthorizationCode {
        let registration = calls[3];
        assert_eq!(
            registration["json"]["client_id"],
            registered_client.as_str(),
            "{context}"
        );
        let authorize = calls[4];
        let params = &authorize["authorize_params"];
        assert_eq!(params["response_type"], "code", "{context}");
        assert_eq!(params["code_challenge_method"], "S256", "{context}");
        assert_eq!(params["resource"], url.as_str(), "{context}");
        assert_eq!(params["client_id"], registered_client.as_str(), "{context}");
        let location = &authorize["location"];
        assert_eq!(
            location["target"], REDIRECT_URI,
            "the redirect target{context}"
        );
        assert_eq!(
            location["state"], true,
            "the redirect carries the state{context}"
        );
        assert_eq!(
            location["iss"],
            issuer.as_str(),
            "the redirect's iss (RFC 9207){context}"
        );
        assert!(
            location["error"].is_null(),
            "the authorization was refused{context}"
        );
    }
    let token_request = calls[start_len - 1];
    match flow {
        Flow::ClientCredentials => {
            assert_eq!(
                token_request["form"]["grant_type"], "client_credentials",
                "{context}"
            );
            assert_eq!(
                token_request["authorization"], "basic",
                "the SDK authenticates with client_secret_basic{context}"
            );
        }
        Flow::AuthorizationCode => {
            assert_eq!(
                token_request["form"]["grant_type"], "authorization_code",
                "{context}"
            );
        }
    }
    assert_eq!(
        token_request["form"]["resource"],
        url.as_str(),
        "the token request names this server as its resource (RFC 8707){context}"
    );
    let first_token = &token_request["issued"];
    let first_claims = &first_token["claims"];
    assert_eq!(first_claims["iss"], issuer.as_str(), "{context}");
    assert!(
        first_claims["aud"] == url.as_str()
            || first_claims["aud"]
                .as_array()
                .is_some_and(|audiences| audiences.iter().any(|aud| aud == url.as_str())),
        "the token's aud {} is not this server{context}",
        first_claims["aud"]
    );
    assert_eq!(
        first_claims["client_id"],
        registered_client.as_str(),
        "{context}"
    );
    assert_eq!(first_token["header"]["typ"], "at+jwt", "{context}");
    for claim in ["sub", "exp", "iat", "jti"] {
        assert!(
            !first_claims[claim].is_null(),
            "the token has no {claim}{context}"
        );
    }
    let first_scopes = scopes(&first_token["scope"]);
    assert!(
        first_scopes.contains(&BASE.to_owned()) && !first_scopes.contains(&ADMIN.to_owned()),
        "the SDK's first token has the scopes {first_scopes:?}: it should hold {BASE:?} and not {ADMIN:?}, \
         so that admin_echo needs a step-up. The SDK asks for the 401 challenge's `scope`, else every \
         scope in the protected resource metadata's scopes_supported (mcp/client/auth/utils.py, \
         get_client_metadata_scopes); a 401 without `scope` therefore gets a token with every scope \
         and no step-up ever happens{context}"
    );
    assert_eq!(scopes(&first_claims["scope"]), first_scopes, "{context}");
    let token1 = first_token["token"].as_str().unwrap().to_owned();

    // 2. The calls before the step-up all pass, with the first token.
    let admin_start = calls
        .iter()
        .position(|r| r["step"] == "admin_echo")
        .unwrap_or_else(|| panic!("the SDK never reached admin_echo{context}"));
    for request in &calls[start_len..admin_start] {
        assert_eq!(request["kind"], "mcp", "an unexpected request{context}");
        let status = request["status"].as_u64().unwrap_or_default();
        assert!(
            status == 200 || status == 202,
            "the SDK's {} was answered {status}{context}",
            request["rpc"]
        );
        assert_eq!(request["token"], token1.as_str(), "{context}");
    }
    // The example filters discovery by scope: before the step-up the token
    // lacks mcp:admin, so admin_echo is not listed (step 5 lists it again).
    let listed = report["steps"]["list_tools"]
        .as_array()
        .expect("tools/list answered");
    for tool in ["echo", "whoami"] {
        assert!(
            listed.iter().any(|t| t == tool),
            "tools/list lacks {tool}{context}"
        );
    }
    assert!(
        !listed.iter().any(|t| t == "admin_echo"),
        "tools/list shows admin_echo to a token without mcp:admin{context}"
    );

    // 3. whoami: the principal the token names.
    let whoami = &report["steps"]["whoami"];
    assert_eq!(
        whoami["issuer"],
        issuer.as_str(),
        "whoami {whoami}{context}"
    );
    assert_eq!(
        whoami["client_id"],
        registered_client.as_str(),
        "whoami {whoami}{context}"
    );
    match flow {
        // RFC 9068 §2.2: a client acting for itself is the token's subject.
        Flow::ClientCredentials => assert_eq!(
            whoami["subject"],
            registered_client.as_str(),
            "whoami {whoami}{context}"
        ),
        Flow::AuthorizationCode => {
            assert_eq!(whoami["subject"], "dev-user", "whoami {whoami}{context}");
        }
    }
    assert_eq!(
        scopes(&whoami["scopes"]),
        first_scopes,
        "whoami {whoami}{context}"
    );

    // 4. admin_echo: 403 insufficient_scope, the SDK steps up, the retry passes.
    let echo_start = calls
        .iter()
        .position(|r| r["step"] == "echo")
        .unwrap_or_else(|| panic!("the SDK never reached echo{context}"));
    let mut step_up: Vec<&Value> = calls[admin_start..echo_start].to_vec();
    // The SDK validates a tool's result against the tool's output schema,
    // and lists the tools again when the tool was not in its last listing:
    // with discovery filtered by scope, admin_echo was not (the first token
    // lacked mcp:admin). That listing comes after the retry.
    if let Some(last) = step_up.last()
        && last["rpc"] == "tools/list"
        && step_up.len() > 1
    {
        assert_eq!(labels(&[last]), ["mcp 200"], "{context}");
        step_up.pop();
    }
    let expected_step_up: &[&str] = match flow {
        Flow::ClientCredentials => &["mcp 403", "token 200", "mcp 200"],
        Flow::AuthorizationCode => &["mcp 403", "authorize 302", "token 200", "mcp 200"],
    };
    assert_eq!(
        labels(&step_up),
        expected_step_up,
        "admin_echo: 403, the SDK's step-up, the retry (no new discovery or registration){context}"
    );
    let refused = step_up[0];
    assert_eq!(refused["rpc"], "tools/call:admin_echo", "{context}");
    assert_eq!(refused["token"], token1.as_str(), "{context}");
    let challenge = refused["www_authenticate"].as_str().unwrap_or_default();
    assert_eq!(
        challenge_param(challenge, "error").as_deref(),
        Some("insufficient_scope"),
        "the 403's WWW-Authenticate {challenge:?}{context}"
    );
    assert_eq!(
        challenge_param(challenge, "resource_metadata").as_deref(),
        Some(prm_url.as_str()),
        "{context}"
    );
    let challenged = scopes(&Value::String(
        challenge_param(challenge, "scope").unwrap_or_default(),
    ));
    assert!(
        challenged.contains(&ADMIN.to_owned()),
        "the 403 challenge's scope {challenged:?} lacks {ADMIN}{context}"
    );
    if mode == "legacy" {
        // Legacy clients replace their scope with the challenge's: it keeps what was granted.
        for scope in &first_scopes {
            assert!(
                challenged.contains(scope),
                "the legacy-era 403 challenge {challenged:?} drops the granted {scope}{context}"
            );
        }
    }
    let step_up_token_request = step_up[step_up.len() - 2];
    // What the SDK asked for: on the token request (client credentials), on the
    // authorization request (code flow; its token request carries no scope).
    let asked = match flow {
        Flow::ClientCredentials => scopes(&step_up_token_request["form"]["scope"]),
        Flow::AuthorizationCode => scopes(&step_up[1]["authorize_params"]["scope"]),
    };
    let second_token = &step_up_token_request["issued"];
    let second_scopes = scopes(&second_token["scope"]);
    for scope in [BASE, ADMIN] {
        assert!(
            asked.contains(&scope.to_owned()),
            "the SDK's step-up asked for {asked:?}, without {scope}{context}"
        );
        assert!(
            second_scopes.contains(&scope.to_owned()),
            "the stepped-up token has {second_scopes:?}, without {scope}{context}"
        );
    }
    assert_eq!(
        step_up_token_request["form"]["resource"],
        url.as_str(),
        "{context}"
    );
    assert_eq!(
        second_token["claims"]["client_id"],
        registered_client.as_str(),
        "{context}"
    );
    let token2 = second_token["token"].as_str().unwrap().to_owned();
    assert_ne!(token1, token2, "{context}");
    let retried = step_up[step_up.len() - 1];
    assert_eq!(retried["rpc"], "tools/call:admin_echo", "{context}");
    assert_eq!(retried["token"], token2.as_str(), "{context}");
    assert_eq!(
        report["steps"]["admin_echo"],
        serde_json::json!({"is_error": false, "text": "root"}),
        "{context}"
    );
    if flow == Flow::AuthorizationCode {
        let authorize = step_up[1];
        assert_eq!(authorize["location"]["iss"], issuer.as_str(), "{context}");
        assert_eq!(
            authorize["authorize_params"]["client_id"],
            registered_client.as_str(),
            "the step-up reuses the registration{context}"
        );
    }

    // 5. echo still works, with the stepped-up token; whoami shows both scopes.
    let after: Vec<&Value> = calls[echo_start..]
        .iter()
        .copied()
        .filter(|r| {
            ["echo", "whoami_after", "list_tools_after"]
                .contains(&r["step"].as_str().unwrap_or_default())
        })
        .collect();
    assert!(!after.is_empty(), "{context}");
    for request in &after {
        assert_eq!(
            labels(&[request]),
            ["mcp 200"],
            "after the step-up, {} was not answered 200{context}",
            request["rpc"]
        );
        assert_eq!(request["token"], token2.as_str(), "{context}");
    }
    assert_eq!(
        report["steps"]["echo"],
        serde_json::json!({"is_error": false, "text": "still here"}),
        "echo with the stepped-up token{context}"
    );
    let whoami_after = &report["steps"]["whoami_after"];
    assert_eq!(
        whoami_after["client_id"],
        registered_client.as_str(),
        "{context}"
    );
    assert_eq!(whoami_after["subject"], whoami["subject"], "{context}");
    let after_scopes = scopes(&whoami_after["scopes"]);
    for scope in [BASE, ADMIN] {
        assert!(
            after_scopes.contains(&scope.to_owned()),
            "whoami after the step-up: {whoami_after}{context}"
        );
    }

    // The stepped-up token sees admin_echo in the next listing.
    let listed_after = report["steps"]["list_tools_after"]
        .as_array()
        .unwrap_or_else(|| panic!("tools/list after the step-up answered{context}"));
    for tool in ["admin_echo", "echo", "whoami"] {
        assert!(
            listed_after.iter().any(|t| t == tool),
            "tools/list after the step-up lacks {tool}{context}"
        );
    }

    // Nothing else in the SDK's part: one 401, one 403, registration at most once.
    let refusals = sdk
        .iter()
        .filter(|r| r["status"] == 401 || r["status"] == 403)
        .count();
    assert_eq!(refusals, 2, "the SDK's part had other refusals{context}");
    let registrations = requests.iter().filter(|r| r["kind"] == "register").count();
    assert_eq!(registrations, 1, "{context}");

    // 6. A token for another resource.
    let checks = &report["checks"];
    let other_resource = &checks["other_resource_token"];
    if other_resource["refused_at"].is_null() {
        // The authorization server minted one: this server must refuse it.
        assert_eq!(
            other_resource["presented"]["status"], 401,
            "a token for {} was accepted: {other_resource}{context}",
            other_resource["resource"]
        );
    } else {
        assert_eq!(
            other_resource["error"], "invalid_target",
            "the authorization server refused a token for {} but not with RFC 8707's invalid_target: \
             {other_resource}{context}",
            other_resource["resource"]
        );
    }
    if let Some(refresh) = other_resource.get("refresh") {
        // The code flow's SDK holds a refresh token: the token endpoint refuses it another resource too.
        assert_eq!(
            (&refresh["status"], &refresh["error"]),
            (&Value::from(400), &Value::from("invalid_target")),
            "a refresh for {}: {refresh}{context}",
            other_resource["resource"]
        );
    }
    // The SDK's token, this server's audience: accepted here (the control)...
    assert_eq!(
        checks["same_token_here"]["status"], 200,
        "the control: the SDK's token at {url}: {}{context}",
        checks["same_token_here"]
    );
    assert_eq!(
        checks["same_token_here"]["token"],
        token2.as_str(),
        "{context}"
    );
    // ...and refused by another resource that trusts the same issuer.
    let elsewhere = &checks["same_token_at_other_resource"];
    assert_eq!(
        elsewhere["status"], 401,
        "the SDK's token for {url} at {}: {elsewhere}{context}",
        other.url
    );
    let challenge = elsewhere["www_authenticate"].as_str().unwrap_or_default();
    assert_eq!(
        challenge_param(challenge, "error").as_deref(),
        Some("invalid_token"),
        "{challenge:?}{context}"
    );
    assert!(
        challenge_param(challenge, "error_description")
            .is_some_and(|text| text.contains("audience")),
        "the other resource refused the token, but not for its audience: {challenge:?}{context}"
    );
    assert_eq!(
        challenge_param(challenge, "resource_metadata"),
        Some(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            other.origin()
        )),
        "{context}"
    );
}

/// `ClientCredentialsOAuthProvider`, `mode="legacy"` (the `initialize` era).
#[test]
fn client_credentials_in_legacy_mode() {
    sdk_completes_the_oauth_flow(Flow::ClientCredentials, "legacy");
}

/// `ClientCredentialsOAuthProvider`, `mode="2026-07-28"` (the stateless era).
#[test]
fn client_credentials_in_the_2026_07_28_mode() {
    sdk_completes_the_oauth_flow(Flow::ClientCredentials, "2026-07-28");
}

/// `OAuthClientProvider` (registration, code + PKCE), `mode="legacy"`.
#[test]
fn authorization_code_in_legacy_mode() {
    sdk_completes_the_oauth_flow(Flow::AuthorizationCode, "legacy");
}

/// `OAuthClientProvider` (registration, code + PKCE), `mode="2026-07-28"`.
#[test]
fn authorization_code_in_the_2026_07_28_mode() {
    sdk_completes_the_oauth_flow(Flow::AuthorizationCode, "2026-07-28");
}
