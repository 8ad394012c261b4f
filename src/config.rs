//! The preset's settings from a TOML file and environment variables, for people
//! who deploy rather than code (feature `config`).
//!
//! Unknown keys are errors (a typo must not silently weaken a guard), and so is
//! a key the chosen preset would not read (`[auth]` or `public_url` under the
//! local preset, `[session]` with sessions switched off): every error names
//! the key to fix.
//!
//! ```toml
//! preset = "remote"                        # "local" (default) or "remote"
//! public_url = "https://mcp.example.com/mcp"
//! allowed_origins = ["https://app.example.com"]   # besides the public URL's
//!
//! [auth]
//! issuer = "https://auth.example.com"
//! # jwks_url = "https://auth.example.com/jwks.json"   # default: discovered
//! required_scopes = ["mcp"]
//! public_tools = ["echo"]
//! tool_scopes = { admin_echo = ["mcp:admin"] }
//! require_access_token_type = true         # refuse JWTs whose typ is not at+jwt
//! filter_discovery = true                  # tools/list shows what the caller may call
//!
//! [session]
//! idle_timeout_secs = 1800
//! max_sessions = 10000
//! max_sessions_per_principal = 16
//!
//! [limits]
//! max_body_bytes = 4194304
//! response_timeout_secs = 60
//! rate_limit_per_second = 50
//! rate_limit_burst = 100
//!
//! [limits.tool_rate_limits]                # calls per principal, per tool
//! expensive_tool = "5/minute"              # "<calls>/<second|minute|hour|day>"
//!
//! [guards]                                 # switch a guard off
//! cors = false
//! ```
//!
//! Environment variables override the file: `MCP_GUARD_PRESET`,
//! `MCP_GUARD_PUBLIC_URL`, `MCP_GUARD_ISSUER`, `MCP_GUARD_JWKS_URL`,
//! `MCP_GUARD_AUDIENCE`, `MCP_GUARD_MAX_BODY_BYTES`,
//! `MCP_GUARD_RESPONSE_TIMEOUT_SECS`, `MCP_GUARD_RATE_LIMIT_PER_SECOND`,
//! `MCP_GUARD_RATE_LIMIT_BURST`.
//!
//! # Example
//!
//! ```
//! use mcp_guard::config::McpGuardConfig;
//!
//! let config = McpGuardConfig::from_toml("preset = \"local\"\n[limits]\nmax_body_bytes = 65536\n")?;
//! let guard = config.builder()?.build()?;
//! assert!(guard.guards().contains(&"origin-guard"));
//!
//! let typo = McpGuardConfig::from_toml("[limits]\nmax_body_byte = 1\n").unwrap_err();
//! assert!(typo.to_string().contains("max_body_byte"), "{typo}");
//! # Ok::<(), mcp_guard::McpGuardConfigError>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::preset::first_set;
use crate::{McpGuard, McpGuardConfigError};

/// Which preset to start from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresetName {
    /// [`McpGuard::local`].
    #[default]
    Local,
    /// `McpGuard::remote` (feature `jwks`).
    Remote,
}

/// Everything the file can say. See the [module docs](self) for the format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct McpGuardConfig {
    /// The preset to start from.
    #[serde(default)]
    pub preset: PresetName,
    /// The URL clients reach the server at (remote preset).
    pub public_url: Option<String>,
    /// Hosts accepted besides the preset's (e.g. `"mcp.internal:8080"`).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted besides the preset's.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Bearer-token settings (remote preset).
    #[serde(default)]
    pub auth: AuthConfig,
    /// Session settings.
    #[serde(default)]
    pub session: SessionConfig,
    /// Body size, timeouts, rate.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Guards to switch off.
    #[serde(default)]
    pub guards: GuardsConfig,
}

/// `[auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The authorization server's issuer URL.
    pub issuer: Option<String>,
    /// Its JWKS URL (default: discovered from the issuer's metadata).
    pub jwks_url: Option<String>,
    /// The audience tokens carry (default: the public URL's canonical URI).
    pub audience: Option<String>,
    /// Scopes every call needs.
    #[serde(default)]
    pub required_scopes: Vec<String>,
    /// Scopes a tool needs, by tool name.
    #[serde(default)]
    pub tool_scopes: BTreeMap<String, Vec<String>>,
    /// Tools anyone may call without a token.
    #[serde(default)]
    pub public_tools: Vec<String>,
    /// Refuse JWTs whose header `typ` is not `at+jwt` (RFC 9068), so an ID
    /// token is never taken for an access token (default: `false`, as many
    /// issuers do not set it).
    pub require_access_token_type: Option<bool>,
    /// Show each caller, in `tools/list`, `prompts/list`, `resources/list`
    /// and `resources/templates/list`, only what its scopes let it call
    /// (default: `false`; see `McpGuard::filter_discovery`).
    pub filter_discovery: Option<bool>,
}

/// `[session]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle_timeout_secs: Option<u64>,
    /// A session ends this long after it began.
    pub max_lifetime_secs: Option<u64>,
    /// Live sessions overall.
    pub max_sessions: Option<usize>,
    /// Live sessions per authenticated principal (anonymous sessions count
    /// only against `max_sessions`).
    pub max_sessions_per_principal: Option<usize>,
}

/// `[limits]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// The largest request body read.
    pub max_body_bytes: Option<usize>,
    /// The time a client gets to send its body.
    pub body_read_timeout_secs: Option<u64>,
    /// The wait for response headers; 0 switches the timeout off.
    pub response_timeout_secs: Option<u64>,
    /// Requests a second per principal.
    pub rate_limit_per_second: Option<u32>,
    /// Burst per principal.
    pub rate_limit_burst: Option<u32>,
    /// Calls per principal of a tool, by tool name: `"5/minute"` is a
    /// bucket of 5 calls refilled one every 12 s (units `second`, `minute`,
    /// `hour`, `day`). Anonymous callers share one bucket per tool, so these
    /// work under the local preset too. See
    /// [`McpGuard::tool_rate_limit`](crate::McpGuard::tool_rate_limit).
    #[serde(default)]
    pub tool_rate_limits: BTreeMap<String, String>,
}

/// `[guards]`: `false` switches a guard off. All default to the preset's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GuardsConfig {
    /// The Host/Origin guard.
    pub origin_guard: Option<bool>,
    /// CORS.
    pub cors: Option<bool>,
    /// The protocol guard.
    pub protocol_guard: Option<bool>,
    /// Bearer auth.
    pub bearer_auth: Option<bool>,
    /// The rate limit.
    pub rate_limit: Option<bool>,
    /// Sessions.
    pub session: Option<bool>,
    /// Resumable SSE.
    pub sse_resume: Option<bool>,
}

impl McpGuardConfig {
    /// Parses a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, McpGuardConfigError> {
        toml::from_str(text)
            .map_err(|error| McpGuardConfigError::new("config", error.to_string().trim_end()))
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, McpGuardConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| {
            McpGuardConfigError::new("config", format!("cannot read {}: {error}", path.display()))
        })?;
        Self::from_toml(&text)
    }

    /// Applies the `MCP_GUARD_*` environment variables over these settings.
    pub fn with_env(self) -> Result<Self, McpGuardConfigError> {
        self.with_env_from(|name| std::env::var(name).ok())
    }

    /// Applies `MCP_GUARD_*` variables read through `lookup` (for tests, or
    /// another source of variables).
    pub fn with_env_from(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, McpGuardConfigError> {
        if let Some(preset) = lookup("MCP_GUARD_PRESET") {
            self.preset = match preset.as_str() {
                "local" => PresetName::Local,
                "remote" => PresetName::Remote,
                other => {
                    return Err(McpGuardConfigError::new(
                        "MCP_GUARD_PRESET",
                        format!("`{other}` is not a preset: use `local` or `remote`"),
                    ));
                }
            };
        }
        let text = |name: &str, slot: &mut Option<String>| {
            if let Some(value) = lookup(name) {
                *slot = Some(value);
            }
        };
        text("MCP_GUARD_PUBLIC_URL", &mut self.public_url);
        text("MCP_GUARD_ISSUER", &mut self.auth.issuer);
        text("MCP_GUARD_JWKS_URL", &mut self.auth.jwks_url);
        text("MCP_GUARD_AUDIENCE", &mut self.auth.audience);
        number(
            &lookup,
            "MCP_GUARD_MAX_BODY_BYTES",
            &mut self.limits.max_body_bytes,
        )?;
        number(
            &lookup,
            "MCP_GUARD_RESPONSE_TIMEOUT_SECS",
            &mut self.limits.response_timeout_secs,
        )?;
        number(
            &lookup,
            "MCP_GUARD_RATE_LIMIT_PER_SECOND",
            &mut self.limits.rate_limit_per_second,
        )?;
        number(
            &lookup,
            "MCP_GUARD_RATE_LIMIT_BURST",
            &mut self.limits.rate_limit_burst,
        )?;
        Ok(self)
    }

    /// The preset builder these settings describe, to adjust further in code
    /// or [`build`](McpGuard::build) directly.
    pub fn builder(&self) -> Result<McpGuard, McpGuardConfigError> {
        self.refuse_unused_keys()?;
        let guard = self.preset_builder()?;
        #[cfg(feature = "origin-guard")]
        let guard = self.apply_allowlist(guard)?;
        let guard = self.apply_limits(guard)?;
        #[cfg(feature = "bearer-auth")]
        let guard = self.apply_auth(guard);
        #[cfg(feature = "session")]
        let guard = self.apply_session(guard);
        Ok(self.apply_switches(guard))
    }

    /// A key the chosen preset and switches would not read is an error naming
    /// it: the operator who wrote `[auth] issuer` under the local preset
    /// believes tokens are checked.
    fn refuse_unused_keys(&self) -> Result<(), McpGuardConfigError> {
        let local = self.preset == PresetName::Local;
        if local && self.public_url.is_some() {
            return Err(McpGuardConfigError::new(
                "public_url",
                "the local preset does not use it (it serves localhost): set `preset = \"remote\"` (or MCP_GUARD_PRESET=remote) to serve at a public URL",
            ));
        }
        let guards = &self.guards;
        if local && guards.bearer_auth == Some(true) {
            return Err(McpGuardConfigError::new(
                "guards.bearer_auth",
                "the local preset does not use it: it has no bearer auth to switch on; set `preset = \"remote\"`",
            ));
        }
        if local && guards.rate_limit == Some(true) {
            return Err(McpGuardConfigError::new(
                "guards.rate_limit",
                "the local preset does not use it: its rate limit keys on principals only bearer auth establishes; set `preset = \"remote\"`",
            ));
        }
        if (local || is_off(guards.bearer_auth))
            && let Some(key) = self.auth.first_set()
        {
            return Err(McpGuardConfigError::new(
                key,
                "bearer auth does not use it: the local preset has none and `[guards] bearer_auth = false` switches it off, so no token would be checked against it; set `preset = \"remote\"`, or drop the setting",
            ));
        }
        if is_off(guards.session)
            && let Some(key) = self.session.first_set()
        {
            return Err(McpGuardConfigError::new(
                key,
                "sessions do not use it: `[guards] session = false` switches them off; drop the setting or the switch",
            ));
        }
        let limits = &self.limits;
        if is_off(guards.rate_limit) && !limits.tool_rate_limits.is_empty() {
            return Err(McpGuardConfigError::new(
                "limits.tool_rate_limits",
                "the rate limit does not use it: `[guards] rate_limit = false` switches it off; drop the setting or the switch",
            ));
        }
        if is_off(guards.rate_limit)
            && (limits.rate_limit_per_second.is_some() || limits.rate_limit_burst.is_some())
        {
            return Err(McpGuardConfigError::new(
                "limits.rate_limit_per_second",
                "the rate limit does not use it: `[guards] rate_limit = false` switches it off; drop the setting or the switch",
            ));
        }
        let allowlist_set = !self.allowed_hosts.is_empty() || !self.allowed_origins.is_empty();
        if allowlist_set && is_off(guards.origin_guard) && is_off(guards.cors) {
            return Err(McpGuardConfigError::new(
                "allowed_hosts",
                "the origin guard and CORS do not use it: both are switched off in `[guards]`; drop the setting or a switch",
            ));
        }
        Ok(())
    }

    fn preset_builder(&self) -> Result<McpGuard, McpGuardConfigError> {
        match self.preset {
            PresetName::Local => Ok(McpGuard::local()),
            #[cfg(feature = "jwks")]
            PresetName::Remote => {
                let url = self.public_url.clone().ok_or_else(|| {
                    McpGuardConfigError::new(
                        "public_url",
                        "the remote preset needs the URL clients reach the server at",
                    )
                })?;
                Ok(McpGuard::remote(url))
            }
            #[cfg(not(feature = "jwks"))]
            PresetName::Remote => Err(McpGuardConfigError::new(
                "preset",
                "the remote preset needs mcp-guard's `jwks` feature",
            )),
        }
    }

    #[cfg(feature = "origin-guard")]
    fn apply_allowlist(&self, guard: McpGuard) -> Result<McpGuard, McpGuardConfigError> {
        if self.allowed_hosts.is_empty() && self.allowed_origins.is_empty() {
            return Ok(guard);
        }
        let mut builder = mcp_origin_guard::Allowlist::builder()
            .allow_hosts(self.allowed_hosts.iter().cloned())
            .allow_origins(self.allowed_origins.iter().cloned());
        builder = match &self.public_url {
            Some(url) => builder.allow_public_url(url.clone()),
            // The local preset's own patterns: localhost on any port.
            None => builder.allow_localhost(),
        };
        let allowlist = builder
            .build()
            .map_err(|error| McpGuardConfigError::new("allowed_hosts", error))?;
        Ok(guard.allowlist(allowlist))
    }

    fn apply_limits(&self, mut guard: McpGuard) -> Result<McpGuard, McpGuardConfigError> {
        let limits = &self.limits;
        if let Some(bytes) = limits.max_body_bytes {
            guard = guard.max_body_bytes(bytes);
        }
        if let Some(secs) = limits.body_read_timeout_secs {
            guard = guard.body_read_timeout(Duration::from_secs(secs));
        }
        match limits.response_timeout_secs {
            Some(0) => guard = guard.without_response_timeout(),
            Some(secs) => guard = guard.response_timeout(Duration::from_secs(secs)),
            None => {}
        }
        #[cfg(feature = "rate-limit")]
        if limits.rate_limit_per_second.is_some() || limits.rate_limit_burst.is_some() {
            let rate = limits
                .rate_limit_per_second
                .unwrap_or(crate::preset::DEFAULT_RATE_PER_SECOND);
            let burst = limits.rate_limit_burst.unwrap_or(rate);
            guard = guard.rate_limit(rate, burst);
        }
        #[cfg(feature = "rate-limit")]
        for (tool, rate) in &limits.tool_rate_limits {
            let (calls, period) = tool_rate(tool, rate)?;
            guard = guard.tool_rate_limit(tool.clone(), calls, period);
        }
        #[cfg(not(feature = "rate-limit"))]
        if let Some((tool, rate)) = limits.tool_rate_limits.iter().next() {
            tool_rate(tool, rate)?;
            return Err(McpGuardConfigError::new(
                "limits.tool_rate_limits",
                "tool rate limits need mcp-guard's `rate-limit` feature",
            ));
        }
        Ok(guard)
    }

    #[cfg(feature = "bearer-auth")]
    fn apply_auth(&self, mut guard: McpGuard) -> McpGuard {
        if self.auth.first_set().is_some() {
            let auth = &self.auth;
            if let Some(issuer) = &auth.issuer {
                guard = guard.issuer(issuer.clone());
            }
            if let Some(url) = &auth.jwks_url {
                guard = guard.jwks_url(url.clone());
            }
            if let Some(audience) = &auth.audience {
                guard = guard.audience(audience.clone());
            }
            if let Some(required) = auth.require_access_token_type {
                guard = guard.require_access_token_type(required);
            }
            if let Some(on) = auth.filter_discovery {
                guard = guard.filter_discovery(on);
            }
            let scoped = !auth.required_scopes.is_empty()
                || !auth.tool_scopes.is_empty()
                || !auth.public_tools.is_empty();
            if scoped {
                let mut policy = mcp_bearer_auth::ScopePolicy::new();
                if !auth.required_scopes.is_empty() {
                    policy = policy.require(auth.required_scopes.iter().cloned());
                }
                for (tool, scopes) in &auth.tool_scopes {
                    policy = policy.require_for_tool(tool, scopes.iter().cloned());
                }
                for tool in &auth.public_tools {
                    policy = policy.public_tool(tool);
                }
                let mut supported: Vec<String> = auth.required_scopes.clone();
                supported.extend(auth.tool_scopes.values().flatten().cloned());
                supported.sort();
                supported.dedup();
                guard = guard.scope_policy(policy);
                if !supported.is_empty() {
                    guard = guard.scopes_supported(supported);
                }
            }
        }
        guard
    }

    #[cfg(feature = "session")]
    fn apply_session(&self, mut guard: McpGuard) -> McpGuard {
        let session = &self.session;
        if let Some(secs) = session.idle_timeout_secs {
            guard = guard.session_idle_timeout(Duration::from_secs(secs));
        }
        if let Some(secs) = session.max_lifetime_secs {
            guard = guard.session_max_lifetime(Duration::from_secs(secs));
        }
        if session.max_sessions.is_some() || session.max_sessions_per_principal.is_some() {
            // The cap not set keeps its default: never "no cap".
            type Defaults =
                mcp_session::SessionGuardLayerBuilder<mcp_session::store::MemorySessionStore>;
            let overall = session
                .max_sessions
                .unwrap_or(Defaults::DEFAULT_MAX_SESSIONS);
            let per_principal = session
                .max_sessions_per_principal
                .unwrap_or(Defaults::DEFAULT_MAX_SESSIONS_PER_PRINCIPAL);
            guard = guard.max_sessions(overall, per_principal);
        }
        guard
    }

    /// The guards `[guards]` switches off.
    fn apply_switches(&self, guard: McpGuard) -> McpGuard {
        #[cfg(feature = "origin-guard")]
        let guard = match is_off(self.guards.origin_guard) {
            true => guard.without_origin_guard(),
            false => guard,
        };
        #[cfg(feature = "cors")]
        let guard = match is_off(self.guards.cors) {
            true => guard.without_cors(),
            false => guard,
        };
        #[cfg(feature = "protocol-guard")]
        let guard = match is_off(self.guards.protocol_guard) {
            true => guard.without_protocol_guard(),
            false => guard,
        };
        #[cfg(feature = "bearer-auth")]
        let guard = match is_off(self.guards.bearer_auth) {
            true => guard.without_bearer_auth(),
            false => guard,
        };
        #[cfg(feature = "rate-limit")]
        let guard = match is_off(self.guards.rate_limit) {
            true => guard.without_rate_limit(),
            false => guard,
        };
        #[cfg(feature = "session")]
        let guard = match is_off(self.guards.session) {
            true => guard.without_session(),
            false => guard,
        };
        #[cfg(feature = "sse-resume")]
        let guard = match is_off(self.guards.sse_resume) {
            true => guard.without_sse_resume(),
            false => guard,
        };
        guard
    }
}

impl AuthConfig {
    /// The first key set in `[auth]`.
    fn first_set(&self) -> Option<&'static str> {
        first_set([
            ("auth.issuer", self.issuer.is_some()),
            ("auth.jwks_url", self.jwks_url.is_some()),
            ("auth.audience", self.audience.is_some()),
            ("auth.required_scopes", !self.required_scopes.is_empty()),
            ("auth.tool_scopes", !self.tool_scopes.is_empty()),
            ("auth.public_tools", !self.public_tools.is_empty()),
            (
                "auth.require_access_token_type",
                self.require_access_token_type.is_some(),
            ),
            ("auth.filter_discovery", self.filter_discovery.is_some()),
        ])
    }
}

impl SessionConfig {
    /// The first key set in `[session]`.
    fn first_set(&self) -> Option<&'static str> {
        first_set([
            (
                "session.idle_timeout_secs",
                self.idle_timeout_secs.is_some(),
            ),
            (
                "session.max_lifetime_secs",
                self.max_lifetime_secs.is_some(),
            ),
            ("session.max_sessions", self.max_sessions.is_some()),
            (
                "session.max_sessions_per_principal",
                self.max_sessions_per_principal.is_some(),
            ),
        ])
    }
}

/// A `[limits.tool_rate_limits]` value: `"<calls>/<unit>"`, e.g.
/// `"5/minute"`, as calls per period.
fn tool_rate(tool: &str, rate: &str) -> Result<(u32, Duration), McpGuardConfigError> {
    let invalid = |why: &str| {
        McpGuardConfigError::new(
            "limits.tool_rate_limits",
            format!(
                "{tool} = \"{rate}\": {why}; write calls per second, minute, hour or day, e.g. \"5/minute\""
            ),
        )
    };
    let (calls, unit) = rate
        .split_once('/')
        .ok_or_else(|| invalid("no `/` between the calls and the unit"))?;
    let calls: u32 = calls
        .trim()
        .parse()
        .map_err(|_| invalid("the calls are not a whole number"))?;
    if calls == 0 {
        return Err(invalid(
            "zero calls would refuse every call (drop the tool's line for no limit)",
        ));
    }
    let seconds = match unit.trim() {
        "second" | "s" => 1,
        "minute" | "min" => 60,
        "hour" | "h" => 60 * 60,
        "day" | "d" => 24 * 60 * 60,
        _ => return Err(invalid("the unit is not second, minute, hour or day")),
    };
    Ok((calls, Duration::from_secs(seconds)))
}

/// Whether a `[guards]` switch says `false` (unset keeps the preset's choice).
fn is_off(switch: Option<bool>) -> bool {
    switch == Some(false)
}

fn number<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    slot: &mut Option<T>,
) -> Result<(), McpGuardConfigError> {
    if let Some(value) = lookup(name) {
        let parsed = value.trim().parse().map_err(|_| {
            McpGuardConfigError::new(
                name,
                format!("`{value}` is not a non-negative whole number"),
            )
        })?;
        *slot = Some(parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(super) const REMOTE: &str = r#"
preset = "remote"
public_url = "https://mcp.example.com/mcp"
allowed_origins = ["https://app.example.com"]

[auth]
issuer = "https://auth.example.com"
jwks_url = "https://auth.example.com/jwks.json"
required_scopes = ["mcp"]
public_tools = ["echo"]
tool_scopes = { admin_echo = ["mcp:admin"] }
require_access_token_type = true

[session]
idle_timeout_secs = 600
max_sessions = 100
max_sessions_per_principal = 4

[limits]
max_body_bytes = 65536
response_timeout_secs = 0
rate_limit_per_second = 5

[guards]
cors = false
"#;

    #[test]
    fn a_full_remote_file_builds_the_guards_it_describes() {
        let config = McpGuardConfig::from_toml(REMOTE).unwrap();
        assert_eq!(config.preset, PresetName::Remote);
        assert_eq!(config.auth.tool_scopes["admin_echo"], ["mcp:admin"]);
        let guard = config.builder().unwrap().build().unwrap();
        assert_eq!(
            guard.guards(),
            [
                "origin-guard",
                "protocol-guard",
                "bearer-auth",
                "rate-limit",
                "session",
                "sse-resume"
            ],
            "cors switched off, response timeout 0 = off"
        );
    }

    #[test]
    fn filter_discovery_turns_the_discovery_filter_on() {
        let on = REMOTE.replace(
            "require_access_token_type = true\n",
            "require_access_token_type = true\nfilter_discovery = true\n",
        );
        let guard = McpGuardConfig::from_toml(&on)
            .unwrap()
            .builder()
            .unwrap()
            .build()
            .unwrap();
        assert!(
            guard.guards().contains(&"discovery-filter"),
            "{:?}",
            guard.guards()
        );
        let off = McpGuardConfig::from_toml(REMOTE)
            .unwrap()
            .builder()
            .unwrap()
            .build()
            .unwrap();
        assert!(
            !off.guards().contains(&"discovery-filter"),
            "{:?}",
            off.guards()
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_what_to_fix() {
        let typo = McpGuardConfig::from_toml("[session]\nidle_timeout = 5\n").unwrap_err();
        assert_eq!(typo.setting(), "config");
        assert!(typo.to_string().contains("idle_timeout"), "{typo}");
        let wrong_type =
            McpGuardConfig::from_toml("[limits]\nmax_body_bytes = \"big\"\n").unwrap_err();
        assert!(
            wrong_type.to_string().contains("max_body_bytes"),
            "{wrong_type}"
        );
        let preset = McpGuardConfig::from_toml("preset = \"cloud\"\n").unwrap_err();
        assert!(preset.to_string().contains("cloud"), "{preset}");
        let no_url = McpGuardConfig::from_toml("preset = \"remote\"\n")
            .unwrap()
            .builder()
            .unwrap_err();
        assert_eq!(no_url.setting(), "public_url");
        let no_issuer =
            McpGuardConfig::from_toml("preset = \"remote\"\npublic_url = \"https://m.example\"\n")
                .unwrap()
                .builder()
                .unwrap()
                .build()
                .unwrap_err();
        assert_eq!(no_issuer.setting(), "issuer");
    }

    #[test]
    fn environment_variables_override_the_file() {
        let env = |name: &str| match name {
            "MCP_GUARD_PRESET" => Some("remote".to_owned()),
            "MCP_GUARD_PUBLIC_URL" => Some("https://env.example.com/mcp".to_owned()),
            "MCP_GUARD_ISSUER" => Some("https://auth.env.example.com".to_owned()),
            "MCP_GUARD_MAX_BODY_BYTES" => Some("1024".to_owned()),
            _ => None,
        };
        let config = McpGuardConfig::from_toml("preset = \"local\"\n")
            .unwrap()
            .with_env_from(env)
            .unwrap();
        assert_eq!(config.preset, PresetName::Remote);
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://env.example.com/mcp")
        );
        assert_eq!(config.limits.max_body_bytes, Some(1024));
        assert!(
            config
                .builder()
                .unwrap()
                .build()
                .unwrap()
                .guards()
                .contains(&"bearer-auth")
        );

        let bad = McpGuardConfig::default()
            .with_env_from(|name| (name == "MCP_GUARD_RATE_LIMIT_BURST").then(|| "-3".to_owned()))
            .unwrap_err();
        assert_eq!(bad.setting(), "MCP_GUARD_RATE_LIMIT_BURST");
    }

    #[test]
    fn a_file_is_read_and_a_missing_one_is_named() {
        let path =
            std::env::temp_dir().join(format!("mcp-guard-config-{}.toml", std::process::id()));
        std::fs::write(&path, REMOTE).unwrap();
        assert_eq!(
            McpGuardConfig::from_file(&path).unwrap().preset,
            PresetName::Remote
        );
        std::fs::remove_file(&path).unwrap();
        let missing = McpGuardConfig::from_file(&path).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
    }
}

#[cfg(all(test, feature = "origin-guard"))]
mod allowlist_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tower::{Layer, ServiceExt};

    /// Status of a POST to the guard `config` builds, with `host` (and an
    /// `origin`, when given).
    async fn status(config: &str, host: &str, origin: Option<&str>) -> u16 {
        let layer = McpGuardConfig::from_toml(config)
            .unwrap()
            .builder()
            .unwrap()
            .without_session()
            .without_sse_resume()
            .build()
            .unwrap();
        let handler = tower::service_fn(|_: http::Request<_>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            )))
        });
        let mut request = http::Request::post("/mcp")
            .header("host", host)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            )))
            .unwrap();
        layer
            .layer(handler)
            .oneshot(request)
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Allowing one more origin under the local preset keeps localhost on
    /// every port, as the preset's default does (it kept only port-less
    /// `localhost`, so every request on a port was refused).
    #[tokio::test]
    async fn extra_allowed_origins_keep_localhost_on_any_port() {
        let config = r#"allowed_origins = ["https://app.example.com"]"#;
        assert_eq!(status(config, "localhost:8080", None).await, 200);
        assert_eq!(status(config, "127.0.0.1:3000", None).await, 200);
        assert_eq!(
            status(config, "localhost:8080", Some("http://localhost:5173")).await,
            200
        );
        assert_eq!(
            status(config, "localhost:8080", Some("https://app.example.com")).await,
            200
        );
        assert_eq!(status(config, "attacker.example:8080", None).await, 403);
        assert_eq!(
            status(config, "localhost:8080", Some("https://attacker.example")).await,
            403
        );
    }
}

#[cfg(all(test, feature = "session"))]
mod session_cap_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tower::{Layer, ServiceExt};

    /// Setting only `max_sessions` keeps the per-principal cap at its default
    /// (it was raised to the overall cap).
    #[tokio::test]
    async fn setting_one_cap_leaves_the_other_at_its_default() {
        let layer = McpGuardConfig::from_toml("[session]\nmax_sessions = 40")
            .unwrap()
            .builder()
            .unwrap()
            .without_sse_resume()
            .build()
            .unwrap();
        let handler = tower::service_fn(|_: http::Request<_>| async {
            let mut response = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"t","version":"1"}}}"#,
            )));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok::<_, std::convert::Infallible>(response)
        });
        let service = layer.layer(handler);
        let alice = mcp_guard_core::Principal::new()
            .with_issuer("https://auth.example.com")
            .with_subject("alice");
        let mut statuses = Vec::new();
        for _ in 0..33 {
            let mut request = http::Request::post("/mcp")
                .header("host", "localhost:8080")
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
                )))
                .unwrap();
            request.extensions_mut().insert(alice.clone());
            let status = service.clone().oneshot(request).await.unwrap().status();
            statuses.push(status.as_u16());
        }
        assert!(
            statuses[..32].iter().all(|status| *status == 200),
            "{statuses:?}"
        );
        assert_eq!(
            statuses[32], 429,
            "the 33rd of one principal meets the default cap of 32"
        );
    }
}

/// A setting the chosen preset would not use is an error naming it: the
/// operator who wrote it believes it is in force.
#[cfg(test)]
mod unused_setting_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn refused_key(config: &str, env: &[(&str, &str)]) -> &'static str {
        let config = McpGuardConfig::from_toml(config)
            .unwrap()
            .with_env_from(|name| {
                env.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            })
            .unwrap();
        match config.builder().and_then(McpGuard::build) {
            Ok(_) => panic!("a setting the preset does not use was accepted"),
            Err(error) => {
                assert!(error.problem().contains("not use"), "says why: {error}");
                error.setting()
            }
        }
    }

    #[test]
    fn auth_settings_under_the_local_preset_are_refused() {
        let auth = "[auth]\n";
        for (line, key) in [
            ("issuer = \"https://auth.example.com\"", "auth.issuer"),
            (
                "jwks_url = \"https://auth.example.com/jwks\"",
                "auth.jwks_url",
            ),
            (
                "audience = \"https://mcp.example.com/mcp\"",
                "auth.audience",
            ),
            ("required_scopes = [\"mcp\"]", "auth.required_scopes"),
            (
                "tool_scopes = { admin = [\"mcp:admin\"] }",
                "auth.tool_scopes",
            ),
            ("public_tools = [\"echo\"]", "auth.public_tools"),
            (
                "require_access_token_type = true",
                "auth.require_access_token_type",
            ),
            ("filter_discovery = true", "auth.filter_discovery"),
        ] {
            assert_eq!(refused_key(&format!("{auth}{line}\n"), &[]), key, "{line}");
        }
    }

    #[test]
    fn auth_from_the_environment_under_the_local_preset_is_refused() {
        assert_eq!(
            refused_key("", &[("MCP_GUARD_ISSUER", "https://auth.example.com")]),
            "auth.issuer"
        );
    }

    #[test]
    fn a_public_url_under_the_local_preset_is_refused() {
        assert_eq!(
            refused_key("public_url = \"https://mcp.example.com/mcp\"\n", &[]),
            "public_url"
        );
        assert_eq!(
            refused_key(
                "",
                &[("MCP_GUARD_PUBLIC_URL", "https://mcp.example.com/mcp")]
            ),
            "public_url"
        );
    }

    #[cfg(feature = "jwks")]
    #[test]
    fn auth_settings_with_bearer_auth_switched_off_are_refused() {
        let config = r#"
preset = "remote"
public_url = "https://mcp.example.com/mcp"
[auth]
issuer = "https://auth.example.com"
[guards]
bearer_auth = false
rate_limit = false
"#;
        assert_eq!(refused_key(config, &[]), "auth.issuer");
    }

    #[test]
    fn session_settings_with_sessions_switched_off_are_refused() {
        let config = "[session]\nmax_sessions = 5\n[guards]\nsession = false\nsse_resume = false\n";
        assert_eq!(refused_key(config, &[]), "session.max_sessions");
    }

    #[cfg(feature = "jwks")]
    #[test]
    fn the_remote_preset_uses_every_auth_setting() {
        let config = McpGuardConfig::from_toml(tests::REMOTE).unwrap();
        let built = config.builder().and_then(McpGuard::build);
        assert!(built.is_ok(), "{:?}", built.err());
    }
}

#[cfg(all(test, feature = "rate-limit"))]
mod tool_rate_limit_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn refused(config: &str) -> McpGuardConfigError {
        let built = McpGuardConfig::from_toml(config)
            .and_then(|config| config.builder())
            .and_then(McpGuard::build);
        match built {
            Ok(_) => panic!("accepted: {config}"),
            Err(error) => error,
        }
    }

    #[test]
    fn a_tool_rate_is_calls_per_unit() {
        let minute = Duration::from_secs(60);
        assert_eq!(tool_rate("t", "5/minute").unwrap(), (5, minute));
        assert_eq!(tool_rate("t", " 5 / min ").unwrap(), (5, minute));
        assert_eq!(
            tool_rate("t", "100/hour").unwrap(),
            (100, Duration::from_secs(3600))
        );
        assert_eq!(tool_rate("t", "2/s").unwrap(), (2, Duration::from_secs(1)));
        assert_eq!(
            tool_rate("t", "1000/day").unwrap(),
            (1000, Duration::from_secs(86_400))
        );
    }

    #[test]
    fn bad_tool_rates_name_the_key_and_the_tool() {
        for rate in [
            "5",
            "0/minute",
            "five/minute",
            "-1/minute",
            "5/fortnight",
            "5/",
        ] {
            let config = format!("[limits.tool_rate_limits]\nexpensive_tool = \"{rate}\"\n");
            let error = refused(&config);
            assert_eq!(
                error.setting(),
                "limits.tool_rate_limits",
                "{rate}: {error}"
            );
            assert!(error.problem().contains("expensive_tool"), "{error}");
            assert!(error.problem().contains("5/minute"), "says how: {error}");
        }
        let not_a_string = McpGuardConfig::from_toml("[limits.tool_rate_limits]\nx = 5\n");
        assert!(not_a_string.is_err());
        let empty = refused("[limits.tool_rate_limits]\n\"\" = \"5/minute\"\n");
        assert_eq!(empty.setting(), "tool_rate_limit", "{empty}");
    }

    #[test]
    fn tool_rates_with_the_rate_limit_switched_off_are_refused() {
        let error = refused(
            "[limits.tool_rate_limits]\nexpensive_tool = \"5/minute\"\n[guards]\nrate_limit = false\n",
        );
        assert_eq!(error.setting(), "limits.tool_rate_limits");
        assert!(error.problem().contains("not use"), "{error}");
    }

    /// Under the local preset (no bearer auth) a tool limit stands alone and
    /// counts: the sixth call in a minute is refused, another tool passes.
    #[cfg(feature = "default")]
    #[tokio::test]
    async fn a_tool_rate_from_the_file_limits_the_tool() {
        use bytes::Bytes;
        use http::{Request, Response};
        use http_body_util::{BodyExt, Full};
        use tower::{Layer, ServiceExt};

        let config = McpGuardConfig::from_toml(
            "[limits.tool_rate_limits]\nexpensive_tool = \"5/minute\"\n\
             [guards]\nprotocol_guard = false\nsession = false\nsse_resume = false\n",
        )
        .unwrap();
        let guard = config.builder().unwrap().build().unwrap();
        assert!(
            guard.guards().contains(&"rate-limit"),
            "{:?}",
            guard.guards()
        );
        let handler = tower::service_fn(|request: Request<_>| async move {
            let body: Bytes = BodyExt::collect(request.into_body())
                .await
                .map_err(|_| "unreadable")?
                .to_bytes();
            Ok::<_, &'static str>(Response::new(Full::new(body)))
        });
        let service = guard.layer(handler);
        let call = |id: u32, tool: &str| {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}"}}}}"#
            );
            Request::post("/mcp")
                .header("host", "localhost:8080")
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        };
        for id in 1..=5 {
            let response = service.clone().oneshot(call(id, "expensive_tool")).await;
            assert_eq!(response.unwrap().status(), 200);
        }
        let refused = service.clone().oneshot(call(6, "expensive_tool")).await;
        assert_eq!(refused.unwrap().status(), 429);
        let echo = service.oneshot(call(7, "echo")).await;
        assert_eq!(echo.unwrap().status(), 200);
    }
}
