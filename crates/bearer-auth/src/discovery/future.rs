//! The response future: the handler's future, and what the filter does with
//! its response once it is there.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Response};
use http_body::Body;
use mcp_guard_core::sse::is_event_stream;
use pin_project_lite::pin_project;

use super::body::{DiscoveryBody, Filtering};
use super::filter::{Target, Unfilterable};

pin_project! {
    /// Response future of [`DiscoveryFilter`](super::DiscoveryFilter): the
    /// handler's future; for a list request, its answer's body is wrapped to
    /// be filtered. Nothing boxed beyond the list request's own state.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        // `None`: not a list request; the response passes untouched.
        pub(crate) filtering: Option<Box<Filtering>>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    type Output = Result<Response<DiscoveryBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let Some(filtering) = this.filtering.take() else {
            return Poll::Ready(Ok(response.map(DiscoveryBody::pass)));
        };
        Poll::Ready(Ok(filtered(response, filtering)))
    }
}

/// The list answer `response`, its body to be filtered: an event stream
/// event by event, a JSON answer whole (bounded); anything else (an error
/// status, another type) carries no list a client reads and passes. A
/// successful answer the filter cannot read (compressed, or declared too
/// large) is refused in its place.
fn filtered<B: Body<Data = Bytes>>(
    mut response: Response<B>,
    filtering: Box<Filtering>,
) -> Response<DiscoveryBody<B>> {
    let target = &filtering.target;
    if is_encoded(&response) {
        if !response.status().is_success() {
            return response.map(DiscoveryBody::pass);
        }
        // The request went on without `Accept-Encoding`; a compressed
        // answer all the same cannot be read, so it is not passed.
        return refused(target, Unfilterable::Encoded);
    }
    if is_event_stream(&response) {
        response.headers_mut().remove(CONTENT_LENGTH);
        return response.map(|body| DiscoveryBody::sse(body, filtering));
    }
    if !response.status().is_success() || !is_json(&response) {
        return response.map(DiscoveryBody::pass);
    }
    let limit = target.settings.max_list_bytes as u64;
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared
        .unwrap_or(0)
        .max(response.body().size_hint().lower())
        > limit
    {
        // Known too large before reading it.
        return refused(target, Unfilterable::TooLarge);
    }
    response.headers_mut().remove(CONTENT_LENGTH);
    response.map(|body| DiscoveryBody::json(body, filtering))
}

/// The filter's own answer in place of the handler's: `502`, the rejection
/// extension naming the filter, and one JSON-RPC error per list request of
/// the body (a batch: an array). None of the handler's headers are kept.
fn refused<B>(target: &Target, why: Unfilterable) -> Response<DiscoveryBody<B>> {
    let errors = target.unfilterable(why);
    match target.refusal(why) {
        Some(error) => {
            error.log_refusal(&Method::POST);
            error.into_response_with(|_| DiscoveryBody::answer(errors))
        }
        // A target holds at least one list request; were it to hold none,
        // the answer is still withheld.
        None => {
            let mut response = Response::new(DiscoveryBody::answer(errors));
            *response.status_mut() = http::StatusCode::BAD_GATEWAY;
            response
        }
    }
}

/// Whether the response's body is encoded (`Content-Encoding` naming a
/// coding other than `identity`, or unreadable).
fn is_encoded<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get_all(CONTENT_ENCODING)
        .iter()
        .any(|value| match value.to_str() {
            Ok(codings) => codings
                .split(',')
                .map(str::trim)
                .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity")),
            Err(_) => true,
        })
}

/// Whether the response says its body is JSON.
fn is_json<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().get(.."application/json".len()))
        .is_some_and(|start| start.eq_ignore_ascii_case("application/json"))
}
