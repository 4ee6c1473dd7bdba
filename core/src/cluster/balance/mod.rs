//! Load balancing (Dubbo's `LoadBalance` extensions): which of the listed providers a call
//! goes to. ESTATE §3.4 gives the rules each balancer follows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use super::{Invoker, Invokers, Route};

mod consistent_hash;
mod least;
mod round_robin;
mod weight;

pub use consistent_hash::ConsistentHash;
pub use least::{LeastActive, ShortestResponse};
pub use round_robin::RoundRobin;
pub(crate) use weight::Weighting;
use weight::{Now, weight_of};

/// Picks the provider a call goes to among those a [`Directory`](super::Directory) lists and
/// the strategy still considers (Dubbo's `LoadBalance`).
///
/// Dubbo's balancers are [`Random`] (the default), [`RoundRobin`], [`LeastActive`],
/// [`ShortestResponse`] and [`ConsistentHash`]; [`load_balance`] finds them by their Dubbo
/// names. A balancer of one's own implements this trait:
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, LoadBalance, Route};
///
/// /// Always the provider listed first, as a fallback-only deployment wants.
/// #[derive(Debug)]
/// struct First;
///
/// impl LoadBalance for First {
///     fn select<'a>(&self, invokers: &'a [Invoker], _: &Route<'_>) -> Option<&'a Invoker> {
///         invokers.first()
///     }
/// }
///
/// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
/// let invokers = [Invoker::new("10.0.0.7:20880", channels()), Invoker::new("10.0.0.8:20880", channels())];
/// let picked = First.select(&invokers, &Route::new("org.example.Greeter", "greet"));
/// assert_eq!(picked.map(Invoker::address), Some("10.0.0.7:20880"));
/// ```
pub trait LoadBalance: Send + Sync + std::fmt::Debug + 'static {
    /// Picks one of `invokers` (at least two: a strategy never asks for one) for the call
    /// `route`; `None` only if `invokers` is empty.
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker>;

    /// Whether it reads per-invoker statistics (actives, response times,
    /// [`Invoker::stats`]); the call path records them only then.
    fn needs_stats(&self) -> bool {
        false
    }

    /// Whether it reads the call's arguments ([`Route::arguments`]); the call path renders
    /// them as text only then.
    fn needs_arguments(&self) -> bool {
        false
    }
}

/// The balancer Dubbo names `name` (`loadbalance=` on a reference or a method): `random`,
/// `roundrobin`, `leastactive`, `shortestresponse` or `consistenthash`; `None` for another.
///
/// Each call makes a new balancer with state of its own (round robin's positions, consistent
/// hash's rings): one per reference, as Dubbo keeps one per service.
///
/// ```
/// use tether_core::cluster::load_balance;
///
/// let lb = load_balance("leastactive").unwrap();
/// assert!(lb.needs_stats());
/// assert!(!load_balance("random").unwrap().needs_stats());
/// assert!(load_balance("adaptive").is_none());
/// ```
pub fn load_balance(name: &str) -> Option<Arc<dyn LoadBalance>> {
    Some(match name {
        "random" => Arc::new(Random::new()),
        "roundrobin" => Arc::new(RoundRobin::new()),
        "leastactive" => Arc::new(LeastActive::new()),
        "shortestresponse" => Arc::new(ShortestResponse::new()),
        "consistenthash" => Arc::new(ConsistentHash::new()),
        _ => return None,
    })
}

/// Dubbo's default balancer (`random`): a provider drawn at random in proportion to its
/// weight (`<method>.weight`, else `weight`, else 100, less while it warms up).
///
/// Draws with equal chances if every weight is equal, if they add up to zero, or if the first
/// provider sets neither a weight nor a `timestamp` (Dubbo looks no further then). Draws use
/// [`fastrand`]'s thread-local generator: no lock, and `fastrand::seed` makes a thread's
/// picks repeatable.
///
/// The weights of a list are kept per method while the directory hands out that list and
/// no provider in it is warming up: a pick then compares the list and binary-searches.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, LoadBalance, Random, Route};
///
/// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
/// let invokers = [
///     Invoker::new("10.0.0.7:20880", channels()).with_params([("weight", "1")]),
///     Invoker::new("10.0.0.8:20880", channels()).with_params([("weight", "0")]),
/// ];
/// let route = Route::new("org.example.Greeter", "greet");
/// for _ in 0..100 {
///     // Weight 0 is never drawn while another weight is positive.
///     assert_eq!(Random::new().select(&invokers, &route).unwrap().address(), "10.0.0.7:20880");
/// }
/// ```
#[derive(Debug, Default)]
pub struct Random {
    weights: PerMethod<Arc<Weights>>,
}

impl Random {
    /// The random balancer.
    ///
    /// ```
    /// # use std::num::NonZeroUsize;
    /// # use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker, LoadBalance, Random, Route};
    ///
    /// # let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let lb = Random::new();
    /// let invokers = [invoker];
    /// let picked = lb.select(&invokers, &Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(picked.unwrap().address(), "10.0.0.7:20880");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl LoadBalance for Random {
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker> {
        let first = invokers.first()?;
        if invokers.len() == 1 || !first.weighting().is_weighted(route.method) {
            return uniform(invokers);
        }
        let now = Now::new(route.now_ms);
        let draw = |weights: &Arc<Weights>| weights.hold(invokers, &now).then(|| weights.draw());
        if let Some(Some(at)) = self.weights.with(route, draw) {
            return invokers.get(at);
        }
        let weights = Weights::of(&self.weights, invokers, route);
        if weights.hold_at(&now) {
            return invokers.get(weights.draw());
        }
        // A provider is warming up: its weight is read now.
        let picked = with_scratch(invokers.len(), |cumulative: &mut [u64]| {
            let (mut total, mut same) = (0u64, true);
            let first = weight_of(first, route.method, &now);
            for (slot, invoker) in cumulative.iter_mut().zip(invokers) {
                let w = weight_of(invoker, route.method, &now);
                same &= w == first;
                total += u64::from(w);
                *slot = total;
            }
            if same || total == 0 {
                return None;
            }
            // The first invoker whose cumulative weight exceeds the offset (Dubbo's rule).
            let offset = fastrand::u64(..total);
            Some(cumulative.partition_point(|&c| c <= offset))
        });
        match picked {
            Some(at) => invokers.get(at),
            None => uniform(invokers),
        }
    }
}

/// The weights of one list of providers for one method as they stand once every provider is
/// warm: what [`Random`] and [`LeastActive`] draw with while the directory hands out that
/// list (it changes when a provider comes or goes).
#[derive(Debug)]
struct Weights {
    /// The list.
    invokers: Listed,
    /// Each provider's weight.
    weights: Box<[u32]>,
    /// The running sums of `weights`.
    cumulative: Box<[u64]>,
    /// Whether all weights are equal.
    same: bool,
    /// When the last provider to warm up is warm (ms since the Unix epoch, 0 if none warms
    /// up): the weights hold from then on.
    warm_ms: u64,
}

impl Weights {
    fn new(invokers: &[Invoker], route: &Route<'_>) -> Self {
        let method = route.method;
        let warm_ms = (invokers.iter())
            .map(|invoker| invoker.weighting().warm_ms())
            .max()
            .unwrap_or(0);
        let warm = Now::new(Some(warm_ms));
        let weights: Box<[u32]> = (invokers.iter())
            .map(|invoker| weight_of(invoker, method, &warm))
            .collect();
        let cumulative = (weights.iter())
            .scan(0u64, |total, &w| {
                *total += u64::from(w);
                Some(*total)
            })
            .collect();
        Self {
            invokers: Listed::of(invokers, route.list),
            same: weights.windows(2).all(|w| w[0] == w[1]),
            weights,
            cumulative,
            warm_ms,
        }
    }

    /// The weights of `route`'s method over `invokers`, from `cache` unless missing or stale.
    fn of(cache: &PerMethod<Arc<Self>>, invokers: &[Invoker], route: &Route<'_>) -> Arc<Self> {
        if let Some(weights) = cache.find(route, |weights| weights.is_over(invokers)) {
            return weights;
        }
        let weights = Arc::new(Self::new(invokers, route));
        cache.insert(route, weights.clone());
        weights
    }

    /// Whether they are the weights of `invokers`.
    fn is_over(&self, invokers: &[Invoker]) -> bool {
        same_list(&self.invokers, invokers)
    }

    /// Whether they hold at `now` (reading the time only if a provider warms up).
    fn hold_at(&self, now: &Now) -> bool {
        self.warm_ms == 0 || now.ms() >= self.warm_ms
    }

    /// Whether they are the weights of `invokers` at `now`.
    fn hold(&self, invokers: &[Invoker], now: &Now) -> bool {
        self.is_over(invokers) && self.hold_at(now)
    }

    /// A provider drawn by weight as [`Random`] draws: its index.
    fn draw(&self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if self.same || total == 0 {
            return fastrand::usize(..self.weights.len());
        }
        // The first invoker whose cumulative weight exceeds the offset (Dubbo's rule).
        let offset = fastrand::u64(..total);
        self.cumulative.partition_point(|&c| c <= offset)
    }
}

/// One of `invokers`, with equal chances.
fn uniform(invokers: &[Invoker]) -> Option<&Invoker> {
    match invokers.len() {
        0 => None,
        n => Some(&invokers[fastrand::usize(..n)]),
    }
}

/// The identities of a list of providers, as a balancer keeps them between picks: they do
/// not keep the providers (nor their connections) alive, so a provider the directory drops
/// closes its connections even while a balancer remembers its list; the weak handles keep
/// its identity from being reused meanwhile.
#[derive(Debug, Default)]
struct Listed {
    ids: Box<[usize]>,
    _held: Box<[Weak<crate::cluster::directory::InvokerInner>]>,
    /// The directory's list these were handed as ([`Route::list`]), if any: while this
    /// holds its memory, no other list can be there, and the list itself never changes.
    list: Option<Weak<[Invoker]>>,
}

impl Listed {
    /// The identities of `invokers`, which may be the directory's `list` ([`Route::list`]).
    fn of(invokers: &[Invoker], list: Option<&Invokers>) -> Self {
        let list = list.filter(|list| {
            std::ptr::eq(list.as_ptr(), invokers.as_ptr()) && list.len() == invokers.len()
        });
        Self {
            ids: invokers.iter().map(Invoker::id).collect(),
            _held: invokers.iter().map(Invoker::downgrade).collect(),
            list: list.map(Arc::downgrade),
        }
    }
}

/// Whether `a` lists the invokers `b` lists (clones of them), in the same order.
///
/// The same list as before is known by its address and length. Another (one the routers
/// narrowed, or a caller's own) is compared provider by provider: address differences OR-ed
/// together without an early exit, so they vectorise (two instructions a pair).
fn same_list(a: &Listed, b: &[Invoker]) -> bool {
    // The same address and length (a slice pointer's two halves).
    if (a.list.as_ref()).is_some_and(|list| std::ptr::eq(list.as_ptr(), b)) {
        return true;
    }
    a.ids.len() == b.len()
        && a.ids
            .iter()
            .zip(b)
            .fold(0, |diff, (a, b)| diff | (a ^ b.id()))
            == 0
}

/// How many values a pick keeps on the stack; a longer list takes a heap buffer.
const INLINE: usize = 128;

/// Runs `f` with a zeroed buffer of `n` values, on the stack unless `n` is large.
fn with_scratch<T: Copy + Default, R>(n: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    if n <= INLINE {
        f(&mut [T::default(); INLINE][..n])
    } else {
        f(&mut vec![T::default(); n])
    }
}

/// The invoker of least `key` (ties: drawn by weight as [`Random`] draws, else uniformly):
/// the rule of both [`LeastActive`] and [`ShortestResponse`]. Reads each key once, and the
/// weights of the invokers that were least when reached.
fn least_by<'a>(
    invokers: &'a [Invoker],
    method: &str,
    now: &Now,
    key: impl Fn(&Invoker) -> u64,
) -> Option<&'a Invoker> {
    if invokers.len() <= 1 {
        return invokers.first();
    }
    let picked = with_scratch(invokers.len(), |ties: &mut [(usize, u32)]| {
        let (mut least, mut count) = (u64::MAX, 0);
        let (mut total, mut first, mut same) = (0u64, 0, true);
        for (at, invoker) in invokers.iter().enumerate() {
            let k = key(invoker);
            if count == 0 || k < least {
                let w = weight_of(invoker, method, now);
                (least, count, total, first, same) = (k, 1, u64::from(w), w, true);
                ties[0] = (at, w);
            } else if k == least {
                let w = weight_of(invoker, method, now);
                ties[count] = (at, w);
                count += 1;
                total += u64::from(w);
                same &= w == first;
            }
        }
        let ties = &ties[..count];
        if ties.len() > 1 && !same && total > 0 {
            let mut offset = fastrand::u64(..total);
            for &(at, w) in ties {
                if offset < u64::from(w) {
                    return at;
                }
                offset -= u64::from(w);
            }
        }
        ties[fastrand::usize(..ties.len())].0
    });
    invokers.get(picked)
}

/// State a balancer keeps per service and method (round robin's scores, consistent hash's
/// rings), found without building a key string.
#[derive(Debug)]
struct PerMethod<T>(RwLock<Table<T>>);

/// The states of a [`PerMethod`], with the one set last at hand: a reference calling one
/// method (the common case, and every call between two of another) finds it with two string
/// comparisons instead of two hash lookups.
#[derive(Debug)]
struct Table<T> {
    last: Option<Last<T>>,
    by_service: ByName<ByName<T>>,
}

/// The state set last, with its service and method; the map holds it too.
#[derive(Debug)]
struct Last<T> {
    service: Box<str>,
    method: Box<str>,
    state: T,
}

impl<T: Clone> Table<T> {
    /// The state of `route`'s method, if it has one.
    #[inline]
    fn get(&self, route: &Route<'_>) -> Option<&T> {
        match &self.last {
            Some(last) if *last.method == *route.method && *last.service == *route.service => {
                Some(&last.state)
            }
            _ => self.by_service.get(route.service)?.get(route.method),
        }
    }

    /// Sets the state of `route`'s method and makes it the last one.
    fn set(&mut self, route: &Route<'_>, state: T) {
        (self.by_service.entry(route.service.into()).or_default())
            .insert(route.method.into(), state.clone());
        self.last = Some(Last {
            service: route.service.into(),
            method: route.method.into(),
            state,
        });
    }
}

/// By service, or by method.
type ByName<T> = HashMap<Box<str>, T, BuildHasherDefault<NameHasher>>;

/// A fast hash for the few service and method names a balancer sees (SipHash, the default,
/// guards against chosen keys; these come from the application, not the network).
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.write_u64(u64::from(byte));
    }

    fn write_u64(&mut self, word: u64) {
        // FxHash's step.
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        // The table takes its control bits from the top: fold the well-mixed high bits in.
        self.0.rotate_left(26)
    }
}

impl<T> Default for PerMethod<T> {
    fn default() -> Self {
        Self(RwLock::new(Table {
            last: None,
            by_service: ByName::default(),
        }))
    }
}

impl<T: Clone> PerMethod<T> {
    /// Runs `f` on the state of `route`'s method, if it has one, under the map's read lock.
    #[inline]
    fn with<R>(&self, route: &Route<'_>, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.0.read().get(route).map(f)
    }

    /// The state of `route`'s method, if it has one that `is_current` accepts.
    fn find(&self, route: &Route<'_>, is_current: impl FnOnce(&T) -> bool) -> Option<T> {
        let table = self.0.read();
        let state = table.get(route)?;
        is_current(state).then(|| state.clone())
    }

    /// Sets the state of `route`'s method.
    fn insert(&self, route: &Route<'_>, state: T) {
        self.0.write().set(route, state);
    }

    /// The state of `route`'s method, made by `make` if it has none.
    fn get_or_insert_with(&self, route: &Route<'_>, make: impl FnOnce() -> T) -> T {
        if let Some(state) = self.find(route, |_| true) {
            return state;
        }
        let mut table = self.0.write();
        if let Some(state) = table.get(route) {
            return state.clone();
        }
        let state = make();
        table.set(route, state.clone());
        state
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cluster::Channels;
    use std::num::NonZeroUsize;

    /// An invoker at `address` with `params`.
    pub(crate) fn invoker(address: &str, params: &[(&str, &str)]) -> Invoker {
        Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN)))
            .with_params(params.iter().copied())
    }

    /// A balancer remembers a list between picks without keeping its providers: once the
    /// directory drops a provider, its connections go (a leaving provider's connections
    /// must close while calls go to the others).
    #[test]
    fn remembered_lists_do_not_keep_providers_alive() {
        let balancers: [Arc<dyn LoadBalance>; 5] = [
            Arc::new(Random::new()),
            Arc::new(RoundRobin::new()),
            Arc::new(LeastActive::new()),
            Arc::new(ShortestResponse::new()),
            Arc::new(ConsistentHash::new()),
        ];
        for balancer in balancers {
            let channels = Arc::new(Channels::new(NonZeroUsize::MIN));
            let leaving =
                Invoker::new("10.0.0.1:1", channels.clone()).with_params([("weight", "7")]);
            let staying = invoker("10.0.0.2:1", &[("weight", "3")]);
            let route = Route::new("s", "m").with_now_ms(1_000);
            for _ in 0..3 {
                balancer.select(&[leaving.clone(), staying.clone()], &route);
            }
            // Nor does a list named by the route, which the balancer holds weakly.
            let list: Invokers = Arc::from([staying.clone(), leaving.clone()]);
            for _ in 0..3 {
                balancer.select(&list, &route.with_list(&list));
            }
            drop((leaving, list));
            assert_eq!(
                Arc::strong_count(&channels),
                1,
                "{balancer:?} keeps a dropped provider's connections"
            );
            // A list reusing nothing of the old one is a new list.
            balancer.select(&[staying.clone(), invoker("10.0.0.3:1", &[])], &route);
        }
    }

    /// A balancer knows a list again by its address only while the route names the list it
    /// is handed: a route naming another list, a prefix of the named list, and a list made
    /// after the named one was dropped (which could reuse its memory) all pick as picks
    /// with no list named, from the same random numbers.
    #[test]
    fn a_list_is_known_by_its_address_only_as_the_one_handed() {
        let kinds: [fn() -> Arc<dyn LoadBalance>; 4] = [
            || Arc::new(Random::new()),
            || Arc::new(RoundRobin::new()),
            || Arc::new(LeastActive::new()),
            || Arc::new(ConsistentHash::new()),
        ];
        let weighted = |name: &str, weight: usize| {
            invoker(&format!("{name}:1"), &[("weight", &weight.to_string())])
        };
        let providers = |names: &[&str]| -> Vec<Invoker> {
            (names.iter().enumerate())
                .map(|(i, name)| weighted(name, 10 * (i + 1)))
                .collect()
        };
        let list = |names: &[&str]| -> Invokers { providers(names).into() };
        let picks = |lb: &dyn LoadBalance, handed: &[Invoker], named: Option<&Invokers>| {
            let mut route = Route::new("s", "m");
            route.list = named;
            (0..50)
                .map(|_| lb.select(handed, &route).unwrap().address().to_owned())
                .collect::<Vec<_>>()
        };
        for kind in kinds {
            let (named, plain) = (kind(), kind());
            let mut seed = 0;
            let mut both = |handed: &[Invoker], list: Option<&Invokers>| {
                seed += 1;
                fastrand::seed(seed);
                let got = picks(&*named, handed, list);
                fastrand::seed(seed);
                assert_eq!(got, picks(&*plain, handed, None), "{named:?}");
            };
            let (a, b) = (list(&["a", "b", "c"]), list(&["c", "b", "a"]));
            both(&a, Some(&a));
            both(&a, Some(&a));
            // Handed b with a named, then a, then b named.
            both(&b, Some(&a));
            both(&a, Some(&a));
            both(&b, Some(&b));
            // A prefix of a, at a's address.
            both(&a[..2], Some(&a));
            both(&a, Some(&a));
            // a goes; a list of as many providers made next may land where it was.
            let others = providers(&["d", "e", "f"]);
            drop(a);
            let c: Invokers = others.into();
            both(&c, Some(&c));
        }
    }

    /// How often each invoker is picked in `picks` selections, seeded with `seed`.
    pub(crate) fn shares(
        lb: &dyn LoadBalance,
        invokers: &[Invoker],
        route: &Route<'_>,
        picks: usize,
        seed: u64,
    ) -> Vec<f64> {
        fastrand::seed(seed);
        let mut counts = vec![0usize; invokers.len()];
        for _ in 0..picks {
            let picked = lb.select(invokers, route).expect("a pick");
            let at = invokers.iter().position(|i| i.ptr_eq(picked)).unwrap();
            counts[at] += 1;
        }
        counts.iter().map(|&c| c as f64 / picks as f64).collect()
    }

    /// Asserts each share is within `tolerance` of `expected`, printing the seed otherwise.
    pub(crate) fn assert_shares(got: &[f64], expected: &[f64], tolerance: f64, seed: u64) {
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            assert!(
                (g - e).abs() <= tolerance,
                "invoker {i}: share {g:.4}, expected {e:.4} ± {tolerance} (seed {seed}; all {got:?})"
            );
        }
    }

    #[test]
    fn random_draws_in_proportion_to_weight() {
        let invokers = [
            invoker("a:1", &[("weight", "1")]),
            invoker("b:1", &[("weight", "2")]),
            invoker("c:1", &[("weight", "7")]),
        ];
        let route = Route::new("s", "m");
        for seed in [1, 2, 3] {
            let got = shares(&Random::new(), &invokers, &route, 100_000, seed);
            assert_shares(&got, &[0.1, 0.2, 0.7], 0.02, seed);
        }
    }

    #[test]
    fn random_reads_the_method_weight_first() {
        let invokers = [
            invoker("a:1", &[("weight", "1"), ("m.weight", "9")]),
            invoker("b:1", &[("weight", "9")]),
        ];
        let got = shares(&Random::new(), &invokers, &Route::new("s", "m"), 50_000, 4);
        assert_shares(&got, &[0.5, 0.5], 0.02, 4);
        let got = shares(
            &Random::new(),
            &invokers,
            &Route::new("s", "other"),
            50_000,
            4,
        );
        assert_shares(&got, &[0.1, 0.9], 0.02, 4);
    }

    #[test]
    fn random_halves_a_half_warm_providers_share() {
        let now: u64 = 1_700_000_000_000;
        let half_warm = (now - 300_000).to_string();
        let warm = (now - 3_600_000).to_string();
        let invokers = [
            invoker("a:1", &[("timestamp", &warm)]),
            invoker("b:1", &[("timestamp", &half_warm)]),
        ];
        let route = Route::new("s", "m").with_now_ms(now);
        // Weights 100 and 50.
        let got = shares(&Random::new(), &invokers, &route, 60_000, 5);
        assert_shares(&got, &[2.0 / 3.0, 1.0 / 3.0], 0.02, 5);
        // Ten minutes later both are warm.
        let later = Route::new("s", "m").with_now_ms(now + 600_000);
        let got = shares(&Random::new(), &invokers, &later, 60_000, 5);
        assert_shares(&got, &[0.5, 0.5], 0.02, 5);
        // One balancer across the times: the weights kept once warm do not hold before.
        let lb = Random::new();
        for (route, expected) in [(later, [0.5, 0.5]), (route, [2.0 / 3.0, 1.0 / 3.0])] {
            let got = shares(&lb, &invokers, &route, 60_000, 5);
            assert_shares(&got, &expected, 0.02, 5);
        }
    }

    #[test]
    fn random_keeps_weights_per_list_and_method() {
        let lb = Random::new();
        let weighted = |a: &str, b: &str| {
            [
                invoker("a:1", &[("weight", a), ("n.weight", "1")]),
                invoker("b:1", &[("weight", b)]),
            ]
        };
        let (first, second) = (weighted("1", "3"), weighted("3", "1"));
        let (m, n) = (Route::new("s", "m"), Route::new("s", "n"));
        for _ in 0..2 {
            assert_shares(&shares(&lb, &first, &m, 40_000, 8), &[0.25, 0.75], 0.02, 8);
            assert_shares(&shares(&lb, &first, &n, 40_000, 8), &[0.25, 0.75], 0.02, 8);
            // A new list (the same addresses) is weighed anew.
            assert_shares(&shares(&lb, &second, &m, 40_000, 8), &[0.75, 0.25], 0.02, 8);
            assert_shares(&shares(&lb, &second, &n, 40_000, 8), &[0.5, 0.5], 0.02, 8);
        }
    }

    #[test]
    fn random_is_uniform_when_the_first_provider_is_unweighted() {
        // Dubbo looks at the first provider only: the others' weights are ignored.
        let invokers = [
            invoker("a:1", &[]),
            invoker("b:1", &[("weight", "1")]),
            invoker("c:1", &[("weight", "1000")]),
        ];
        let third = 1.0 / 3.0;
        let got = shares(&Random::new(), &invokers, &Route::new("s", "m"), 60_000, 6);
        assert_shares(&got, &[third, third, third], 0.02, 6);
        // Weights all zero: uniform too.
        let zeros = [
            invoker("a:1", &[("weight", "0")]),
            invoker("b:1", &[("weight", "0")]),
        ];
        let got = shares(&Random::new(), &zeros, &Route::new("s", "m"), 20_000, 6);
        assert_shares(&got, &[0.5, 0.5], 0.02, 6);
    }

    #[test]
    fn random_never_draws_a_zero_weight() {
        let invokers = [
            invoker("a:1", &[("weight", "0")]),
            invoker("b:1", &[("weight", "3")]),
            invoker("c:1", &[("weight", "0")]),
        ];
        let got = shares(&Random::new(), &invokers, &Route::new("s", "m"), 10_000, 7);
        assert_eq!(got, [0.0, 1.0, 0.0]);
    }

    #[test]
    fn a_seeded_thread_repeats_its_picks() {
        let invokers: Vec<_> = (0..10)
            .map(|i| invoker(&format!("h:{i}"), &[("weight", &(i + 1).to_string())]))
            .collect();
        let route = Route::new("s", "m");
        let run = || {
            fastrand::seed(42);
            (0..50)
                .map(|_| {
                    Random::new()
                        .select(&invokers, &route)
                        .unwrap()
                        .address()
                        .to_owned()
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.iter().collect::<std::collections::HashSet<_>>().len() > 3);
    }

    #[test]
    fn load_balance_knows_dubbos_names() {
        for (name, stats) in [
            ("random", false),
            ("roundrobin", false),
            ("leastactive", true),
            ("shortestresponse", true),
            ("consistenthash", false),
        ] {
            let lb = load_balance(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(lb.needs_stats(), stats, "{name}");
            let debug = format!("{lb:?}").to_lowercase();
            assert!(debug.starts_with(&name[..5]), "{name}: {debug}");
        }
        assert!(load_balance("Random").is_none() && load_balance("").is_none());
        assert!(Random::new().select(&[], &Route::new("s", "m")).is_none());
    }
}
