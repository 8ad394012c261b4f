//! [`Observe`]: the middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::exchange::Exchange;
use crate::layer::Config;
use crate::{ObserveBody, ResponseFuture};

/// Observes each request of the inner service; made by [`ObserveLayer`](crate::ObserveLayer).
#[derive(Clone)]
pub struct Observe<S> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Observe<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observe")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<ObserveBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let exchange = Box::new(Exchange::start(
            self.config.clone(),
            request.method(),
            request.headers(),
        ));
        request.extensions_mut().insert(exchange.trail.clone());
        // The whole stack runs inside the span: its guards' logs carry the
        // request's attributes.
        let inner = {
            let _entered = exchange.entered();
            self.inner.call(request)
        };
        ResponseFuture::new(inner, exchange)
    }
}
