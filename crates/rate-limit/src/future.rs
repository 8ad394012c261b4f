/// Response future of [`RateLimit`](crate::RateLimit): the handler's
/// response, or the 429.
pub type ResponseFuture<F, B> = mcp_guard_core::PassOrAnswer<F, B>;
