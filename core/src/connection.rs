//! The sans-IO state machine of one `dubbo://` connection (`docs/protocol.md` §1, §4, §5).
//!
//! A [`Connection`] owns the frame decoder, the outbound buffer, the pending-call table, the
//! inbound requests awaiting answers, the keep-alive timers and an event queue. It is driven
//! by inputs (`handle_*`) and commands (`start_call`, `respond`, ...), and drained through
//! `poll_transmit`, `poll_event` and `poll_timeout` after each of them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::call::{CancelQueue, Completer, Completion, pair};
use crate::callback::CallbackTable;
use crate::config::{Config, Side};
use crate::error::{
    CallError, ConnectionError, RespondError, StartError, StartErrorKind, TimeoutPhase,
};
use crate::event::{CallResult, Delivery, Event, InboundRequest, Response, SentResult};
use crate::frame::{
    Decoded, Frame, FrameDecoder, FrameKind, HEADER_LEN, Header, PayloadTooLarge, RequestId,
    SerializationId, Status,
};
use crate::hessian2;
use crate::outbound::Outbound;
use crate::payload::Payload;
use crate::pending::{Pending, PendingTable};

/// Hessian2's serialized null: the body of a heartbeat (`docs/protocol.md` §4).
const HEARTBEAT_BODY: [u8; 1] = [b'N'];
/// Hessian2 string `"R"`: the read-only event body.
const READONLY_BODY: [u8; 2] = [0x01, b'R'];
/// Hessian2 string `"W"`: the writeable event body.
const WRITEABLE_BODY: [u8; 2] = [0x01, b'W'];
/// Java 3.x refuses event bodies longer than this; we echo no more in heartbeat replies.
const MAX_EVENT_BODY: usize = 15;
/// What an answer is expected to cost before any was sent: with the default 16 MiB
/// high-water mark, a new connection runs 1,024 requests at once before it learns what its
/// answers take.
const INITIAL_ANSWER_ESTIMATE: u64 = 16 * 1024;
/// How fast the answer estimate fades while requests wait for it alone (the send buffer is
/// below its mark) and no answer comes: it halves every this long. Slow requests (long
/// polls) must not keep the requests behind them waiting for long; answers that merely take
/// a while (a few hundred milliseconds) still find it.
const ESTIMATE_HALF_LIFE: Duration = Duration::from_millis(250);
/// What a held request costs beyond its body (so that empty ones count too).
const HELD_OVERHEAD: u64 = 128;
/// Timeouts are capped so that `now + timeout` cannot overflow `Instant`.
const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Per-call options for [`Connection::start_call`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CallOptions {
    /// How long to wait for the response (Dubbo's `timeout`, default 1 000 ms).
    pub timeout: Duration,
    /// How the body is serialized.
    pub serialization: SerializationId,
    /// Whether to return a completion that resolves once the request bytes were accepted by
    /// the transport (Dubbo's `sent=true`).
    pub notify_sent: bool,
}

impl CallOptions {
    /// Dubbo's default call timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);

    /// Options with `timeout`, Hessian2, no `sent` notification.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }

    /// Sets whether a `sent` notification is returned.
    pub fn notify_sent(mut self, notify: bool) -> Self {
        self.notify_sent = notify;
        self
    }

    /// Sets the serialization id written in the header.
    pub fn serialization(mut self, serialization: SerializationId) -> Self {
        self.serialization = serialization;
        self
    }
}

impl Default for CallOptions {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            serialization: SerializationId::HESSIAN2,
            notify_sent: false,
        }
    }
}

/// A started two-way call.
#[derive(Debug)]
pub struct Call {
    /// Its request id.
    pub id: RequestId,
    /// Resolves with the response or the reason none came. Dropping it cancels the call.
    pub response: Completion<CallResult>,
    /// If asked for: resolves once the request bytes were accepted by the transport.
    pub sent: Option<Completion<SentResult>>,
}

/// A two-way call started with a completer of the caller's
/// ([`Connection::start_call_with`]): the fast path for a caller that turns the response into
/// its own value as the call completes, in the same allocation
/// ([`map_pair`](crate::call::map_pair)).
#[derive(Debug)]
pub struct Started {
    /// Its request id.
    pub id: RequestId,
    /// Where the call's completion sends its cancellation when dropped.
    cancels: Arc<CancelQueue>,
    /// If asked for: resolves once the request bytes were accepted by the transport.
    pub sent: Option<Completion<SentResult>>,
}

impl Started {
    /// Gives `completion` (the other half of the completer the call was started with) the
    /// call's cancellation: dropping it unresolved then cancels the call, as dropping a
    /// [`Call`]'s response does. Without it, a dropped completion leaves the call running
    /// until its response or timeout.
    pub fn cancel<T: Send + 'static>(&self, completion: Completion<T>) -> Completion<T> {
        completion.with_cancel(self.id, self.cancels.clone())
    }

    /// A handle that cancels the call on demand, for a caller that hands the completion to
    /// a continuation ([`Completion::on_complete`]) and may still need to call it off (a
    /// retrying or forking strategy whose own caller went away).
    pub fn canceller(&self) -> Canceller {
        Canceller {
            id: self.id,
            cancels: self.cancels.clone(),
        }
    }
}

/// Cancels one started call ([`Started::canceller`]): on the connection's next input,
/// command or [`poll_event`](Connection::poll_event) the call ends with
/// [`CallError::Cancelled`] (its completion's continuation runs with it), and a late
/// response is ignored; wake the connection's IO loop after cancelling. Cancelling a call
/// that already ended does nothing.
#[derive(Clone, Debug)]
pub struct Canceller {
    id: RequestId,
    cancels: Arc<CancelQueue>,
}

impl Canceller {
    /// Cancels the call.
    pub fn cancel(&self) {
        self.cancels.push_ended(self.id);
    }
}

/// A sent one-way request or event.
#[derive(Debug)]
pub struct Sent {
    /// Its request id.
    pub id: RequestId,
    /// If asked for: resolves once the request bytes were accepted by the transport.
    pub sent: Option<Completion<SentResult>>,
}

/// Event frames this side can announce (`docs/protocol.md` §4.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Announcement {
    /// `"R"`: this provider is going read-only; consumers should send no new calls.
    ReadOnly,
    /// `"W"`: this provider takes calls again.
    Writeable,
}

/// Counters of what a connection did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Frames decoded from the peer, oversized ones included.
    pub frames_received: u64,
    /// Frames queued for the peer.
    pub frames_sent: u64,
    /// Bytes handed to `handle_input`.
    pub bytes_received: u64,
    /// Bytes the transport reported written.
    pub bytes_written: u64,
    /// Responses whose id had no pending call (late after a timeout or cancel, or unknown).
    pub late_responses: u64,
    /// Frames whose body exceeded the payload limit.
    pub oversized_frames: u64,
    /// Heartbeats this side sent.
    pub heartbeats_sent: u64,
    /// Heartbeats from the peer this side answered.
    pub heartbeats_answered: u64,
    /// Requests answered by the connection itself with an error status (over limits,
    /// duplicate ids, oversized bodies).
    pub requests_rejected: u64,
}

/// Keep-alive timestamps (`docs/protocol.md` §4.1).
#[derive(Debug)]
struct Liveness {
    last_read: Instant,
    last_write: Instant,
    last_heartbeat: Option<Instant>,
}

/// A two-way request of the peer's awaiting this side's answer.
#[derive(Clone, Copy, Debug)]
struct AwaitingAnswer {
    /// Its body length.
    len: u32,
    /// Whether it is held (not reported yet).
    held: bool,
}

/// Why encoding a frame into the outbound buffer failed.
enum EncodeFailure<E> {
    TooLarge(PayloadTooLarge),
    Encode(E),
}

/// The state machine of one `dubbo://` connection, either side.
///
/// Drive it with [`handle_input`](Self::handle_input), [`handle_written`](Self::handle_written),
/// [`handle_timeout`](Self::handle_timeout) and the commands; after each, drain
/// [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event) and re-arm one
/// timer at [`poll_timeout`](Self::poll_timeout). See the crate documentation for a run loop.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    decoder: FrameDecoder,
    outbound: Outbound,
    pending: PendingTable,
    /// The peer's two-way requests awaiting an answer: id to body length. The peer picks
    /// the ids: std's randomly seeded hash, so that chosen ids cannot make lookups collide.
    inbound: HashMap<u64, AwaitingAnswer>,
    /// The sum of `inbound`'s body lengths.
    inbound_bytes: u64,
    /// Requests read while the answers owed to the peer were at the send buffer's high-water
    /// mark: dispatched, in order, as writes and answers bring them below it.
    held: VecDeque<InboundRequest>,
    /// The two-way requests among `held` (the rest of `inbound` are dispatched).
    held_two_way: usize,
    /// The bytes of `held` (bodies plus [`HELD_OVERHEAD`] each): reading stops while they
    /// reach the high-water mark.
    held_bytes: u64,
    /// What one answer is expected to take in the send buffer: the largest recent answer,
    /// halved at each smaller one (see [`INITIAL_ANSWER_ESTIMATE`]), and fading while
    /// requests are held (see [`ESTIMATE_HALF_LIFE`]).
    answer_estimate: u64,
    /// Since when the estimate fades: set while requests are held with the send buffer below
    /// its mark (the estimate alone keeps them waiting), and from the last answer.
    fading_since: Option<Instant>,
    events: VecDeque<Event>,
    /// Ids of calls whose completion was dropped; drained on every input and command.
    cancels: Arc<CancelQueue>,
    cancelled_scratch: Vec<(RequestId, bool)>,
    next_id: u64,
    liveness: Liveness,
    /// The latest `now` seen: time never goes backwards inside the connection.
    now: Instant,
    closed: Option<ConnectionError>,
    peer_read_only: bool,
    /// A start was refused for lack of capacity: report when there is some again.
    capacity_wanted: bool,
    stats: ConnectionStats,
    callbacks: CallbackTable,
}

impl Connection {
    /// A new connection, established at `now`.
    pub fn new(config: Config, now: Instant) -> Self {
        let callback_limit = config.callback_limit.get();
        Self {
            decoder: FrameDecoder::new(config.payload_limit),
            config,
            outbound: Outbound::default(),
            pending: PendingTable::default(),
            inbound: HashMap::new(),
            inbound_bytes: 0,
            held: VecDeque::new(),
            held_two_way: 0,
            held_bytes: 0,
            answer_estimate: INITIAL_ANSWER_ESTIMATE,
            fading_since: None,
            events: VecDeque::new(),
            cancels: Arc::default(),
            cancelled_scratch: Vec::new(),
            next_id: 0,
            liveness: Liveness {
                last_read: now,
                last_write: now,
                last_heartbeat: None,
            },
            now,
            closed: None,
            peer_read_only: false,
            capacity_wanted: false,
            stats: ConnectionStats::default(),
            callbacks: CallbackTable::new(callback_limit),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Inputs

    /// Feeds bytes read from the transport. Any chunking of the stream gives the same result.
    pub fn handle_input(&mut self, now: Instant, mut data: &[u8]) {
        let now = self.advance(now);
        if self.closed.is_some() || data.is_empty() {
            return;
        }
        self.liveness.last_read = now;
        self.stats.bytes_received += data.len() as u64;
        while self.closed.is_none() {
            match self.decoder.decode(&mut data) {
                Ok(Some(Decoded::Frame(frame))) => self.on_frame(now, frame),
                Ok(Some(Decoded::Oversized(header))) => self.on_oversized(header),
                Ok(None) => break,
                Err(err) => self.end(ConnectionError::Malformed(err)),
            }
        }
        self.check_capacity();
    }

    /// Records that the transport accepted `n` more of the bytes handed out by
    /// [`poll_transmit`](Self::poll_transmit). This drives `sent` notifications and tells a
    /// timed-out call's phase (written or not).
    pub fn handle_written(&mut self, now: Instant, n: usize) {
        let now = self.advance(now);
        if self.closed.is_some() || n == 0 {
            return;
        }
        self.liveness.last_write = now;
        self.stats.bytes_written += n as u64;
        for (id, completer) in self.outbound.handle_written(n) {
            self.events
                .push_back(Event::RequestSent(Delivery::new(id, completer, Ok(()))));
        }
        self.release_held();
        self.check_capacity();
    }

    /// Expires calls whose deadline passed, sends a heartbeat when due and closes a connection
    /// idle for too long. Idempotent: calling it early or twice does nothing extra.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.closed.is_some() {
            return;
        }
        while let Some(pending) = self.pending.pop_expired(now) {
            let phase = if pending.end_offset <= self.outbound.written() {
                TimeoutPhase::ServerSide
            } else {
                TimeoutPhase::ClientSide
            };
            let error = CallError::Timeout {
                phase,
                timeout: pending.timeout,
            };
            self.finish(pending, Err(error));
        }
        if let Some(idle) = self.config.keepalive.idle_timeout() {
            if now.saturating_duration_since(self.liveness.last_read) >= idle {
                self.end(ConnectionError::IdleTimeout { idle });
                return;
            }
        }
        if self.heartbeat_due().is_some_and(|due| due <= now) {
            self.queue_heartbeat(now);
        }
        self.release_held();
        self.check_capacity();
    }

    /// Reports that the transport is gone (end of stream, reset, I/O error): every pending
    /// call fails at once with [`ConnectionError::TransportClosed`].
    pub fn handle_closed(&mut self, now: Instant) {
        self.advance(now);
        self.end(ConnectionError::TransportClosed);
    }

    // ----------------------------------------------------------------------------------------
    // Commands

    /// Starts a two-way call whose body is `payload`: registers it as pending, then queues its
    /// frame (`docs/protocol.md` §5.5). The call ends in exactly one outcome: a response, a
    /// timeout, cancellation, or the connection's end.
    pub fn start_call<P: Payload>(
        &mut self,
        now: Instant,
        options: CallOptions,
        payload: P,
    ) -> Result<Call, StartError<P, P::Error>> {
        let (completer, response) = pair(abandoned_call);
        let started = self.start_call_with(now, options, payload, completer)?;
        Ok(Call {
            id: started.id,
            response: started.cancel(response),
            sent: started.sent,
        })
    }

    /// [`start_call`](Self::start_call) resolving `response` (from [`pair`] or
    /// [`map_pair`](crate::call::map_pair)), which the caller must then give the call's
    /// cancellation ([`Started::cancel`]). On failure `response` is dropped, which resolves
    /// its completion as abandoned ([`abandoned_call`]).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use tether_core::call::map_pair;
    /// use tether_core::connection::abandoned_call;
    /// use tether_core::{CallOptions, Config, Connection, Side};
    ///
    /// let now = Instant::now();
    /// let mut consumer = Connection::new(Config::new(Side::Consumer), now);
    /// // The response body's length, computed as the call completes: one allocation.
    /// let (completer, len) = map_pair(
    ///     abandoned_call,
    ///     |result: tether_core::CallResult| result.map(|r| r.body.len()),
    ///     || Err(tether_core::CallError::ConnectionLost(tether_core::ConnectionError::Dropped)),
    /// );
    /// let options = CallOptions::new(Duration::from_secs(1));
    /// let started = consumer.start_call_with(now, options, b"ping".to_vec(), completer).unwrap();
    /// let len = started.cancel(len);
    /// assert!(!len.is_ready());
    /// ```
    pub fn start_call_with<P: Payload>(
        &mut self,
        now: Instant,
        options: CallOptions,
        payload: P,
        response: Completer<CallResult>,
    ) -> Result<Started, StartError<P, P::Error>> {
        let now = self.advance(now);
        if let Err(kind) = self.check_can_send() {
            return Err(StartError { kind, payload });
        }
        if self.pending.len() >= self.config.max_in_flight.get() {
            self.capacity_wanted = true;
            let limit = self.config.max_in_flight.get();
            return Err(StartError {
                kind: StartErrorKind::TooManyInFlight { limit },
                payload,
            });
        }
        if options.timeout.is_zero() {
            return Err(StartError {
                kind: StartErrorKind::NoTimeBudget,
                payload,
            });
        }
        let id = self.pending.vacant_id(self.next_id);
        let header = request_header(id, true, false, options.serialization);
        let end_offset = match self.encode_frame(header, &payload) {
            Ok(end_offset) => end_offset,
            Err(failure) => return Err(start_failure(failure, payload)),
        };
        self.next_id = id.0 + 1;
        let timeout = options.timeout.min(MAX_TIMEOUT);
        let pending = Pending {
            id,
            timeout,
            end_offset,
            completer: response,
        };
        self.pending.insert(pending, now + timeout);
        Ok(Started {
            id,
            cancels: self.cancels.clone(),
            sent: self.sent_notification(options.notify_sent, id, end_offset),
        })
    }

    /// Sends a one-way request (Dubbo's `return=false`): no pending entry, no response.
    pub fn send_oneway<P: Payload>(
        &mut self,
        now: Instant,
        serialization: SerializationId,
        notify_sent: bool,
        payload: P,
    ) -> Result<Sent, StartError<P, P::Error>> {
        self.advance(now);
        if let Err(kind) = self.check_can_send() {
            return Err(StartError { kind, payload });
        }
        let id = RequestId(self.next_id);
        let header = request_header(id, false, false, serialization);
        match self.encode_frame(header, &payload) {
            Ok(end_offset) => {
                self.next_id += 1;
                Ok(Sent {
                    id,
                    sent: self.sent_notification(notify_sent, id, end_offset),
                })
            }
            Err(failure) => Err(start_failure(failure, payload)),
        }
    }

    /// Answers the two-way request `id` with `status` and `payload` (for any status but OK,
    /// the body is one string message, `docs/protocol.md` §3.4). Use the request's serialization.
    ///
    /// A response that cannot be sent as given is still answered: over the payload limit with
    /// status 25, an encoding failure with status 50; the error says which.
    pub fn respond<P: Payload>(
        &mut self,
        now: Instant,
        id: RequestId,
        status: Status,
        serialization: SerializationId,
        payload: P,
    ) -> Result<(), RespondError<P::Error>> {
        self.advance(now);
        if let Some(err) = self.closed {
            return Err(RespondError::Closed(err));
        }
        // A held request was never reported: nobody can answer it yet.
        if self.inbound.get(&id.0).is_none_or(|a| a.held) {
            return Err(RespondError::UnknownRequest(id));
        }
        let header = response_header(id, status, false, serialization);
        let buffered = self.outbound.unwritten();
        let start = self.outbound.buf().len();
        // Removed only once answered: if encoding panics, the request still awaits an answer.
        let encoded = self.encode_frame(header, &payload);
        if let Some(answered) = self.inbound.remove(&id.0) {
            self.inbound_bytes -= u64::from(answered.len);
        }
        match encoded {
            Ok(_) => {
                let len = self.outbound.buf().len() - start;
                self.answer_estimate = (len as u64).max(self.expected_answer() / 2);
                if self.fading_since.is_some() {
                    self.fading_since = Some(self.now);
                }
                if !self.response_fits(buffered, len) {
                    // The peer is not reading what it is owed: keep memory bounded, and
                    // still give the request exactly one answer.
                    self.outbound.take_back_frame(start);
                    self.stats.frames_sent -= 1;
                    let limit = self.send_buffer_limit() as usize;
                    let error = RespondError::SendBufferFull {
                        len,
                        buffered,
                        limit,
                    };
                    self.reject(id, Status::SERVER_ERROR, &error.to_string());
                    self.release_held();
                    return Err(error);
                }
                self.release_held();
                Ok(())
            }
            Err(EncodeFailure::TooLarge(err)) => {
                self.reject(id, Status::SERIALIZATION_ERROR, &err.to_string());
                self.release_held();
                Err(RespondError::PayloadTooLarge(err))
            }
            Err(EncodeFailure::Encode(err)) => {
                let message = format!("Failed to send response: {err}");
                self.reject(id, Status::BAD_RESPONSE, &message);
                self.release_held();
                Err(RespondError::Encode(err))
            }
        }
    }

    /// Cancels a pending call: it completes with [`CallError::Cancelled`] and a late response
    /// is ignored. Returns whether the call was pending. (Dropping a call's completion cancels
    /// it too, without an outcome to deliver.)
    pub fn cancel(&mut self, now: Instant, id: RequestId) -> bool {
        self.advance(now);
        match self.pending.remove(id) {
            Some(pending) => {
                self.finish(pending, Err(CallError::Cancelled));
                self.check_capacity();
                true
            }
            None => false,
        }
    }

    /// Sends a two-way heartbeat now (they are also sent automatically when due).
    pub fn send_heartbeat(&mut self, now: Instant) -> Result<RequestId, ConnectionError> {
        let now = self.advance(now);
        match self.closed {
            Some(err) => Err(err),
            None => Ok(self.queue_heartbeat(now)),
        }
    }

    /// Announces read-only or writeable to the peer with a one-way event (`docs/protocol.md` §4.2).
    /// Java sends read-only with `sent=true`: ask for a notification to wait for the write.
    pub fn announce(
        &mut self,
        now: Instant,
        announcement: Announcement,
        notify_sent: bool,
    ) -> Result<Sent, ConnectionError> {
        self.advance(now);
        if let Some(err) = self.closed {
            return Err(err);
        }
        let body = match announcement {
            Announcement::ReadOnly => READONLY_BODY,
            Announcement::Writeable => WRITEABLE_BODY,
        };
        let id = self.next_request_id();
        let end_offset = self.encode_event(request_header(id, false, true, SERIALIZATION), &body);
        Ok(Sent {
            id,
            sent: self.sent_notification(notify_sent, id, end_offset),
        })
    }

    /// Closes the connection: every pending call fails at once with
    /// [`ConnectionError::LocallyClosed`], queued bytes are dropped, and every later command
    /// returns that error. Flush first (see [`has_transmit`](Self::has_transmit)) to say
    /// goodbye.
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        self.end(ConnectionError::LocallyClosed);
    }

    // ----------------------------------------------------------------------------------------
    // Outputs

    /// Moves the bytes to send into `buf` and returns how many. When `buf` is empty the
    /// buffers are swapped rather than copied. Report what the transport accepted with
    /// [`handle_written`](Self::handle_written).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> usize {
        self.advance(now);
        self.outbound.transmit(buf)
    }

    /// The next event, if any. Each is reported once.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            // A call cancelled since the last input or command ends now: an IO loop woken
            // for it drains events without giving the connection any input.
            self.take_cancels();
        }
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, or `None` if
    /// nothing is timed (a closed connection, or no pending call and no keep-alive).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        let idle = self
            .config
            .keepalive
            .idle_timeout()
            .map(|idle| self.liveness.last_read + idle);
        [
            self.pending.next_deadline(),
            self.heartbeat_due(),
            idle,
            self.estimate_fades(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----------------------------------------------------------------------------------------
    // State

    /// Whether bytes wait for [`poll_transmit`](Self::poll_transmit).
    pub fn has_transmit(&self) -> bool {
        self.outbound.has_queued()
    }

    /// How many frames wait for [`poll_transmit`](Self::poll_transmit): the frames its next
    /// call hands out. An IO loop that batches writes decides from this whether to wait for
    /// more before transmitting.
    pub fn queued_frames(&self) -> usize {
        self.outbound.queued_frames()
    }

    /// Whether events wait for [`poll_event`](Self::poll_event).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Bytes queued or handed to the transport but not yet reported written.
    pub fn unwritten_bytes(&self) -> u64 {
        self.outbound.unwritten()
    }

    /// Whether new calls would be accepted now: open, below the in-flight limit and below the
    /// send buffer's high-water mark.
    pub fn has_capacity(&self) -> bool {
        self.closed.is_none()
            && self.pending.len() < self.config.max_in_flight.get()
            && self.outbound.unwritten() < self.config.send_buffer_high_water.get() as u64
    }

    /// Whether to keep reading from the transport. False while the send buffer is at its
    /// hard [limit](Config::send_buffer_limit) (heartbeat replies and the connection's own
    /// error answers are never refused, so a peer that sends without reading would otherwise
    /// grow it without bound), and while the [held](Self::held_requests) requests reach the
    /// high-water mark with the buffer above it (or
    /// [`max_inbound_bytes`](Config::max_inbound_bytes) with the buffer below it): TCP then
    /// pushes back on the peer. Otherwise reading goes on, so that responses to this side's
    /// calls are still taken in: two ends that both waited for the other would wait forever.
    pub fn wants_input(&self) -> bool {
        let high_water = self.config.send_buffer_high_water.get() as u64;
        let unwritten = self.outbound.unwritten();
        // Requests held while the peer reads (the buffer is below the mark) are bounded as
        // the inbound requests are; while it does not, by the mark.
        let held_room = if unwritten < high_water {
            self.config.max_inbound_bytes.get() as u64
        } else {
            high_water
        };
        self.closed.is_none() && unwritten < self.send_buffer_limit() && self.held_bytes < held_room
    }

    /// Requests read from the peer that wait until the answers owed to it drain below the
    /// send buffer's high-water mark before they are reported as
    /// [`Event::RequestReceived`]. Responses and events read after them are not held, so
    /// they may be reported first.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::time::{Duration, Instant};
    /// use tether_core::{CallOptions, Config, Connection, Event, Side, Status};
    ///
    /// let now = Instant::now();
    /// let mut consumer = Connection::new(Config::new(Side::Consumer), now);
    /// let mut config = Config::new(Side::Provider);
    /// config = config.send_buffer_high_water(NonZeroUsize::new(1_000).unwrap());
    /// let mut provider = Connection::new(config, now);
    ///
    /// // Three requests arrive; the first runs and its 2,000-byte answer is not read.
    /// let options = CallOptions::new(Duration::from_secs(1));
    /// let _calls: Vec<_> = (0..3u8)
    ///     .map(|i| consumer.start_call(now, options, vec![i]).unwrap())
    ///     .collect();
    /// let mut wire = Vec::new();
    /// consumer.poll_transmit(now, &mut wire);
    /// provider.handle_input(now, &wire);
    /// let Some(Event::RequestReceived(first)) = provider.poll_event() else { panic!() };
    /// assert_eq!(provider.held_requests(), 2);
    /// provider.respond(now, first.id, Status::OK, first.serialization, vec![0; 2_000]).unwrap();
    /// // Written nowhere: the answer fills the buffer past its mark, the others wait.
    /// assert!(provider.poll_event().is_none());
    /// assert_eq!(provider.held_requests(), 2);
    /// // Once the transport took the bytes, the next one runs.
    /// let mut out = Vec::new();
    /// let n = provider.poll_transmit(now, &mut out);
    /// provider.handle_written(now, n);
    /// assert!(matches!(provider.poll_event(), Some(Event::RequestReceived(_))));
    /// ```
    pub fn held_requests(&self) -> usize {
        self.held.len()
    }

    /// Two-way calls awaiting their response.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Whether the call `id` awaits its response.
    pub fn is_pending(&self, id: RequestId) -> bool {
        self.pending.contains(id)
    }

    /// Two-way requests from the peer awaiting this side's response.
    pub fn inbound_in_flight(&self) -> usize {
        self.inbound.len()
    }

    /// Whether the peer announced read-only and has not announced writeable since.
    pub fn is_peer_read_only(&self) -> bool {
        self.peer_read_only
    }

    /// Why the connection ended, if it did.
    pub fn close_reason(&self) -> Option<ConnectionError> {
        self.closed
    }

    /// Whether the connection ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Which end this is.
    pub fn side(&self) -> Side {
        self.config.side
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The callback exports and proxies of this connection (emptied when it ends).
    pub fn callbacks(&mut self) -> &mut CallbackTable {
        &mut self.callbacks
    }

    /// Counters.
    pub fn stats(&self) -> ConnectionStats {
        self.stats
    }

    // ----------------------------------------------------------------------------------------
    // Inbound frames

    fn on_frame(&mut self, now: Instant, frame: Frame) {
        self.stats.frames_received += 1;
        let Frame { header, body } = frame;
        match (header.kind, header.event) {
            (FrameKind::Request { two_way }, true) => self.on_event_request(header, two_way, body),
            (FrameKind::Request { two_way }, false) => {
                if two_way && !self.admit_inbound(header.id, header.body_len) {
                    return;
                }
                let request = InboundRequest {
                    id: header.id,
                    two_way,
                    serialization: header.serialization,
                    body,
                    received_at: now,
                };
                // While the answers owed to the peer fill the send buffer, what it asks for
                // waits (in order): its handler would only add to the unread answers.
                let this = usize::from(two_way);
                if self.held.is_empty() && self.may_dispatch(this) {
                    self.events.push_back(Event::RequestReceived(request));
                } else {
                    if two_way {
                        self.set_held(header.id, true);
                    }
                    self.held_two_way += this;
                    self.held_bytes += HELD_OVERHEAD + u64::from(header.body_len);
                    self.held.push_back(request);
                    self.update_fading();
                }
            }
            // Heartbeat replies, and the unsolicited event responses some peers send: they
            // never touch the pending table (`docs/protocol.md` §4).
            (FrameKind::Response { .. }, true) => {}
            (FrameKind::Response { status }, false) => match self.pending.remove(header.id) {
                Some(pending) => {
                    let response = Response {
                        status,
                        serialization: header.serialization,
                        body,
                    };
                    self.finish(pending, Ok(response));
                }
                None => self.stats.late_responses += 1,
            },
        }
    }

    /// Accepts a two-way request into the inbound set, or answers it with an error.
    fn admit_inbound(&mut self, id: RequestId, body_len: u32) -> bool {
        let limit = self.config.max_inbound_in_flight.get();
        let byte_limit = self.config.max_inbound_bytes.get() as u64;
        let over = if self.inbound.len() >= limit {
            Some(format!(
                "{limit} requests already in flight on this connection"
            ))
        } else if !self.inbound.is_empty() && self.inbound_bytes + u64::from(body_len) > byte_limit
        {
            Some(format!(
                "{} bytes of requests already in flight on this connection (limit {byte_limit})",
                self.inbound_bytes
            ))
        } else {
            None
        };
        if let Some(detail) = over {
            let message = format!("Server side thread pool is exhausted, detail msg: {detail}");
            self.reject(id, Status::SERVER_THREADPOOL_EXHAUSTED, &message);
            return false;
        }
        if self.inbound.contains_key(&id.0) {
            // The first request keeps its place; this one is answered so that it, too, gets
            // exactly one response.
            let message = format!(
                "Fail to decode request due to: request id {id} is already awaiting a response"
            );
            self.reject(id, Status::BAD_REQUEST, &message);
            return false;
        }
        self.inbound.insert(
            id.0,
            AwaitingAnswer {
                len: body_len,
                held: false,
            },
        );
        self.inbound_bytes += u64::from(body_len);
        true
    }

    fn on_event_request(&mut self, header: Header, two_way: bool, body: bytes::Bytes) {
        // "R" and "W" are one-way Hessian2 strings; dubbo-go answers every event request as
        // a heartbeat, so we answer any other two-way event the same way (`docs/protocol.md` §4).
        let hessian2 = header.serialization == SERIALIZATION;
        if hessian2 && body.starts_with(&READONLY_BODY) {
            self.peer_read_only = true;
            self.events.push_back(Event::PeerReadOnly);
        } else if hessian2 && body.starts_with(&WRITEABLE_BODY) {
            self.peer_read_only = false;
            self.events.push_back(Event::PeerWriteable);
        } else if two_way && body.len() <= MAX_EVENT_BODY {
            // Echo the body: it is the serialized null of the request's own serialization.
            let reply = response_header(header.id, Status::OK, true, header.serialization);
            self.encode_event(reply, &body[..]);
            self.stats.heartbeats_answered += 1;
        }
    }

    fn on_oversized(&mut self, header: Header) {
        self.stats.frames_received += 1;
        self.stats.oversized_frames += 1;
        let error = PayloadTooLarge {
            len: header.body_len as usize,
            limit: self.config.payload_limit,
        };
        match (header.kind, header.event) {
            (FrameKind::Request { two_way: true }, false) => {
                let message = format!("Fail to decode request due to: {error}");
                self.reject(header.id, Status::BAD_REQUEST, &message);
            }
            (FrameKind::Response { .. }, false) => match self.pending.remove(header.id) {
                Some(pending) => self.finish(pending, Err(CallError::ResponseTooLarge(error))),
                None => self.stats.late_responses += 1,
            },
            // One-way requests get no answer; oversized events are dropped.
            _ => {}
        }
    }

    // ----------------------------------------------------------------------------------------
    // Outbound frames

    /// Encodes `header` + `payload` straight into the outbound buffer, checking the payload
    /// limit, and returns the stream offset just past the frame. On failure the buffer is
    /// left as it was.
    fn encode_frame<P: Payload>(
        &mut self,
        mut header: Header,
        payload: &P,
    ) -> Result<u64, EncodeFailure<P::Error>> {
        let limit = self.config.payload_limit;
        let buf = self.outbound.buf();
        let start = buf.len();
        buf.extend_from_slice(&[0; HEADER_LEN]);
        // A payload's encoder is user code (serde impls): if it panics, take its partial
        // frame back out before the panic goes on, or the stream would be corrupt.
        let encoded = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            payload.encode(&mut *buf)
        })) {
            Ok(encoded) => encoded,
            Err(panic) => {
                buf.truncate(start);
                std::panic::resume_unwind(panic);
            }
        };
        let len = buf.len() - start - HEADER_LEN;
        let failure = match encoded {
            Err(err) => Some(EncodeFailure::Encode(err)),
            Ok(()) if limit.is_exceeded_by(len) => {
                Some(EncodeFailure::TooLarge(PayloadTooLarge { len, limit }))
            }
            Ok(()) => None,
        };
        if let Some(failure) = failure {
            // Also lets the memory of an over-limit body go.
            self.outbound.truncate(start);
            return Err(failure);
        }
        header.body_len = len as u32;
        buf[start..start + HEADER_LEN].copy_from_slice(&header.encode());
        self.stats.frames_sent += 1;
        self.outbound.frame_queued();
        Ok(self.outbound.queued())
    }

    /// Encodes a tiny body that cannot fail and is below any sane payload limit.
    fn encode_event(&mut self, mut header: Header, body: &[u8]) -> u64 {
        header.body_len = body.len() as u32;
        let buf = self.outbound.buf();
        buf.extend_from_slice(&header.encode());
        buf.extend_from_slice(body);
        self.stats.frames_sent += 1;
        self.outbound.frame_queued();
        self.outbound.queued()
    }

    /// Answers request `id` with an error `status` and `message`, written in Hessian2 (the
    /// connection's own answers are for requests it did not decode, `docs/protocol.md` §1.1).
    fn reject(&mut self, id: RequestId, status: Status, message: &str) {
        self.stats.requests_rejected += 1;
        let mut body = Vec::with_capacity(message.len() + 3);
        hessian2::write_string(&mut body, message);
        if self.config.payload_limit.is_exceeded_by(body.len()) {
            // Even the message is over the limit: a null message means "no message" (§3.4).
            body = HEARTBEAT_BODY.to_vec();
        }
        self.encode_event(response_header(id, status, false, SERIALIZATION), &body);
    }

    fn queue_heartbeat(&mut self, now: Instant) -> RequestId {
        let id = self.next_request_id();
        self.encode_event(
            request_header(id, true, true, SERIALIZATION),
            &HEARTBEAT_BODY,
        );
        self.liveness.last_heartbeat = Some(now);
        self.stats.heartbeats_sent += 1;
        id
    }

    fn next_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    fn sent_notification(
        &mut self,
        notify: bool,
        id: RequestId,
        end_offset: u64,
    ) -> Option<Completion<SentResult>> {
        notify.then(|| {
            let (completer, completion) = pair(abandoned_sent);
            self.outbound.notify_when_written(end_offset, id, completer);
            completion
        })
    }

    fn check_can_send<E>(&mut self) -> Result<(), StartErrorKind<E>> {
        if let Some(err) = self.closed {
            return Err(StartErrorKind::Closed(err));
        }
        let buffered = self.outbound.unwritten();
        let high_water = self.config.send_buffer_high_water.get();
        if buffered >= high_water as u64 {
            self.capacity_wanted = true;
            return Err(StartErrorKind::SendBufferFull {
                buffered,
                high_water,
            });
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // Bookkeeping

    /// Clamps `now` to be monotonic and applies cancellations from dropped completions.
    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.take_cancels();
        self.now
    }

    /// Ends or forgets the calls whose cancellation was queued (cheap when none was).
    fn take_cancels(&mut self) {
        self.cancels.drain_into(&mut self.cancelled_scratch);
        if self.cancelled_scratch.is_empty() {
            return;
        }
        let mut ids = std::mem::take(&mut self.cancelled_scratch);
        let mut removed = false;
        for (id, with_outcome) in ids.drain(..) {
            let Some(pending) = self.pending.remove(id) else {
                continue;
            };
            removed = true;
            if with_outcome {
                self.finish(pending, Err(CallError::Cancelled));
            }
            // Otherwise its completion is gone: dropping the completer resolves nothing
            // anyone sees.
        }
        // The scratch keeps its allocation for the next time.
        self.cancelled_scratch = ids;
        if removed {
            self.check_capacity();
        }
    }

    fn finish(&mut self, pending: Pending, outcome: CallResult) {
        self.events.push_back(Event::CallCompleted(Delivery::new(
            pending.id,
            pending.completer,
            outcome,
        )));
    }

    /// Ends the connection once: fails every pending call and `sent` notification at once.
    fn end(&mut self, reason: ConnectionError) {
        if self.closed.is_some() {
            return;
        }
        self.closed = Some(reason);
        for pending in self.pending.drain() {
            self.events.push_back(Event::CallCompleted(Delivery::new(
                pending.id,
                pending.completer,
                Err(CallError::ConnectionLost(reason)),
            )));
        }
        for (id, completer) in self.outbound.clear() {
            self.events.push_back(Event::RequestSent(Delivery::new(
                id,
                completer,
                Err(reason),
            )));
        }
        self.inbound.clear();
        self.inbound_bytes = 0;
        // Requests already read are still reported, as those read before them were: a
        // one-way request's handler runs, a two-way one's answer finds the connection closed.
        self.events
            .extend(self.held.drain(..).map(Event::RequestReceived));
        self.held_two_way = 0;
        self.held_bytes = 0;
        // Callback exports and proxies live and die with the connection (`docs/protocol.md` §6.5).
        self.callbacks.clear();
        self.events.push_back(Event::Closed(reason));
    }

    /// When bytes from the peer were last handed to it (its liveness clock, which heartbeats
    /// and idle timeouts run on): a graceful shutdown waits for this to stay put.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use tether_core::{CallOptions, Config, Connection, Side};
    ///
    /// let opened = Instant::now();
    /// let mut consumer = Connection::new(Config::new(Side::Consumer), opened);
    /// let mut provider = Connection::new(Config::new(Side::Provider), opened);
    /// assert_eq!(provider.last_read(), opened);
    ///
    /// // A request arrives a second later.
    /// let later = opened + Duration::from_secs(1);
    /// let timeout = CallOptions::new(Duration::from_secs(3));
    /// let _call = consumer.start_call(later, timeout, b"ping".to_vec());
    /// let mut wire = Vec::new();
    /// let n = consumer.poll_transmit(later, &mut wire);
    /// consumer.handle_written(later, n);
    /// provider.handle_input(later, &wire);
    /// assert_eq!(provider.last_read(), later);
    /// ```
    pub fn last_read(&self) -> Instant {
        self.liveness.last_read
    }

    fn heartbeat_due(&self) -> Option<Instant> {
        let interval = self.config.keepalive.heartbeat()?;
        // Due after `interval` without reads or without writes (a 2.6 server closes on its
        // read-idle, which is our write-idle), but never more often than once an interval.
        let quiet_since = self.liveness.last_read.min(self.liveness.last_write);
        let since = match self.liveness.last_heartbeat {
            Some(sent) => quiet_since.max(sent),
            None => quiet_since,
        };
        Some(since + interval)
    }

    fn set_held(&mut self, id: RequestId, held: bool) {
        if let Some(awaiting) = self.inbound.get_mut(&id.0) {
            awaiting.held = held;
        }
    }

    /// The hard limit of the send buffer; never below the high-water mark.
    fn send_buffer_limit(&self) -> u64 {
        self.config
            .send_buffer_limit
            .max(self.config.send_buffer_high_water)
            .get() as u64
    }

    /// Whether another request may be dispatched: the bytes not yet written plus the answers
    /// expected for the requests dispatched and not yet answered, this one's included, stay
    /// within the high-water mark (one runs whatever its answer is expected to cost). The
    /// limit above the mark is headroom for answers larger than expected.
    /// `this` counts the request being decided on if it is in `inbound` already.
    fn may_dispatch(&self, this: usize) -> bool {
        let owed = (self.inbound.len() - self.held_two_way - this) as u64;
        // This request's answer too.
        let expected = (owed + 1).saturating_mul(self.expected_answer());
        let unwritten = self.outbound.unwritten();
        let high_water = self.config.send_buffer_high_water.get() as u64;
        unwritten < high_water && (owed == 0 || unwritten.saturating_add(expected) <= high_water)
    }

    /// The answer estimate now: while it alone keeps requests held, it halves every
    /// [`ESTIMATE_HALF_LIFE`].
    fn expected_answer(&self) -> u64 {
        let Some(since) = self.fading_since else {
            return self.answer_estimate;
        };
        let age = self.now.saturating_duration_since(since);
        let halvings = age.as_nanos() / ESTIMATE_HALF_LIFE.as_nanos();
        self.answer_estimate >> halvings.min(63)
    }

    /// When held requests should be looked at again because the estimate fades, if any
    /// wait and it still can.
    fn estimate_fades(&self) -> Option<Instant> {
        let since = self.fading_since?;
        if self.expected_answer() == 0 {
            return None;
        }
        let age = self.now.saturating_duration_since(since);
        let halvings = age.as_nanos() / ESTIMATE_HALF_LIFE.as_nanos();
        let next = (halvings + 1).min(u128::from(u32::MAX)) as u32;
        Some(since + ESTIMATE_HALF_LIFE * next)
    }

    /// Starts the estimate fading while it alone keeps requests held (the send buffer is
    /// below its mark), and stops it otherwise, keeping what faded.
    fn update_fading(&mut self) {
        let blocked_by_estimate = !self.held.is_empty()
            && self.outbound.unwritten() < self.config.send_buffer_high_water.get() as u64;
        match (blocked_by_estimate, self.fading_since) {
            (true, None) => self.fading_since = Some(self.now),
            (false, Some(_)) => {
                self.answer_estimate = self.expected_answer();
                self.fading_since = None;
            }
            _ => {}
        }
    }

    /// Whether a response frame of `len` bytes may join the `buffered` unwritten ones: any
    /// that fits under the limit, and any at all while the buffer is below the high-water
    /// mark (so that a lone response up to the payload limit always goes).
    fn response_fits(&self, buffered: u64, len: usize) -> bool {
        buffered < self.config.send_buffer_high_water.get() as u64
            || buffered + len as u64 <= self.send_buffer_limit()
    }

    /// Reports held requests, in order, while there is room for their answers.
    fn release_held(&mut self) {
        while !self.held.is_empty() && self.may_dispatch(0) {
            let request = self.held.pop_front().expect("not empty");
            if request.two_way {
                self.set_held(request.id, false);
            }
            self.held_two_way -= usize::from(request.two_way);
            self.held_bytes -= HELD_OVERHEAD + request.body.len() as u64;
            self.events.push_back(Event::RequestReceived(request));
        }
        self.update_fading();
    }

    fn check_capacity(&mut self) {
        if self.capacity_wanted
            && self.closed.is_none()
            && self.pending.len() < self.config.max_in_flight.get()
            && self.outbound.unwritten() <= self.config.send_buffer_high_water.get() as u64 / 2
        {
            self.capacity_wanted = false;
            self.events.push_back(Event::CapacityAvailable);
        }
    }
}

/// Serialization of the frames the connection writes on its own (events, rejections).
const SERIALIZATION: SerializationId = SerializationId::HESSIAN2;

fn request_header(
    id: RequestId,
    two_way: bool,
    event: bool,
    serialization: SerializationId,
) -> Header {
    Header {
        kind: FrameKind::Request { two_way },
        event,
        serialization,
        id,
        body_len: 0,
    }
}

fn response_header(
    id: RequestId,
    status: Status,
    event: bool,
    serialization: SerializationId,
) -> Header {
    Header {
        kind: FrameKind::Response { status },
        event,
        serialization,
        id,
        body_len: 0,
    }
}

fn start_failure<P: Payload>(
    failure: EncodeFailure<P::Error>,
    payload: P,
) -> StartError<P, P::Error> {
    let kind = match failure {
        EncodeFailure::TooLarge(err) => StartErrorKind::PayloadTooLarge(err),
        EncodeFailure::Encode(err) => StartErrorKind::Encode(err),
    };
    StartError { kind, payload }
}

/// The outcome of a call whose completer was dropped unresolved (the connection, or its
/// state machine, went away): for [`pair`]s and [`map_pair`](crate::call::map_pair)s passed
/// to [`Connection::start_call_with`].
pub fn abandoned_call() -> CallResult {
    Err(CallError::ConnectionLost(ConnectionError::Dropped))
}

fn abandoned_sent() -> SentResult {
    Err(ConnectionError::Dropped)
}
