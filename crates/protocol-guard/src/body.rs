use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use serde_json::Value;

use mcp_guard_core::sse::event_data;

use crate::param_headers::ParamHeaderRegistry;

/// The most of a `tools/list` response that is kept to learn annotations from;
/// a longer response passes through untouched and teaches nothing.
pub(crate) const MAX_OBSERVED_BYTES: usize = 1024 * 1024;

pin_project! {
    /// The handler's response body, passed through byte for byte. For a
    /// `tools/list` response it also keeps a bounded copy and, at its end, learns
    /// the tools' `x-mcp-header` annotations from it.
    #[derive(Debug)]
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        // Boxed: every response through the guard carries this body type, and
        // the watch inline (48 bytes) was copied with it at each layer on
        // the way out; only a watched `tools/list` answer pays the box.
        watch: Option<Box<Watch>>,
    }
}

#[derive(Debug)]
struct Watch {
    registry: Arc<ParamHeaderRegistry>,
    copy: BytesMut,
    is_event_stream: bool,
}

impl<B> ObservedBody<B> {
    /// The handler's body, passed through without observing it: what the
    /// guard hands on for every response but a watched `tools/list` result,
    /// and what a [disabled](crate::ProtocolGuardLayer::disabled) guard hands on.
    pub fn passthrough(inner: B) -> Self {
        ObservedBody { inner, watch: None }
    }

    pub(crate) fn watching(
        inner: B,
        registry: Arc<ParamHeaderRegistry>,
        is_event_stream: bool,
    ) -> Self {
        let watch = Watch {
            registry,
            copy: BytesMut::new(),
            is_event_stream,
        };
        ObservedBody {
            inner,
            watch: Some(Box::new(watch)),
        }
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(watch), Some(data)) = (this.watch.as_mut(), frame.data_ref()) {
                    if watch.copy.len() + data.remaining() <= MAX_OBSERVED_BYTES {
                        watch.copy.extend_from_slice(data);
                    } else {
                        *this.watch = None;
                    }
                }
            }
            Some(Err(_)) => *this.watch = None,
            None => {
                if let Some(watch) = this.watch.take() {
                    watch.learn();
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Watch {
    fn learn(&self) {
        if self.is_event_stream {
            let text = String::from_utf8_lossy(&self.copy);
            for data in event_data(&text) {
                self.learn_from_message(data.as_bytes());
            }
        } else {
            self.learn_from_message(&self.copy);
        }
    }

    fn learn_from_message(&self, json: &[u8]) {
        if let Ok(message) = serde_json::from_slice::<Value>(json)
            && let Some(result) = message.get("result")
        {
            self.registry.learn_from_result(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;
    use mcp_guard_test_support::memory::assert_wraps_in_words;

    use super::*;

    /// Every response through the guard carries this body, moved at each
    /// layer on its way out: the `tools/list` watch is boxed, so the body is
    /// the handler's and a pointer.
    #[test]
    fn the_body_is_the_handlers_and_a_pointer() {
        assert_wraps_in_words::<ObservedBody<Full<Bytes>>, Full<Bytes>>(1);
    }
}
