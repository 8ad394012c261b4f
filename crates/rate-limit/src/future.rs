/// Response future of [`RateLimit`](crate::RateLimit): the handler's
/// response, or the 429 (the guard kit's one future; `S` is the inner
/// service, `B` the request body it takes).
pub type ResponseFuture<S, B> = mcp_guard_core::GuardFuture<S, B>;
