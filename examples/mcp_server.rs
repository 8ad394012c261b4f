//! The README's main job: a real rmcp MCP server (axum) at `/mcp`, serving both
//! protocol eras, behind mcp-guard's combined preset.
//!
//! ```text
//! cargo run --release --example mcp_server -- [--addr 127.0.0.1:8080]
//!     [--preset local|remote|bare] [--public-url URL] [--issuer URL] [--jwks-url URL]
//!     [--audience URI] [--token-out FILE] [--redis URL]
//! ```
//!
//! - `local` (default): localhost origin guard and CORS, protocol guard,
//!   sessions and resumable SSE in memory, no authentication.
//! - `remote`: the public URL's host and origin, bearer tokens, sessions bound
//!   to the caller. Without `--issuer`, an embedded DEVELOPMENT issuer runs on
//!   this server under `/dev-issuer/` (a fresh ES256 key, its JWKS, RFC 8414
//!   metadata, a client-credentials token endpoint), and `--token-out` receives
//!   a one-hour token with every scope.
//! - `bare`: the same handler with no guard at all (the baseline for
//!   benchmarks and comparisons).
//!
//! Tools: `echo {text}`, `add {a, b}`, `slow_count {n, interval_ms}` (progress
//! notifications, for SSE tests), `whoami`, `admin_echo {text}` (needs scope
//! `mcp:admin` under the remote preset).

#![allow(clippy::expect_used)] // an example's setup fails loudly

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use clap::{Parser, ValueEnum};
use mcp_guard::McpGuard;
use mcp_guard::core::Principal;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, ProgressNotificationParam, RequestMetaObject, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::Peer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The scope `admin_echo` needs under the remote preset.
const ADMIN_SCOPE: &str = "mcp:admin";
/// Every scope the example knows; the development token carries all of them.
const ALL_SCOPES: &str = "mcp mcp:admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Preset {
    /// For a server on your own machine.
    Local,
    /// For a server on the internet (bearer tokens).
    Remote,
    /// No guard at all: the baseline.
    Bare,
    /// No mcp-guard, but rmcp's own Host/Origin checks (for comparisons).
    RmcpChecks,
}

/// A real MCP server behind mcp-guard.
#[derive(Debug, Parser)]
#[command(name = "mcp_server", version, about)]
struct Args {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Which guards to stack.
    #[arg(long, value_enum, default_value_t = Preset::Local)]
    preset: Preset,
    /// The URL clients reach the MCP endpoint at (remote; default http://ADDR/mcp).
    #[arg(long)]
    public_url: Option<String>,
    /// The authorization server's issuer URL (remote; default: the embedded
    /// development issuer).
    #[arg(long)]
    issuer: Option<String>,
    /// The issuer's JWKS URL (remote; default: discovered from the issuer).
    #[arg(long, requires = "issuer")]
    jwks_url: Option<String>,
    /// The audience tokens must carry (remote; default: the public URL's
    /// canonical URI).
    #[arg(long)]
    audience: Option<String>,
    /// Write the development issuer's token (every scope, one hour) here.
    #[arg(long)]
    token_out: Option<std::path::PathBuf>,
    /// Keep sessions and resumable streams in Redis (shared by instances).
    #[arg(long)]
    redis: Option<String>,
    /// Requests a second each principal may send (remote; default 50, bursts
    /// of twice that).
    #[arg(long)]
    rate_limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to return.
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SlowCountArgs {
    /// How many progress notifications to send (at most 10000).
    n: u32,
    /// Milliseconds between them (at most 10000).
    interval_ms: u64,
}

/// The example's MCP handler: the same under every preset.
#[derive(Debug, Clone)]
struct ExampleServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl ExampleServer {
    fn new() -> Self {
        ExampleServer {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Returns the text it is given.")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    #[tool(description = "Returns the sum of a and b.")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    #[tool(
        description = "Sends n progress notifications for the request's progress token, interval_ms apart, then returns. For SSE and resumption tests."
    )]
    async fn slow_count(
        &self,
        Parameters(SlowCountArgs { n, interval_ms }): Parameters<SlowCountArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
    ) -> Result<String, ErrorData> {
        if n > 10_000 || interval_ms > 10_000 {
            return Err(ErrorData::invalid_params(
                "slow_count allows at most n = 10000 and interval_ms = 10000",
                None,
            ));
        }
        if let Some(token) = meta.get_progress_token() {
            for step in 1..=n {
                tokio::time::sleep(Duration::from_millis(interval_ms)).await;
                let progress = ProgressNotificationParam::new(token.clone(), f64::from(step))
                    .with_total(f64::from(n))
                    .with_message(format!("count {step}"));
                if peer.notify_progress(progress).await.is_err() {
                    break; // the client is gone and nothing stores the stream
                }
            }
        }
        Ok(format!("counted to {n}"))
    }

    #[tool(
        description = "Returns who is calling: the token's subject, client and scopes, or anonymous."
    )]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        match parts.extensions.get::<Principal>() {
            Some(principal) => json!({
                "subject": principal.subject(),
                "client_id": principal.client_id(),
                "issuer": principal.issuer(),
                "scopes": principal.scopes(),
            })
            .to_string(),
            None => "anonymous".to_owned(),
        }
    }

    #[tool(
        description = "Returns the text it is given; needs the scope mcp:admin under the remote preset."
    )]
    fn admin_echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::text(text)])
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ExampleServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// The rmcp service. Sessions and Host/Origin checks are mcp-guard's job, so
/// rmcp's own are off: every preset runs the identical handler.
fn rmcp_service() -> StreamableHttpService<ExampleServer, LocalSessionManager> {
    rmcp_service_with(rmcp_config().disable_allowed_hosts())
}

/// The same handler with rmcp's own Host and Origin checks (localhost), for
/// comparisons with mcp-guard's.
fn rmcp_service_with_its_own_checks() -> StreamableHttpService<ExampleServer, LocalSessionManager> {
    rmcp_service_with(
        rmcp_config()
            .with_allowed_hosts(["localhost", "127.0.0.1", "::1"])
            .with_allowed_origins(["http://localhost", "http://127.0.0.1"])
            .enforce_origin_validation(),
    )
}

fn rmcp_config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
}

fn rmcp_service_with(
    config: StreamableHttpServerConfig,
) -> StreamableHttpService<ExampleServer, LocalSessionManager> {
    StreamableHttpService::new(
        || Ok(ExampleServer::new()),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,mcp_guard=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mcp_server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    let addr = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}/mcp"));
    if args.preset != Preset::Remote {
        for (flag, given) in [
            ("--issuer", args.issuer.is_some()),
            ("--audience", args.audience.is_some()),
            ("--token-out", args.token_out.is_some()),
            ("--rate-limit", args.rate_limit.is_some()),
        ] {
            if given {
                return Err(format!("{flag} only applies to --preset remote"));
            }
        }
    }
    let app = match args.preset {
        Preset::Bare => Router::new().route_service("/mcp", rmcp_service()),
        Preset::RmcpChecks => {
            Router::new().route_service("/mcp", rmcp_service_with_its_own_checks())
        }
        Preset::Local => guarded!(McpGuard::local(), args),
        Preset::Remote => remote(&args, &public_url).await?,
    };
    println!("MCP endpoint: {public_url}");
    // Small SSE frames must leave at once, not wait on Nagle's algorithm for
    // the client's delayed ACK (40 ms per response otherwise).
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("mcp_server: cannot set TCP_NODELAY: {error}");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|error| format!("server error: {error}"))
}

/// The remote preset, with the development issuer when no issuer is given.
async fn remote(args: &Args, public_url: &str) -> Result<Router, String> {
    let origin = origin_of(public_url)?;
    let (issuer, dev_issuer) = match &args.issuer {
        Some(issuer) => (issuer.clone(), None),
        None => {
            let issuer = format!("{origin}/dev-issuer");
            (issuer.clone(), Some(DevIssuer::generate(issuer)))
        }
    };
    let mut guard = McpGuard::remote(public_url)
        .issuer(issuer)
        .scope_policy(
            mcp_guard::bearer_auth::ScopePolicy::new()
                .require_for_tool("admin_echo", [ADMIN_SCOPE]),
        )
        .scopes_supported(ALL_SCOPES.split(' '));
    if let Some(url) = &args.jwks_url {
        guard = guard.jwks_url(url.clone());
    }
    if let Some(audience) = &args.audience {
        guard = guard.audience(audience.clone());
    }
    if let Some(rate) = args.rate_limit {
        guard = guard.rate_limit(rate, rate.saturating_mul(2));
    }
    let audience = match &args.audience {
        Some(audience) => audience.clone(),
        None => mcp_guard::bearer_auth::canonical_resource_uri(public_url)
            .ok_or_else(|| format!("--public-url {public_url} is not an absolute http(s) URL"))?,
    };
    let mut app = guarded!(guard, args);
    if let Some(dev_issuer) = dev_issuer {
        let token = dev_issuer.token(&audience, ALL_SCOPES, "dev-user");
        eprintln!(
            "DEVELOPMENT ONLY: embedded issuer {} with a fresh key; do not use it for anything real",
            dev_issuer.issuer
        );
        if let Some(path) = &args.token_out {
            std::fs::write(path, &token)
                .map_err(|error| format!("cannot write --token-out {}: {error}", path.display()))?;
            eprintln!(
                "DEVELOPMENT ONLY: a one-hour token with scopes `{ALL_SCOPES}` is in {}",
                path.display()
            );
        }
        app = app.merge(dev_issuer.routes(audience));
    } else if args.token_out.is_some() {
        return Err("--token-out needs the development issuer (no --issuer)".to_owned());
    }
    Ok(app)
}

/// Mounts the handler behind a built guard at `/mcp`, plus the RFC 9728
/// metadata paths (the bearer-auth layer answers them; without it they reach
/// the handler, which refuses them).
fn mount<S>(service: S) -> Router
where
    S: tower::Service<http::Request<axum::body::Body>, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: IntoResponse,
    S::Future: Send,
{
    Router::new()
        .route_service("/mcp", service.clone())
        .route_service("/.well-known/oauth-protected-resource/mcp", service.clone())
        .route_service("/.well-known/oauth-protected-resource", service)
}

/// Builds `guard` (with Redis stores when `--redis` is given) around the
/// handler. A macro because each store choice is a different concrete type.
macro_rules! guarded {
    ($guard:expr, $args:expr) => {{
        let guard = $guard;
        match &$args.redis {
            None => {
                let layer = guard.build().map_err(|error| error.to_string())?;
                eprintln!("guards: {}", layer.guards().join(" -> "));
                mount(tower::Layer::layer(&layer, rmcp_service()))
            }
            Some(url) => {
                let (sessions, events) = redis_stores(url).await?;
                let layer = guard
                    .session_store(sessions)
                    .event_store(events)
                    .build()
                    .map_err(|error| error.to_string())?;
                eprintln!(
                    "guards: {} (stores in Redis at {url})",
                    layer.guards().join(" -> ")
                );
                mount(tower::Layer::layer(&layer, rmcp_service()))
            }
        }
    }};
}
use guarded;

/// The Redis session and event stores at `url`, shared by every instance that
/// uses the same Redis.
#[cfg(feature = "redis")]
async fn redis_stores(
    url: &str,
) -> Result<
    (
        mcp_guard::session::RedisSessionStore,
        mcp_guard::sse_resume::RedisEventStore,
    ),
    String,
> {
    let sessions = mcp_guard::session::RedisSessionStore::connect(url)
        .await
        .map_err(|error| format!("--redis {url}: {error}"))?;
    let events = mcp_guard::sse_resume::RedisEventStore::connect(url)
        .await
        .map_err(|error| format!("--redis {url}: {error}"))?;
    Ok((sessions, events))
}

/// Without the `redis` feature there are no Redis stores to build.
#[cfg(not(feature = "redis"))]
async fn redis_stores(
    url: &str,
) -> Result<
    (
        mcp_guard::session::store::MemoryStore,
        mcp_guard::sse_resume::MemoryEventStore,
    ),
    String,
> {
    Err(format!(
        "--redis {url}: this build has no Redis support; run it with `--features redis`"
    ))
}

/// The scheme, host and port of a URL.
fn origin_of(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("--public-url {url} is not an absolute URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("--public-url {url} has no host"));
    }
    Ok(format!("{scheme}://{authority}"))
}

/// The embedded DEVELOPMENT issuer: a fresh ES256 key, its JWKS, RFC 8414
/// metadata and a client-credentials token endpoint under `/dev-issuer/`. It
/// trusts every caller; it exists so the remote preset can be tried without an
/// authorization server.
#[derive(Clone)]
struct DevIssuer {
    issuer: String,
    encoding_key: jsonwebtoken::EncodingKey,
    jwk: Value,
}

const DEV_KEY_ID: &str = "dev-issuer-es256";

impl DevIssuer {
    fn generate(issuer: String) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;

        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .expect("the system RNG generates a P-256 key");
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("a freshly generated key parses");
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = key_pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": DEV_KEY_ID,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        DevIssuer {
            issuer,
            encoding_key: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }

    /// A one-hour token for `audience` with `scope`.
    fn token(&self, audience: &str, scope: &str, subject: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs();
        let claims = json!({
            "iss": self.issuer, "aud": audience, "sub": subject, "client_id": "mcp-guard-dev",
            "scope": scope, "iat": now, "exp": now + 3600,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(DEV_KEY_ID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key).expect("ES256 signing works")
    }

    fn routes(self, audience: String) -> Router {
        let metadata = json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks.json", self.issuer),
            "token_endpoint": format!("{}/token", self.issuer),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ALL_SCOPES.split(' ').collect::<Vec<_>>(),
            "response_types_supported": ["token"],
        });
        let jwks = json!({ "keys": [self.jwk.clone()] });
        Router::new()
            .route(
                "/.well-known/oauth-authorization-server/dev-issuer",
                get(move || std::future::ready(Json(metadata))),
            )
            .route(
                "/dev-issuer/jwks.json",
                get(move || std::future::ready(Json(jwks))),
            )
            .route("/dev-issuer/token", post(issue_token))
            .with_state(Arc::new((self, audience)))
    }
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: String,
    scope: Option<String>,
    client_id: Option<String>,
}

/// RFC 6749 client credentials, without client authentication (development
/// only): a token with the scopes asked for, among those the issuer knows.
async fn issue_token(
    State(state): State<Arc<(DevIssuer, String)>>,
    Form(request): Form<TokenRequest>,
) -> axum::response::Response {
    let (issuer, audience) = &*state;
    if request.grant_type != "client_credentials" {
        let error = json!({"error": "unsupported_grant_type", "error_description": "the development issuer only does client_credentials"});
        return (http::StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let asked = request.scope.unwrap_or_else(|| ALL_SCOPES.to_owned());
    let granted: Vec<&str> = asked
        .split(' ')
        .filter(|scope| ALL_SCOPES.split(' ').any(|known| known == *scope))
        .collect();
    let subject = request.client_id.unwrap_or_else(|| "dev-user".to_owned());
    let token = issuer.token(audience, &granted.join(" "), &subject);
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": granted.join(" ")}))
        .into_response()
}
