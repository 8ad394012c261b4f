use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use crate::GuardBody;

pin_project! {
    /// The response future of a guard that either lets the request through
    /// (the handler's response, its body wrapped in [`GuardBody`]) or
    /// answers it at once itself (a rejection): the origin guard, the rate
    /// limit.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::Response;
    /// use http_body_util::Full;
    /// use mcp_guard_core::{PassOrAnswer, GuardBody};
    ///
    /// # tokio_test_block_on(async {
    /// let handler = async { Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"ok")))) };
    /// let passed = PassOrAnswer::pass(handler).await.unwrap();
    /// assert!(!passed.body().is_full());
    /// let answer: Response<GuardBody<Full<Bytes>>> = Response::new(GuardBody::full(Bytes::from_static(b"{}")));
    /// let answered = PassOrAnswer::<std::future::Pending<Result<_, std::convert::Infallible>>, _>::answer(answer)
    ///     .await
    ///     .unwrap();
    /// assert!(answered.body().is_full());
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct PassOrAnswer<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F, B> {
        Pass { #[pin] future: F },
        Answer { response: Option<Response<GuardBody<B>>> },
    }
}

impl<F, B> PassOrAnswer<F, B> {
    /// The handler's response, when it comes.
    pub fn pass(future: F) -> Self {
        PassOrAnswer {
            kind: Kind::Pass { future },
        }
    }

    /// The guard's own answer, at once.
    pub fn answer(response: Response<GuardBody<B>>) -> Self {
        PassOrAnswer {
            kind: Kind::Answer {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for PassOrAnswer<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<GuardBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Pass { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(GuardBody::new)))
            }
            KindProj::Answer { response } => {
                #[allow(clippy::expect_used)]
                // Polling a completed future breaks the Future contract.
                let response = response
                    .take()
                    .expect("PassOrAnswer polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}
