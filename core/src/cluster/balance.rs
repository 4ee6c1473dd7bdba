//! Load balancing: which of several providers a call goes to.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Invoker, Route};

/// Picks one provider among several for a call (Dubbo's `LoadBalance`).
pub trait LoadBalance: Send + Sync + fmt::Debug + 'static {
    /// Picks one of `invokers` (at least two: a strategy never asks for one) for the call
    /// `route`.
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker>;

    /// Whether it reads per-invoker statistics; the call path records them only then.
    fn needs_stats(&self) -> bool {
        false
    }
}

/// Round robin over the available providers (all of them when none is).
#[derive(Debug, Default)]
pub struct RoundRobin(AtomicUsize);

impl LoadBalance for RoundRobin {
    fn select<'a>(&self, invokers: &'a [Invoker], _: &Route<'_>) -> Option<&'a Invoker> {
        let turn = self.0.fetch_add(1, Ordering::Relaxed);
        let available = invokers.iter().filter(|i| i.is_available()).count();
        if available == 0 {
            return invokers.get(turn % invokers.len().max(1));
        }
        invokers
            .iter()
            .filter(|i| i.is_available())
            .nth(turn % available)
    }
}
