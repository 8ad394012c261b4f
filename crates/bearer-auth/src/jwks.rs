//! JWKS: keys fetched from the authorization server, cached, refreshed when a
//! token names a key we do not know (at most once per interval, one fetch in
//! flight), kept when a refresh fails.
//!
//! One attempt at a time, and its outcome is shared: requests that need a
//! fetch queue on `fetching`; the first fetches, and the others, once they
//! hold the lock, see that an attempt finished while they waited (the attempt
//! count moved) and take its outcome (its keys, or a 503) instead of fetching
//! again. A failed attempt is recorded even before any success, and nobody asks
//! the issuer again until `min_refresh` has passed: meanwhile stale keys keep
//! working and requests without a key get 503 with a `Retry-After` that says
//! when the next attempt is allowed. So an unreachable issuer costs one fetch
//! timeout per interval, not one per queued request.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::jwt::KeyEntry;
use crate::verifier::VerifyError;

/// How long keys are trusted without `Cache-Control: max-age`, and at most.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);
const LONGEST_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest one attempt (discovery and JWKS fetch) may take, unless
/// configured with [`JwtVerifierBuilder::jwks_fetch_timeout`](crate::JwtVerifierBuilder::jwks_fetch_timeout).
pub const DEFAULT_JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the keys are.
#[derive(Debug, Clone)]
pub(crate) enum JwksLocation {
    Url(String),
    /// The issuer: its RFC 8414 / OpenID metadata names `jwks_uri`.
    Discover(String),
}

#[derive(Debug, Default)]
struct Fetched {
    keys: Vec<KeyEntry>,
    /// The last successful fetch.
    fetched_at: Option<Instant>,
    max_age: Duration,
    /// Discovered once, then reused (even when the JWKS fetch itself failed).
    jwks_uri: Option<String>,
    /// The last fetch an unknown `kid` caused: at most one per interval.
    forced_at: Option<Instant>,
    /// The latest attempt, when it failed; `None` once one succeeds.
    failed: Option<Failure>,
    /// Attempts finished so far: a request that waited for the fetch lock
    /// compares it with what it saw before waiting.
    attempts: u64,
}

#[derive(Debug)]
struct Failure {
    at: Instant,
    /// Logged only.
    reason: String,
}

/// What one successful attempt brings.
struct KeySet {
    keys: Vec<KeyEntry>,
    max_age: Duration,
}

#[derive(Debug)]
pub(crate) struct JwksCache {
    location: JwksLocation,
    client: reqwest::Client,
    fetched: RwLock<Fetched>,
    /// Held while fetching: one attempt in flight.
    fetching: Mutex<()>,
    min_refresh: Duration,
    fetch_timeout: Duration,
}

impl JwksCache {
    pub(crate) fn new(
        location: JwksLocation,
        min_refresh: Duration,
        fetch_timeout: Duration,
    ) -> Self {
        JwksCache {
            location,
            client: reqwest::Client::builder().build().unwrap_or_default(),
            fetched: RwLock::new(Fetched::default()),
            fetching: Mutex::new(()),
            min_refresh,
            fetch_timeout,
        }
    }

    /// The keys that may verify a token naming `kid`.
    pub(crate) async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<KeyEntry>, VerifyError> {
        let seen = {
            let fetched = self.fetched.read().await;
            if let Some(answer) = self.without_fetching(&fetched, kid) {
                return answer;
            }
            fetched.attempts
        };
        self.refresh(kid, seen).await
    }

    /// The answer when the issuer need not (or must not yet) be asked.
    fn without_fetching(
        &self,
        fetched: &Fetched,
        kid: Option<&str>,
    ) -> Option<Result<Vec<KeyEntry>, VerifyError>> {
        let found = matching(&fetched.keys, kid);
        let fresh = fetched
            .fetched_at
            .is_some_and(|at| at.elapsed() < fetched.max_age);
        if fresh && !found.is_empty() {
            return Some(Ok(found));
        }
        // The issuer failed moments ago: do not ask it again yet.
        let cooling_down = fetched
            .failed
            .as_ref()
            .filter(|failure| failure.at.elapsed() < self.min_refresh);
        if let Some(failure) = cooling_down {
            return Some(self.after_failure(found, failure));
        }
        // A kid the fresh keys lack: fetch again at most once per interval,
        // so a flood of forged kids cannot stampede the issuer.
        if fresh
            && fetched
                .forced_at
                .is_some_and(|at| at.elapsed() < self.min_refresh)
        {
            return Some(Err(unknown_key()));
        }
        None
    }

    /// Fetches, unless an attempt finished since this request saw `seen`
    /// attempts: then that attempt's outcome is this request's too.
    async fn refresh(&self, kid: Option<&str>, seen: u64) -> Result<Vec<KeyEntry>, VerifyError> {
        let _one_at_a_time = self.fetching.lock().await;
        let forced = {
            let fetched = self.fetched.read().await;
            if fetched.attempts != seen {
                return self.outcome(&fetched, kid);
            }
            let fresh = fetched
                .fetched_at
                .is_some_and(|at| at.elapsed() < fetched.max_age);
            fresh && matching(&fetched.keys, kid).is_empty()
        };
        // One bound on the whole attempt, discovery included: requests wait
        // for it. (A cancelled attempt finishes nothing; the next waiter
        // then makes its own.)
        let attempt = tokio::time::timeout(self.fetch_timeout, self.fetch())
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.fetch_timeout)));
        let mut fetched = self.fetched.write().await;
        fetched.attempts += 1;
        let now = Instant::now();
        match attempt {
            Ok(KeySet { keys, max_age }) => {
                fetched.keys = keys;
                fetched.fetched_at = Some(now);
                fetched.max_age = max_age;
                fetched.failed = None;
                if forced {
                    fetched.forced_at = Some(now);
                }
            }
            Err(reason) => {
                tracing::warn!(
                    %reason,
                    next_attempt_in = ?self.min_refresh,
                    "JWKS fetch failed; cached keys, if any, stay in use until the next attempt"
                );
                fetched.failed = Some(Failure { at: now, reason });
            }
        }
        self.outcome(&fetched, kid)
    }

    /// The answer right after an attempt: its keys, or (it failed) the
    /// cached keys or a 503.
    fn outcome(&self, fetched: &Fetched, kid: Option<&str>) -> Result<Vec<KeyEntry>, VerifyError> {
        let found = matching(&fetched.keys, kid);
        match &fetched.failed {
            Some(failure) => self.after_failure(found, failure),
            None if found.is_empty() => Err(unknown_key()),
            None => Ok(found),
        }
    }

    /// Stale keys stay usable while the issuer is unreachable; without one,
    /// 503 until the next attempt is allowed.
    fn after_failure(
        &self,
        found: Vec<KeyEntry>,
        failure: &Failure,
    ) -> Result<Vec<KeyEntry>, VerifyError> {
        if !found.is_empty() {
            return Ok(found);
        }
        let next_attempt = self.min_refresh.saturating_sub(failure.at.elapsed());
        Err(VerifyError::Unavailable {
            reason: failure.reason.clone(),
            retry_after: whole_seconds(next_attempt),
        })
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let jwks_uri = match &self.location {
            JwksLocation::Url(url) => url.clone(),
            JwksLocation::Discover(issuer) => {
                let known = self.fetched.read().await.jwks_uri.clone();
                match known {
                    Some(known) => known,
                    None => {
                        let found = self.discover(issuer).await?;
                        self.fetched.write().await.jwks_uri = Some(found.clone());
                        found
                    }
                }
            }
        };
        let response = self
            .client
            .get(&jwks_uri)
            .send()
            .await
            .map_err(|error| format!("GET {jwks_uri}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {jwks_uri}: {}", response.status()));
        }
        let max_age = max_age(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|error| format!("GET {jwks_uri}: {error}"))?;
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|error| format!("{jwks_uri} is not a JWKS: {error}"))?;
        let keys = set.keys.iter().filter_map(KeyEntry::from_jwk).collect();
        Ok(KeySet { keys, max_age })
    }

    /// RFC 8414 first (`/.well-known/oauth-authorization-server` inserted
    /// before the issuer's path), then OpenID Connect discovery.
    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let mut tried = Vec::new();
        for url in metadata_urls(issuer) {
            let response = match self.client.get(&url).send().await {
                Ok(response) if response.status().is_success() => response,
                Ok(response) => {
                    tried.push(format!("{url}: {}", response.status()));
                    continue;
                }
                Err(error) => {
                    tried.push(format!("{url}: {error}"));
                    continue;
                }
            };
            let Ok(document) = response.json_value().await else {
                tried.push(format!("{url}: not JSON"));
                continue;
            };
            if document.get("issuer").and_then(|value| value.as_str()) != Some(issuer) {
                return Err(format!("{url} describes another issuer"));
            }
            if let Some(jwks_uri) = document.get("jwks_uri").and_then(|value| value.as_str()) {
                return Ok(jwks_uri.to_owned());
            }
            tried.push(format!("{url}: no jwks_uri"));
        }
        Err(format!(
            "no authorization server metadata with a jwks_uri found for {issuer} ({})",
            tried.join("; ")
        ))
    }
}

fn unknown_key() -> VerifyError {
    VerifyError::Invalid("it names a key this server does not know".into())
}

/// `Retry-After` counts whole seconds: round up (and wait at least one), so
/// a client that waits that long finds the next attempt allowed.
fn whole_seconds(wait: Duration) -> Duration {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Duration::from_secs(seconds.max(1))
}

trait JsonValue {
    async fn json_value(self) -> Result<serde_json::Value, ()>;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Result<serde_json::Value, ()> {
        let bytes = self.bytes().await.map_err(|_| ())?;
        serde_json::from_slice(&bytes).map_err(|_| ())
    }
}

/// The metadata URLs to try for an issuer.
pub(crate) fn metadata_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let after_scheme = trimmed.find("://").map_or(0, |index| index + 3);
    let path_start = trimmed[after_scheme..]
        .find('/')
        .map_or(trimmed.len(), |index| after_scheme + index);
    let (origin, path) = trimmed.split_at(path_start);
    let mut urls = vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{trimmed}/.well-known/openid-configuration"),
    ];
    // Without a path the two OpenID forms are one URL: ask it once.
    urls.dedup();
    urls
}

fn matching(keys: &[KeyEntry], kid: Option<&str>) -> Vec<KeyEntry> {
    keys.iter()
        .filter(|entry| kid.is_none() || entry.kid.is_none() || entry.kid.as_deref() == kid)
        .cloned()
        .collect()
}

fn max_age(headers: &http::HeaderMap) -> Duration {
    headers
        .get(http::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value.split(',').find_map(|directive| {
                directive
                    .trim()
                    .strip_prefix("max-age=")
                    .and_then(|seconds| seconds.parse::<u64>().ok())
            })
        })
        .map_or(DEFAULT_MAX_AGE, |seconds| {
            Duration::from_secs(seconds).min(LONGEST_MAX_AGE)
        })
}
