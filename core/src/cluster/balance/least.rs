//! The balancers that read call statistics: [`LeastActive`] and [`ShortestResponse`].

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::weight::Now;
use super::{LoadBalance, PerMethod, Weights, least_by};
use crate::cluster::{Invoker, MethodStats, Route};

/// Dubbo's `leastactive`: the provider with the fewest calls of the method in flight
/// ([`MethodStats::active`](crate::cluster::MethodStats::active)); among several, one drawn
/// as [`Random`](super::Random) draws (by weight, else uniformly).
///
/// Java counts calls in flight only where `actives` is configured; tether's consumer always
/// counts them for this balancer ([`needs_stats`](LoadBalance::needs_stats)).
///
/// The counters and weights of a list are kept per method while the directory hands out
/// that list and no provider in it is warming up: a pick then reads one counter per provider.
/// Each thread keeps the last few lists it picked from at hand, read without a lock.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, LeastActive, LoadBalance, Route};
///
/// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
/// let (busy, idle) = (Invoker::new("10.0.0.7:20880", channels()), Invoker::new("10.0.0.8:20880", channels()));
/// let _call = busy.stats("greet").begin();
/// let invokers = [busy, idle];
/// let picked = LeastActive::new().select(&invokers, &Route::new("org.example.Greeter", "greet"));
/// assert_eq!(picked.unwrap().address(), "10.0.0.8:20880");
/// ```
#[derive(Debug)]
pub struct LeastActive {
    actives: PerMethod<Arc<Actives>>,
    /// Names the lists this balancer kept in a thread's [`RECENT`].
    id: u64,
}

impl Default for LeastActive {
    fn default() -> Self {
        Self {
            actives: PerMethod::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// The next [`LeastActive::id`]: ids are never reused, so a thread's recent lists never
/// answer for a balancer made after theirs was dropped.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// How many lists a thread keeps at hand ([`RECENT`]).
const RECENT_LISTS: usize = 4;

/// A thread's lists at hand, and the buffer its picks count in.
#[derive(Debug)]
struct Recent {
    /// Each with the [`LeastActive::id`] of the balancer that kept it, the one picked from
    /// last first.
    lists: [Option<(u64, Arc<Actives>)>; RECENT_LISTS],
    /// As long as the longest list picked from: a pick's counts, and then its ties
    /// ([`Actives::pick_in`]), with no buffer to clear first.
    counts: Vec<[u32; GROUP]>,
}

thread_local! {
    /// The lists this thread picked from last, with the balancer that kept each: a pick over
    /// one of them reads it without taking the balancer's read lock (two atomic
    /// read-modify-writes on a line every thread writes). A few, for a thread serving
    /// several references or methods. They keep no provider alive ([`Weights`] holds weak
    /// handles); a dropped balancer's lists stay until newer ones push them out.
    static RECENT: RefCell<Recent> = const {
        RefCell::new(Recent {
            lists: [const { None }; RECENT_LISTS],
            counts: Vec::new(),
        })
    };
}

impl LeastActive {
    /// The least-active balancer.
    ///
    /// ```
    /// # use std::num::NonZeroUsize;
    /// # use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker, LeastActive, LoadBalance, Route};
    ///
    /// # let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let lb = LeastActive::new();
    /// let invokers = [invoker];
    /// let picked = lb.select(&invokers, &Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(picked.unwrap().address(), "10.0.0.7:20880");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `actives` first among a thread's `recent` lists, in place of this balancer's
    /// list for the same method if it has one, else of the one kept longest ago.
    fn remember(&self, recent: &mut [Option<(u64, Arc<Actives>)>], actives: &Arc<Actives>) {
        let route = Route::new(&actives.service, &actives.method);
        let stale = (recent.iter()).position(|kept| {
            (kept.as_ref()).is_some_and(|(id, kept)| *id == self.id && kept.is_for(&route))
        });
        recent[..=stale.unwrap_or(RECENT_LISTS - 1)].rotate_right(1);
        recent[0] = Some((self.id, actives.clone()));
    }
}

impl LoadBalance for LeastActive {
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker> {
        if invokers.len() <= 1 {
            return invokers.first();
        }
        let now = Now::new(route.now_ms);
        let recent = |recent: &RefCell<Recent>| {
            let Recent { lists, counts } = &mut *recent.borrow_mut();
            let (_, actives) = (lists.iter().flatten())
                .find(|(id, actives)| *id == self.id && actives.is_for(route))?;
            actives
                .weights
                .hold(invokers, &now)
                .then(|| actives.pick(counts))
        };
        if let Ok(Some(at)) = RECENT.try_with(recent) {
            return invokers.get(at);
        }
        let actives = Actives::of(&self.actives, invokers, route);
        if actives.weights.hold_at(&now) {
            let kept = RECENT.try_with(|recent| {
                let Recent { lists, counts } = &mut *recent.borrow_mut();
                self.remember(lists, &actives);
                actives.pick(counts)
            });
            // A thread that is ending keeps no lists nor buffer: it picks with a buffer of
            // its own, its lists found through the balancer's lock.
            let at = kept.unwrap_or_else(|_| actives.pick(&mut Vec::new()));
            return invokers.get(at);
        }
        // A provider is warming up: its weight is read now.
        let method = route.method;
        let active = |invoker: &Invoker| {
            invoker
                .find_stats(method)
                .map_or(0, |stats| u64::from(stats.active()))
        };
        least_by(invokers, method, &now, active)
    }

    fn needs_stats(&self) -> bool {
        true
    }
}

/// The weights of one list of providers for one method, and their counters of it.
#[derive(Debug)]
struct Actives {
    /// The service and method they count calls of.
    service: Box<str>,
    method: Box<str>,
    weights: Weights,
    /// In the list's order (made if missing: a counter at zero reads as none).
    stats: Box<[Arc<MethodStats>]>,
}

impl Actives {
    /// Those of `route`'s method over `invokers`, from `cache` unless missing or stale.
    fn of(cache: &PerMethod<Arc<Self>>, invokers: &[Invoker], route: &Route<'_>) -> Arc<Self> {
        if let Some(actives) = cache.find(route, |actives| actives.weights.is_over(invokers)) {
            return actives;
        }
        let actives = Arc::new(Self {
            service: route.service.into(),
            method: route.method.into(),
            weights: Weights::new(invokers, route),
            stats: (invokers.iter())
                .map(|invoker| invoker.stats(route.method).clone())
                .collect(),
        });
        cache.insert(route, actives.clone());
        actives
    }

    /// Whether they count calls of `route`'s method.
    fn is_for(&self, route: &Route<'_>) -> bool {
        *self.method == *route.method && *self.service == *route.service
    }

    /// The index of the provider with the fewest calls in flight, ties drawn as
    /// [`least_by`] draws them; each counter is read once.
    ///
    /// Passes that do not branch per provider, so they pipeline: the counters into a buffer,
    /// whether they all tie (then the list's cached draw), and their least. Then each
    /// [`GROUP`] of counts becomes a mask of its ties in a few vector instructions, and the
    /// ties' indexes are written over the counts already read: the draw reads the weights of
    /// the ties only, as Dubbo reads them.
    ///
    /// `counts` is a thread's buffer, made long enough first.
    fn pick(&self, counts: &mut Vec<[u32; GROUP]>) -> usize {
        let groups = self.stats.len().div_ceil(GROUP);
        if counts.len() < groups {
            counts.resize(groups, [0; GROUP]);
        }
        self.pick_in(&mut counts[..groups])
    }

    /// [`pick`](Self::pick) with a buffer of one group of counts per [`GROUP`] providers,
    /// holding whatever the last pick left.
    fn pick_in(&self, counts: &mut [[u32; GROUP]]) -> usize {
        let n = self.stats.len();
        for (slot, stats) in counts.as_flattened_mut().iter_mut().zip(&self.stats) {
            *slot = stats.active();
        }
        let listed = &counts.as_flattened()[..n];
        if all_equal(listed) {
            // All tie (an idle service's every pick): the draw over the whole list.
            return self.weights.draw();
        }
        let least = least(listed);
        // The lanes of the last group past the list hold what the buffer held.
        let last = counts.len() - 1;
        let tail = match n % GROUP {
            0 => u16::MAX,
            lanes => (1 << lanes) - 1,
        };
        let mut count = 0;
        for at in 0..counts.len() {
            let mut ties = tie_mask(&counts[at], least);
            if at == last {
                ties &= tail;
            }
            // The `count` ties so far all lie in groups up to this one, read already.
            while ties != 0 {
                counts.as_flattened_mut()[count] = (at * GROUP) as u32 + ties.trailing_zeros();
                count += 1;
                ties &= ties - 1;
            }
        }
        let tied = &counts.as_flattened()[..count];
        let weights = &self.weights.weights;
        let weight = |at: u32| u64::from(weights.get(at as usize).copied().unwrap_or(0));
        if !self.weights.same && count > 1 {
            let first = tied.first().map_or(0, |&at| weight(at));
            let (total, same) = (tied.iter()).fold((0, true), |(total, same), &at| {
                (total + weight(at), same & (weight(at) == first))
            });
            if !same && total > 0 {
                // Dubbo subtracts the ties' weights in order until the offset goes below zero.
                let mut offset = fastrand::u64(..total);
                for &at in tied {
                    if offset < weight(at) {
                        return at as usize;
                    }
                    offset -= weight(at);
                }
            }
        }
        // Equal weights (or one tie): drawn uniformly, as Dubbo draws even among one.
        let nth = fastrand::usize(..count.max(1));
        tied.get(nth).map_or(0, |&at| at as usize)
    }
}

/// How many providers one mask of a pick's ties covers: one 16-bit mask from four vector
/// compares.
const GROUP: usize = 16;

/// One bit per count of `group` equal to `least`, the first count in the lowest bit.
///
/// Written as two bytes of booleans, which the compiler turns into vector compares packed
/// down to one byte a lane and read as one mask (four compares, three packs, one move),
/// where shifting each lane's bit into place takes four times the instructions.
fn tie_mask(group: &[u32; GROUP], least: u32) -> u16 {
    let tied: [bool; GROUP] = std::array::from_fn(|lane| group[lane] == least);
    let byte =
        |lanes: &[bool]| (lanes.iter().rev()).fold(0u8, |bits, &tie| (bits << 1) | tie as u8);
    u16::from_le_bytes([byte(&tied[..GROUP / 2]), byte(&tied[GROUP / 2..])])
}

/// Whether `values` are all equal: compared 16 at a time in vector lanes, stopping at the
/// first 16 that differ (where some provider is busier than another, the first few).
fn all_equal(values: &[u32]) -> bool {
    let first = values.first().copied().unwrap_or(0);
    let differ = |values: &[u32]| {
        values
            .iter()
            .fold(0, |differ, &value| differ | (value ^ first))
    };
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    chunks.into_iter().all(|chunk| differ(chunk) == 0) && differ(rest) == 0
}

/// The least of `values` (`u32::MAX` if none), in independent lanes that vectorise, 16 at a
/// time; zero as soon as 16 hold one, since no count is below it (an idle provider, the usual
/// case among many, ends the pass early).
///
/// Compared as signed, which the vector units of every x86-64 compare directly (unsigned
/// takes twice the instructions): no provider has 2^31 calls in flight.
fn least(values: &[u32]) -> u32 {
    let mut lanes = [i32::MAX; 8];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        let mut zero = false;
        for (at, &value) in chunk.iter().enumerate() {
            lanes[at % 8] = lanes[at % 8].min(value as i32);
            zero |= value == 0;
        }
        if zero {
            return 0;
        }
    }
    let least = (lanes.iter().copied())
        .chain(rest.iter().map(|&value| value as i32))
        .fold(i32::MAX, i32::min);
    if values.is_empty() {
        u32::MAX
    } else {
        least as u32
    }
}

/// Dubbo's `shortestresponse`: the provider expected to answer the method soonest, its
/// average successful response time in the current window
/// ([`MethodStats::WINDOW`](crate::cluster::MethodStats::WINDOW)) times its calls in flight
/// plus one; among several, one drawn as [`Random`](super::Random) draws.
///
/// A provider with no success in the window expects zero, so a new provider gets calls at
/// once. Times are averaged in microseconds, where Java uses milliseconds: providers within
/// a millisecond of each other tie in Java but not here.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tether_core::cluster::{Channels, Invoker, LoadBalance, Route, ShortestResponse};
///
/// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
/// let (slow, fast) = (Invoker::new("10.0.0.7:20880", channels()), Invoker::new("10.0.0.8:20880", channels()));
/// slow.stats("greet").begin().succeeded(Duration::from_millis(40));
/// fast.stats("greet").begin().succeeded(Duration::from_millis(5));
/// let invokers = [slow, fast];
/// let route = Route::new("org.example.Greeter", "greet");
/// let picked = ShortestResponse::new().select(&invokers, &route);
/// assert_eq!(picked.unwrap().address(), "10.0.0.8:20880");
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct ShortestResponse;

impl ShortestResponse {
    /// The shortest-response balancer.
    ///
    /// ```
    /// # use std::num::NonZeroUsize;
    /// # use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker, LoadBalance, Route, ShortestResponse};
    ///
    /// # let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let lb = ShortestResponse::new();
    /// let invokers = [invoker];
    /// let picked = lb.select(&invokers, &Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(picked.unwrap().address(), "10.0.0.7:20880");
    /// ```
    pub fn new() -> Self {
        Self
    }
}

impl LoadBalance for ShortestResponse {
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker> {
        let method = route.method;
        let now = Now::new(route.now_ms);
        let estimate = |invoker: &Invoker| {
            invoker.find_stats(method).map_or(0, |stats| {
                let average = stats.average_elapsed(now.ms()).as_micros();
                let average = u64::try_from(average).unwrap_or(u64::MAX);
                average.saturating_mul(u64::from(stats.active()) + 1)
            })
        };
        least_by(invokers, method, &now, estimate)
    }

    fn needs_stats(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::balance::tests::{assert_shares, invoker, shares};
    use std::time::Duration;

    #[test]
    fn least_active_follows_the_list_and_calls_begun_later() {
        let lb = LeastActive::new();
        let route = Route::new("s", "m");
        let (a, b, c) = (
            invoker("a:1", &[("weight", "1")]),
            invoker("b:1", &[("weight", "3")]),
            invoker("c:1", &[("weight", "1")]),
        );
        let two = [a.clone(), b.clone()];
        assert_shares(
            &shares(&lb, &two, &route, 40_000, 9),
            &[0.25, 0.75],
            0.02,
            9,
        );
        let _b = b.stats("m").begin();
        assert_eq!(shares(&lb, &two, &route, 100, 9), [1.0, 0.0]);
        // c joins, idle as a: they tie at weight 1 each.
        let three = [a.clone(), b, c];
        assert_shares(
            &shares(&lb, &three, &route, 40_000, 9),
            &[0.5, 0.0, 0.5],
            0.02,
            9,
        );
        let _a = a.stats("m").begin();
        assert_eq!(shares(&lb, &three, &route, 100, 9), [0.0, 0.0, 1.0]);
    }

    #[test]
    fn least_active_picks_the_idle_one() {
        let invokers = [
            invoker("a:1", &[]),
            invoker("b:1", &[]),
            invoker("c:1", &[]),
        ];
        let _a = [
            invokers[0].stats("m").begin(),
            invokers[0].stats("m").begin(),
        ];
        let _c = invokers[2].stats("m").begin();
        // Calls of another method do not count.
        let _b = [
            invokers[1].stats("n").begin(),
            invokers[1].stats("n").begin(),
        ];
        let route = Route::new("s", "m");
        let got = shares(&LeastActive::new(), &invokers, &route, 1_000, 1);
        assert_eq!(got, [0.0, 1.0, 0.0]);
        // Once b has two in flight, c (one) is the least.
        let _b = [
            invokers[1].stats("m").begin(),
            invokers[1].stats("m").begin(),
        ];
        let got = shares(&LeastActive::new(), &invokers, &route, 1_000, 1);
        assert_eq!(got, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn least_active_draws_by_weight_among_ties_only() {
        let invokers = [
            invoker("a:1", &[("weight", "100")]),
            invoker("b:1", &[("weight", "300")]),
            invoker("c:1", &[("weight", "900")]),
            invoker("d:1", &[("weight", "100")]),
        ];
        // c is busy: a, b and d tie at zero with weights 1:3:1.
        let _c = invokers[2].stats("m").begin();
        let got = shares(
            &LeastActive::new(),
            &invokers,
            &Route::new("s", "m"),
            100_000,
            2,
        );
        assert_shares(&got, &[0.2, 0.6, 0.0, 0.2], 0.02, 2);
    }

    #[test]
    fn least_active_draws_uniformly_among_equal_weights() {
        let invokers = [
            invoker("a:1", &[]),
            invoker("b:1", &[]),
            invoker("c:1", &[]),
        ];
        let _b = invokers[1].stats("m").begin();
        let got = shares(
            &LeastActive::new(),
            &invokers,
            &Route::new("s", "m"),
            40_000,
            3,
        );
        assert_shares(&got, &[0.5, 0.0, 0.5], 0.02, 3);
        // Ties at one in flight each, after the calls end the same.
        let _others = [
            invokers[0].stats("m").begin(),
            invokers[2].stats("m").begin(),
        ];
        let third = 1.0 / 3.0;
        let got = shares(
            &LeastActive::new(),
            &invokers,
            &Route::new("s", "m"),
            60_000,
            3,
        );
        assert_shares(&got, &[third, third, third], 0.02, 3);
    }

    /// A thread keeps a few lists at hand, each with its balancer and method: with more
    /// balancers, methods and lists than it keeps, every pick still reads its own list.
    #[test]
    fn least_active_keeps_lists_per_balancer_and_method_on_a_thread() {
        let (a, b) = (invoker("a:1", &[]), invoker("b:1", &[]));
        let lists = [[a.clone(), b.clone()], [b.clone(), a.clone()]];
        // In m0 a is busy, in m1 b is.
        let _calls = [a.stats("m0").begin(), b.stats("m1").begin()];
        let balancers: Vec<_> = (0..3).map(|_| LeastActive::new()).collect();
        for _ in 0..3 {
            for lb in &balancers {
                for (method, idle) in [("m0", "b:1"), ("m1", "a:1")] {
                    for list in &lists {
                        let picked = lb.select(list, &Route::new("s", method)).unwrap();
                        assert_eq!(picked.address(), idle, "{method}");
                    }
                }
            }
        }
    }

    /// The kept counters pick as the list-walking rule does, from the same random numbers:
    /// lists shorter and longer than one group of the buffer and than the stack's buffer,
    /// ties at either end and across the groups' boundaries, weighted and not.
    #[test]
    fn least_active_picks_as_least_by_across_list_lengths() {
        let route = Route::new("s", "m");
        for n in [2, 3, 15, 16, 17, 63, 64, 65, 100, 127, 128, 129, 200] {
            for weighted in [false, true] {
                let invokers: Vec<_> = (0..n)
                    .map(|i| {
                        let weight = if weighted { 1 + i % 7 } else { 100 };
                        invoker(&format!("h:{i}"), &[("weight", &weight.to_string())])
                    })
                    .collect();
                let lb = LeastActive::new();
                // Idle: all, every one in 10, the last, the first, the ends of a group of
                // the buffer, every other one.
                let idles: [&dyn Fn(usize) -> bool; 6] = [
                    &|_| true,
                    &|i| i % 10 == 0,
                    &|i| i == n - 1,
                    &|i| i == 0,
                    &|i| i % 16 == 15 || i % 16 == 0,
                    &|i| i % 2 == 1,
                ];
                // Each case with the "idle" ones at none in flight, and with every provider
                // busy, those at one.
                let cases = (idles.iter().enumerate()).flat_map(|c| [(c, 0), (c, 1)]);
                for ((case, idle), base) in cases {
                    let _calls: Vec<_> = (invokers.iter().enumerate())
                        .flat_map(|(i, invoker)| {
                            let calls = base + usize::from(!idle(i));
                            (0..calls).map(|_| invoker.stats("m").begin())
                        })
                        .collect();
                    let now = Now::new(None);
                    let seed = (n * 100 + case * 10 + base) as u64;
                    fastrand::seed(seed);
                    let kept: Vec<_> = (0..200)
                        .map(|_| lb.select(&invokers, &route).unwrap().address().to_owned())
                        .collect();
                    fastrand::seed(seed);
                    let walked: Vec<_> = (0..200)
                        .map(|_| {
                            let active = |invoker: &Invoker| {
                                invoker.find_stats("m").map_or(0, |s| u64::from(s.active()))
                            };
                            let picked = least_by(&invokers, "m", &now, active).unwrap();
                            picked.address().to_owned()
                        })
                        .collect();
                    assert_eq!(
                        kept, walked,
                        "{n} providers, weighted {weighted}, case {case}, base {base}"
                    );
                    assert!(kept.iter().all(|a| idle(a[2..].parse().unwrap())));
                }
            }
        }
    }

    #[test]
    fn shortest_response_picks_the_faster() {
        let now = 1_700_000_000_000;
        let invokers = [
            invoker("a:1", &[]),
            invoker("b:1", &[]),
            invoker("c:1", &[]),
        ];
        for (invoker, ms) in invokers.iter().zip([30, 10, 20]) {
            invoker
                .stats("m")
                .begin()
                .succeeded(Duration::from_millis(ms));
        }
        let route = Route::new("s", "m").with_now_ms(now);
        // The first read opens the window at `now`, keeping what came before it.
        let got = shares(&ShortestResponse, &invokers, &route, 1_000, 4);
        assert_eq!(got, [0.0, 1.0, 0.0]);
        // b at 10 ms with two in flight expects 30 ms; c at 20 ms with none, 20 ms.
        let _b = [
            invokers[1].stats("m").begin(),
            invokers[1].stats("m").begin(),
        ];
        let got = shares(&ShortestResponse, &invokers, &route, 1_000, 4);
        assert_eq!(got, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn shortest_response_forgets_old_windows_and_weighs_ties() {
        let now = 1_700_000_000_000;
        let invokers = [
            invoker("a:1", &[("weight", "1")]),
            invoker("b:1", &[("weight", "3")]),
        ];
        invokers[0]
            .stats("m")
            .begin()
            .succeeded(Duration::from_millis(50));
        invokers[1]
            .stats("m")
            .begin()
            .succeeded(Duration::from_millis(5));
        let route = Route::new("s", "m").with_now_ms(now);
        assert_eq!(
            shares(&ShortestResponse, &invokers, &route, 100, 5),
            [0.0, 1.0]
        );
        // A window later neither has a success in the window: a tie, drawn 1:3.
        let later = Route::new("s", "m").with_now_ms(now + 30_000);
        let got = shares(&ShortestResponse, &invokers, &later, 40_000, 5);
        assert_shares(&got, &[0.25, 0.75], 0.02, 5);
        // A provider never called expects zero and wins.
        let fresh = [
            invokers[0].clone(),
            invokers[1].clone(),
            invoker("c:1", &[]),
        ];
        invokers[0]
            .stats("m")
            .begin()
            .succeeded(Duration::from_millis(1));
        invokers[1]
            .stats("m")
            .begin()
            .succeeded(Duration::from_millis(1));
        let got = shares(&ShortestResponse, &fresh, &later, 100, 5);
        assert_eq!(got, [0.0, 0.0, 1.0]);
    }
}
