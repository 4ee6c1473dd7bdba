//! A server's set of live connections and its graceful shutdown (`docs/protocol.md` §4.2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use slab::Slab;

use super::Timers;
use crate::connection::Announcement;
use crate::shared::SharedConnection;

/// How often [`drain_gracefully`] looks whether the connections went quiet. Shutdown is rare
/// and its deadline is seconds; polling keeps the connections free of shutdown hooks.
const DRAIN_POLL: Duration = Duration::from_millis(5);

/// How long [`drain_gracefully`] keeps serving connections that are quiet (nothing in flight,
/// nothing to write, no byte from the peer) after the read-only announcement was written,
/// before it closes them.
///
/// Dubbo's read-only event is one-way: no peer acknowledges it, so nothing tells when a
/// consumer stopped sending here. Until the consumer has read the event it may still pick
/// this provider, and those requests arrive up to one round trip plus the consumer's
/// reaction time after the event was written. Closing at the first quiet poll lost them, a
/// failed call under failfast. 100 ms is twenty polls: far above a loopback or LAN round
/// trip (well under 1 ms) and a datacenter's (a few ms), with room for a consumer thread
/// that a loaded machine did not schedule for tens of milliseconds. Each request that
/// arrives starts the wait anew, so a consumer still sending is served until the deadline.
/// It costs every graceful shutdown 100 ms, against a deadline of seconds; Java's provider
/// waits far longer (for its consumers to disconnect, up to `dubbo.service.shutdown.wait`,
/// 10 s by default).
const DRAIN_QUIET: Duration = Duration::from_millis(100);

/// The live connections of a server, so that shutdown can reach them. Guarded by one lock of
/// its own, taken only when a connection starts or ends and at shutdown.
#[derive(Debug, Default)]
pub struct ConnectionSet {
    conns: Mutex<Slab<SharedConnection>>,
    /// The most connections a server serves at once (`None`: no bound).
    limit: Option<usize>,
}

/// A connection's place in a [`ConnectionSet`]; dropping it removes the connection.
#[derive(Debug)]
pub struct Membership {
    set: Arc<ConnectionSet>,
    key: usize,
}

impl ConnectionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set for a server that serves at most `limit` connections at once
    /// ([`Options::max_connections`](super::Options::max_connections)).
    pub fn bounded(limit: std::num::NonZeroUsize) -> Self {
        Self {
            conns: Mutex::default(),
            limit: Some(limit.get()),
        }
    }

    /// Whether a server may take another connection: an accept loop closes the connections
    /// it accepts past the bound at once.
    pub fn has_room(&self) -> bool {
        self.limit.is_none_or(|limit| self.len() < limit)
    }

    /// Adds `conn` until the returned membership is dropped (hold it in the task that runs
    /// the connection's driver, so an aborted task leaves the set too).
    pub fn insert(self: &Arc<Self>, conn: SharedConnection) -> Membership {
        let key = self.conns.lock().insert(conn);
        Membership {
            set: self.clone(),
            key,
        }
    }

    /// The connections now in the set.
    pub fn snapshot(&self) -> Vec<SharedConnection> {
        self.conns.lock().iter().map(|(_, c)| c.clone()).collect()
    }

    /// How many connections are in the set.
    pub fn len(&self) -> usize {
        self.conns.lock().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.set.conns.lock().try_remove(self.key);
    }
}

/// Java's provider shutdown, for connections whose server stopped accepting: announce
/// read-only on each (consumers stop picking this provider, `docs/protocol.md` §4.2), keep
/// reading and serving them, and close them all once every two-way request from the peers
/// was answered, every byte written and no byte arrived for 100 ms (`DRAIN_QUIET`) since the
/// announcement went out, or at `deadline`. Returns whether they drained before the
/// deadline.
pub async fn drain_gracefully<R: Timers>(
    runtime: &R,
    conns: &[SharedConnection],
    deadline: Instant,
) -> bool {
    // Java sends "R" with `sent=true`; the write is awaited below, with the answers.
    let mut announced = Vec::with_capacity(conns.len());
    for conn in conns {
        // A connection that already ended has nobody to tell.
        if let Ok(sent) = conn.with(|c, now| c.announce(now, Announcement::ReadOnly, true)) {
            announced.extend(sent.sent);
        }
    }
    // When each connection had last read from its peer at the last look, and since when the
    // looks found them all quiet (announcement written, nothing in flight, nothing read since).
    // Counted from a look, the quiet period is never shorter than DRAIN_QUIET from the write.
    let mut received: Vec<Option<Instant>> = vec![None; conns.len()];
    let mut quiet_since: Option<Instant> = None;
    let drained = loop {
        let now = runtime.now();
        let mut work_left = !announced.iter().all(|sent| sent.is_ready());
        let mut heard = false;
        let mut open = 0;
        for (conn, seen) in conns.iter().zip(&mut received) {
            conn.with(|c, _| {
                if c.is_closed() {
                    return;
                }
                open += 1;
                // A request read since the last look may be answered already: a read
                // restarts the quiet period even when nothing is in flight now.
                let read = Some(c.last_read());
                heard |= read != *seen;
                *seen = read;
                work_left |= c.inbound_in_flight() > 0
                    || c.has_events()
                    || c.has_transmit()
                    || c.unwritten_bytes() > 0;
            });
        }
        if open == 0 {
            // Nobody left to hear from (or none to begin with): nothing can arrive.
            break true;
        }
        if work_left || heard {
            quiet_since = None;
        } else if now.saturating_duration_since(*quiet_since.get_or_insert(now)) >= DRAIN_QUIET {
            break true;
        }
        if now >= deadline {
            // Everything received was answered, even if the quiet period was cut short.
            break !work_left;
        }
        runtime.sleep_until(deadline.min(now + DRAIN_POLL)).await;
    };
    for conn in conns {
        conn.close();
    }
    drained
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the virtual clock starts from the real one
mod tests {
    //! [`drain_gracefully`] on a virtual clock: the test decides what the consumer does at
    //! each instant, so the race with a consumer that had not read the read-only event yet
    //! plays out the same way on every run, however loaded the machine.

    use std::future::{Future, Ready, ready};

    use super::*;
    use crate::shared::Clock;
    use crate::{
        Call, CallOptions, Config, Connection, Event, InboundRequest, Inline, Side, Status,
    };

    /// What happens while [`drain_gracefully`] sleeps, given the instant it wakes up.
    type World = Box<dyn FnMut(Instant) + Send>;

    /// A clock that moves only when [`drain_gracefully`] sleeps: each sleep first lets the
    /// world (the transport, the service and the consumer) act at the instant it wakes.
    struct Virtual {
        now: Mutex<Instant>,
        world: Mutex<Option<World>>,
    }

    impl Clock for Virtual {
        fn now(&self) -> Instant {
            *self.now.lock()
        }
    }

    impl Timers for Virtual {
        type Sleep = Ready<()>;

        fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
            {
                let mut now = self.now.lock();
                *now = (*now).max(deadline);
            }
            let now = self.now();
            if let Some(world) = self.world.lock().as_mut() {
                world(now);
            }
            ready(())
        }

        fn yield_now(&self) -> impl Future<Output = ()> + Send {
            ready(())
        }
    }

    /// What the consumer saw.
    #[derive(Debug, Default)]
    struct Seen {
        /// When it read the read-only event.
        read_only_at: Option<Instant>,
        /// When it sent its request.
        sent_at: Option<Instant>,
        /// The answer's body, or the error that ended the call.
        outcome: Option<Result<Vec<u8>, String>>,
        /// When it saw the connection close.
        closed_at: Option<Instant>,
    }

    /// One provider connection drained with `deadline` while its consumer sends one request
    /// `late` after it read the read-only event (it had picked this provider before reading
    /// it, as a loaded consumer does); the service answers `work` after the request came
    /// in. Returns what the consumer saw, `drain_gracefully`'s result and the start instant.
    fn race(late: Duration, work: Duration, deadline: Duration) -> (Seen, bool, Instant) {
        let start = Instant::now();
        let clock = Arc::new(Virtual {
            now: Mutex::new(start),
            world: Mutex::new(None),
        });
        let provider = SharedConnection::new(
            Connection::new(Config::new(Side::Provider), start),
            clock.clone(),
            || {},
        );
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut consumer = Connection::new(Config::new(Side::Consumer), start);
        let mut call: Option<Call> = None;
        let mut to_answer: Vec<(InboundRequest, Instant)> = Vec::new();
        let (conn, seen_by_world) = (provider.clone(), seen.clone());
        let world: World = Box::new(move |now| {
            let mut seen = seen_by_world.lock();
            // The provider's IO loop: write what it queued, deliver its events.
            let mut wire = Vec::new();
            let closed = {
                let mut c = conn.lock();
                let n = c.poll_transmit(now, &mut wire);
                c.handle_written(now, n);
                while let Some(event) = c.poll_event() {
                    match event {
                        Event::RequestSent(delivery) => delivery.deliver(&Inline),
                        Event::RequestReceived(request) => to_answer.push((request, now + work)),
                        _ => {}
                    }
                }
                c.is_closed()
            };
            // The service answers what is due.
            for (request, _) in to_answer.extract_if(.., |(_, due)| *due <= now) {
                let body = b"answered".to_vec();
                conn.with(|c, now| {
                    c.respond(now, request.id, Status::OK, request.serialization, body)
                })
                .expect("responds");
            }
            // The consumer reads what was written, and sees the connection end.
            consumer.handle_input(now, &wire);
            if closed && seen.closed_at.is_none() {
                seen.closed_at = Some(now);
                consumer.handle_closed(now);
            }
            while let Some(event) = consumer.poll_event() {
                match event {
                    Event::PeerReadOnly => seen.read_only_at = Some(now),
                    Event::CallCompleted(delivery) => delivery.deliver(&Inline),
                    _ => {}
                }
            }
            if let Some(outcome) = call.as_mut().and_then(|c| c.response.try_take()) {
                seen.outcome = Some(outcome.map(|r| r.body.to_vec()).map_err(|e| e.to_string()));
            }
            // Its request, written at once and read by the provider at once.
            let due = seen.read_only_at.is_some_and(|at| now >= at + late);
            if due && seen.sent_at.is_none() && !closed {
                seen.sent_at = Some(now);
                let options = CallOptions::new(Duration::from_secs(60));
                call = Some(
                    consumer
                        .start_call(now, options, b"hi".to_vec())
                        .expect("starts"),
                );
                let mut wire = Vec::new();
                let n = consumer.poll_transmit(now, &mut wire);
                consumer.handle_written(now, n);
                conn.with(|c, now| c.handle_input(now, &wire));
            }
        });
        *clock.world.lock() = Some(world);
        let drained = futures::executor::block_on(drain_gracefully(
            &*clock,
            std::slice::from_ref(&provider),
            start + deadline,
        ));
        // One more turn, for the close to reach the consumer.
        drop(clock.sleep_until(clock.now()));
        let seen = std::mem::take(&mut *seen.lock());
        (seen, drained, start)
    }

    /// The defect this guards against: the drain closed at its first quiet look, 5 ms after
    /// the event went out, and a request the consumer sent 20 ms later was lost (with
    /// failfast, a failed call). Now it is read, answered, and only then, once the
    /// connection stayed quiet for `DRAIN_QUIET`, closed.
    #[test]
    fn a_request_sent_just_after_the_read_only_event_is_answered() {
        let (seen, drained, start) = race(ms(20), ms(10), Duration::from_secs(5));
        assert!(seen.read_only_at.is_some(), "{seen:?}");
        let sent_at = seen
            .sent_at
            .expect("closed before the consumer sent its request: it would have been lost");
        assert_eq!(seen.outcome, Some(Ok(b"answered".to_vec())), "{seen:?}");
        assert!(drained);
        let closed_at = seen.closed_at.expect("closed");
        // Closed once the quiet period passed after the answer, long before the deadline.
        assert!(closed_at >= sent_at + ms(10) + DRAIN_QUIET, "{seen:?}");
        assert!(closed_at < start + ms(500), "{seen:?}");
    }

    /// A consumer quiet from the start: the connection closes `DRAIN_QUIET` after the
    /// event went out, not at the deadline.
    #[test]
    fn a_quiet_connection_closes_after_the_quiet_period() {
        let (seen, drained, start) = race(Duration::from_secs(3600), ms(0), Duration::from_secs(5));
        assert!(drained);
        assert_eq!(seen.sent_at, None);
        let read_only_at = seen.read_only_at.expect("the event arrived");
        let closed_at = seen.closed_at.expect("closed");
        assert!(closed_at >= read_only_at + DRAIN_QUIET, "{seen:?}");
        assert!(
            closed_at <= read_only_at + DRAIN_QUIET + 2 * DRAIN_POLL,
            "{seen:?}"
        );
        assert!(closed_at < start + ms(500));
    }

    /// The deadline still bounds the drain: a request not answered by then is abandoned,
    /// and the drain says so.
    #[test]
    fn the_deadline_cuts_a_slow_answer_short() {
        let (seen, drained, start) = race(ms(20), Duration::from_secs(10), ms(200));
        assert!(!drained);
        assert!(seen.sent_at.is_some());
        assert!(matches!(seen.outcome, Some(Err(_))), "{seen:?}");
        assert!(
            seen.closed_at
                .is_some_and(|at| at <= start + ms(200) + DRAIN_POLL)
        );
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
}
