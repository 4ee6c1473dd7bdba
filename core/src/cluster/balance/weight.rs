//! An invoker's weight as Dubbo computes it (`AbstractLoadBalance.getWeight`, ESTATE §3.4):
//! `<method>.weight`, else `weight`, else 100, scaled down while the provider warms up.

use std::cell::Cell;

use crate::cluster::Invoker;

/// Dubbo's default `weight`.
pub(crate) const DEFAULT_WEIGHT: i32 = 100;
/// Dubbo's default `warmup`, in milliseconds (`Constants.DEFAULT_WARMUP`).
pub(crate) const DEFAULT_WARMUP_MS: i32 = 600_000;

/// The weight-related URL parameters of an invoker, parsed once when its parameters are set
/// (a pick reads them for every listed invoker).
///
/// An empty value counts as absent, as Java's `StringUtils.isNotEmpty`; a value that does not
/// parse counts as present with the default (Java would fail the call instead).
#[derive(Clone, Debug, Default)]
pub(crate) struct Weighting {
    /// `weight`, if set.
    weight: Option<i32>,
    /// `<method>.weight` for the methods that set it, sorted by method.
    methods: Box<[(Box<str>, i32)]>,
    /// `timestamp` (ms since the Unix epoch), if set: when the provider started.
    timestamp: Option<i64>,
    /// `warmup` in milliseconds.
    warmup: i32,
    /// The weight of every method at any time, when no method sets its own and there is no
    /// warm-up: the common case, answered without a lookup.
    fixed: Option<u32>,
}

impl Weighting {
    /// Reads the parameters from `params`, sorted by key.
    pub(crate) fn parse<'p>(params: impl Iterator<Item = (&'p str, &'p str)>) -> Self {
        let mut weighting = Self {
            warmup: DEFAULT_WARMUP_MS,
            ..Self::default()
        };
        let mut methods = Vec::new();
        for (key, value) in params.filter(|(_, v)| !v.is_empty()) {
            match key {
                "weight" => weighting.weight = Some(value.parse().unwrap_or(DEFAULT_WEIGHT)),
                "timestamp" => weighting.timestamp = Some(value.parse().unwrap_or(0)),
                "warmup" => weighting.warmup = value.parse().unwrap_or(DEFAULT_WARMUP_MS),
                _ => {
                    if let Some(method) = key.strip_suffix(".weight") {
                        methods.push((method.into(), value.parse().unwrap_or(DEFAULT_WEIGHT)));
                    }
                }
            }
        }
        // The keys arrive sorted, but `m.weight` sorts against `m.x.weight` by the suffix.
        methods.sort_unstable_by(|(a, _), (b, _): &(Box<str>, i32)| a.cmp(b));
        weighting.methods = methods.into_boxed_slice();
        if weighting.methods.is_empty() && weighting.timestamp.is_none_or(|t| t <= 0) {
            weighting.fixed = Some(weighting.weight.unwrap_or(DEFAULT_WEIGHT).max(0) as u32);
        }
        weighting
    }

    /// The weight of every method at any time, if no method sets its own and no warm-up
    /// applies.
    pub(crate) fn fixed(&self) -> Option<u32> {
        self.fixed
    }

    /// When it is warm, in ms since the Unix epoch (0 if it does not warm up): its weight
    /// holds from then on.
    pub(crate) fn warm_ms(&self) -> u64 {
        match self.timestamp {
            Some(started) if started > 0 => {
                (started as u64).saturating_add(self.warmup.max(0) as u64)
            }
            _ => 0,
        }
    }

    /// The configured weight for `method`, before warm-up.
    #[inline]
    fn configured(&self, method: &str) -> Option<i32> {
        if self.methods.is_empty() {
            return self.weight;
        }
        match self.methods.binary_search_by(|(m, _)| (**m).cmp(method)) {
            Ok(at) => Some(self.methods[at].1),
            Err(_) => self.weight,
        }
    }

    /// Whether a weight applies to `method` or a start time is set: Java's
    /// `RandomLoadBalance.needWeightLoadBalance` asks this of the first invoker.
    pub(crate) fn is_weighted(&self, method: &str) -> bool {
        self.timestamp.is_some() || self.configured(method).is_some()
    }

    /// The weight for a call of `method` at `now_ms` (ms since the Unix epoch; asked only
    /// if a positive `timestamp` is set).
    #[inline]
    pub(crate) fn weight(&self, method: &str, now_ms: impl FnOnce() -> u64) -> u32 {
        let weight = self.configured(method).unwrap_or(DEFAULT_WEIGHT);
        match self.timestamp {
            Some(started) if weight > 0 && started > 0 => {
                let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
                warm(now.saturating_sub(started), self.warmup, weight)
            }
            _ => weight.max(0) as u32,
        }
    }
}

/// The weight of a provider up for `uptime_ms` out of `warmup_ms`, configured `weight > 0`:
/// Java's `calculateWarmupWeight`, float arithmetic and all.
fn warm(uptime_ms: i64, warmup_ms: i32, weight: i32) -> u32 {
    if uptime_ms < 0 {
        // A provider clock ahead of ours: Dubbo gives it the least weight.
        return 1;
    }
    if uptime_ms > 0 && uptime_ms < i64::from(warmup_ms) {
        // `uptime < warmup` so `uptime` fits an i32, as Java's `(int) uptime`; Java computes
        // in `float`, and so do we, for the same roundings.
        let ww = (uptime_ms as i32 as f32 / (warmup_ms as f32 / weight as f32)) as i32;
        return ww.clamp(1, weight) as u32;
    }
    weight as u32
}

/// The weight of `invoker` for `method`, reading the time only if it warms up.
#[inline]
pub(crate) fn weight_of(invoker: &Invoker, method: &str, now: &Now) -> u32 {
    let weighting = invoker.weighting();
    match weighting.fixed {
        Some(weight) => weight,
        None => weighting.weight(method, || now.ms()),
    }
}

/// The time of a pick: the route's, else the wall clock, read at most once and only if asked.
pub(crate) struct Now {
    given: Option<u64>,
    read: Cell<Option<u64>>,
}

impl Now {
    pub(crate) fn new(given: Option<u64>) -> Self {
        Self {
            given,
            read: Cell::new(None),
        }
    }

    /// The time the route gives, if any.
    pub(crate) fn given(&self) -> Option<u64> {
        self.given
    }

    /// The time if it is known without reading the clock: the route's, else the clock's
    /// if already read for this pick.
    pub(crate) fn known(&self) -> Option<u64> {
        self.given.or(self.read.get())
    }

    /// Milliseconds since the Unix epoch.
    pub(crate) fn ms(&self) -> u64 {
        if let Some(ms) = self.known() {
            return ms;
        }
        let ms = wall_clock_ms();
        self.read.set(Some(ms));
        ms
    }
}

/// The wall clock in milliseconds since the Unix epoch.
///
/// The one place the cluster layer reads a clock, and only as a fallback for a route that
/// leaves [`Route::now_ms`](crate::cluster::Route::now_ms) unset: Dubbo's warm-up compares
/// with the provider's `timestamp` parameter, a wall-clock time that the adapters' monotonic
/// [`Clock`](crate::Clock) cannot give. A pick reads it at most once, and only when a listed
/// provider still warms up, when round robin's list changed or holds unlisted scores, or for
/// shortest response's window; a pick over an unchanged list of warm providers by
/// [`Random`](super::Random), [`RoundRobin`](super::RoundRobin) or
/// [`LeastActive`](super::LeastActive) reads no clock.
#[allow(clippy::disallowed_methods)]
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(params: &[(&str, &str)]) -> Weighting {
        let mut sorted = params.to_vec();
        sorted.sort();
        Weighting::parse(sorted.into_iter())
    }

    const T0: u64 = 1_700_000_000_000;

    fn at(w: &Weighting, uptime: i64) -> u32 {
        w.weight("m", || (T0 as i64 + uptime) as u64)
    }

    #[test]
    fn warm_up_follows_the_estate_vectors() {
        let w = parse(&[("timestamp", &T0.to_string())]);
        let cases = [
            (1_000, 1),
            (6_000, 1),
            (60_000, 10),
            (300_000, 50),
            (599_999, 99),
            (600_000, 100),
            (10_000_000, 100),
            (0, 100),
            (-1, 1),
            (-60_000, 1),
        ];
        for (uptime, want) in cases {
            assert_eq!(at(&w, uptime), want, "uptime {uptime}");
        }
    }

    #[test]
    fn warm_up_rounds_in_float_as_java_does() {
        // Values printed by Dubbo 3.3.6's `AbstractLoadBalance.calculateWarmupWeight`.
        assert_eq!(warm(599_999, 600_000, i32::MAX), 2_147_480_064);
        assert_eq!(warm(1, 600_000, i32::MAX), 3_579);
        assert_eq!(warm(123_457, 600_000, 7), 1);
        assert_eq!(warm(5_000, 10_000, 40), 20);
        assert_eq!(warm(100, 10_000, 40), 1);
    }

    #[test]
    fn warm_up_scales_the_method_weight_and_its_own_period() {
        let w = parse(&[
            ("timestamp", &T0.to_string()),
            ("weight", "200"),
            ("greet.weight", "40"),
            ("warmup", "10000"),
        ]);
        assert_eq!(w.weight("other", || T0 + 5_000), 100);
        assert_eq!(w.weight("greet", || T0 + 5_000), 20);
        assert_eq!(w.weight("greet", || T0 + 10_000), 40);
        // 100 ms of a 10 s warm-up at weight 40 is 0.4: never below 1.
        assert_eq!(w.weight("greet", || T0 + 100), 1);
    }

    #[test]
    fn weights_come_from_the_method_then_the_service_then_the_default() {
        let none = parse(&[]);
        assert_eq!(none.weight("m", || unreachable!("no timestamp")), 100);
        assert!(!none.is_weighted("m"));
        let service = parse(&[("weight", "7")]);
        assert_eq!(service.weight("m", || unreachable!()), 7);
        assert!(service.is_weighted("m"));
        let method = parse(&[("weight", "7"), ("a.weight", "3"), ("b.x.weight", "9")]);
        assert_eq!(method.weight("a", || unreachable!()), 3);
        assert_eq!(method.weight("b.x", || unreachable!()), 9);
        assert_eq!(method.weight("c", || unreachable!()), 7);
        let only_method = parse(&[("a.weight", "3")]);
        assert!(only_method.is_weighted("a") && !only_method.is_weighted("b"));
        assert_eq!(only_method.weight("b", || unreachable!()), 100);
        assert!(parse(&[("timestamp", "5")]).is_weighted("m"));
        // Empty values are absent; a value that does not parse is the default.
        assert!(!parse(&[("weight", ""), ("timestamp", "")]).is_weighted("m"));
        assert_eq!(parse(&[("weight", "x")]).weight("m", || 0), 100);
    }

    #[test]
    fn the_fixed_weight_agrees_with_the_full_rule() {
        let cases: [&[(&str, &str)]; 6] = [
            &[],
            &[("weight", "7")],
            &[("weight", "0")],
            &[("weight", "-2")],
            &[("weight", "x")],
            &[("timestamp", "0"), ("weight", "9")],
        ];
        for params in cases {
            let w = parse(params);
            let fixed = w
                .fixed
                .unwrap_or_else(|| panic!("{params:?}: no fixed weight"));
            assert_eq!(fixed, w.weight("m", || unreachable!()), "{params:?}");
        }
        // A method weight or a warm-up needs the full rule.
        assert!(parse(&[("a.weight", "3")]).fixed.is_none());
        assert!(parse(&[("timestamp", "1")]).fixed.is_none());
    }

    #[test]
    fn the_weight_holds_once_warm() {
        for warmup in ["10000", "0", "-5"] {
            let w = parse(&[("timestamp", &T0.to_string()), ("warmup", warmup)]);
            let warm = w.warm_ms();
            assert_eq!(warm, T0 + warmup.parse::<u64>().unwrap_or(0), "{warmup}");
            for later in [0, 1, 1_000_000] {
                assert_eq!(w.weight("m", || warm + later), 100, "{warmup} +{later}");
            }
        }
        assert_eq!(parse(&[("weight", "7")]).warm_ms(), 0);
        assert_eq!(parse(&[("timestamp", "0")]).warm_ms(), 0);
    }

    #[test]
    fn zero_and_negative_weights_are_zero_even_warming_up() {
        let ts = T0.to_string();
        let zero = parse(&[("weight", "0"), ("timestamp", &ts)]);
        assert_eq!(at(&zero, 60_000), 0);
        assert_eq!(at(&zero, -5), 0);
        let negative = parse(&[("weight", "-3"), ("timestamp", &ts)]);
        assert_eq!(at(&negative, 60_000), 0);
        // A zero or negative timestamp means no warm-up.
        let unset = parse(&[("timestamp", "0")]);
        assert_eq!(unset.weight("m", || unreachable!()), 100);
    }
}
