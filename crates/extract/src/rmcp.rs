//! `Authenticated` as an rmcp tool and prompt parameter.

use mcp_guard_core::Principal;
use rmcp::ErrorData;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};

use crate::{Authenticated, NO_PRINCIPAL};

/// rmcp's Streamable HTTP server puts the HTTP request's `Parts` in the
/// request context's extensions; bearer auth put the principal in theirs.
impl<C: AsRequestContext> FromContextPart<C> for Authenticated {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        context
            .as_request_context()
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Principal>())
            .map(|principal| Authenticated(principal.clone()))
            .ok_or_else(|| ErrorData::invalid_request(NO_PRINCIPAL, None))
    }
}
