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
/// read-only on each (consumers stop picking this provider, `docs/protocol.md` §4.2), wait until
/// every two-way request from the peers was answered and every byte written, or until
/// `deadline`, then close them all. Returns whether they drained before the deadline.
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
    let drained = loop {
        let announcements_out = announced.iter().all(|sent| sent.is_ready());
        let quiet = conns.iter().all(|conn| {
            conn.with(|c, _| {
                c.is_closed()
                    || (c.inbound_in_flight() == 0 && !c.has_transmit() && c.unwritten_bytes() == 0)
            })
        });
        if quiet && announcements_out {
            break true;
        }
        let now = runtime.now();
        if now >= deadline {
            break false;
        }
        runtime.sleep_until(deadline.min(now + DRAIN_POLL)).await;
    };
    for conn in conns {
        conn.close();
    }
    drained
}
