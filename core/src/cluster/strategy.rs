//! Dubbo's fault-tolerance strategies (`cluster=` on a reference or method): how many
//! providers a call goes to, and what happens when one fails.

use std::fmt;

use super::{Invoker, LoadBalance, Route};
use crate::invoke::{RpcError, SerializationError};

/// A fault-tolerance strategy (Dubbo's `cluster=`), per reference
/// ([`ReferenceBuilder::cluster`](crate::consumer::ReferenceBuilder::cluster)) or per method
/// ([`Method::cluster`](crate::consumer::Method::cluster)).
///
/// Every strategy delivers one outcome per call: the completion and the `on_return` /
/// `on_throw` listeners see the final outcome only, and dropping the completion cancels the
/// attempts in flight and those not yet made.
///
/// ```
/// use tether_core::cluster::Cluster;
///
/// assert_eq!(Cluster::default(), Cluster::Failover { retries: 2 });
/// assert_eq!(Cluster::from_name("forking"), Some(Cluster::Forking { forks: 2 }));
/// assert_eq!(Cluster::Failfast.name(), "failfast");
/// assert_eq!(Cluster::from_name("mergeable"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cluster {
    /// Tries another provider after a failure that is not the method's own (see
    /// [`is_retryable`]), up to `retries` more times, each time on a provider not tried yet
    /// in this call. Dubbo's default, with 2 retries.
    ///
    /// Unlike Java, a call never goes twice to the same provider: with one provider listed
    /// there is no retry (Java calls it again, which is what makes a timed-out
    /// non-idempotent call run three times).
    Failover {
        /// Attempts after the first (Dubbo's `retries`).
        retries: u32,
    },
    /// One attempt; its failure is the call's (for non-idempotent writes).
    Failfast,
    /// One attempt; a failure is logged and the call returns null (the value `R` decodes
    /// from Hessian null: `None`, `()`, an empty string...). A result type that cannot be
    /// null gets the failure instead.
    Failsafe,
    /// Calls `forks` distinct providers at once (all of them if `forks` is 0 or at least
    /// their number); the first success (a business exception counts as one) wins and the
    /// other calls are cancelled; if all fail, the last failure is the call's.
    Forking {
        /// Providers called at once (Dubbo's `forks`, default 2).
        forks: u32,
    },
    /// Calls every provider, one after another; the result is the last one's, or the last
    /// failure if any failed (a business exception counts as one). Stops after
    /// `fail_percent` % of the providers failed (100: never stops early).
    Broadcast {
        /// Dubbo's `broadcast.fail.percent`, 0 to 100.
        fail_percent: u8,
    },
    /// The first available provider, in listed order, no load balancing.
    Available,
    /// One attempt; a failure that is not the method's own (see [`is_retryable`]) is logged,
    /// the call returns null as under [`Failsafe`](Self::Failsafe), and the call is resent
    /// in the background, every [`FailbackQueue::period`](super::FailbackQueue::period), up
    /// to `retries` times, each time on another provider when there is one (Dubbo's
    /// `failback`, for notifications that must arrive eventually). The resends run on the
    /// reference's [`FailbackQueue`](super::FailbackQueue), which bounds how many wait;
    /// without one nothing is resent (and that is logged). A result type that cannot be null
    /// gets the failure, and the call is still resent. Dropping the call's completion does
    /// not stop its resends (a notification sent and forgotten is what failback is for).
    Failback {
        /// Resends after the first attempt (Dubbo's `retries` for failback, default 3).
        retries: u32,
    },
}

impl Default for Cluster {
    fn default() -> Self {
        Self::Failover {
            retries: Self::DEFAULT_RETRIES,
        }
    }
}

impl Cluster {
    /// Dubbo's default `retries` for failover.
    pub const DEFAULT_RETRIES: u32 = 2;
    /// Dubbo's default `forks`.
    pub const DEFAULT_FORKS: u32 = 2;
    /// Dubbo's default `retries` for failback.
    pub const DEFAULT_FAILBACK_RETRIES: u32 = 3;

    /// The strategy Dubbo calls `name` (`failover`, `failfast`, `failsafe`, `forking`,
    /// `broadcast`, `available`, `failback`), with Dubbo's defaults. Dubbo's `mergeable` is
    /// not provided.
    ///
    /// ```
    /// use tether_core::cluster::Cluster;
    ///
    /// assert_eq!(Cluster::from_name("forking"), Some(Cluster::Forking { forks: 2 }));
    /// assert_eq!(Cluster::from_name("mergeable"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "failover" => Self::default(),
            "failfast" => Self::Failfast,
            "failsafe" => Self::Failsafe,
            "forking" => Self::Forking {
                forks: Self::DEFAULT_FORKS,
            },
            "broadcast" => Self::Broadcast { fail_percent: 100 },
            "available" => Self::Available,
            "failback" => Self::Failback {
                retries: Self::DEFAULT_FAILBACK_RETRIES,
            },
            _ => return None,
        })
    }

    /// Dubbo's name for it.
    ///
    /// ```
    /// use tether_core::cluster::Cluster;
    ///
    /// assert_eq!(Cluster::Failback { retries: 1 }.name(), "failback");
    /// assert_eq!(Cluster::default().name(), "failover");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Self::Failover { .. } => "failover",
            Self::Failfast => "failfast",
            Self::Failsafe => "failsafe",
            Self::Forking { .. } => "forking",
            Self::Broadcast { .. } => "broadcast",
            Self::Available => "available",
            Self::Failback { .. } => "failback",
        }
    }

    /// Whether a call under it is one attempt on the provider the load balancer picks, with
    /// its failure as the outcome, when only one provider is listed: the path that needs
    /// no cluster machinery.
    pub(crate) fn is_plain_with_one(&self) -> bool {
        matches!(self, Self::Failover { .. } | Self::Failfast)
    }
}

impl fmt::Display for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a failed attempt is worth another provider under [`Cluster::Failover`]
/// (`docs/estate.md` §3.3, Dubbo's rules, with two refinements):
///
/// - never the method's own outcome: a business exception is an answer;
/// - never a call the caller cancelled, nor one that could not be encoded or was too large
///   (the same arguments fail the same way anywhere; Java retries them);
/// - a timeout only for a `blocking` call (Java retries timeouts of synchronous calls only:
///   an asynchronous caller already got its future);
/// - anything else (network errors, no connection, status 70/80/100, a provider's
///   serialization error, a thread pool exhausted) is retried.
///
/// ```
/// use std::time::Duration;
/// use tether_core::cluster::is_retryable;
/// use tether_core::consumer::RpcError;
/// use tether_core::error::TimeoutPhase;
///
/// let timeout = RpcError::Timeout { phase: TimeoutPhase::ServerSide, timeout: Duration::from_secs(1) };
/// assert!(is_retryable(&timeout, true));
/// assert!(!is_retryable(&timeout, false));
/// assert!(is_retryable(&RpcError::NoConnection("demo.Greeter".into()), false));
/// assert!(!is_retryable(&RpcError::Cancelled, true));
/// ```
pub fn is_retryable(error: &RpcError, blocking: bool) -> bool {
    match error {
        RpcError::Business(_) | RpcError::Cancelled | RpcError::BlockingOnIoThread(_) => false,
        RpcError::Serialization(
            SerializationError::Encode(_) | SerializationError::PayloadTooLarge(_),
        ) => false,
        RpcError::Timeout { .. } => blocking,
        _ => true,
    }
}

/// Picks the provider for an attempt among `invokers`, as Java's
/// `AbstractClusterInvoker.select` does (`docs/estate.md` §3.1): the sticky one if it is still
/// listed, untried and available; else the load balancer's pick if it is untried and
/// available; else the balancer's pick among the available untried ones; else among the
/// available tried ones; else the one after the first pick. With one provider listed, it.
pub(crate) fn select(
    invokers: &[Invoker],
    route: &Route<'_>,
    balance: &dyn LoadBalance,
    tried: &[Invoker],
    sticky: Option<&Invoker>,
) -> Option<Invoker> {
    let was_tried = |invoker: &Invoker| tried.iter().any(|t| t.same_provider(invoker));
    let fresh = |invoker: &Invoker| !was_tried(invoker) && invoker.is_available();
    match invokers {
        [] => return None,
        [one] => return Some(one.clone()),
        _ => {}
    }
    if let Some(sticky) = sticky {
        if let Some(listed) = invokers.iter().find(|i| i.same_provider(sticky)) {
            if fresh(listed) {
                return Some(listed.clone());
            }
        }
    }
    let first = balance.select(invokers, route)?;
    if fresh(first) {
        return Some(first.clone());
    }
    let untried: Vec<Invoker> = invokers.iter().filter(|i| fresh(i)).cloned().collect();
    let again: Vec<Invoker>;
    let candidates = if !untried.is_empty() {
        &untried
    } else {
        again = invokers
            .iter()
            .filter(|i| was_tried(i) && i.is_available())
            .cloned()
            .collect();
        &again
    };
    match candidates.as_slice() {
        [] => {
            let at = invokers.iter().position(|i| i.ptr_eq(first)).unwrap_or(0);
            Some(invokers[(at + 1) % invokers.len()].clone())
        }
        [one] => Some(one.clone()),
        // Fewer than listed: not the directory's list.
        several => balance
            .select(
                several,
                &Route {
                    list: None,
                    ..*route
                },
            )
            .cloned(),
    }
}
