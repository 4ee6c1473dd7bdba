//! [`RoundRobin`]: Dubbo's smooth weighted round robin.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::weight::{Now, weight_of};
use super::{LoadBalance, PerMethod};
use crate::cluster::{Invoker, Route};

/// How long a provider may go unlisted before its position is forgotten (Dubbo's
/// `RECYCLE_PERIOD`).
const RECYCLE_MS: u64 = 60_000;

/// Dubbo's `roundrobin`: smooth weighted round robin, per service and method.
///
/// Every pick adds each listed provider's weight to its running score and picks the highest
/// score (the first listed among equals), which then gives back the sum of the weights. For
/// weights 5, 1, 1 a cycle is `A A B A C A A`. A provider's score is kept by its address,
/// restarts from zero when its weight changes, and is forgotten after 60 s unlisted.
///
/// The scores of one method sit behind a mutex of their own: calls of one method through one
/// balancer serialise on it for the pick (Java's atomics race instead).
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, LoadBalance, Route, RoundRobin};
///
/// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
/// let invokers = [
///     Invoker::new("A:1", channels()).with_params([("weight", "2")]),
///     Invoker::new("B:1", channels()).with_params([("weight", "1")]),
/// ];
/// let lb = RoundRobin::new();
/// let route = Route::new("org.example.Greeter", "greet");
/// let picks: String = (0..6)
///     .map(|_| &lb.select(&invokers, &route).unwrap().address()[..1])
///     .collect();
/// assert_eq!(picks, "ABAABA");
/// ```
#[derive(Debug, Default)]
pub struct RoundRobin {
    wheels: PerMethod<Arc<Mutex<Wheel>>>,
}

impl RoundRobin {
    /// A round-robin balancer with no history.
    pub fn new() -> Self {
        Self::default()
    }

    fn wheel(&self, route: &Route<'_>) -> Arc<Mutex<Wheel>> {
        self.wheels.get_or_insert_with(route, Arc::default)
    }
}

impl LoadBalance for RoundRobin {
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker> {
        if invokers.len() <= 1 {
            return invokers.first();
        }
        let now = Now::new(route.now_ms);
        let wheel = self.wheel(route);
        let picked = wheel.lock().turn(invokers, route.method, &now);
        invokers.get(picked)
    }
}

/// The scores of one method's providers.
#[derive(Debug, Default)]
struct Wheel {
    scores: Vec<Score>,
    /// Index in `scores` by address.
    by_address: HashMap<Box<str>, usize>,
    /// The list of the last turn and each one's index in `scores`: most turns see the same
    /// list again and skip the address lookups. Holding clones keeps the identities valid.
    last: Vec<Invoker>,
    last_slots: Vec<usize>,
}

#[derive(Debug)]
struct Score {
    address: Box<str>,
    weight: u32,
    current: i64,
    last_update_ms: u64,
}

impl Wheel {
    /// One pick among `invokers` (two or more): the index of the winner.
    fn turn(&mut self, invokers: &[Invoker], method: &str, now: &Now) -> usize {
        self.locate(invokers);
        let now_ms = now.ms();
        let mut total = 0i64;
        let (mut best, mut best_current) = (0, i64::MIN);
        for (at, (invoker, &slot)) in invokers.iter().zip(&self.last_slots).enumerate() {
            let weight = weight_of(invoker, method, now);
            let score = &mut self.scores[slot];
            if score.weight != weight {
                (score.weight, score.current) = (weight, 0);
            }
            score.current += i64::from(weight);
            score.last_update_ms = now_ms;
            if score.current > best_current {
                (best, best_current) = (at, score.current);
            }
            total += i64::from(weight);
        }
        self.scores[self.last_slots[best]].current -= total;
        if self.scores.len() != invokers.len() {
            self.recycle(now_ms);
        }
        best
    }

    /// Points `last_slots` at the scores of `invokers`, adding scores for new addresses.
    fn locate(&mut self, invokers: &[Invoker]) {
        let same = self.last.len() == invokers.len()
            && self.last.iter().zip(invokers).all(|(a, b)| a.ptr_eq(b));
        if same {
            return;
        }
        self.last.clear();
        self.last_slots.clear();
        for invoker in invokers {
            let slot = match self.by_address.get(invoker.address()) {
                Some(&slot) => slot,
                None => {
                    self.scores.push(Score {
                        address: invoker.address().into(),
                        // Weights are u32: no weight matches, so the first turn sets it.
                        weight: u32::MAX,
                        current: 0,
                        last_update_ms: 0,
                    });
                    let slot = self.scores.len() - 1;
                    self.by_address.insert(invoker.address().into(), slot);
                    slot
                }
            };
            self.last.push(invoker.clone());
            self.last_slots.push(slot);
        }
    }

    /// Forgets the scores not updated for [`RECYCLE_MS`].
    fn recycle(&mut self, now_ms: u64) {
        let before = self.scores.len();
        self.scores
            .retain(|s| now_ms.saturating_sub(s.last_update_ms) <= RECYCLE_MS);
        if self.scores.len() == before {
            return;
        }
        self.by_address = (self.scores.iter().enumerate())
            .map(|(slot, s)| (s.address.clone(), slot))
            .collect();
        self.last.clear();
        self.last_slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::balance::tests::invoker;

    fn run(lb: &RoundRobin, invokers: &[Invoker], route: &Route<'_>, n: usize) -> String {
        (0..n)
            .map(|_| &lb.select(invokers, route).unwrap().address()[..1])
            .collect()
    }

    #[test]
    fn smooth_weighted_sequence_matches_the_vector() {
        let invokers = [
            invoker("A:1", &[("weight", "5")]),
            invoker("B:1", &[("weight", "1")]),
            invoker("C:1", &[("weight", "1")]),
        ];
        let lb = RoundRobin::new();
        let route = Route::new("s", "m").with_now_ms(1_000);
        assert_eq!(run(&lb, &invokers, &route, 14), "AABACAAAABACAA");
        // Equal weights take turns in list order.
        let equal = [
            invoker("X:1", &[]),
            invoker("Y:1", &[]),
            invoker("Z:1", &[]),
        ];
        assert_eq!(run(&lb, &equal, &route, 6), "XYZXYZ");
    }

    #[test]
    fn state_is_per_method_and_keyed_by_address() {
        let invokers = [
            invoker("A:1", &[("weight", "2")]),
            invoker("B:1", &[("weight", "1")]),
        ];
        let lb = RoundRobin::new();
        let (m, n) = (
            Route::new("s", "m").with_now_ms(1_000),
            Route::new("s", "n").with_now_ms(1_000),
        );
        assert_eq!(run(&lb, &invokers, &m, 2), "AB");
        assert_eq!(run(&lb, &invokers, &n, 3), "ABA");
        // New invokers with the same addresses and weights (a registry's re-notification,
        // in another order) keep m's scores (A 1, B -1): from scratch it would go "ABAB".
        let relisted = [
            invoker("B:1", &[("weight", "1")]),
            invoker("A:1", &[("weight", "2")]),
        ];
        assert_eq!(run(&lb, &relisted, &m, 4), "AABA");
    }

    #[test]
    fn a_weight_change_restarts_that_providers_score() {
        let lb = RoundRobin::new();
        let route = Route::new("s", "m").with_now_ms(1_000);
        let before = [
            invoker("A:1", &[("weight", "1")]),
            invoker("B:1", &[("weight", "1")]),
        ];
        // A: 1 - 2 = -1 (picked), B: 1.
        assert_eq!(run(&lb, &before, &route, 1), "A");
        // B's weight changes: its score restarts, 0 + 2 = 2 against A's 0, so B then A. Kept,
        // it would be 1 + 2 = 3 and B would win twice.
        let after = [
            invoker("A:1", &[("weight", "1")]),
            invoker("B:1", &[("weight", "2")]),
        ];
        assert_eq!(run(&lb, &after, &route, 3), "BAB");
    }

    #[test]
    fn unlisted_providers_are_forgotten_after_a_minute() {
        let lb = RoundRobin::new();
        let (a, b, c) = (
            invoker("A:1", &[("weight", "3")]),
            invoker("B:1", &[("weight", "1")]),
            invoker("C:1", &[("weight", "1")]),
        );
        let at = |ms| Route::new("s", "m").with_now_ms(ms);
        // A's score is 3 - 5 = -2 after one pick.
        assert_eq!(run(&lb, &[a.clone(), b.clone(), c.clone()], &at(0), 1), "A");
        // A unlisted for a while: its score is kept (within the minute)...
        assert_eq!(run(&lb, &[b.clone(), c.clone()], &at(30_000), 2), "BC");
        assert_eq!(lb.wheel(&at(0)).lock().scores.len(), 3);
        // ...and dropped past it.
        assert_eq!(run(&lb, &[b.clone(), c.clone()], &at(90_001), 1), "B");
        assert_eq!(lb.wheel(&at(0)).lock().scores.len(), 2);
        // Back, A starts from zero: with a kept -2 it would not win at once.
        assert_eq!(run(&lb, &[a, b, c], &at(90_002), 1), "A");
    }
}
