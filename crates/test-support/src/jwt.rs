//! HS256 test tokens: what every test of a bearer-token stack mints.
//!
//! ```
//! use mcp_guard_test_support::jwt::{hs256_token, unix_now};
//! use serde_json::json;
//!
//! let claims = json!({"iss": "https://auth.example.com", "sub": "alice", "exp": unix_now() + 600});
//! let token = hs256_token(&claims, b"a test secret that is 32+ bytes long");
//! assert_eq!(token.split('.').count(), 3);
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Seconds since the Unix epoch, the unit of `exp`, `nbf` and `iat`.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_secs()
}

/// `claims` signed with `secret` (HS256, header `{"alg":"HS256","typ":"JWT"}`).
pub fn hs256_token(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret).expect("an HMAC key"),
    )
    .expect("the claims serialize")
}
