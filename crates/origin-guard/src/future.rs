/// Response future of [`OriginGuard`](crate::OriginGuard): the handler's
/// response, or the guard's rejection.
pub type ResponseFuture<F, B> = mcp_guard_core::PassOrAnswer<F, B>;
