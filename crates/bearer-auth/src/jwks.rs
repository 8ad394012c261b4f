//! JWKS: keys fetched from the authorization server, cached, refreshed when a
//! token names a key we do not know (at most once per interval, one fetch in
//! flight), kept when a refresh fails.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::jwt::KeyEntry;
use crate::verifier::VerifyError;

/// How long keys are trusted without `Cache-Control: max-age`, and at most.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);
const LONGEST_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

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
    fetched_at: Option<Instant>,
    max_age: Duration,
    jwks_uri: Option<String>,
    /// The last fetch an unknown `kid` caused: at most one per interval.
    forced_at: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct JwksCache {
    location: JwksLocation,
    client: reqwest::Client,
    fetched: RwLock<Fetched>,
    /// Held while fetching: one fetch in flight.
    fetching: Mutex<()>,
    min_refresh: Duration,
}

impl JwksCache {
    pub(crate) fn new(location: JwksLocation, min_refresh: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        JwksCache {
            location,
            client,
            fetched: RwLock::new(Fetched::default()),
            fetching: Mutex::new(()),
            min_refresh,
        }
    }

    /// The keys that may verify a token naming `kid`.
    pub(crate) async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<KeyEntry>, VerifyError> {
        {
            let fetched = self.fetched.read().await;
            let fresh = fetched
                .fetched_at
                .is_some_and(|at| at.elapsed() < fetched.max_age);
            let found = matching(&fetched.keys, kid);
            if fresh && !found.is_empty() {
                return Ok(found);
            }
        }
        self.refresh(kid).await
    }

    async fn refresh(&self, kid: Option<&str>) -> Result<Vec<KeyEntry>, VerifyError> {
        let _one_at_a_time = self.fetching.lock().await;
        let forced = {
            // Another request may have refreshed while this one waited.
            let fetched = self.fetched.read().await;
            let found = matching(&fetched.keys, kid);
            let fresh = fetched
                .fetched_at
                .is_some_and(|at| at.elapsed() < fetched.max_age);
            if !found.is_empty() && fresh {
                return Ok(found);
            }
            // A kid the fresh keys lack: fetch again, at most once per interval,
            // so a flood of forged kids cannot stampede the issuer.
            let forced = fresh && found.is_empty();
            if forced
                && fetched
                    .forced_at
                    .is_some_and(|at| at.elapsed() < self.min_refresh)
            {
                return Err(VerifyError::Invalid(
                    "it names a key this server does not know".into(),
                ));
            }
            forced
        };
        match self.fetch().await {
            Ok((keys, max_age, jwks_uri)) => {
                let mut fetched = self.fetched.write().await;
                let forced_at = if forced {
                    Some(Instant::now())
                } else {
                    fetched.forced_at
                };
                *fetched = Fetched {
                    keys,
                    fetched_at: Some(Instant::now()),
                    max_age,
                    jwks_uri: Some(jwks_uri),
                    forced_at,
                };
                let found = matching(&fetched.keys, kid);
                if found.is_empty() {
                    return Err(VerifyError::Invalid(
                        "it names a key this server does not know".into(),
                    ));
                }
                Ok(found)
            }
            Err(reason) => {
                let mut fetched = self.fetched.write().await;
                // Stale keys stay usable while the issuer is unreachable.
                let found = matching(&fetched.keys, kid);
                if fetched.fetched_at.is_some() {
                    // Do not retry on every request while it is down.
                    fetched.fetched_at = Some(Instant::now());
                    fetched.max_age = self.min_refresh;
                }
                tracing::warn!(%reason, "JWKS refresh failed; cached keys stay in use");
                if found.is_empty() {
                    return Err(VerifyError::Unavailable {
                        reason,
                        retry_after: self.min_refresh.max(Duration::from_secs(1)),
                    });
                }
                Ok(found)
            }
        }
    }

    async fn fetch(&self) -> Result<(Vec<KeyEntry>, Duration, String), String> {
        let jwks_uri = match &self.location {
            JwksLocation::Url(url) => url.clone(),
            JwksLocation::Discover(issuer) => match self.fetched.read().await.jwks_uri.clone() {
                Some(known) => known,
                None => self.discover(issuer).await?,
            },
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
        Ok((keys, max_age, jwks_uri))
    }

    /// RFC 8414 first (`/.well-known/oauth-authorization-server` inserted
    /// before the issuer's path), then OpenID Connect discovery.
    async fn discover(&self, issuer: &str) -> Result<String, String> {
        for url in metadata_urls(issuer) {
            let Ok(response) = self.client.get(&url).send().await else {
                continue;
            };
            if !response.status().is_success() {
                continue;
            }
            let Ok(document) = response.json_value().await else {
                continue;
            };
            if document.get("issuer").and_then(|value| value.as_str()) != Some(issuer) {
                return Err(format!("{url} describes another issuer"));
            }
            if let Some(jwks_uri) = document.get("jwks_uri").and_then(|value| value.as_str()) {
                return Ok(jwks_uri.to_owned());
            }
        }
        Err(format!(
            "no authorization server metadata with a jwks_uri found for {issuer}"
        ))
    }
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
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{trimmed}/.well-known/openid-configuration"),
    ]
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
