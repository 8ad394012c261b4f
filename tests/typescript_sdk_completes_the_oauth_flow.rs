//! The official MCP TypeScript SDK (`@modelcontextprotocol/sdk` 1.32.2 from
//! npm, pinned by tests/typescript/package-lock.json) completes the whole OAuth
//! flow against the example server's remote preset and its development
//! authorization server, with the SDK's OWN OAuth code and no pre-issued token:
//! discovery from the bare 401 (RFC 9728, then RFC 8414), a token (RFC 8707
//! `resource` = the MCP endpoint), `tools/list`, `whoami` naming the client,
//! `admin_echo` refused 403 `insufficient_scope`, a step-up to the
//! challenge's scope, `admin_echo` then, `echo` still working with the new
//! token, and tokens for another resource refused.
//!
//! tests/typescript/oauth_flows.mjs drives one flow per run and records every
//! HTTP request (the SDK's, the headless user agent's, its own set-up) with
//! method, URL and status; this test checks the sequence and the results.
//!
//! Flows:
//! - `client_credentials`: the SDK's `ClientCredentialsProvider`
//!   (client/auth-extensions.js) for a confidential client the script
//!   registers first (RFC 7591, `client_secret_basic`).
//! - `authorization_code`: an `OAuthClientProvider` shaped like the SDK's
//!   example `InMemoryOAuthClientProvider` (keeps every token, the refresh
//!   token too), registered by the SDK itself (`client_secret_post`), PKCE
//!   S256; its `redirectToAuthorization(url)` GETs the URL without following
//!   the redirect and reads the code from `Location`, then
//!   `transport.finishAuth(code)` and a new connection, as the SDK's example
//!   does.
//! - `authorization_code_access_token_only`: the same provider as a public
//!   client (`none`) that keeps no refresh token.
//!
//! What 1.32.2 does with `403 insufficient_scope`
//! (dist/esm/client/streamableHttp.js, `send`): it takes the challenge's
//! `scope` and calls `auth()` (dist/esm/client/auth.js) once, then resends;
//! the same challenge again ends in `StreamableHTTPError(403, "Server
//! returned 403 after trying upscoping")`. Inside `auth()`:
//! - a provider without `redirectUrl` (client credentials) gets a token from
//!   `fetchToken`, which asks for `provider.clientMetadata.scope`, the scope
//!   the provider was built with, not the challenge's: the step-up fails, and
//!   the application steps up with a new `ClientCredentialsProvider` for the
//!   challenge's scope;
//! - a provider holding a refresh token gets `refreshAuthorization`, a
//!   `refresh_token` grant without `scope`, so the same scopes again: the
//!   step-up fails, and the application drops the tokens and calls the SDK's
//!   `auth()` with the challenge's scope, then `transport.finishAuth(code)`;
//! - a provider without a refresh token is sent to the authorization endpoint
//!   with the challenge's scope (`startAuthorization`): the SDK's own step-up;
//!   `send` throws `UnauthorizedError`, and the application finishes with
//!   `transport.finishAuth(code)` and calls again.
//!
//! Protocol eras: 1.32.2 speaks only the legacy (`initialize`) era, its
//! `SUPPORTED_PROTOCOL_VERSIONS` end at 2025-11-25 and it has no 2026-07-28
//! code, so only that era is exercised; the test checks that this is still so.
//!
//! Needs Node.js (18 or later; `MCP_GUARD_NODE` names another binary) and the
//! SDK installed: `(cd tests/typescript && npm ci --ignore-scripts)`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::ExampleServer;

/// The SDK version package-lock.json pins.
const SDK_VERSION: &str = "1.32.2";
/// What installs it (scripts/test.sh runs it).
const INSTALL: &str = "(cd tests/typescript && npm ci --ignore-scripts)";
/// How long the example may take to print its endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the script gives a whole flow (it reports a timeout as an error).
const FLOW_TIMEOUT_SECONDS: u64 = 90;
/// How long the script may run at all before it is killed.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(FLOW_TIMEOUT_SECONDS + 30);
/// The one protocol version 1.32.2 negotiates with the example.
const LEGACY: &str = "2025-11-25";
/// The stateless era, which 1.32.2 does not speak.
const MODERN: &str = "2026-07-28";
/// Where the script's headless user agent is sent back to.
const REDIRECT_URL: &str = "http://127.0.0.1/mcp-guard-test/oauth-callback";
/// The scope `admin_echo` needs.
const ADMIN_SCOPE: &str = "mcp:admin";

fn typescript_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/typescript")
}

/// Fails clearly unless the pinned SDK is installed under tests/typescript.
fn require_sdk() {
    let manifest = typescript_dir().join("node_modules/@modelcontextprotocol/sdk/package.json");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        panic!(
            "the TypeScript MCP SDK is not installed ({} is missing): run `bash scripts/test.sh` \
             (it installs Node and the SDK), or `{INSTALL}`",
            manifest.display()
        );
    };
    let version: Value = serde_json::from_str(&text).expect("the SDK's package.json is JSON");
    assert_eq!(
        version["version"], SDK_VERSION,
        "tests/typescript/node_modules holds another SDK version than package-lock.json pins: run `{INSTALL}`"
    );
}

/// The Node.js binary: `MCP_GUARD_NODE`, else `node` on the PATH. A missing
/// one fails the test saying how to get it, never skips it.
fn node() -> OsString {
    let node = std::env::var_os("MCP_GUARD_NODE").unwrap_or_else(|| OsString::from("node"));
    let runs = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        runs,
        "Node.js ({node:?}) does not run: run `bash scripts/test.sh` (it installs Node 22 and the \
         TypeScript SDK), install Node.js 18 or later, or set MCP_GUARD_NODE"
    );
    node
}

/// The example under the remote preset (its development authorization
/// server), or a clear failure if it does not come up in time.
fn start_remote() -> ExampleServer {
    support::start_within(&["--preset", "remote"], START_TIMEOUT)
}

/// Runs tests/typescript/oauth_flows.mjs for `flow` against `url` (with the
/// second server `other`), killed after [`SCRIPT_TIMEOUT`]; its JSON report.
fn run_flow(url: &str, flow: &str, other: &str) -> Value {
    let script = typescript_dir().join("oauth_flows.mjs");
    let child = Command::new(node())
        .arg(&script)
        .arg(url)
        .arg(flow)
        .arg(other)
        .arg(FLOW_TIMEOUT_SECONDS.to_string())
        .current_dir(typescript_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run {:?} ({error}): run `bash scripts/test.sh`, install Node.js 18 or \
                 later, or set MCP_GUARD_NODE",
                node()
            )
        });
    let (status, stdout, stderr) = support::wait_with_timeout(child, SCRIPT_TIMEOUT);
    let Some(status) = status else {
        panic!(
            "the TypeScript SDK's {flow} flow did not finish within {SCRIPT_TIMEOUT:?}; killed it\n\
             stdout:\n{stdout}\nstderr:\n{stderr}"
        );
    };
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!(
            "the TypeScript SDK's {flow} flow ({status}) printed no JSON report ({error}):\n{stdout}\nstderr:\n{stderr}"
        )
    });
    eprintln!("[{flow}] script log:\n{stderr}");
    report
}

/// Names the URLs of one server and its authorization server, for sequences
/// that read like the flow.
struct Names {
    mcp: String,
    prm: String,
    issuer: String,
    as_metadata: String,
    registration: String,
    authorization: String,
    token: String,
}

impl Names {
    /// From the report: the AS metadata document the SDK itself fetched.
    fn of(server: &ExampleServer, report: &Value) -> Names {
        let origin = server.origin();
        let issuer = format!("{origin}/dev-issuer");
        let as_metadata = format!("{origin}/.well-known/oauth-authorization-server/dev-issuer");
        let document = requests(report)
            .iter()
            .find(|request| request["url"] == as_metadata.as_str() && request["status"] == 200)
            .map(|request| request["json"].clone())
            .unwrap_or_else(|| {
                panic!(
                    "nobody fetched {as_metadata} successfully\n{}",
                    wire_log(report)
                )
            });
        let endpoint = |field: &str| document[field].as_str().unwrap_or("(none)").to_owned();
        Names {
            mcp: server.url.clone(),
            prm: format!("{origin}/.well-known/oauth-protected-resource/mcp"),
            issuer,
            as_metadata,
            registration: endpoint("registration_endpoint"),
            authorization: endpoint("authorization_endpoint"),
            token: endpoint("token_endpoint"),
        }
    }

    fn label(&self, url: &str) -> String {
        let bare = url.split('?').next().unwrap_or(url);
        let names = [
            (&self.mcp, "mcp"),
            (&self.prm, "prm"),
            (&self.as_metadata, "as-metadata"),
            (&self.registration, "register"),
            (&self.authorization, "authorize"),
            (&self.token, "token"),
        ];
        names
            .iter()
            .find(|(name, _)| name.as_str() == bare)
            .map_or_else(|| bare.to_owned(), |(_, label)| (*label).to_owned())
    }

    /// `by METHOD what -> status`, e.g. `sdk POST token(refresh_token) -> 200`.
    fn line(&self, request: &Value) -> String {
        let label = self.label(request["url"].as_str().unwrap_or("?"));
        let what = match label.as_str() {
            "mcp" => {
                let rpc = &request["rpc"];
                let tool = rpc["tool"]
                    .as_str()
                    .map(|tool| format!(" {tool}"))
                    .unwrap_or_default();
                format!("mcp {}{tool}", rpc["method"].as_str().unwrap_or(""))
            }
            "token" => format!(
                "token({})",
                request["form"]["grant_type"].as_str().unwrap_or("?")
            ),
            _ => label,
        };
        format!(
            "{} {} {what} -> {}",
            request["by"].as_str().unwrap_or("?"),
            request["method"].as_str().unwrap_or("?"),
            request["status"]
        )
    }

    /// The requests of `phase`, as lines, without the SDK's standalone SSE GET
    /// (it starts in the background, whenever the SDK gets to it).
    fn sequence(&self, report: &Value, phase: &str) -> Vec<String> {
        requests(report)
            .iter()
            .filter(|request| request["phase"] == phase)
            .filter(|request| !(request["method"] == "GET" && request["url"] == self.mcp.as_str()))
            .map(|request| self.line(request))
            .collect()
    }
}

fn requests(report: &Value) -> &[Value] {
    report["requests"].as_array().expect("a list of requests")
}

/// One line per request, for failure messages.
fn wire_log(report: &Value) -> String {
    requests(report)
        .iter()
        .map(|request| {
            format!(
                "  #{} [{}] {} {} {} -> {}{}{}{}{}",
                request["seq"],
                request["phase"].as_str().unwrap_or("?"),
                request["by"].as_str().unwrap_or("?"),
                request["method"].as_str().unwrap_or("?"),
                request["url"].as_str().unwrap_or("?"),
                request["status"],
                request["rpc"]["method"]
                    .as_str()
                    .map(|method| format!(" rpc={method} {}", request["rpc"]["tool"]))
                    .unwrap_or_default(),
                request
                    .get("form")
                    .map(|form| format!(" form={form}"))
                    .unwrap_or_default(),
                request
                    .get("www_authenticate")
                    .map(|challenge| format!(" www-authenticate={challenge}"))
                    .unwrap_or_default(),
                request
                    .get("json")
                    .filter(|json| json.get("error").is_some())
                    .map(|json| format!(" {json}"))
                    .unwrap_or_default(),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn scopes(value: &Value) -> BTreeSet<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|line| (*line).to_owned()).collect()
}

/// The SDK's discovery from the bare 401 up to the token, then `initialize`.
const CONNECT_CLIENT_CREDENTIALS: [&str; 6] = [
    "sdk POST mcp initialize -> 401",
    "sdk GET prm -> 200",
    "sdk GET as-metadata -> 200",
    "sdk POST token(client_credentials) -> 200",
    "sdk POST mcp initialize -> 200",
    "sdk POST mcp notifications/initialized -> 202",
];

/// The same with dynamic registration and the authorization-code grant: the
/// first connection stops at the authorization (`UnauthorizedError`),
/// `finishAuth` discovers again and exchanges the code, a new connection
/// initializes.
const CONNECT_AUTHORIZATION_CODE: [&str; 10] = [
    "sdk POST mcp initialize -> 401",
    "sdk GET prm -> 200",
    "sdk GET as-metadata -> 200",
    "sdk POST register -> 201",
    "user-agent GET authorize -> 302",
    "sdk GET prm -> 200",
    "sdk GET as-metadata -> 200",
    "sdk POST token(authorization_code) -> 200",
    "sdk POST mcp initialize -> 200",
    "sdk POST mcp notifications/initialized -> 202",
];

/// Runs `flow` against a fresh remote example (and a second one for the
/// other-server token) and checks everything the flow promises.
fn the_sdk_completes(flow: &str) {
    require_sdk();
    let server = start_remote();
    let other = start_remote();
    let report = run_flow(&server.url, flow, &other.url);
    check(flow, &report, &server, &other);
}

/// Checks the report of `flow` run against `server` (and `other`).
fn check(flow: &str, report: &Value, server: &ExampleServer, other: &ExampleServer) {
    let log = wire_log(report);
    eprintln!(
        "[{flow}] every request:\n{log}\n[{flow}] steps: {}",
        report["steps"]
    );
    let context = format!(
        "\n(the {flow} flow's requests are listed above; its errors: {})",
        report["errors"]
    );
    assert_eq!(
        report["errors"],
        Value::Array(Vec::new()),
        "the TypeScript SDK's {flow} flow failed{context}"
    );
    let names = Names::of(server, report);
    let steps = &report["steps"];
    let sequence = |phase: &str| names.sequence(report, phase);

    // The pinned SDK, in the only era it speaks.
    assert_eq!(report["sdk"]["version"], SDK_VERSION, "{context}");
    let supported = scopes(&report["sdk"]["supported_protocol_versions"]);
    assert!(
        supported.contains(LEGACY) && !supported.contains(MODERN),
        "the SDK's supported versions are {supported:?}: if it speaks {MODERN} now, test that era too{context}"
    );
    assert_eq!(steps["connect"]["protocol_version"], LEGACY, "{context}");

    // 1. Nothing pre-issued: the first MCP request has no token and is
    //    answered 401 with the RFC 9728 challenge.
    let first_mcp = requests(report)
        .iter()
        .find(|request| request["by"] == "sdk" && request["url"] == server.url.as_str())
        .expect("the SDK never called the MCP endpoint");
    assert_eq!(first_mcp["authorization"], Value::Null, "{context}");
    assert_eq!(first_mcp["status"], 401, "{context}");
    let challenge = first_mcp["www_authenticate"].as_str().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(&format!("resource_metadata=\"{}\"", names.prm)),
        "the bare 401's challenge {challenge:?} does not name {}{context}",
        names.prm
    );
    let prm = requests(report)
        .iter()
        .find(|request| request["by"] == "sdk" && request["url"] == names.prm.as_str())
        .expect("the SDK never fetched the protected resource metadata");
    assert_eq!(prm["json"]["resource"], server.url.as_str(), "{context}");
    assert!(
        scopes(&prm["json"]["authorization_servers"]).contains(&names.issuer),
        "{context}"
    );

    // 2. Discovery, token, initialize: the exact sequence, per flow.
    let client_credentials = flow == "client_credentials";
    let keeps_refresh_tokens = flow == "authorization_code";
    if client_credentials {
        assert_eq!(
            sequence("setup"),
            lines(&[
                "script GET prm -> 200",
                "script GET as-metadata -> 200",
                "script POST register -> 201",
            ]),
            "the script's registration of its confidential client{context}"
        );
        assert_eq!(
            sequence("connect"),
            lines(&CONNECT_CLIENT_CREDENTIALS),
            "{context}"
        );
    } else {
        assert_eq!(
            sequence("connect"),
            lines(&CONNECT_AUTHORIZATION_CODE),
            "{context}"
        );
    }
    let token_request = |phase: &str| -> &Value {
        requests(report)
            .iter()
            .find(|request| {
                request["phase"] == phase
                    && names.label(request["url"].as_str().unwrap_or("")) == "token"
            })
            .unwrap_or_else(|| panic!("no token request in {phase}{context}"))
    };
    let connect_token = token_request("connect");
    assert_eq!(
        connect_token["form"]["resource"],
        server.url.as_str(),
        "RFC 8707: the SDK asks for a token for the MCP endpoint{context}"
    );
    let client_auth = match flow {
        "client_credentials" => "client_secret_basic",
        "authorization_code" => "client_secret_post",
        _ => "none",
    };
    assert_eq!(
        connect_token["form"]["client_auth"], client_auth,
        "{context}"
    );
    assert_eq!(
        connect_token["token"]["payload"]["aud"],
        server.url.as_str(),
        "the token's audience is not the MCP endpoint{context}"
    );
    assert_eq!(
        connect_token["token"]["payload"]["iss"],
        names.issuer.as_str(),
        "{context}"
    );
    if !client_credentials {
        let authorization = &steps["connect"]["authorizations"][0];
        assert_eq!(
            authorization["query"]["code_challenge_method"], "S256",
            "{context}"
        );
        assert_eq!(
            authorization["query"]["resource"],
            server.url.as_str(),
            "{context}"
        );
        assert_eq!(
            authorization["query"]["redirect_uri"], REDIRECT_URL,
            "{context}"
        );
        assert_eq!(
            connect_token["form"]["code_verifier"], "<code_verifier>",
            "PKCE: the code exchange carries the verifier{context}"
        );
        if let Some(iss) = authorization["returned"].get("iss") {
            assert_eq!(iss, names.issuer.as_str(), "RFC 9207 iss{context}");
        }
    }
    for request in requests(report) {
        if request["by"] == "sdk"
            && request["url"] == server.url.as_str()
            && request["rpc"]["method"] != "initialize"
        {
            assert_eq!(
                request["mcp_protocol_version"], LEGACY,
                "#{} after initialize{context}",
                request["seq"]
            );
        }
    }

    // 3. tools/list and whoami: the client's principal.
    assert_eq!(
        sequence("tools_list"),
        lines(&["sdk POST mcp tools/list -> 200"]),
        "{context}"
    );
    let tools = scopes(&steps["tools"]);
    for tool in ["whoami", "echo"] {
        assert!(tools.contains(tool), "tools/list lacks {tool}{context}");
    }
    // The example filters discovery by scope: the first token lacks mcp:admin.
    assert!(
        !tools.contains("admin_echo"),
        "tools/list shows admin_echo to a token without mcp:admin{context}"
    );
    assert_eq!(
        sequence("whoami"),
        lines(&["sdk POST mcp tools/call whoami -> 200"]),
        "{context}"
    );
    let client_id = steps["connect"]["client_id"]
        .as_str()
        .expect("the SDK holds a client id");
    let whoami = &steps["whoami"];
    assert_eq!(whoami["client_id"], client_id, "whoami: {whoami}{context}");
    assert_eq!(
        whoami["issuer"],
        names.issuer.as_str(),
        "whoami: {whoami}{context}"
    );
    let subject = whoami["subject"].as_str().unwrap_or_default();
    assert!(
        !subject.is_empty(),
        "whoami has no subject: {whoami}{context}"
    );
    let granted = scopes(&whoami["scopes"]);
    assert!(
        !granted.contains(ADMIN_SCOPE),
        "the first token already has {ADMIN_SCOPE} (scopes {granted:?}), so there is nothing to step up to: \
         the SDK asks for the 401 challenge's scope, else every scope in the protected resource metadata's \
         scopes_supported (client/auth.js authInternal, SEP-835), and the bare 401 said {challenge:?}. \
         The server must name the scope a first call needs in its 401 (MCP-HTTP-RULES: it SHOULD), e.g. a \
         scope policy requiring `mcp` for every call{context}"
    );

    // 4. admin_echo: 403 insufficient_scope, the challenge keeping what was granted.
    let admin_challenge = &steps["admin_echo"]["challenge"];
    assert_eq!(
        admin_challenge["error"], "insufficient_scope",
        "admin_echo: {}{context}",
        steps["admin_echo"]
    );
    let asked: BTreeSet<String> = scopes(&admin_challenge["scope"]);
    let mut expected_challenge = granted.clone();
    expected_challenge.insert(ADMIN_SCOPE.to_owned());
    assert_eq!(
        asked, expected_challenge,
        "legacy era: the step-up challenge holds the granted scopes plus the missing one{context}"
    );
    let challenge_scope = admin_challenge["scope"].as_str().unwrap();

    // 5. What the SDK does about it, and the step-up (see the module docs).
    let refused_twice = "Streamable HTTP error: Server returned 403 after trying upscoping";
    match flow {
        "client_credentials" => {
            assert_eq!(
                sequence("admin_echo"),
                lines(&[
                    "sdk POST mcp tools/call admin_echo -> 403",
                    "sdk GET prm -> 200",
                    "sdk GET as-metadata -> 200",
                    "sdk POST token(client_credentials) -> 200",
                    "sdk POST mcp tools/call admin_echo -> 403",
                ]),
                "ClientCredentialsProvider re-fetches a token for its own scope{context}"
            );
            assert_eq!(
                token_request("admin_echo")["form"]["scope"],
                steps["connect"]["token_scope"],
                "the SDK's re-fetch asks for the provider's scope, not the challenge's{context}"
            );
            assert_eq!(
                steps["admin_echo"]["error"]["message"], refused_twice,
                "{context}"
            );
            assert_eq!(
                sequence("step_up"),
                lines(&CONNECT_CLIENT_CREDENTIALS),
                "the application's step-up: a new provider for the challenge's scope, a new connection{context}"
            );
            assert_eq!(
                token_request("step_up")["form"]["scope"],
                challenge_scope,
                "{context}"
            );
        }
        "authorization_code" => {
            assert_eq!(
                sequence("admin_echo"),
                lines(&[
                    "sdk POST mcp tools/call admin_echo -> 403",
                    "sdk GET prm -> 200",
                    "sdk GET as-metadata -> 200",
                    "sdk POST token(refresh_token) -> 200",
                    "sdk POST mcp tools/call admin_echo -> 403",
                ]),
                "with a refresh token the SDK refreshes instead of re-authorizing{context}"
            );
            assert_eq!(
                token_request("admin_echo")["form"].get("scope"),
                None,
                "the SDK's refresh carries no scope{context}"
            );
            assert_eq!(
                steps["admin_echo"]["error"]["message"], refused_twice,
                "{context}"
            );
            assert_eq!(
                sequence("step_up"),
                lines(&[
                    "sdk GET prm -> 200",
                    "sdk GET as-metadata -> 200",
                    "user-agent GET authorize -> 302",
                    "sdk GET prm -> 200",
                    "sdk GET as-metadata -> 200",
                    "sdk POST token(authorization_code) -> 200",
                ]),
                "the application's step-up: the SDK's auth() with the challenge's scope, then finishAuth{context}"
            );
            assert_eq!(
                steps["step_up"]["authorizations"][0]["query"]["scope"], challenge_scope,
                "{context}"
            );
        }
        _ => {
            assert_eq!(
                sequence("admin_echo"),
                lines(&[
                    "sdk POST mcp tools/call admin_echo -> 403",
                    "sdk GET prm -> 200",
                    "sdk GET as-metadata -> 200",
                    "user-agent GET authorize -> 302",
                ]),
                "without a refresh token the SDK re-authorizes with the challenge's scope{context}"
            );
            assert_eq!(
                steps["admin_echo"]["error"]["type"], "UnauthorizedError",
                "{context}"
            );
            assert_eq!(
                steps["step_up"]["authorizations"][0]["query"]["scope"], challenge_scope,
                "the SDK's own step-up asks for the challenge's scope{context}"
            );
            assert_eq!(
                sequence("step_up"),
                lines(&[
                    "sdk GET prm -> 200",
                    "sdk GET as-metadata -> 200",
                    "sdk POST token(authorization_code) -> 200",
                ]),
                "finishAuth exchanges the step-up code{context}"
            );
        }
    }
    assert_eq!(
        token_request("step_up")["form"]["resource"],
        server.url.as_str(),
        "{context}"
    );
    assert_eq!(
        steps["connect"]["has_refresh_token"], keeps_refresh_tokens,
        "{context}"
    );

    // 6. After the step-up: admin_echo, the same principal with more scopes, echo.
    assert_eq!(
        sequence("admin_echo_after"),
        lines(&["sdk POST mcp tools/call admin_echo -> 200"]),
        "{context}"
    );
    let after = &steps["admin_echo_after"];
    assert_eq!(after["is_error"], false, "{after}{context}");
    assert_eq!(after["text"], after["expected"], "{context}");
    let whoami_after = &steps["whoami_after"];
    assert_eq!(whoami_after["client_id"], client_id, "{context}");
    assert_eq!(whoami_after["subject"], subject, "{context}");
    let stepped = scopes(&whoami_after["scopes"]);
    assert!(
        stepped.is_superset(&expected_challenge),
        "after the step-up the token has {stepped:?}, not what worked before plus {ADMIN_SCOPE}{context}"
    );
    assert_eq!(
        sequence("echo_after"),
        lines(&["sdk POST mcp tools/call echo -> 200"]),
        "{context}"
    );
    let echo = &steps["echo_after"];
    assert_eq!(echo["is_error"], false, "{echo}{context}");
    assert_eq!(echo["text"], echo["expected"], "{context}");

    // 7. A token for another resource: refused by the authorization server
    //    (invalid_target), or, if issued, by this server (401).
    let other_resource = &steps["other_resource"];
    if other_resource["error"].is_null() {
        let against = &other_resource["against_this_server"];
        assert_eq!(
            against["status"], 401,
            "a token issued for {} was not refused: {other_resource}{context}",
            other_resource["resource"]
        );
    } else {
        assert_eq!(
            other_resource["error"], "invalid_target",
            "RFC 8707: {other_resource}{context}"
        );
        if other_resource.get("redirected_to").is_none() {
            assert_eq!(other_resource["status"], 400, "{other_resource}{context}");
        }
    }
    let other_server = &steps["other_server"];
    assert_eq!(
        other_server["token"]["payload"]["aud"],
        other.url.as_str(),
        "the second server's token is for the second server: {other_server}{context}"
    );
    assert_eq!(
        other_server["whoami_there"]["issuer"],
        format!("{}/dev-issuer", other.origin()),
        "{context}"
    );
    let against = &other_server["against_this_server"];
    assert_eq!(
        against["status"], 401,
        "the second server's token was not refused by the first: {against}{context}"
    );
    assert!(
        against["www_authenticate"]
            .as_str()
            .is_some_and(|challenge| challenge.contains("error=\"invalid_token\"")),
        "{against}{context}"
    );

    // Nothing the SDK sent with a token was refused except the step-up's 403s.
    for request in requests(report) {
        if request["by"] == "sdk"
            && request["authorization"] == "Bearer"
            && request["url"] == server.url.as_str()
            && request["phase"] != "other_server"
            && request["phase"] != "other_resource"
        {
            let status = request["status"].as_u64().unwrap_or(0);
            assert!(
                (200..300).contains(&status)
                    || status == 405
                    || (status == 403 && request["rpc"]["tool"] == "admin_echo"),
                "#{} was answered {status}{context}",
                request["seq"]
            );
        }
    }
}

/// `ClientCredentialsProvider` for a client registered by the script.
#[test]
fn with_client_credentials() {
    the_sdk_completes("client_credentials");
}

/// Authorization code + PKCE + dynamic registration, a provider that keeps
/// refresh tokens (the SDK's example provider's behaviour).
#[test]
fn with_the_authorization_code_flow() {
    the_sdk_completes("authorization_code");
}

/// Authorization code + PKCE + dynamic registration, a public client that
/// keeps no refresh token: the SDK's own step-up by re-authorization.
#[test]
fn with_the_authorization_code_flow_and_no_refresh_token() {
    the_sdk_completes("authorization_code_access_token_only");
}
