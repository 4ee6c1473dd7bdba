//! The outbound byte stream: frames encoded in place, handed to the transport, and accounted
//! as written, which drives `sent` notifications (`docs/protocol.md` §5.2).

use std::collections::VecDeque;

use crate::call::Completer;
use crate::event::SentResult;
use crate::frame::RequestId;

/// The most capacity an idle outbound buffer keeps (bursts beyond it are freed once sent).
const KEEP_CAPACITY: usize = 4 * 1024 * 1024;

/// Offsets count bytes since the connection started: `written <= transmitted <= queued`.
#[derive(Debug, Default)]
pub(crate) struct Outbound {
    /// Encoded bytes not yet handed to the transport.
    buf: Vec<u8>,
    /// Frames in `buf`.
    frames: usize,
    /// Bytes handed to the transport (through `poll_transmit`).
    transmitted: u64,
    /// Bytes the transport accepted (through `handle_written`).
    written: u64,
    /// `sent` waiters in stream order: each fires once `written` reaches its offset.
    waiters: VecDeque<(u64, RequestId, Completer<SentResult>)>,
}

impl Outbound {
    /// The buffer to encode the next frame into. Anything appended becomes part of the stream;
    /// a failed encode must truncate back to the length it found.
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Total bytes ever queued: the stream offset just past the last queued frame.
    pub(crate) fn queued(&self) -> u64 {
        self.transmitted + self.buf.len() as u64
    }

    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Bytes queued or transmitted but not yet accepted by the transport.
    pub(crate) fn unwritten(&self) -> u64 {
        self.queued() - self.written
    }

    pub(crate) fn has_queued(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Records that a whole frame was just encoded into [`buf`](Self::buf).
    pub(crate) fn frame_queued(&mut self) {
        self.frames += 1;
    }

    /// Frames queued and not yet handed to the transport.
    pub(crate) fn queued_frames(&self) -> usize {
        self.frames
    }

    /// Registers `completer`, for request `id`, to fire once the stream is written up to
    /// `end_offset`.
    pub(crate) fn notify_when_written(
        &mut self,
        end_offset: u64,
        id: RequestId,
        completer: Completer<SentResult>,
    ) {
        self.waiters.push_back((end_offset, id, completer));
    }

    /// Moves the queued bytes into `out`. Swaps buffers when `out` is empty, so no byte is
    /// copied and both allocations are reused.
    pub(crate) fn transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.buf.len();
        if n == 0 {
            return 0;
        }
        self.frames = 0;
        if out.is_empty() {
            std::mem::swap(out, &mut self.buf);
            // The buffer swapped in keeps the capacity of the largest batch it ever held: let
            // a burst's memory go instead of keeping it for the connection's life.
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
        } else {
            out.extend_from_slice(&self.buf);
            self.buf.clear();
        }
        self.transmitted += n as u64;
        n
    }

    /// Takes back the bytes queued past `len` (a frame being encoded that is not to be sent,
    /// and not yet recorded with [`frame_queued`](Self::frame_queued)).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
        // Do not keep the memory of a large frame that is not sent.
        self.buf.shrink_to(len.max(KEEP_CAPACITY));
    }

    /// Takes back the last frame queued, which starts at `start`.
    pub(crate) fn take_back_frame(&mut self, start: usize) {
        self.truncate(start);
        self.frames -= 1;
    }

    /// Records that the transport accepted `n` more bytes (clamped to what was transmitted),
    /// and returns the `sent` waiters that are now satisfied.
    pub(crate) fn handle_written(
        &mut self,
        n: usize,
    ) -> impl Iterator<Item = (RequestId, Completer<SentResult>)> + '_ {
        self.written = (self.written + n as u64).min(self.transmitted);
        let written = self.written;
        std::iter::from_fn(move || {
            if self.waiters.front()?.0 <= written {
                self.waiters
                    .pop_front()
                    .map(|(_, id, completer)| (id, completer))
            } else {
                None
            }
        })
    }

    /// Drops the queued bytes and returns every waiter, for a connection that ended.
    pub(crate) fn clear(
        &mut self,
    ) -> impl Iterator<Item = (RequestId, Completer<SentResult>)> + '_ {
        self.buf = Vec::new();
        self.frames = 0;
        self.waiters
            .drain(..)
            .map(|(_, id, completer)| (id, completer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{Inline, pair};
    use crate::error::ConnectionError;

    #[test]
    fn waiters_fire_in_order_as_bytes_are_written() {
        let mut out = Outbound::default();
        out.buf().extend_from_slice(&[0; 10]);
        let (c1, mut w1) = pair(|| Err(ConnectionError::Dropped));
        out.notify_when_written(out.queued(), RequestId(1), c1);
        out.buf().extend_from_slice(&[0; 5]);
        let (c2, mut w2) = pair(|| Err(ConnectionError::Dropped));
        out.notify_when_written(out.queued(), RequestId(2), c2);

        let mut wire = Vec::new();
        assert_eq!(out.transmit(&mut wire), 15);
        assert_eq!(wire.len(), 15);
        assert_eq!(out.unwritten(), 15);
        assert_eq!(out.handle_written(9).count(), 0);
        for (id, c) in out.handle_written(1) {
            assert_eq!(id, RequestId(1));
            c.complete(Ok(()), &Inline);
        }
        assert_eq!(w1.try_take(), Some(Ok(())));
        assert!(w2.try_take().is_none());
        // Reports beyond what was transmitted are clamped.
        assert_eq!(out.handle_written(100).count(), 1);
        assert_eq!(out.written(), 15);
        assert_eq!(out.unwritten(), 0);
    }

    #[test]
    fn frames_are_counted_until_transmitted() {
        let mut out = Outbound::default();
        for _ in 0..3 {
            out.buf().extend_from_slice(&[0; 4]);
            out.frame_queued();
        }
        out.take_back_frame(8);
        assert_eq!(out.queued_frames(), 2);
        let mut wire = Vec::new();
        assert_eq!(out.transmit(&mut wire), 8);
        assert_eq!(out.queued_frames(), 0);
        out.buf().extend_from_slice(&[0; 4]);
        out.frame_queued();
        let _ = out.clear();
        assert_eq!(out.queued_frames(), 0);
    }

    #[test]
    fn transmit_appends_when_the_target_has_bytes() {
        let mut out = Outbound::default();
        out.buf().extend_from_slice(b"abc");
        let mut wire = b"xy".to_vec();
        out.transmit(&mut wire);
        assert_eq!(wire, b"xyabc");
        assert!(!out.has_queued());
        assert_eq!(out.queued(), 3);
    }
}
