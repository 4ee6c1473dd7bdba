//! [`RoundRobin`]: Dubbo's smooth weighted round robin.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::weight::{Now, weight_of};
use super::{Listed, LoadBalance, PerMethod, same_list};
use crate::cluster::{Invoker, Invokers, Route};

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
    ///
    /// ```
    /// # use std::num::NonZeroUsize;
    /// # use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker, LoadBalance, Route, RoundRobin};
    ///
    /// # let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let lb = RoundRobin::new();
    /// let invokers = [invoker];
    /// let picked = lb.select(&invokers, &Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(picked.unwrap().address(), "10.0.0.7:20880");
    /// ```
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
        let turn = |wheel: &Arc<Mutex<Wheel>>| wheel.lock().turn(invokers, route, &now);
        let picked = match self.wheels.with(route, turn) {
            Some(picked) => picked,
            None => turn(&self.wheel(route)),
        };
        invokers.get(picked)
    }
}

/// The scores of one method's providers.
#[derive(Debug, Default)]
struct Wheel {
    /// The providers of the last turn, in its order.
    listed: Listed,
    /// Their addresses, in the same order (their scores are parked under them when unlisted).
    addresses: Vec<Box<str>>,
    /// Their scores, in the same order.
    currents: Vec<i64>,
    /// The weights their scores were last advanced by, in the same order.
    weights: Vec<i64>,
    /// Their weights if no method or warm-up changes them (read when listed).
    fixed: Vec<Option<u32>>,
    /// The sum of `weights`, if every weight is fixed: a turn then reads no weight.
    fixed_total: Option<i64>,
    /// When the listed providers' scores last changed (all change on every turn), as far
    /// as known: the route's time of the last turn, else the last time the clock was read.
    listed_ms: u64,
    /// The scores of providers not in the last turn's list, by address, with when they
    /// last changed.
    parked: HashMap<Box<str>, (Score, u64)>,
    /// The turns ahead, worked out once, while every weight is fixed and the list stays:
    /// `currents` is then stale (see [`Cycle`]).
    cycle: Option<Cycle>,
    /// Whether the scores of this list were found not to repeat within [`MAX_CYCLE`] turns
    /// (tried once per list).
    acyclic: bool,
}

/// The most turns a [`Cycle`] holds (two bytes each).
const MAX_CYCLE: usize = 8_192;

/// One period of Dubbo's picks over an unchanged list of fixed weights.
///
/// Smooth weighted round robin adds the weights' sum to the scores on every turn and takes
/// it back from the winner, so from scores of zero the scores are all zero again after
/// `sum / gcd` turns, each provider having won `weight / gcd` of them, and the picks repeat.
/// A turn then reads the next pick instead of adding up and comparing every score. Whether
/// the scores repeat is checked when the period is worked out (scores kept from an earlier
/// list need not), and the scores are worked out again from `start` when they are needed.
#[derive(Debug)]
struct Cycle {
    /// The winners, turn by turn.
    picks: Box<[u16]>,
    /// The next turn's place in `picks`.
    at: usize,
    /// The scores before the first turn of the period (and after its last).
    start: Box<[i64]>,
}

#[derive(Clone, Copy, Debug)]
struct Score {
    weight: i64,
    current: i64,
}

impl Wheel {
    /// One pick among `invokers` (two or more): the index of the winner.
    ///
    /// Reads the clock only when the route carries no time and the list changed or scores
    /// are parked (or a provider warms up): a turn over an unchanged list is then pure
    /// arithmetic, where a clock read would cost as much as the rest of the turn.
    fn turn(&mut self, invokers: &[Invoker], route: &Route<'_>, now: &Now) -> usize {
        let method = route.method;
        if !same_list(&self.listed, invokers) {
            self.settle();
            // Without the route's time, when the last turn was is unknown: the scores parked
            // now are stamped with the time of the change, later than Dubbo's stamp by up to
            // the gap since that turn, so they may be kept that much longer.
            let last_ms = match now.given() {
                Some(_) => self.listed_ms,
                None => now.ms(),
            };
            self.relist(invokers, route.list, last_ms);
        }
        if let Some(now_ms) = now.known() {
            self.listed_ms = now_ms;
        }
        let best = match self.fixed_total {
            Some(total) => self.next_in_cycle(total).unwrap_or_else(|| {
                let best = advance(&mut self.currents, &self.weights);
                self.currents[best] -= total;
                best
            }),
            None => {
                let total = self.reweigh(invokers, method, now);
                let best = advance(&mut self.currents, &self.weights);
                self.currents[best] -= total;
                best
            }
        };
        if !self.parked.is_empty() {
            let now_ms = now.ms();
            self.listed_ms = now_ms;
            self.parked
                .retain(|_, (_, last_ms)| now_ms.saturating_sub(*last_ms) <= RECYCLE_MS);
        }
        best
    }

    /// The winner of this turn from the list's [`Cycle`], worked out first if it can be:
    /// `None` if the scores do not repeat soon enough (the turn then adds them up).
    fn next_in_cycle(&mut self, total: i64) -> Option<usize> {
        if self.cycle.is_none() && !self.acyclic {
            self.cycle = self.work_out_cycle(total);
            self.acyclic = self.cycle.is_none();
        }
        let cycle = self.cycle.as_mut()?;
        let best = cycle.picks[cycle.at];
        cycle.at = (cycle.at + 1) % cycle.picks.len();
        Some(usize::from(best))
    }

    /// One period of picks from the scores as they stand, if they repeat within
    /// [`MAX_CYCLE`] turns. The scores and weights are divided by their common divisor
    /// first (a common factor changes no comparison), so equal weights repeat after as many
    /// turns as there are providers.
    fn work_out_cycle(&self, total: i64) -> Option<Cycle> {
        let n = self.currents.len();
        if total <= 0 || n > usize::from(u16::MAX) || self.weights.len() != n {
            return None;
        }
        let divisor =
            (self.weights.iter().chain(&self.currents)).fold(0, |g, &v| gcd(g, v.unsigned_abs()));
        let divisor = i64::try_from(divisor).ok().filter(|&d| d > 0)?;
        let period = usize::try_from(total / divisor).ok()?;
        if period > MAX_CYCLE {
            return None;
        }
        let weights: Vec<i64> = self.weights.iter().map(|w| w / divisor).collect();
        let start: Vec<i64> = self.currents.iter().map(|c| c / divisor).collect();
        let mut scores = start.clone();
        let mut picks = Vec::with_capacity(period);
        for _ in 0..period {
            let best = advance(&mut scores, &weights);
            scores[best] -= total / divisor;
            picks.push(u16::try_from(best).ok()?);
        }
        (scores == start).then(|| Cycle {
            picks: picks.into(),
            at: 0,
            start: self.currents.clone().into(),
        })
    }

    /// Brings `currents` up to date with the turns taken from the cycle, and drops it.
    fn settle(&mut self) {
        let Some(cycle) = self.cycle.take() else {
            return;
        };
        let total = self.fixed_total.unwrap_or(0);
        self.currents = cycle.start.into_vec();
        for _ in 0..cycle.at {
            let best = advance(&mut self.currents, &self.weights);
            self.currents[best] -= total;
        }
    }

    /// Reads the weights of this turn, restarting the score of a provider whose weight
    /// changed: their sum.
    fn reweigh(&mut self, invokers: &[Invoker], method: &str, now: &Now) -> i64 {
        let mut total = 0;
        let scores = self.currents.iter_mut().zip(&mut self.weights);
        for ((current, weight), (fixed, invoker)) in scores.zip(self.fixed.iter().zip(invokers)) {
            let now_weight = i64::from(fixed.unwrap_or_else(|| weight_of(invoker, method, now)));
            if *weight != now_weight {
                (*weight, *current) = (now_weight, 0);
            }
            total += now_weight;
        }
        total
    }

    /// Makes `invokers` the listed providers, with the scores their addresses had.
    ///
    /// Two providers listed under one address share one score in Dubbo; here the second
    /// starts a score of its own, and only one of them is kept once they are unlisted.
    fn relist(&mut self, invokers: &[Invoker], list: Option<&Invokers>, listed_ms: u64) {
        let scores = self.currents.drain(..).zip(self.weights.drain(..));
        for (address, (current, weight)) in self.addresses.drain(..).zip(scores) {
            let score = Score { weight, current };
            self.parked.insert(address, (score, listed_ms));
        }
        self.fixed.clear();
        let mut fixed_total = Some(0);
        for invoker in invokers {
            let (mut score, _) = self.parked.remove(invoker.address()).unwrap_or((
                Score {
                    // Weights are not negative: the first turn sets it.
                    weight: -1,
                    current: 0,
                },
                0,
            ));
            let fixed = invoker.weighting().fixed();
            match fixed {
                // What the turn would do: a weight that changed restarts the score.
                Some(weight) if score.weight != i64::from(weight) => {
                    score = Score {
                        weight: weight.into(),
                        current: 0,
                    };
                }
                Some(_) => {}
                None => fixed_total = None,
            }
            fixed_total = fixed_total.map(|total| total + score.weight);
            self.addresses.push(invoker.address().into());
            self.currents.push(score.current);
            self.weights.push(score.weight);
            self.fixed.push(fixed);
        }
        self.fixed_total = fixed_total;
        self.listed = Listed::of(invokers, list);
        self.acyclic = false;
    }
}

/// The greatest common divisor (Euclid's).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Adds each weight to its score: the index of the highest score then, the first listed
/// among equals (Dubbo's strict `>`).
///
/// One pass in four independent lanes, each keeping its highest score and where it is: the
/// adds, the comparisons and the conditional moves of one lane do not wait on another's,
/// where a single running maximum would chain every provider to the one before.
fn advance(currents: &mut [i64], weights: &[i64]) -> usize {
    const LANES: usize = 4;
    let n = currents.len().min(weights.len());
    let (currents, weights) = (&mut currents[..n], &weights[..n]);
    let mut best = [i64::MIN; LANES];
    let mut at = [usize::MAX; LANES];
    let mut chunks = currents.chunks_exact_mut(LANES);
    for (i, (scores, weights)) in chunks.by_ref().zip(weights.chunks_exact(LANES)).enumerate() {
        for lane in 0..LANES {
            let score = scores[lane] + weights[lane];
            scores[lane] = score;
            let higher = score > best[lane];
            best[lane] = if higher { score } else { best[lane] };
            at[lane] = if higher { i * LANES + lane } else { at[lane] };
        }
    }
    let done = n - chunks.into_remainder().len();
    let (mut top, mut top_at) = (i64::MIN, usize::MAX);
    for (lane, &score) in best.iter().enumerate() {
        if score > top || (score == top && at[lane] < top_at) {
            (top, top_at) = (score, at[lane]);
        }
    }
    for i in done..n {
        let score = currents[i] + weights[i];
        currents[i] = score;
        if score > top || top_at == usize::MAX {
            (top, top_at) = (score, i);
        }
    }
    if top_at == usize::MAX { 0 } else { top_at }
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

    /// The lanes find what one running maximum finds: the first of the highest.
    #[test]
    fn advance_finds_the_first_highest() {
        fastrand::seed(11);
        for n in 1..40 {
            for _ in 0..200 {
                // Few distinct values, so ties are common.
                let mut currents: Vec<i64> = (0..n).map(|_| fastrand::i64(-3..3)).collect();
                let weights: Vec<i64> = (0..n).map(|_| fastrand::i64(0..3)).collect();
                let expected: Vec<i64> =
                    currents.iter().zip(&weights).map(|(c, w)| c + w).collect();
                let top = expected.iter().copied().max().unwrap();
                let first = expected.iter().position(|&c| c == top).unwrap();
                assert_eq!(advance(&mut currents, &weights), first, "{expected:?}");
                assert_eq!(currents, expected);
            }
        }
    }

    /// Turns read from a worked-out cycle pick what adding up every score picks, across
    /// lists that change (parking and restoring scores mid-cycle), equal weights (a common
    /// divisor) and periods too long to hold.
    #[test]
    fn cycled_turns_match_turn_by_turn_scores() {
        fastrand::seed(7);
        let lb = RoundRobin::new();
        let route = Route::new("s", "m").with_now_ms(1_000);
        // The model: Dubbo's scores by address, one turn at a time.
        let mut model: HashMap<String, (i64, i64)> = HashMap::new();
        let mut cycled = 0;
        for round in 0..60 {
            let n = fastrand::usize(2..12);
            let equal = round % 3 == 0;
            let big = round % 7 == 0;
            let invokers: Vec<Invoker> = (0..n)
                .map(|_| {
                    let weight = match (equal, big) {
                        (true, _) => 100,
                        (_, true) => 5_000 + fastrand::u32(0..3_000),
                        _ => fastrand::u32(1..20),
                    };
                    // Addresses drawn from a small pool, so scores come back from the park.
                    let address = format!("{}:1", fastrand::usize(0..16));
                    invoker(&address, &[("weight", &weight.to_string())])
                })
                .collect();
            // One provider per address, as the model keys them.
            let mut seen = std::collections::HashSet::new();
            let invokers: Vec<Invoker> = invokers
                .into_iter()
                .filter(|i| seen.insert(i.address().to_owned()))
                .collect();
            if invokers.len() < 2 {
                continue;
            }
            for turn in 0..fastrand::usize(1..400) {
                let weights: Vec<i64> = invokers
                    .iter()
                    .map(|i| i64::from(i.weighting().fixed().unwrap()))
                    .collect();
                let total: i64 = weights.iter().sum();
                let mut best: Option<(usize, i64)> = None;
                for (at, (invoker, &weight)) in invokers.iter().zip(&weights).enumerate() {
                    let score = model
                        .entry(invoker.address().to_owned())
                        .or_insert((weight, 0));
                    if score.0 != weight {
                        *score = (weight, 0);
                    }
                    score.1 += weight;
                    if best.is_none_or(|(_, top)| score.1 > top) {
                        best = Some((at, score.1));
                    }
                }
                let (expected, _) = best.unwrap();
                model.get_mut(invokers[expected].address()).unwrap().1 -= total;
                let picked = lb.select(&invokers, &route).unwrap();
                assert_eq!(
                    picked.address(),
                    invokers[expected].address(),
                    "round {round}, turn {turn}"
                );
            }
            cycled += usize::from(lb.wheel(&route).lock().cycle.is_some());
        }
        assert!(
            cycled > 10,
            "cycles were worked out in {cycled} rounds only"
        );
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
        // Dubbo 3.3.6's RoundRobinLoadBalance gives the same 14 (tests/interop/java/lbcheck).
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
    fn a_warming_providers_weight_is_read_every_turn() {
        let t: u64 = 1_700_000_000_000;
        let started = (t - 300_000).to_string();
        let invokers = [
            invoker("A:1", &[("timestamp", &started)]),
            invoker("B:1", &[("weight", "50")]),
        ];
        let lb = RoundRobin::new();
        let count = |route: &Route<'_>, n| run(&lb, &invokers, route, n).matches('A').count();
        // Half warm, A weighs 50 as B does; warm, 100.
        assert_eq!(count(&Route::new("s", "m").with_now_ms(t), 10), 5);
        assert_eq!(
            count(&Route::new("s", "m").with_now_ms(t + 600_000), 30),
            20
        );
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
        assert_eq!(lb.wheel(&at(0)).lock().parked.len(), 1);
        // ...and dropped past it.
        assert_eq!(run(&lb, &[b.clone(), c.clone()], &at(90_001), 1), "B");
        assert!(lb.wheel(&at(0)).lock().parked.is_empty());
        // Back, A starts from zero: with a kept -2 it would not win at once.
        assert_eq!(run(&lb, &[a, b, c], &at(90_002), 1), "A");
    }
}
