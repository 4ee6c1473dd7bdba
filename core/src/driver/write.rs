//! [`WriteBatch`]: the write side of a [`Driver`](super::Driver): the bytes taken from the
//! connection and not yet written, and the batching rule that decides when to take more
//! (the module docs of [`driver`](super), "Write batching").

use std::io::ErrorKind;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::AsyncWrite;

use crate::connection::Connection;

/// A write buffer that grew past this (a large body) is released once written.
const MAX_KEPT_CAPACITY: usize = 1024 * 1024;

/// The bytes of one batch of frames on their way to the stream, and when to take the next.
#[derive(Debug, Default)]
pub(super) struct WriteBatch {
    /// Bytes taken from `poll_transmit`; `out[pos..]` is not written yet.
    out: Vec<u8>,
    pos: usize,
    /// Bytes written and not yet reported with `handle_written`.
    unreported: usize,
    /// Frames in `out`.
    frames: usize,
    /// Frames that the producers woken since the last transmit (callers given their
    /// responses, handlers given requests) may still queue: while fewer are queued, the
    /// driver yields once before transmitting.
    expected: usize,
    /// The driver already yielded once for the next batch.
    yielded: bool,
    /// The stream failed on write: the connection is to be reported closed.
    broken: bool,
}

impl WriteBatch {
    /// Whether the stream failed on write.
    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    /// The bytes written since the last call, to report with `handle_written`.
    pub(super) fn take_written(&mut self) -> usize {
        std::mem::take(&mut self.unreported)
    }

    /// Notes that `n` requests or responses were handed to their producers of frames
    /// (handler tasks, callers). More than one wakes more than one producer: unless they
    /// have queued their frames by the next transmit (handlers that answer inline), the
    /// driver yields once to let them.
    pub(super) fn producers_woken(&mut self, n: usize) {
        if n > 1 {
            self.expected = self.expected.saturating_add(n);
        }
    }

    /// Under the connection's lock: once the previous batch is written, takes every frame
    /// the connection queued as the next batch, unless the batching rule asks to yield to
    /// the runtime first. Returns whether to yield (once per batch).
    pub(super) fn refill(&mut self, conn: &mut Connection, now: Instant) -> bool {
        if self.pos < self.out.len() || !conn.has_transmit() {
            return false;
        }
        let queued = conn.queued_frames();
        if !self.yielded && queued < self.expected {
            self.yielded = true;
            return true;
        }
        self.out.clear();
        self.pos = 0;
        conn.poll_transmit(now, &mut self.out);
        self.frames = queued;
        self.expected = 0;
        self.yielded = false;
        false
    }

    /// Writes the batch until done or the stream pushes back. Returns whether anything was
    /// written (to report) or the stream broke.
    pub(super) fn poll_write<T>(&mut self, io: &mut T, cx: &mut Context<'_>) -> bool
    where
        T: AsyncWrite + Unpin,
    {
        let mut progressed = false;
        while self.pos < self.out.len() {
            match Pin::new(&mut *io).poll_write(cx, &self.out[self.pos..]) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    self.pos += n;
                    self.unreported += n;
                    progressed = true;
                }
                Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                // A zero-length write of a non-empty buffer: the stream cannot take more.
                Poll::Ready(_) => {
                    self.broken = true;
                    return true;
                }
                Poll::Pending => break,
            }
        }
        if progressed && self.pos == self.out.len() {
            // More than one frame per write means producers are busy: yield once before
            // the next transmit, whatever is queued by then (producers are keeping up).
            if self.frames > 1 {
                self.expected = usize::MAX;
            }
            if self.out.capacity() > MAX_KEPT_CAPACITY {
                self.out = Vec::new();
                self.pos = 0;
            }
        }
        progressed
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests read the clock
mod tests {
    use std::task::Waker;
    use std::time::Duration;

    use super::*;
    use crate::{CallOptions, Config, Side};

    /// A stream that takes every byte.
    struct Sink(Vec<u8>);

    impl AsyncWrite for Sink {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.0.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn queue_calls(conn: &mut Connection, n: usize) -> Vec<crate::Call> {
        let now = Instant::now();
        (0..n)
            .map(|_| {
                conn.start_call(now, CallOptions::new(Duration::from_secs(60)), [0u8])
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_lone_frame_is_written_at_once_and_a_full_batch_asks_for_one_yield() {
        let now = Instant::now();
        let mut conn = Connection::new(Config::new(Side::Consumer), now);
        let mut batch = WriteBatch::default();
        let mut sink = Sink(Vec::new());
        let mut cx = Context::from_waker(Waker::noop());

        // One frame: no yield, written at once.
        let _one = queue_calls(&mut conn, 1);
        assert!(!batch.refill(&mut conn, now));
        assert!(batch.poll_write(&mut sink, &mut cx));
        assert_eq!(batch.take_written(), sink.0.len());

        // Three frames in one write: producers are busy, so the next batch waits one yield.
        let _three = queue_calls(&mut conn, 3);
        assert!(!batch.refill(&mut conn, now));
        assert!(batch.poll_write(&mut sink, &mut cx));
        let _more = queue_calls(&mut conn, 2);
        assert!(
            batch.refill(&mut conn, now),
            "yield once before the next batch"
        );
        assert_eq!(conn.queued_frames(), 2);
        assert!(!batch.refill(&mut conn, now), "only once");
        assert_eq!(conn.queued_frames(), 0);
    }

    #[test]
    fn woken_producers_are_waited_for_until_their_frames_are_queued() {
        let now = Instant::now();
        let mut conn = Connection::new(Config::new(Side::Consumer), now);
        let mut batch = WriteBatch::default();
        // Four producers woken; one has queued its frame so far.
        batch.producers_woken(4);
        let _one = queue_calls(&mut conn, 1);
        assert!(batch.refill(&mut conn, now));
        // All four queued: taken without a second yield.
        let mut again = WriteBatch::default();
        again.producers_woken(4);
        let _four = queue_calls(&mut conn, 3);
        assert!(!again.refill(&mut conn, now));
        assert_eq!(conn.queued_frames(), 0);
        // A single producer never delays a write.
        let mut single = WriteBatch::default();
        single.producers_woken(1);
        let _last = queue_calls(&mut conn, 1);
        assert!(!single.refill(&mut conn, now));
    }
}
