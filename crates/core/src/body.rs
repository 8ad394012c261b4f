use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

pin_project! {
    /// The body every mcp-guard layer hands on, requests and responses alike:
    /// either the inner body passed through untouched (the client's request
    /// body, the handler's response body), or complete bytes a layer holds
    /// itself (a request body it read to peek at the envelope, a rejection).
    ///
    /// Generic over the handler's body `B`, so a layer works in front of axum,
    /// hyper and tonic-style services without boxing.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body::Body;
    /// use http_body_util::{BodyExt, Full};
    /// use mcp_guard_core::GuardBody;
    ///
    /// # tokio_test_block_on(async {
    /// let passed_through = GuardBody::new(Full::new(Bytes::from_static(b"from the handler")));
    /// let produced: GuardBody<Full<Bytes>> = GuardBody::full(Bytes::from_static(b"{}"));
    /// assert_eq!(produced.size_hint().exact(), Some(2));
    /// let bytes = passed_through.collect().await.unwrap().to_bytes();
    /// assert_eq!(bytes, "from the handler");
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct GuardBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Full { body: Full<Bytes> },
    }
}

impl<B> GuardBody<B> {
    /// Wraps the handler's body.
    pub fn new(body: B) -> Self {
        GuardBody {
            kind: Kind::Inner { body },
        }
    }

    /// A complete body produced by a layer.
    pub fn full(bytes: Bytes) -> Self {
        GuardBody {
            kind: Kind::Full {
                body: Full::new(bytes),
            },
        }
    }

    /// Changes the inner body's type with `wrap` (a layer that wraps the
    /// handler's body in its own, say); bytes a layer holds stay as they are.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{Full, Limited};
    /// use mcp_guard_core::GuardBody;
    ///
    /// let passed = GuardBody::new(Full::new(Bytes::from_static(b"x")));
    /// let limited: GuardBody<Limited<Full<Bytes>>> = passed.map_inner(|body| Limited::new(body, 16));
    /// assert!(!limited.is_full());
    /// let held: GuardBody<Full<Bytes>> = GuardBody::full(Bytes::from_static(b"{}"));
    /// assert!(held.map_inner(|body| Limited::new(body, 16)).is_full());
    /// ```
    pub fn map_inner<C>(self, wrap: impl FnOnce(B) -> C) -> GuardBody<C> {
        match self.kind {
            Kind::Inner { body } => GuardBody::new(wrap(body)),
            Kind::Full { body } => GuardBody {
                kind: Kind::Full { body },
            },
        }
    }

    /// Whether a layer holds these bytes itself (a buffered request body, a
    /// rejection) rather than passing the inner body on.
    pub fn is_full(&self) -> bool {
        matches!(self.kind, Kind::Full { .. })
    }
}

impl<B> Default for GuardBody<B> {
    fn default() -> Self {
        GuardBody::full(Bytes::new())
    }
}

impl<B> Body for GuardBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Full { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { body } => body.size_hint(),
        }
    }
}
