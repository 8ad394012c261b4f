//! The response body: the handler's, passed through untouched; a JSON list
//! answer, buffered (bounded) and filtered; an event stream whose list answer
//! is filtered event by event; or an answer of the filter's own.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::filter::{Target, Unfilterable};
use super::sse::{Events, NotJson, data_event, filter_event};

pin_project! {
    /// The body of a response through [`DiscoveryFilter`](super::DiscoveryFilter):
    /// every answer but a discovery list's is the handler's body, untouched.
    #[derive(Debug)]
    pub struct DiscoveryBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Pass { #[pin] body: B },
        // A list answer's filtering state is boxed (with the request's
        // `Target`, one allocation per list request): every response through
        // the stack carries this body type, and the state inline made it
        // 184 bytes larger, copied at each layer on the way out.
        Json { #[pin] body: B, filtering: Box<Filtering> },
        Sse { #[pin] body: B, filtering: Box<Filtering> },
        Answer { bytes: Option<Bytes> },
    }
}

/// What a list request's answer is filtered for, and how far its body is.
#[derive(Debug)]
pub(crate) struct Filtering {
    pub(crate) target: Target,
    /// A JSON answer, held whole until it ends.
    held: BytesMut,
    /// An event stream, split into events.
    events: Events,
    /// Events filtered, to be sent.
    ready: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    /// The inner body is not polled again.
    ended: bool,
}

impl Filtering {
    /// `target`'s filtering, nothing read yet.
    pub(crate) fn boxed(target: Target) -> Box<Filtering> {
        Box::new(Filtering {
            target,
            held: BytesMut::new(),
            events: Events::default(),
            ready: VecDeque::new(),
            trailers: None,
            ended: false,
        })
    }
}

impl<B> DiscoveryBody<B> {
    pub(crate) fn pass(body: B) -> Self {
        DiscoveryBody {
            kind: Kind::Pass { body },
        }
    }

    pub(crate) fn json(body: B, filtering: Box<Filtering>) -> Self {
        DiscoveryBody {
            kind: Kind::Json { body, filtering },
        }
    }

    pub(crate) fn sse(body: B, filtering: Box<Filtering>) -> Self {
        DiscoveryBody {
            kind: Kind::Sse { body, filtering },
        }
    }

    pub(crate) fn answer(bytes: Bytes) -> Self {
        DiscoveryBody {
            kind: Kind::Answer { bytes: Some(bytes) },
        }
    }
}

/// Logs an answer withheld because it could not be filtered: the operator's
/// to act on (raise the limit, fix the handler).
fn withheld(target: &Target, why: Unfilterable) -> Bytes {
    tracing::warn!(
        reason = why.reason(),
        max_list_bytes = target.settings.max_list_bytes,
        "discovery filter withheld a list answer it could not filter"
    );
    target.unfilterable(why)
}

impl<B> Body for DiscoveryBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Pass { body } => body.poll_frame(cx),
            KindProj::Answer { bytes } => {
                Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes))))
            }
            KindProj::Json {
                mut body,
                filtering,
            } => loop {
                let Filtering {
                    target,
                    held,
                    trailers,
                    ended,
                    ..
                } = &mut **filtering;
                if *ended {
                    return Poll::Ready(
                        trailers
                            .take()
                            .map(|trailers| Ok(Frame::trailers(trailers))),
                    );
                }
                match ready!(body.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => {
                            if held.len() + data.len() > target.settings.max_list_bytes {
                                // Fail closed: never the unfiltered list.
                                *ended = true;
                                *trailers = None;
                                let error = withheld(target, Unfilterable::TooLarge);
                                return Poll::Ready(Some(Ok(Frame::data(error))));
                            }
                            held.extend_from_slice(&data);
                        }
                        Err(frame) => *trailers = frame.into_trailers().ok(),
                    },
                    Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                    None => {
                        *ended = true;
                        let held = held.split().freeze();
                        let filtered = if held.is_empty() {
                            // Nothing listed, nothing to filter.
                            continue;
                        } else {
                            match target.filter_json(&held) {
                                Ok(Some(filtered)) => Bytes::from(filtered),
                                // Holds no list: as it came.
                                Ok(None) => held,
                                Err(_) => withheld(target, Unfilterable::NotJson),
                            }
                        };
                        return Poll::Ready(Some(Ok(Frame::data(filtered))));
                    }
                }
            },
            KindProj::Sse {
                mut body,
                filtering,
            } => loop {
                let Filtering {
                    target,
                    events,
                    ready,
                    trailers,
                    ended,
                    ..
                } = &mut **filtering;
                if let Some(bytes) = ready.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                if *ended {
                    return Poll::Ready(
                        trailers
                            .take()
                            .map(|trailers| Ok(Frame::trailers(trailers))),
                    );
                }
                let eof = match ready!(body.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => {
                            events.push(&data);
                            false
                        }
                        Err(frame) => {
                            *trailers = frame.into_trailers().ok();
                            *ended = true;
                            true
                        }
                    },
                    Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                    None => {
                        *ended = true;
                        true
                    }
                };
                // Every event is read to the end of the stream: which event
                // holds a list is told by its data, never by an id.
                let limit = target.settings.max_list_bytes;
                let mut unfilterable = None;
                while let Some(event) = events.next_event(eof) {
                    if event.len() > limit {
                        unfilterable = Some(Unfilterable::TooLarge);
                        break;
                    }
                    match filter_event(&event, target) {
                        Ok(Some(filtered)) => ready.push_back(filtered),
                        Ok(None) => ready.push_back(event),
                        Err(NotJson) => {
                            unfilterable = Some(Unfilterable::NotJson);
                            break;
                        }
                    }
                }
                if unfilterable.is_none() && events.held() > limit {
                    unfilterable = Some(Unfilterable::TooLarge);
                }
                if let Some(why) = unfilterable {
                    // Fail closed: an event too large or not JSON may hold a
                    // list; the caller gets an error in its place, and the
                    // stream ends.
                    let error = withheld(target, why);
                    ready.push_back(data_event(&error));
                    *ended = true;
                    *trailers = None;
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Pass { body } => body.is_end_stream(),
            Kind::Answer { bytes } => bytes.is_none(),
            Kind::Json { filtering, .. } | Kind::Sse { filtering, .. } => {
                filtering.ended && filtering.ready.is_empty() && filtering.trailers.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Pass { body } => body.size_hint(),
            Kind::Answer { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
            }
            // Filtering changes the length.
            Kind::Json { .. } | Kind::Sse { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;
    use mcp_guard_test_support::memory::assert_wraps_in_words;

    use super::*;

    /// Every response through the filter carries this body, moved at each
    /// layer on its way out: a list's filtering state is boxed, so the body
    /// is the handler's and a pointer (inline, it was 184 bytes more).
    #[test]
    fn the_body_is_the_handlers_and_a_pointer() {
        assert_wraps_in_words::<DiscoveryBody<Full<Bytes>>, Full<Bytes>>(2);
    }
}
