//! Connection configuration: typed, with Dubbo's defaults, validated when built.

use std::num::NonZeroUsize;
use std::time::Duration;

use crate::error::ConfigError;
use crate::frame::PayloadLimit;

/// Which end of the connection this is. Both ends send and answer requests (a provider calls
/// consumer callbacks over the same connection); the side picks the keep-alive defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// The end that opened the connection.
    Consumer,
    /// The end that accepted it.
    Provider,
}

/// Heartbeats and the idle timeout (`docs/protocol.md` §4.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Keepalive {
    heartbeat: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl Keepalive {
    /// Dubbo's heartbeat interval: 60 s.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);
    /// Dubbo's idle timeout: three heartbeat intervals.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(180);

    /// Sends a heartbeat after `heartbeat` without reads or without writes (if given), and
    /// closes the connection after `idle_timeout` without reads (if given). The idle timeout
    /// must be at least twice the heartbeat interval, as Dubbo requires.
    pub fn new(
        heartbeat: Option<Duration>,
        idle_timeout: Option<Duration>,
    ) -> Result<Self, ConfigError> {
        if heartbeat.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::Zero("heartbeat interval"));
        }
        if idle_timeout.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::Zero("idle timeout"));
        }
        if let (Some(heartbeat), Some(idle)) = (heartbeat, idle_timeout) {
            if idle < heartbeat * 2 {
                return Err(ConfigError::IdleTimeoutTooShort { heartbeat, idle });
            }
        }
        Ok(Self {
            heartbeat,
            idle_timeout,
        })
    }

    /// A consumer's defaults: heartbeat after 60 s idle, close after 180 s without reads.
    pub const fn consumer() -> Self {
        Self {
            heartbeat: Some(Self::DEFAULT_HEARTBEAT),
            idle_timeout: Some(Self::DEFAULT_IDLE_TIMEOUT),
        }
    }

    /// A provider's defaults: Java 2.7+ providers answer heartbeats but send none; they close
    /// a connection after 180 s without reads (`close.timeout`).
    pub const fn provider() -> Self {
        Self {
            heartbeat: None,
            idle_timeout: Some(Self::DEFAULT_IDLE_TIMEOUT),
        }
    }

    /// No heartbeats and no idle timeout.
    pub const fn disabled() -> Self {
        Self {
            heartbeat: None,
            idle_timeout: None,
        }
    }

    /// The heartbeat interval, if heartbeats are sent.
    pub fn heartbeat(&self) -> Option<Duration> {
        self.heartbeat
    }

    /// The idle timeout, if any.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}

/// Configuration of one connection. `Config::new(side)` gives Dubbo's defaults for that side.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    pub(crate) side: Side,
    pub(crate) payload_limit: PayloadLimit,
    pub(crate) max_in_flight: NonZeroUsize,
    pub(crate) max_inbound_in_flight: NonZeroUsize,
    pub(crate) max_inbound_bytes: NonZeroUsize,
    pub(crate) send_buffer_high_water: NonZeroUsize,
    pub(crate) send_buffer_limit: NonZeroUsize,
    pub(crate) keepalive: Keepalive,
    pub(crate) callback_limit: NonZeroUsize,
}

impl Config {
    /// Default maximum of two-way calls in flight, per connection and direction.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 65_536;
    /// Default limit of callback instances per interface per connection, each way. Dubbo's
    /// own default of 1 surprises users (`docs/protocol.md` §6.4).
    pub const DEFAULT_CALLBACK_LIMIT: usize = 1000;
    /// Default bound on the bodies of the peer's requests awaiting this side's answer: 128 MiB
    /// (sixteen requests at the 8 MiB payload limit, thousands of ordinary ones).
    pub const DEFAULT_MAX_INBOUND_BYTES: usize = 128 * 1024 * 1024;
    /// Default high-water mark of the send buffer: 16 MiB not yet accepted by the transport.
    pub const DEFAULT_SEND_BUFFER_HIGH_WATER: usize = 16 * 1024 * 1024;
    /// Default bound on the bytes held for a peer that does not read: 64 MiB.
    pub const DEFAULT_SEND_BUFFER_LIMIT: usize = 64 * 1024 * 1024;

    /// Dubbo's defaults for `side`: 8 MiB payload limit, the side's keep-alive defaults,
    /// 65 536 calls in flight each way (and 128 MiB of the peer's request bodies), a 16 MiB
    /// send buffer high-water mark and a 64 MiB send buffer limit.
    pub fn new(side: Side) -> Self {
        let in_flight = NonZeroUsize::new(Self::DEFAULT_MAX_IN_FLIGHT).expect("non-zero constant");
        Self {
            side,
            payload_limit: PayloadLimit::default(),
            max_in_flight: in_flight,
            max_inbound_in_flight: in_flight,
            max_inbound_bytes: NonZeroUsize::new(Self::DEFAULT_MAX_INBOUND_BYTES)
                .expect("non-zero constant"),
            send_buffer_high_water: NonZeroUsize::new(Self::DEFAULT_SEND_BUFFER_HIGH_WATER)
                .expect("non-zero constant"),
            send_buffer_limit: NonZeroUsize::new(Self::DEFAULT_SEND_BUFFER_LIMIT)
                .expect("non-zero constant"),
            keepalive: match side {
                Side::Consumer => Keepalive::consumer(),
                Side::Provider => Keepalive::provider(),
            },
            callback_limit: NonZeroUsize::new(Self::DEFAULT_CALLBACK_LIMIT)
                .expect("non-zero constant"),
        }
    }

    /// Which end this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The largest frame body sent or accepted, both directions (Dubbo's `payload`).
    #[must_use = "a Config setter returns the changed Config"]
    pub fn payload_limit(mut self, limit: PayloadLimit) -> Self {
        self.payload_limit = limit;
        self
    }

    /// The most two-way calls this side may have awaiting responses; more are refused at
    /// their start with `TooManyInFlight`. At most 2³¹ (larger limits are lowered to it).
    #[must_use = "a Config setter returns the changed Config"]
    pub fn max_in_flight(mut self, limit: NonZeroUsize) -> Self {
        let most = NonZeroUsize::new(crate::pending::MAX_PENDING).expect("non-zero");
        self.max_in_flight = limit.min(most);
        self
    }

    /// The most two-way requests from the peer awaiting this side's response; more are
    /// answered at once with status 100 (`SERVER_THREADPOOL_EXHAUSTED`).
    #[must_use = "a Config setter returns the changed Config"]
    pub fn max_inbound_in_flight(mut self, limit: NonZeroUsize) -> Self {
        self.max_inbound_in_flight = limit;
        self
    }

    /// The most body bytes of the peer's two-way requests awaiting this side's response
    /// (the memory their handlers may hold); a request that would pass it is answered at
    /// once with status 100, unless it is the only one in flight.
    #[must_use = "a Config setter returns the changed Config"]
    pub fn max_inbound_bytes(mut self, bytes: NonZeroUsize) -> Self {
        self.max_inbound_bytes = bytes;
        self
    }

    /// The send buffer's high-water mark. Once this many bytes are queued but not yet
    /// accepted by the transport, new calls and one-way requests are refused with
    /// `SendBufferFull`. The peer's requests run only while the unwritten bytes plus the
    /// answers expected for the requests running (this one's included) stay within the mark:
    /// an answer is expected to take what the largest recent one took (halved at each
    /// smaller one; 16 KiB before any; halving every 250 ms while it alone keeps requests
    /// waiting). Requests past it wait, in order, until writes and answers make room. Reading
    /// stops while the waiting requests reach the mark with the buffer above it (or
    /// [`max_inbound_bytes`](Self::max_inbound_bytes) with the buffer below it). A peer that
    /// does not read is sent about the mark and pushed back.
    #[must_use = "a Config setter returns the changed Config"]
    pub fn send_buffer_high_water(mut self, bytes: NonZeroUsize) -> Self {
        self.send_buffer_high_water = bytes;
        self
    }

    /// The most bytes this connection holds for a peer that does not read them: the hard
    /// bound above the [high-water mark](Self::send_buffer_high_water) (a limit below the
    /// mark counts as the mark). Answers the high-water mark did not keep back (requests
    /// that were already running when their answers turned out larger than expected) may
    /// reach it: an answer that would take the send buffer past it, while the buffer is above
    /// the mark, is not queued, and the request is answered with status 80 (`SERVER_ERROR`)
    /// and a message saying why instead, so the caller still gets exactly one answer. A lone
    /// answer of up to the payload limit always fits while the buffer is below the mark.
    /// Reading stops while the buffer is at the limit.
    ///
    /// What a connection holds for its peer is therefore at most `send_buffer_limit +
    /// payload_limit` (an answer is encoded before it is measured) plus the short error
    /// answers the connection writes itself (status 80, 100 and 40, a few per request read),
    /// plus the held requests (up to the high-water mark while the buffer is above it,
    /// [`max_inbound_bytes`](Self::max_inbound_bytes) while it is below, and one read).
    ///
    /// A provider whose methods answer in bulk (many answers of megabytes at once) gives
    /// both more room:
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use tether_core::{Config, Side};
    ///
    /// let mib = |n: usize| NonZeroUsize::new(n << 20).unwrap();
    /// let config = Config::new(Side::Provider)
    ///     .send_buffer_high_water(mib(64))
    ///     .send_buffer_limit(mib(256));
    /// # let _ = config;
    /// ```
    #[must_use = "a Config setter returns the changed Config"]
    pub fn send_buffer_limit(mut self, bytes: NonZeroUsize) -> Self {
        self.send_buffer_limit = bytes;
        self
    }

    /// The most callback instances per callback interface on this connection, each way
    /// (Dubbo's `callbacks`).
    #[must_use = "a Config setter returns the changed Config"]
    pub fn callback_limit(mut self, limit: NonZeroUsize) -> Self {
        self.callback_limit = limit;
        self
    }

    /// Heartbeats and idle timeout.
    #[must_use = "a Config setter returns the changed Config"]
    pub fn keepalive(mut self, keepalive: Keepalive) -> Self {
        self.keepalive = keepalive;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_validation() {
        let s = Duration::from_secs;
        assert!(Keepalive::new(Some(s(10)), Some(s(20))).is_ok());
        assert_eq!(
            Keepalive::new(Some(s(10)), Some(s(19))),
            Err(ConfigError::IdleTimeoutTooShort {
                heartbeat: s(10),
                idle: s(19)
            })
        );
        assert!(Keepalive::new(Some(Duration::ZERO), None).is_err());
        assert!(Keepalive::new(None, Some(s(1))).is_ok());
    }
}
