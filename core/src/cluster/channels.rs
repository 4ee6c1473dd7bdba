//! The connections to one provider ([`Channels`], picked round robin) and how dropped ones
//! are retried ([`Backoff`]).

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::shared::SharedConnection;

/// The connections of a reference, picked round robin (Dubbo's `connections`). An adapter
/// fills the slots as connections come up and empties them as they drop.
///
/// ```
/// use std::num::NonZeroUsize;
/// use tether_core::cluster::Channels;
///
/// let channels = Channels::new(NonZeroUsize::new(2).unwrap());
/// assert_eq!(channels.len(), 2);
/// // Both slots wait for an adapter to connect them.
/// assert!(channels.pick().is_none());
/// ```
pub struct Channels {
    slots: Box<[Mutex<Option<SharedConnection>>]>,
    next: AtomicUsize,
    /// Whether the connections were opened for these channels alone (closed on drop).
    owns_connections: bool,
}

impl Channels {
    /// `n` empty slots, for connections that may be shared with others: dropping the
    /// channels leaves them open.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// let channels = Channels::new(NonZeroUsize::new(3).unwrap());
    /// assert_eq!(channels.len(), 3);
    /// assert!(channels.get(2).is_none());
    /// ```
    pub fn new(n: NonZeroUsize) -> Self {
        Self {
            slots: (0..n.get()).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            owns_connections: false,
        }
    }

    /// `n` empty slots for connections opened for these channels alone: dropping the
    /// channels closes them (which also ends whatever keeps them reconnecting).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// let channels = Channels::owning(NonZeroUsize::MIN);
    /// assert_eq!(channels.len(), 1);
    /// drop(channels); // would close any connection it held
    /// ```
    pub fn owning(n: NonZeroUsize) -> Self {
        let mut channels = Self::new(n);
        channels.owns_connections = true;
        channels
    }

    /// One slot holding `conn`.
    ///
    /// ```no_run
    /// use tether_core::SharedConnection;
    /// use tether_core::cluster::Channels;
    ///
    /// fn wrap(conn: SharedConnection) -> Channels {
    ///     let channels = Channels::single(conn);
    ///     assert_eq!(channels.len(), 1);
    ///     channels
    /// }
    /// # let _ = wrap;
    /// ```
    pub fn single(conn: SharedConnection) -> Self {
        let channels = Self::new(NonZeroUsize::MIN);
        channels.set(0, Some(conn));
        channels
    }

    /// Number of slots.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// assert_eq!(Channels::new(NonZeroUsize::new(4).unwrap()).len(), 4);
    /// ```
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Always false: there is at least one slot.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// assert!(!Channels::new(NonZeroUsize::MIN).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Puts `conn` in slot `index` (or empties it).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// let channels = Channels::new(NonZeroUsize::MIN);
    /// // The connection in slot 0 dropped: empty the slot.
    /// channels.set(0, None);
    /// assert!(channels.get(0).is_none());
    /// ```
    pub fn set(&self, index: usize, conn: Option<SharedConnection>) {
        *self.slots[index].lock() = conn;
    }

    /// The connection in slot `index`.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// let channels = Channels::new(NonZeroUsize::new(2).unwrap());
    /// assert!(channels.get(1).is_none());
    /// ```
    pub fn get(&self, index: usize) -> Option<SharedConnection> {
        self.slots[index].lock().clone()
    }

    /// The next connection in round-robin order that can take a call: open, not read-only,
    /// with capacity. Failing that, any open connection that is not read-only (its start then
    /// reports the limit it hit).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::cluster::Channels;
    ///
    /// let channels = Channels::new(NonZeroUsize::new(2).unwrap());
    /// // With no connection up there is nothing to pick.
    /// assert!(channels.pick().is_none());
    /// ```
    pub fn pick(&self) -> Option<SharedConnection> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut fallback = None;
        for i in 0..n {
            let slot = self.slots[(start + i) % n].lock();
            if let Some(conn) = slot.as_ref() {
                if conn.is_available() {
                    return Some(conn.clone());
                }
                if fallback.is_none() && conn.is_usable() {
                    fallback = Some(conn.clone());
                }
            }
        }
        fallback
    }
}

impl fmt::Debug for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channels")
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Channels {
    /// Owned connections belong to these channels alone: close them.
    fn drop(&mut self) {
        if !self.owns_connections {
            return;
        }
        for slot in self.slots.iter() {
            if let Some(conn) = slot.lock().take() {
                conn.close();
            }
        }
    }
}

/// How long to wait before reconnecting a dropped connection: doubling from `initial` up to
/// `max`. Java checks every 60 s; tether retries sooner, starting at 100 ms.
///
/// ```
/// use std::time::Duration;
/// use tether_core::cluster::Backoff;
///
/// let backoff = Backoff::default();
/// assert_eq!(backoff.delay(0), Duration::from_millis(100));
/// assert_eq!(backoff.delay(20), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// Doubling delays from `initial`, capped at `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The delay before reconnect attempt `attempt` (0 for the first).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::cluster::Backoff;
    ///
    /// let backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
    /// assert_eq!(backoff.delay(2), Duration::from_millis(200));
    /// assert_eq!(backoff.delay(10), Duration::from_secs(1));
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

impl Default for Backoff {
    /// 100 ms, doubling to 5 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap() {
        let b = Backoff::default();
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(3), Duration::from_millis(800));
        assert_eq!(b.delay(10), Duration::from_secs(5));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
    }
}
