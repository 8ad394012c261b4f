//! The README's main job: a real rmcp MCP server (axum) at `/mcp`, serving both
//! protocol eras, behind mcp-guard's combined preset.
//!
//! ```text
//! cargo run --release --features remote --example mcp_server -- [--addr 127.0.0.1:8080]
//!     [--preset local|remote|bare] [--public-url URL] [--issuer URL] [--jwks-url URL]
//!     [--audience URI] [--token-out FILE] [--redis URL] [--rate-limit N]
//!     [--tool-rate-limit TOOL=CALLS/PERIOD]... [--metrics] [--audit]
//!     [--dev-issuer-on-public-address]
//! ```
//!
//! - `local` (default): localhost origin guard and CORS, protocol guard,
//!   sessions and resumable SSE in memory, no authentication.
//! - `remote`: the public URL's host and origin, bearer tokens, sessions bound
//!   to the caller. Without `--issuer`, an embedded DEVELOPMENT authorization
//!   server runs on this server under `/dev-issuer/` (`dev_issuer/`: a fresh
//!   ES256 key, its JWKS, RFC 8414 metadata, dynamic registration, an
//!   authorization endpoint that approves every request, a token endpoint),
//!   and `--token-out` receives a one-hour token with every scope. Anyone who
//!   can reach it gets tokens, so it refuses a non-loopback `--addr` unless
//!   `--dev-issuer-on-public-address` is given.
//!   Under `remote`, `tools/list` shows a caller only the tools its scopes
//!   allow (the discovery filter), and `--tool-rate-limit` adds per-tool
//!   limits.
//! - `--metrics` (local, remote): an observe layer outside the guards counts
//!   every request by method, tool and outcome and every refusal by guard and
//!   reason, served as Prometheus text at `GET /metrics` (`metrics.rs`);
//!   `--audit`: its audit events only (one log line per request under
//!   `mcp_observe::audit`).
//! - `bare`: the same handler with no guard at all (the baseline for
//!   benchmarks and comparisons).
//!
//! Tools: `echo {text}`, `add {a, b}`, `slow_count {n, interval_ms}` (progress
//! notifications, for SSE tests), `whoami`, `admin_echo {text}` (needs scope
//! `mcp:admin` under the remote preset), and `note_create {text}`,
//! `note_read {id}`, `note_delete {id}`: notes only their creator can read or
//! delete (`notes.rs`: owner checks with `mcp-guard-extract`'s
//! `Authenticated`, no token parsing). Beside them, the diagnostic `test_*`
//! tools, `test://` resources and `test_*` prompts that the official MCP
//! conformance suite's server scenarios call by name (`conformance.rs`,
//! `input_required.rs`), e.g. `test_reconnection`, which ends the caller's SSE
//! connection mid-call so the result must come by resumption
//! (`stream_close.rs`), and `test_custom_headers`, whose `region` argument is
//! annotated `x-mcp-header`.

#![allow(clippy::expect_used)] // an example's setup fails loudly

mod catalog;
mod conformance;
mod dev_issuer;
mod input_required;
mod metrics;
mod notes;
mod server;
mod stream_close;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use clap::{Parser, ValueEnum};
use mcp_guard::McpGuard;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::conformance::Shared;
use crate::dev_issuer::DevIssuer;
use crate::server::ExampleServer;

/// The scope `admin_echo` needs under the remote preset.
const ADMIN_SCOPE: &str = "mcp:admin";
/// The scope every call needs under the remote preset.
const BASE_SCOPE: &str = "mcp";
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
    /// Serve the development issuer (remote, no --issuer) on a non-loopback
    /// --addr anyway. It approves every authorization request: anyone who can
    /// reach it gets tokens.
    #[arg(long)]
    dev_issuer_on_public_address: bool,
    /// How long the development issuer's authorization codes live, in seconds
    /// (for tests of expiry).
    #[arg(long, hide = true, default_value_t = 60)]
    dev_issuer_code_lifetime_seconds: u64,
    /// Leave resumable SSE out of the stack (local and remote), to measure
    /// what storing events before they are sent costs
    /// (scripts/server-instructions.sh).
    #[arg(long, hide = true)]
    without_sse_resume: bool,
    /// Leave out this example's own layer that lets a tool close its
    /// caller's SSE connection (stream_close.rs), so that a measurement
    /// against --preset bare, which has none, counts the guards alone
    /// (scripts/load.sh, scripts/server-instructions.sh).
    #[arg(long, hide = true)]
    without_stream_close: bool,
    /// Count every MCP request (by method, tool and outcome) and every
    /// refusal (by guard and reason), and serve the counts at GET /metrics
    /// (Prometheus text).
    #[arg(long)]
    metrics: bool,
    /// One audit event per MCP request (who called what, the outcome, the
    /// duration, never a token), logged under `mcp_observe::audit`.
    /// `--metrics` logs them too.
    #[arg(long)]
    audit: bool,
    /// A per-tool limit on top of the per-principal one (remote), e.g.
    /// `add=5/minute`: calls of the tool each caller may make per second,
    /// minute, hour or day. Repeat for more tools.
    #[arg(long, value_name = "TOOL=CALLS/PERIOD", value_parser = parse_tool_limit)]
    tool_rate_limit: Vec<(String, u32, Duration)>,
}

/// What is logged without `RUST_LOG`: warnings from everything, and what
/// every crate of mcp-guard says at `info` (refusals an operator may want to
/// see; expected ones are at `debug`, so `RUST_LOG=debug` shows those too).
const DEFAULT_LOG_FILTER: &str = "warn,mcp_guard=info,mcp_guard_core=info,mcp_origin_guard=info,\
    mcp_cors_preset=info,mcp_protocol_guard=info,mcp_bearer_auth=info,mcp_session=info,\
    mcp_sse_resume=info,mcp_rate_limit=info,mcp_observe=info,mcp_guard_extract=info";

/// The exit status of a refused command line (clap's, too).
const USAGE_ERROR: u8 = 2;

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

/// rmcp's settings, every copy sharing one cancellation token: cancelling it
/// at shutdown ends every open SSE stream, which graceful shutdown would
/// otherwise wait on for ever.
fn rmcp_config() -> StreamableHttpServerConfig {
    static CONFIG: std::sync::OnceLock<StreamableHttpServerConfig> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_sse_keep_alive(Some(Duration::from_secs(15)))
        })
        .clone()
}

fn rmcp_service_with(
    config: StreamableHttpServerConfig,
) -> StreamableHttpService<ExampleServer, LocalSessionManager> {
    let shared = Arc::new(Shared::new());
    StreamableHttpService::new(
        move || Ok(ExampleServer::new(shared.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    // Before anything listens: the development issuer hands tokens to anyone.
    if let Err(message) = refuse_a_public_dev_issuer(&args) {
        eprintln!("mcp_server: {message}");
        return ExitCode::from(USAGE_ERROR);
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mcp_server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The remote preset's development issuer approves every authorization
/// request, so it stays on loopback unless the user says otherwise.
fn refuse_a_public_dev_issuer(args: &Args) -> Result<(), String> {
    let dev_issuer = args.preset == Preset::Remote && args.issuer.is_none();
    if dev_issuer && !args.addr.ip().is_loopback() && !args.dev_issuer_on_public_address {
        return Err(format!(
            "refusing to serve the DEVELOPMENT issuer on the non-loopback address {}: it approves \
             every authorization request, so anyone who can reach it gets tokens. Listen on \
             127.0.0.1, give --issuer for a real authorization server, or pass \
             --dev-issuer-on-public-address if you mean it",
            args.addr
        ));
    }
    Ok(())
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
            ("--tool-rate-limit", !args.tool_rate_limit.is_empty()),
            (
                "--dev-issuer-on-public-address",
                args.dev_issuer_on_public_address,
            ),
        ] {
            if given {
                return Err(format!("{flag} only applies to --preset remote"));
            }
        }
    }
    if matches!(args.preset, Preset::Bare | Preset::RmcpChecks) {
        for (flag, given) in [
            ("--metrics", args.metrics),
            ("--audit", args.audit),
            ("--without-sse-resume", args.without_sse_resume),
            ("--without-stream-close", args.without_stream_close),
        ] {
            if given {
                return Err(format!("{flag} needs --preset local or remote"));
            }
        }
    }
    // Before the stack is built: the metrics sink describes the metrics to
    // the recorder installed at that moment.
    let prometheus = if args.metrics {
        Some(crate::metrics::install()?)
    } else {
        None
    };
    let mut app = match args.preset {
        Preset::Bare => Router::new().route_service("/mcp", rmcp_service()),
        Preset::RmcpChecks => {
            Router::new().route_service("/mcp", rmcp_service_with_its_own_checks())
        }
        Preset::Local => guarded!(McpGuard::local(), args),
        Preset::Remote => remote(&args, &public_url).await?,
    };
    if let Some(handle) = prometheus {
        app = app.merge(crate::metrics::routes(handle));
    }
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
            shutdown_signal().await;
            rmcp_config().cancellation_token.cancel();
        })
        .await
        .map_err(|error| format!("server error: {error}"))
}

/// Ctrl-C, or SIGTERM (what `docker stop`, systemd and Kubernetes send).
async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => drop(signal.recv().await),
            Err(error) => {
                eprintln!("mcp_server: cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
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
            // Every call needs `mcp`, so the bare 401 names it (clients then
            // ask for it, not for every scope the server supports) and a
            // step-up has something to keep; admin_echo also needs mcp:admin.
            mcp_guard::bearer_auth::ScopePolicy::new()
                .require([BASE_SCOPE])
                .require_for_tool("admin_echo", [ADMIN_SCOPE]),
        )
        // A caller sees in tools/list only what its scopes let it call:
        // admin_echo appears once the client has stepped up to mcp:admin.
        .filter_discovery(true)
        .scopes_supported(ALL_SCOPES.split(' '));
    for (tool, calls, period) in &args.tool_rate_limit {
        guard = guard.tool_rate_limit(tool.clone(), *calls, *period);
    }
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
        eprintln!(
            "DEVELOPMENT ONLY: embedded authorization server {} with a fresh key. It APPROVES EVERY \
             authorization request without a login: anyone who can reach it gets tokens for {audience}. \
             Do not use it for anything real.",
            dev_issuer.issuer
        );
        if let Some(path) = &args.token_out {
            let token = dev_issuer.token(
                &audience,
                ALL_SCOPES,
                crate::dev_issuer::DEV_USER,
                "mcp-guard-dev",
            )?;
            std::fs::write(path, &token)
                .map_err(|error| format!("cannot write --token-out {}: {error}", path.display()))?;
            eprintln!(
                "DEVELOPMENT ONLY: a one-hour token with scopes `{ALL_SCOPES}` is in {}",
                path.display()
            );
        }
        app = app.merge(dev_issuer.routes(crate::dev_issuer::Settings {
            audience,
            code_lifetime: Duration::from_secs(args.dev_issuer_code_lifetime_seconds),
        }));
    } else if args.token_out.is_some() {
        return Err("--token-out needs the development issuer (no --issuer)".to_owned());
    } else if args.dev_issuer_on_public_address {
        return Err(
            "--dev-issuer-on-public-address needs the development issuer (no --issuer)".to_owned(),
        );
    }
    Ok(app)
}

/// Mounts the handler behind a built guard at `/mcp`, plus the RFC 9728
/// metadata paths (the bearer-auth layer answers them; without it they reach
/// the handler, which refuses them). Outside the guards, a tool may end its
/// caller's SSE connection (`stream_close`, unless `--without-stream-close`);
/// the guards' resumable SSE then replays the rest.
fn mount<S>(args: &Args, service: S) -> Router
where
    S: tower::Service<http::Request<axum::body::Body>, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: IntoResponse,
    S::Future: Send,
{
    let router = Router::new()
        .route_service("/mcp", service.clone())
        .route_service("/.well-known/oauth-protected-resource/mcp", service.clone())
        .route_service("/.well-known/oauth-protected-resource", service);
    match args.without_stream_close {
        true => router,
        false => router.layer(stream_close::CloseOnRequestLayer),
    }
}

/// Mounts `service` (a built guard around the handler), inside the observe
/// layer with the metrics sink when `--metrics` is on: outside every guard,
/// so it sees each refusal with its guard and reason.
fn observed<S, B>(args: &Args, service: S) -> Router
where
    S: tower::Service<
            http::Request<axum::body::Body>,
            Response = http::Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    if args.metrics {
        mount(
            args,
            tower::Layer::layer(&crate::metrics::observe_layer(), service),
        )
    } else if args.audit {
        mount(
            args,
            tower::Layer::layer(&mcp_observe::ObserveLayer::new(), service),
        )
    } else {
        mount(args, service)
    }
}

/// Builds `guard` (with Redis stores when `--redis` is given) around the
/// handler. A macro because each store choice is a different concrete type.
macro_rules! guarded {
    ($guard:expr, $args:expr) => {{
        let guard = match $args.without_sse_resume {
            true => $guard.without_sse_resume(),
            false => $guard,
        };
        match &$args.redis {
            None => {
                let layer = guard.build().map_err(|error| error.to_string())?;
                eprintln!("guards: {}", layer.guards().join(" -> "));
                observed(&$args, tower::Layer::layer(&layer, rmcp_service()))
            }
            Some(url) => {
                let (sessions, events) = redis_stores(url).await?;
                let guard = if $args.tool_rate_limit.is_empty() {
                    guard
                } else {
                    in_redis_tool_limits(guard, url).await?
                };
                let layer = guard
                    .session_store(sessions)
                    .event_store(events)
                    .build()
                    .map_err(|error| error.to_string())?;
                eprintln!(
                    "guards: {} (stores in Redis at {url})",
                    layer.guards().join(" -> ")
                );
                observed(&$args, tower::Layer::layer(&layer, rmcp_service()))
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

/// The per-tool limits kept in the Redis at `url`, shared by every instance.
#[cfg(feature = "redis")]
async fn in_redis_tool_limits<V, Ss, Es>(
    guard: McpGuard<V, Ss, Es>,
    url: &str,
) -> Result<McpGuard<V, Ss, Es>, String> {
    let redis = mcp_guard::core::redis::RedisConfig::new(url)
        .connect()
        .await
        .map_err(|error| format!("--redis {url}: {error}"))?;
    Ok(guard.tool_rate_limits_in_redis(redis))
}

/// Without the `redis` feature there are no Redis tool limits.
#[cfg(not(feature = "redis"))]
async fn in_redis_tool_limits<V, Ss, Es>(
    _guard: McpGuard<V, Ss, Es>,
    url: &str,
) -> Result<McpGuard<V, Ss, Es>, String> {
    Err(format!(
        "--redis {url}: this build has no Redis support; run it with `--features redis`"
    ))
}

/// Without the `redis` feature there are no Redis stores to build.
#[cfg(not(feature = "redis"))]
async fn redis_stores(
    url: &str,
) -> Result<
    (
        mcp_guard::session::store::MemorySessionStore,
        mcp_guard::sse_resume::MemoryEventStore,
    ),
    String,
> {
    Err(format!(
        "--redis {url}: this build has no Redis support; run it with `--features redis`"
    ))
}

/// `--tool-rate-limit TOOL=CALLS/PERIOD`, the period one of second, minute,
/// hour, day.
fn parse_tool_limit(value: &str) -> Result<(String, u32, Duration), String> {
    let usage = || format!("{value:?}: expected TOOL=CALLS/PERIOD, e.g. add=5/minute");
    let (tool, limit) = value.split_once('=').ok_or_else(usage)?;
    let (calls, period) = limit.split_once('/').ok_or_else(usage)?;
    let calls = calls.trim().parse().map_err(|_| usage())?;
    let period = match period.trim() {
        "second" => Duration::from_secs(1),
        "minute" => Duration::from_secs(60),
        "hour" => Duration::from_secs(3600),
        "day" => Duration::from_secs(86_400),
        _ => return Err(usage()),
    };
    Ok((tool.trim().to_owned(), calls, period))
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
