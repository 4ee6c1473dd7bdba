//! Test support for tether: a deterministic in-memory pair of connections.
//!
//! [`Pair`] joins a consumer and a provider [`Connection`] with a simulated link: every batch
//! of bytes is cut into seeded random chunks, each delivered after a seeded latency (order is
//! kept, as on TCP), on a virtual clock that jumps from one interesting instant to the next.
//! A run is a pure function of its seed: print it on failure ([`SeedGuard`]) and replay.

#![allow(missing_docs)] // test support: the names say it

pub mod callbacks;
pub mod child;
pub mod conformance;
pub mod demo;
pub mod estate;
pub mod exec;
pub mod faults;
pub mod generic;
pub mod interop;
pub mod readonly;
pub mod types;
pub mod zk;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tether_core::{
    CallResult, Config, Connection, ConnectionError, Event, InboundRequest, Inline, RequestId,
    SentResult, Status,
};

/// Which end of the pair.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    Consumer,
    Provider,
}

/// How the simulated link behaves.
#[derive(Clone, Copy, Debug)]
pub struct LinkConfig {
    /// One-way latency, uniformly drawn per chunk from this range (delivery order is kept).
    pub latency: (Duration, Duration),
    /// Largest chunk the link delivers at once; each chunk's size is drawn from 1..=max.
    pub max_chunk: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: (Duration::from_micros(50), Duration::from_millis(2)),
            max_chunk: 300,
        }
    }
}

/// What a handler decides for a request: answer after a delay, or leave it unanswered.
pub type Handler = Box<dyn FnMut(&InboundRequest) -> Option<(Duration, Status, Vec<u8>)>>;

/// Events other than requests and deliveries, as observed by one end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    PeerReadOnly,
    PeerWriteable,
    CapacityAvailable,
    Closed(ConnectionError),
}

/// A response to send later: when, tie-breaking sequence, id, status, body.
type ScheduledResponse = (Instant, u64, RequestId, u8, Vec<u8>);

/// One end: its connection plus what the harness saw of it.
pub struct Endpoint {
    pub conn: Connection,
    /// Requests not taken by a handler.
    pub requests: VecDeque<InboundRequest>,
    /// Answers requests as they arrive, if set.
    pub handler: Option<Handler>,
    pub observed: Vec<Observed>,
    /// How many outcomes were delivered per call id: exactly-once is checked against this.
    pub call_deliveries: HashMap<RequestId, u32>,
    pub sent_deliveries: HashMap<RequestId, Vec<SentResult>>,
    /// When set, the transport accepts no bytes from this end (a full socket buffer).
    pub stalled: bool,
    /// When set, bytes arriving at this end are dropped unread (a frozen peer).
    pub deaf: bool,
    scheduled: BinaryHeap<Reverse<ScheduledResponse>>,
    /// The next scheduled response's sequence number: only ever grows, so responses due at
    /// the same instant leave in the order they were scheduled.
    next_seq: u64,
    /// Bytes handed out by `poll_transmit` that the transport has not accepted yet.
    unaccepted: VecDeque<u8>,
}

impl Endpoint {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            requests: VecDeque::new(),
            handler: None,
            observed: Vec::new(),
            call_deliveries: HashMap::new(),
            sent_deliveries: HashMap::new(),
            stalled: false,
            deaf: false,
            scheduled: BinaryHeap::new(),
            next_seq: 0,
            unaccepted: VecDeque::new(),
        }
    }

    /// Whether the connection reported its end.
    pub fn closed(&self) -> Option<ConnectionError> {
        self.observed.iter().find_map(|o| match o {
            Observed::Closed(reason) => Some(*reason),
            _ => None,
        })
    }

    /// Schedules a response to `id` at `at`.
    pub fn respond_at(&mut self, at: Instant, id: RequestId, status: Status, body: Vec<u8>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.scheduled.push(Reverse((at, seq, id, status.0, body)));
    }
}

/// The most rounds [`Pair::settle`] and [`Loopback::pump`] take before they call it a
/// livelock. The suite's heaviest scenarios need about 20 and 110.
pub const SETTLE_ROUNDS: usize = 10_000;

/// Two connections over a simulated link, on a virtual clock.
pub struct Pair {
    pub consumer: Endpoint,
    pub provider: Endpoint,
    pub now: Instant,
    pub start: Instant,
    pub seed: u64,
    link: LinkConfig,
    rng: SmallRng,
    /// Chunks in flight towards each end, in delivery order.
    to_provider: VecDeque<(Instant, Vec<u8>)>,
    to_consumer: VecDeque<(Instant, Vec<u8>)>,
    scratch: Vec<u8>,
}

impl Pair {
    /// A pair with default configurations for both sides.
    pub fn new(seed: u64) -> Self {
        Self::with(
            seed,
            Config::new(tether_core::Side::Consumer),
            Config::new(tether_core::Side::Provider),
            LinkConfig::default(),
        )
    }

    pub fn with(seed: u64, consumer: Config, provider: Config, link: LinkConfig) -> Self {
        // The one real clock read: a base for the virtual clock, which never reads it again.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Self {
            consumer: Endpoint::new(Connection::new(consumer, start)),
            provider: Endpoint::new(Connection::new(provider, start)),
            now: start,
            start,
            seed,
            link,
            rng: SmallRng::seed_from_u64(seed),
            to_provider: VecDeque::new(),
            to_consumer: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    pub fn end(&mut self, end: End) -> &mut Endpoint {
        match end {
            End::Consumer => &mut self.consumer,
            End::Provider => &mut self.provider,
        }
    }

    /// Virtual time since the pair was created.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Random numbers from the pair's seed, for tests that script randomized schedules.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Moves everything that can move at the current instant until nothing changes. Fails
    /// the test, with the seed, if that takes more than [`SETTLE_ROUNDS`] rounds: a livelock
    /// (two ends that keep answering each other at one instant) must not hang the test.
    pub fn settle(&mut self) {
        assert!(
            self.settle_bounded(SETTLE_ROUNDS),
            "livelock: Pair::settle still made progress after {SETTLE_ROUNDS} rounds at one \
             instant (seed {})",
            self.seed
        );
    }

    /// [`settle`](Self::settle) in at most `max_rounds` rounds. Returns whether it settled
    /// (false: things still moved after `max_rounds`).
    pub fn settle_bounded(&mut self, max_rounds: usize) -> bool {
        for _ in 0..max_rounds {
            let mut progressed = false;
            for end in [End::Consumer, End::Provider] {
                progressed |= self.flush(end);
            }
            progressed |= self.deliver_due();
            for end in [End::Consumer, End::Provider] {
                progressed |= self.drain_events(end);
                progressed |= self.run_scheduled(end);
            }
            if !progressed {
                return true;
            }
        }
        false
    }

    /// Runs until `deadline` in virtual time, stopping at every instant where something is
    /// due (a chunk arrives, a timer fires, a scheduled response is sent).
    pub fn run_until(&mut self, deadline: Instant) {
        // Steps that did not move the clock: each fires the timers due, so a second one at
        // the same instant means a deadline that firing does not clear.
        let mut stuck = 0;
        loop {
            self.settle();
            // A chunk waiting for an end that does not want input is due when that changes,
            // which only another event can cause.
            let reading = |ep: &Endpoint| ep.deaf || ep.conn.wants_input();
            let next = [
                self.to_provider
                    .front()
                    .filter(|_| reading(&self.provider))
                    .map(|c| c.0),
                self.to_consumer
                    .front()
                    .filter(|_| reading(&self.consumer))
                    .map(|c| c.0),
                self.consumer.conn.poll_timeout(),
                self.provider.conn.poll_timeout(),
                self.consumer.scheduled.peek().map(|r| r.0.0),
                self.provider.scheduled.peek().map(|r| r.0.0),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|&t| t <= deadline) else {
                self.now = self.now.max(deadline);
                self.fire_timers();
                self.settle();
                return;
            };
            if next <= self.now {
                stuck += 1;
                assert!(
                    stuck < SETTLE_ROUNDS,
                    "livelock: Pair::run_until did not move past {:?} of virtual time in \
                     {SETTLE_ROUNDS} steps (seed {})",
                    self.elapsed(),
                    self.seed
                );
            } else {
                stuck = 0;
            }
            self.now = self.now.max(next);
            self.fire_timers();
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs until `done` holds (checked after each step) or `limit` of virtual time passes.
    /// Returns whether `done` held.
    pub fn run_while(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let deadline = self.now + limit;
        let step = Duration::from_micros(100);
        loop {
            self.settle();
            if done(self) {
                return true;
            }
            if self.now >= deadline {
                return false;
            }
            self.run_until((self.now + step).min(deadline));
        }
    }

    /// Cuts the link: both ends see the transport close, bytes in flight are lost.
    pub fn reset(&mut self) {
        self.to_provider.clear();
        self.to_consumer.clear();
        let now = self.now;
        self.consumer.conn.handle_closed(now);
        self.provider.conn.handle_closed(now);
        self.settle();
    }

    /// Puts raw bytes on the wire towards `end`, as if its peer had sent them.
    pub fn inject(&mut self, end: End, bytes: &[u8]) {
        let at = self.now;
        match end {
            End::Provider => self.to_provider.push_back((at, bytes.to_vec())),
            End::Consumer => self.to_consumer.push_back((at, bytes.to_vec())),
        }
        self.settle();
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        self.consumer.conn.handle_timeout(now);
        self.provider.conn.handle_timeout(now);
    }

    /// Takes the end's outbound bytes onto the link and reports what its transport accepted.
    fn flush(&mut self, end: End) -> bool {
        let now = self.now;
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let ep = self.end(end);
        ep.conn.poll_transmit(now, &mut buf);
        ep.unaccepted.extend(&buf);
        self.scratch = buf;
        let ep = self.end(end);
        if ep.stalled || ep.unaccepted.is_empty() {
            return false;
        }
        let bytes: Vec<u8> = ep.unaccepted.drain(..).collect();
        let n = bytes.len();
        self.end(end).conn.handle_written(now, n);
        self.send_chunks(end, bytes);
        true
    }

    fn send_chunks(&mut self, from: End, bytes: Vec<u8>) {
        let (lo, hi) = self.link.latency;
        let mut at = self.now;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = self.rng.gen_range(1..=self.link.max_chunk.min(rest.len()));
            let latency = if hi > lo {
                self.rng.gen_range(lo..=hi)
            } else {
                lo
            };
            let queue = match from {
                End::Consumer => &mut self.to_provider,
                End::Provider => &mut self.to_consumer,
            };
            // TCP keeps order: a chunk never overtakes the one before it.
            let last = queue.back().map_or(at, |c| c.0);
            at = (self.now + latency).max(last);
            queue.push_back((at, rest[..n].to_vec()));
            rest = &rest[n..];
        }
    }

    fn deliver_due(&mut self) -> bool {
        let now = self.now;
        let mut progressed = false;
        // Like an adapter, stop reading while the connection does not want input: the bytes
        // stay on the link (in the socket buffers).
        while self.to_provider.front().is_some_and(|c| c.0 <= now)
            && (self.provider.deaf || self.provider.conn.wants_input())
        {
            let (_, chunk) = self.to_provider.pop_front().expect("checked");
            if !self.provider.deaf {
                self.provider.conn.handle_input(now, &chunk);
            }
            progressed = true;
        }
        while self.to_consumer.front().is_some_and(|c| c.0 <= now)
            && (self.consumer.deaf || self.consumer.conn.wants_input())
        {
            let (_, chunk) = self.to_consumer.pop_front().expect("checked");
            if !self.consumer.deaf {
                self.consumer.conn.handle_input(now, &chunk);
            }
            progressed = true;
        }
        progressed
    }

    fn drain_events(&mut self, end: End) -> bool {
        let now = self.now;
        let ep = self.end(end);
        let mut progressed = false;
        while let Some(event) = ep.conn.poll_event() {
            progressed = true;
            match event {
                Event::RequestReceived(request) => {
                    let decision = ep.handler.as_mut().map(|h| h(&request));
                    match decision {
                        Some(Some((delay, status, body))) => {
                            ep.respond_at(now + delay, request.id, status, body)
                        }
                        Some(None) => {}
                        None => ep.requests.push_back(request),
                    }
                }
                Event::CallCompleted(delivery) => {
                    *ep.call_deliveries.entry(delivery.id()).or_default() += 1;
                    delivery.deliver(&Inline);
                }
                Event::RequestSent(delivery) => {
                    ep.sent_deliveries
                        .entry(delivery.id())
                        .or_default()
                        .push(*delivery.outcome());
                    delivery.deliver(&Inline);
                }
                Event::PeerReadOnly => ep.observed.push(Observed::PeerReadOnly),
                Event::PeerWriteable => ep.observed.push(Observed::PeerWriteable),
                Event::CapacityAvailable => ep.observed.push(Observed::CapacityAvailable),
                Event::Closed(reason) => ep.observed.push(Observed::Closed(reason)),
                other => panic!("unexpected event {other:?}"),
            }
        }
        progressed
    }

    fn run_scheduled(&mut self, end: End) -> bool {
        let now = self.now;
        let ep = self.end(end);
        let mut progressed = false;
        while ep.scheduled.peek().is_some_and(|r| r.0.0 <= now) {
            let Reverse((_, _, id, status, body)) = ep.scheduled.pop().expect("checked");
            // The connection may have closed meanwhile: then the answer goes nowhere.
            let _ = ep
                .conn
                .respond(now, id, Status(status), Default::default(), body);
            progressed = true;
        }
        progressed
    }
}

/// Takes the outcome of a completion that must have resolved.
pub fn outcome(completion: &mut tether_core::Completion<CallResult>) -> CallResult {
    completion
        .try_take()
        .expect("the call should have completed by now")
}

/// Body bytes of an OK response.
pub fn body(result: CallResult) -> Bytes {
    let response = result.expect("call should succeed");
    assert_eq!(response.status, Status::OK);
    response.body
}

/// Bytes from hex text; whitespace is ignored (`"da bb 02"`).
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// Prints the seed if the test panics while it is alive, so the run can be replayed.
pub struct SeedGuard(pub u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failing seed: {} (replay with this seed)", self.0);
        }
    }
}

/// A virtual clock shared by the connections of a [`Loopback`].
#[derive(Clone)]
pub struct VirtualClock(std::sync::Arc<parking_lot::Mutex<Instant>>);

impl VirtualClock {
    pub fn new(start: Instant) -> Self {
        Self(std::sync::Arc::new(parking_lot::Mutex::new(start)))
    }

    pub fn advance(&self, d: Duration) {
        *self.0.lock() += d;
    }
}

impl tether_core::Clock for VirtualClock {
    fn now(&self) -> Instant {
        *self.0.lock()
    }
}

/// Futures spawned by handlers, polled by [`Loopback::pump`] on the test's thread.
#[derive(Clone, Default)]
pub struct QueueSpawner(std::sync::Arc<parking_lot::Mutex<Vec<tether_core::BoxFuture>>>);

impl tether_core::Spawner for QueueSpawner {
    fn spawn(&self, future: tether_core::BoxFuture) {
        self.0.lock().push(future);
    }
}

impl QueueSpawner {
    /// Polls every queued future once; returns whether any finished or was added.
    fn poll_all(&self) -> bool {
        let mut futures = std::mem::take(&mut *self.0.lock());
        let before = futures.len();
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        futures.retain_mut(|f| f.as_mut().poll(&mut cx).is_pending());
        let progressed = futures.len() != before;
        let mut queue = self.0.lock();
        let added = !queue.is_empty();
        futures.append(&mut queue);
        *queue = futures;
        progressed || added
    }
}

/// Two [`tether_core::SharedConnection`]s joined in memory, with request handlers on each
/// end, a virtual clock and a spawner polled in the same loop: the upper layers (provider,
/// consumer) tested deterministically without sockets or threads.
pub struct Loopback {
    pub consumer: tether_core::SharedConnection,
    pub provider: tether_core::SharedConnection,
    pub clock: VirtualClock,
    pub spawner: QueueSpawner,
    consumer_handler: Option<std::sync::Arc<dyn tether_core::RequestHandler>>,
    provider_handler: Option<std::sync::Arc<dyn tether_core::RequestHandler>>,
}

impl Loopback {
    pub fn new(
        consumer_handler: Option<std::sync::Arc<dyn tether_core::RequestHandler>>,
        provider_handler: Option<std::sync::Arc<dyn tether_core::RequestHandler>>,
    ) -> Self {
        Self::with(
            Config::new(tether_core::Side::Consumer),
            Config::new(tether_core::Side::Provider),
            consumer_handler,
            provider_handler,
        )
    }

    pub fn with(
        consumer: Config,
        provider: Config,
        consumer_handler: Option<std::sync::Arc<dyn tether_core::RequestHandler>>,
        provider_handler: Option<std::sync::Arc<dyn tether_core::RequestHandler>>,
    ) -> Self {
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let clock = VirtualClock::new(start);
        let shared = |config| {
            tether_core::SharedConnection::new(
                Connection::new(config, start),
                std::sync::Arc::new(clock.clone()),
                || {},
            )
        };
        Self {
            consumer: shared(consumer),
            provider: shared(provider),
            clock,
            spawner: QueueSpawner::default(),
            consumer_handler,
            provider_handler,
        }
    }

    /// Moves bytes, events and spawned futures until nothing changes. Fails the test if that
    /// takes more than [`SETTLE_ROUNDS`] rounds: a livelock (handlers that keep answering
    /// each other) must not hang the test.
    pub fn pump(&self) {
        assert!(
            self.pump_bounded(SETTLE_ROUNDS),
            "livelock: Loopback::pump still made progress after {SETTLE_ROUNDS} rounds at one \
             instant"
        );
    }

    /// [`pump`](Self::pump) in at most `max_rounds` rounds. Returns whether everything
    /// settled (false: things still moved after `max_rounds`).
    pub fn pump_bounded(&self, max_rounds: usize) -> bool {
        use tether_core::Clock;
        for _ in 0..max_rounds {
            let now = self.clock.now();
            let mut progressed = false;
            for (from, to) in [
                (&self.consumer, &self.provider),
                (&self.provider, &self.consumer),
            ] {
                let mut wire = Vec::new();
                {
                    let mut conn = from.lock();
                    conn.handle_timeout(now);
                    let n = conn.poll_transmit(now, &mut wire);
                    conn.handle_written(now, n);
                }
                if !wire.is_empty() {
                    to.lock().handle_input(now, &wire);
                    progressed = true;
                }
            }
            for (shared, handler) in [
                (&self.consumer, &self.consumer_handler),
                (&self.provider, &self.provider_handler),
            ] {
                let events: Vec<Event> =
                    std::iter::from_fn(|| shared.lock().poll_event()).collect();
                progressed |= !events.is_empty();
                for event in events {
                    match event {
                        Event::RequestReceived(request) => match handler {
                            Some(handler) => handler.on_request(shared, request),
                            None => panic!("no handler for {request:?}"),
                        },
                        Event::CallCompleted(delivery) => delivery.deliver(&Inline),
                        Event::RequestSent(delivery) => delivery.deliver(&Inline),
                        _ => {}
                    }
                }
            }
            progressed |= self.spawner.poll_all();
            if !progressed {
                return true;
            }
        }
        false
    }

    /// Advances the virtual clock by `d` (firing timers) and pumps.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
        self.pump();
    }
}

/// The connections of the first provider `reference` lists (for references built over one
/// address, its only ones).
pub fn first_channels(
    reference: &tether_core::consumer::Reference,
) -> std::sync::Arc<tether_core::consumer::Channels> {
    let route = tether_core::cluster::Route::new(reference.path(), "");
    let invokers = reference.directory().list(&route);
    invokers
        .first()
        .expect("a provider listed")
        .channels()
        .clone()
}
