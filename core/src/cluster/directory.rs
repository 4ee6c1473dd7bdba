//! [`Directory`]: the providers a call may go to, and [`Invoker`]: one of them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::balance::Weighting;
use super::stats::StatsTable;
use super::{Channels, MethodStats};
use crate::context::CallContext;
use crate::shared::SharedConnection;

/// One provider a reference may call (Dubbo's `Invoker`): its address, the URL parameters it
/// advertises (`weight`, `timeout`, `<method>.<i>.callback`...), and its connections.
///
/// Cheap to clone: clones share one copy.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker};
///
/// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)))
///     .with_params([("weight", "200"), ("timeout", "3000")]);
/// assert_eq!(invoker.param("weight"), Some("200"));
/// // No connection is up yet.
/// assert!(!invoker.is_available());
/// ```
#[derive(Clone)]
pub struct Invoker(Arc<InvokerInner>);

pub(crate) struct InvokerInner {
    address: String,
    /// Sorted by key, keys unique.
    params: Vec<(String, String)>,
    channels: Arc<Channels>,
    /// The weight parameters, parsed from `params` for the load balancers.
    weighting: Weighting,
    /// The timeout parameters, parsed from `params` for the consumer's calls.
    timeouts: Timeouts,
    /// Calls in flight and response times per method: shared by the invokers `with_params`
    /// derives from one another, as their connections are.
    stats: Arc<StatsTable>,
}

impl Invoker {
    /// The provider at `address` (`host:port`, or any name the directory uses for it),
    /// reached over `channels`, with no parameters.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// assert_eq!(invoker.address(), "10.0.0.7:20880");
    /// assert_eq!(invoker.params().len(), 0);
    /// ```
    pub fn new(address: impl Into<String>, channels: Arc<Channels>) -> Self {
        Self(Arc::new(InvokerInner {
            address: address.into(),
            params: Vec::new(),
            channels,
            weighting: Weighting::parse(std::iter::empty()),
            timeouts: Timeouts::default(),
            stats: Arc::default(),
        }))
    }

    /// The same provider with these URL parameters (a later value of a key wins).
    ///
    /// The result shares the original's connections and its [`stats`](Self::stats): both
    /// describe calls to one provider.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let base = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let tuned = base.clone().with_params([("weight", "50"), ("weight", "80")]);
    /// assert_eq!(tuned.param("weight"), Some("80"));
    /// assert!(Arc::ptr_eq(tuned.channels(), base.channels()));
    /// ```
    pub fn with_params<K, V>(self, params: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut all: Vec<(String, String)> = self.0.params.clone();
        for (key, value) in params {
            let key = key.into();
            match all.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
                Ok(at) => all[at].1 = value.into(),
                Err(at) => all.insert(at, (key, value.into())),
            }
        }
        Self(Arc::new(InvokerInner {
            address: self.0.address.clone(),
            weighting: Weighting::parse(all.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            timeouts: Timeouts::parse(all.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            params: all,
            channels: self.0.channels.clone(),
            stats: self.0.stats.clone(),
        }))
    }

    /// The address it was listed under.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// assert_eq!(invoker.address(), "10.0.0.7:20880");
    /// ```
    pub fn address(&self) -> &str {
        &self.0.address
    }

    /// The URL parameter `key`.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN))).with_params([("timeout", "3000")]);
    /// assert_eq!(invoker.param("timeout"), Some("3000"));
    /// assert_eq!(invoker.param("weight"), None);
    /// ```
    pub fn param(&self, key: &str) -> Option<&str> {
        let params = &self.0.params;
        params
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|at| params[at].1.as_str())
    }

    /// The URL parameters, sorted by key.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)))
    ///     .with_params([("weight", "200"), ("timeout", "3000")]);
    /// let params: Vec<_> = invoker.params().collect();
    /// assert_eq!(params, [("timeout", "3000"), ("weight", "200")]);
    /// ```
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Its connections.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let channels = Arc::new(Channels::new(NonZeroUsize::new(2).unwrap()));
    /// let invoker = Invoker::new("10.0.0.7:20880", channels.clone());
    /// assert!(Arc::ptr_eq(invoker.channels(), &channels));
    /// ```
    pub fn channels(&self) -> &Arc<Channels> {
        &self.0.channels
    }

    /// Whether a call could go to it now: one of its connections is up, below its in-flight
    /// limit and not read-only.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// // Its only slot holds no connection yet.
    /// assert!(!invoker.is_available());
    /// ```
    pub fn is_available(&self) -> bool {
        (0..self.0.channels.len()).any(|i| {
            self.0
                .channels
                .get(i)
                .is_some_and(|conn| conn.is_available())
        })
    }

    /// A connection to call it over ([`Channels::pick`]).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// assert_eq!(invoker.address(), "10.0.0.7:20880");
    /// assert_eq!(invoker.channels().len(), 1);
    /// // An adapter has not put a connection in its channels yet.
    /// assert!(invoker.connection().is_none());
    /// assert!(invoker.clone().ptr_eq(&invoker));
    /// ```
    pub fn connection(&self) -> Option<SharedConnection> {
        self.0.channels.pick()
    }

    /// The counters of calls of `method` on this provider (made on first use), which the
    /// caller updates when a load balancer [needs them](super::LoadBalance::needs_stats).
    ///
    /// Invokers made from one another by [`with_params`](Self::with_params) share them.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let call = invoker.stats("greet").begin();
    /// assert_eq!(invoker.stats("greet").active(), 1);
    /// assert_eq!(invoker.stats("other").active(), 0);
    /// call.succeeded(Duration::from_millis(3));
    /// assert_eq!(invoker.with_params([("weight", "5")]).stats("greet").succeeded(), 1);
    /// ```
    pub fn stats(&self, method: &str) -> &Arc<MethodStats> {
        self.0.stats.get_or_add(method)
    }

    /// The counters of `method`, if a call of it was ever counted.
    #[inline]
    pub(crate) fn find_stats(&self, method: &str) -> Option<&Arc<MethodStats>> {
        self.0.stats.find(method)
    }

    /// The weight parameters.
    pub(crate) fn weighting(&self) -> &Weighting {
        &self.0.weighting
    }

    /// The timeouts its URL carries.
    #[inline]
    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.0.timeouts
    }

    /// The same for clones of one invoker, and for no other invoker while this one lives.
    #[inline]
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.0).addr()
    }

    /// A handle that names this invoker without keeping its connections open: while the
    /// handle lives no other invoker can take this one's [`id`](Self::id).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<InvokerInner> {
        Arc::downgrade(&self.0)
    }

    /// Whether `self` and `other` are clones of one invoker.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// assert!(invoker.ptr_eq(&invoker.clone()));
    /// assert!(!invoker.ptr_eq(&invoker.clone().with_params([("weight", "5")])));
    /// ```
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether `self` and `other` stand for the same provider: clones of one invoker, or
    /// listed under the same (non-empty) address, as a registry's successive lists do.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker};
    ///
    /// let channels = Arc::new(Channels::new(NonZeroUsize::MIN));
    /// let old = Invoker::new("10.0.0.7:20880", channels.clone());
    /// let new = Invoker::new("10.0.0.7:20880", channels).with_params([("weight", "5")]);
    /// assert!(old.same_provider(&new) && !old.ptr_eq(&new));
    /// ```
    pub fn same_provider(&self, other: &Self) -> bool {
        self.ptr_eq(other) || (!self.0.address.is_empty() && self.0.address == other.0.address)
    }
}

impl fmt::Debug for Invoker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoker")
            .field("address", &self.0.address)
            .field("params", &self.0.params)
            .field("channels", &self.0.channels)
            .finish()
    }
}

/// A snapshot of the providers a call may go to.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, Invokers};
///
/// let channels = Arc::new(Channels::new(NonZeroUsize::MIN));
/// let list: Invokers = Arc::from([Invoker::new("10.0.0.7:20880", channels)]);
/// assert_eq!(list[0].address(), "10.0.0.7:20880");
/// ```
pub type Invokers = Arc<[Invoker]>;

/// The call a [`Directory`] is asked about: routing rules may depend on the method and the
/// call's attachments (Dubbo's routers: tags, conditions).
///
/// ```
/// use tether_core::cluster::Route;
/// use tether_core::context::CallContext;
///
/// let ctx = CallContext::new().attachment("dubbo.tag", "gray");
/// let route = Route::new("org.example.Greeter", "greet").with_context(&ctx);
/// assert_eq!((route.service, route.method), ("org.example.Greeter", "greet"));
/// assert_eq!(route.context.and_then(|c| c.attachments().get_str("dubbo.tag")), Some("gray"));
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Route<'a> {
    /// The service path (the Java interface name).
    pub service: &'a str,
    /// The method called (for a generic call, the method it names).
    pub method: &'a str,
    /// The call's own context, for calls made with one.
    pub context: Option<&'a CallContext>,
    /// The time of the call in milliseconds since the Unix epoch, which providers' warm-up
    /// is measured against (their `timestamp` parameter); unset, the load balancers read the
    /// wall clock when they need it.
    pub now_ms: Option<u64>,
    /// The call's arguments as text, for the consistent-hash balancer; the consumer fills it
    /// in for calls whose reference balances with `consistenthash`.
    pub arguments: Option<&'a dyn HashArguments>,
    /// The directory's list, when the providers a load balancer is handed are that list
    /// whole (the consumer sets it). A balancer that keeps state per list (weights, round
    /// robin's scores, hash rings) then knows the list again by its address, where
    /// otherwise it compares every provider; one handed other providers ignores it.
    pub list: Option<&'a Invokers>,
}

impl<'a> Route<'a> {
    /// A call of `method` on `service`, with no context.
    ///
    /// ```
    /// use tether_core::cluster::Route;
    ///
    /// let route = Route::new("org.example.Greeter", "greet");
    /// assert_eq!(route.method, "greet");
    /// assert!(route.context.is_none() && route.now_ms.is_none());
    /// ```
    pub fn new(service: &'a str, method: &'a str) -> Self {
        Self {
            service,
            method,
            context: None,
            now_ms: None,
            arguments: None,
            list: None,
        }
    }

    /// The same call, with its context.
    ///
    /// ```
    /// use tether_core::cluster::Route;
    /// use tether_core::context::CallContext;
    ///
    /// let ctx = CallContext::new();
    /// let route = Route::new("org.example.Greeter", "greet").with_context(&ctx);
    /// assert!(route.context.is_some());
    /// ```
    pub fn with_context(mut self, context: &'a CallContext) -> Self {
        self.context = Some(context);
        self
    }

    /// The same call, made at `now_ms` (milliseconds since the Unix epoch).
    ///
    /// ```
    /// use tether_core::cluster::Route;
    ///
    /// let route = Route::new("org.example.Greeter", "greet").with_now_ms(1_700_000_000_000);
    /// assert_eq!(route.now_ms, Some(1_700_000_000_000));
    /// ```
    pub fn with_now_ms(mut self, now_ms: u64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    /// The same call, with its arguments as text ([`HashArguments`]).
    ///
    /// ```
    /// use tether_core::cluster::Route;
    ///
    /// let args = ["alice", "42"];
    /// let route = Route::new("org.example.Greeter", "greet").with_arguments(&args);
    /// let mut key = String::new();
    /// assert!(route.arguments.unwrap().write_argument(1, &mut key));
    /// assert_eq!(key, "42");
    /// ```
    pub fn with_arguments(mut self, arguments: &'a dyn HashArguments) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// The same call, over the directory's `list` whole ([`list`](Self::list)).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker, Invokers, LoadBalance, Random, Route};
    ///
    /// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
    /// let list: Invokers = Arc::from([
    ///     Invoker::new("10.0.0.7:20880", channels()).with_params([("weight", "100")]),
    ///     Invoker::new("10.0.0.8:20880", channels()).with_params([("weight", "300")]),
    /// ]);
    /// let route = Route::new("org.example.Greeter", "greet").with_list(&list);
    /// // The balancer knows the list again by its address, pick after pick.
    /// let lb = Random::new();
    /// for _ in 0..3 {
    ///     assert!(lb.select(&list, &route).is_some());
    /// }
    /// ```
    pub fn with_list(mut self, list: &'a Invokers) -> Self {
        self.list = Some(list);
        self
    }
}

/// A call's arguments as Java's `String.valueOf` writes them (`"null"` for a null, the
/// decimal form of a number, a string as is): what Dubbo's consistent hashing hashes.
///
/// The consumer implements it over a call's arguments; slices of strings implement it for
/// callers that have the text already. Hashing a structured argument only matches Java if
/// the text is what its `toString` gives.
///
/// ```
/// use std::fmt::Write;
/// use tether_core::cluster::{HashArguments, Route};
///
/// /// A call's arguments, a user id that may be null and a page number.
/// struct Args(Option<i64>, i32);
///
/// impl HashArguments for Args {
///     fn write_argument(&self, index: usize, out: &mut String) -> bool {
///         match (index, self.0) {
///             (0, Some(id)) => write!(out, "{id}").is_ok(),
///             (0, None) => { out.push_str("null"); true }
///             (1, _) => write!(out, "{}", self.1).is_ok(),
///             _ => false,
///         }
///     }
/// }
///
/// let args = Args(None, 3);
/// let route = Route::new("org.example.Users", "page").with_arguments(&args);
/// let mut key = String::new();
/// assert!(route.arguments.unwrap().write_argument(0, &mut key));
/// assert!(!route.arguments.unwrap().write_argument(2, &mut key));
/// assert_eq!(key, "null");
/// ```
pub trait HashArguments {
    /// Appends the text of argument `index` to `out`, or returns false if the call has no
    /// such argument.
    fn write_argument(&self, index: usize, out: &mut String) -> bool;
}

impl<S: AsRef<str>> HashArguments for [S] {
    fn write_argument(&self, index: usize, out: &mut String) -> bool {
        self.get(index).map(|s| out.push_str(s.as_ref())).is_some()
    }
}

impl<S: AsRef<str>, const N: usize> HashArguments for [S; N] {
    fn write_argument(&self, index: usize, out: &mut String) -> bool {
        self.as_slice().write_argument(index, out)
    }
}

impl<S: AsRef<str>> HashArguments for Vec<S> {
    fn write_argument(&self, index: usize, out: &mut String) -> bool {
        self.as_slice().write_argument(index, out)
    }
}

impl<T: HashArguments + ?Sized> HashArguments for &T {
    fn write_argument(&self, index: usize, out: &mut String) -> bool {
        (**self).write_argument(index, out)
    }
}

impl fmt::Debug for dyn HashArguments + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashArguments")
    }
}

/// The set of providers a reference's calls may go to (Dubbo's `Directory`): fixed, or kept
/// up to date by a registry as providers come and go.
///
/// [`list`](Self::list) runs for every call, and again for every retry of a call under a
/// retrying strategy: keep a ready snapshot and hand out clones of it rather than building
/// one per call. A provider that left is simply no longer listed; calls already on its
/// connections finish or fail there.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use parking_lot::RwLock;
/// use tether_core::cluster::{Channels, Directory, Invoker, Invokers, Route};
///
/// /// A directory whose provider list is replaced as a registry notifies.
/// #[derive(Default)]
/// struct Notified(RwLock<Invokers>);
///
/// impl Directory for Notified {
///     fn list(&self, _: &Route<'_>) -> Invokers {
///         self.0.read().clone()
///     }
/// }
///
/// let directory = Notified::default();
/// assert!(directory.list(&Route::new("demo.Svc", "m")).is_empty());
/// let a = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
/// *directory.0.write() = Arc::new([a]);
/// assert_eq!(directory.list(&Route::new("demo.Svc", "m"))[0].address(), "10.0.0.7:20880");
/// ```
pub trait Directory: Send + Sync + 'static {
    /// The providers a call described by `route` may go to now.
    fn list(&self, route: &Route<'_>) -> Invokers;

    /// Runs `visit` over the providers [`list`](Self::list) would return, lent rather than
    /// handed out: the per-call path of a reference, where cloning a shared snapshot costs
    /// two atomic operations on a cache line every calling thread touches.
    ///
    /// The default calls `list`; a directory that can lend its providers in place
    /// overrides it. `visit` must not call back into the directory.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Directory, Invoker, Route, StaticDirectory};
    ///
    /// let a = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let directory = StaticDirectory::new([a]);
    /// let mut seen = Vec::new();
    /// directory.visit(&Route::new("org.example.Greeter", "greet"), &mut |invokers| {
    ///     seen.extend(invokers.iter().map(|i| i.address().to_owned()));
    /// });
    /// assert_eq!(seen, ["10.0.0.7:20880"]);
    /// ```
    fn visit(&self, route: &Route<'_>, visit: &mut dyn FnMut(&Invokers)) {
        visit(&self.list(route));
    }
}

/// A directory that never changes: the providers a reference was built with.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Directory, Invoker, Route, StaticDirectory};
///
/// let a = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
/// let b = Invoker::new("10.0.0.8:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
/// let directory = StaticDirectory::new([a.clone(), b]);
/// let listed = directory.list(&Route::new("org.example.Greeter", "greet"));
/// assert_eq!(listed.len(), 2);
/// assert!(listed[0].ptr_eq(&a));
/// assert_eq!(listed[1].address(), "10.0.0.8:20880");
/// ```
#[derive(Clone, Debug)]
pub struct StaticDirectory {
    invokers: Invokers,
}

impl StaticDirectory {
    /// The directory listing `invokers`, in this order.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Directory, Invoker, Route, StaticDirectory};
    ///
    /// let a = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let b = Invoker::new("10.0.0.8:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let directory = StaticDirectory::new([a.clone(), b]);
    /// let listed = directory.list(&Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(listed.len(), 2);
    /// assert!(listed[0].ptr_eq(&a));
    /// assert_eq!(listed[1].address(), "10.0.0.8:20880");
    /// ```
    pub fn new(invokers: impl IntoIterator<Item = Invoker>) -> Self {
        Self {
            invokers: invokers.into_iter().collect(),
        }
    }
}

impl Directory for StaticDirectory {
    fn list(&self, _: &Route<'_>) -> Invokers {
        self.invokers.clone()
    }

    fn visit(&self, _: &Route<'_>, visit: &mut dyn FnMut(&Invokers)) {
        visit(&self.invokers);
    }
}

/// The timeouts a provider's URL carries: `<method>.timeout`, and `timeout` (or the older
/// `default.timeout`). Java's consumers take them when they set none themselves
/// (`ClusterUtils.mergeUrl`), so the consumer's method settings read them per provider.
/// Only positive values that fit Java's `int` count, as Java's `getMethodPositiveParameter`
/// reads them: a registry's larger number does not hold a call for years.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timeouts {
    interface: Option<Duration>,
    /// Sorted by method name.
    methods: Box<[(Box<str>, Duration)]>,
}

impl Timeouts {
    fn parse<'p>(params: impl Iterator<Item = (&'p str, &'p str)>) -> Self {
        let (mut interface, mut fallback) = (None, None);
        let mut methods = Vec::new();
        for (key, value) in params {
            let Some(ms) = crate::url::positive_millis_value(value) else {
                continue;
            };
            match key {
                "timeout" => interface = Some(ms),
                "default.timeout" => fallback = Some(ms),
                _ => {
                    // `<method>.timeout`; longer keys (`<method>.<argument>.timeout`) are not
                    // a method's.
                    if let Some(method) = key.strip_suffix(".timeout")
                        && !method.contains('.')
                    {
                        methods.push((method.into(), ms));
                    }
                }
            }
        }
        methods.sort_unstable_by(|(a, _), (b, _): &(Box<str>, Duration)| a.cmp(b));
        Self {
            interface: interface.or(fallback),
            methods: methods.into_boxed_slice(),
        }
    }

    /// `<method>.timeout`.
    #[inline]
    pub(crate) fn method(&self, method: &str) -> Option<Duration> {
        if self.methods.is_empty() {
            return None;
        }
        let at = (self.methods.binary_search_by(|(m, _)| (**m).cmp(method))).ok()?;
        Some(self.methods[at].1)
    }

    /// `timeout`.
    #[inline]
    pub(crate) fn interface(&self) -> Option<Duration> {
        self.interface
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroUsize;

    fn channels() -> Arc<Channels> {
        Arc::new(Channels::new(NonZeroUsize::MIN))
    }

    #[test]
    fn timeouts_read_as_java_reads_them() {
        let ms = Duration::from_millis;
        let invoker = Invoker::new("a:1", channels()).with_params([
            ("timeout", "0"),
            ("default.timeout", "250"),
            ("sayHello.timeout", "300"),
            ("bye.timeout", "-5"),
            ("sayHello.1.timeout", "900"),
            ("weight", "7"),
        ]);
        let timeouts = invoker.timeouts();
        // A non-positive value counts as unset, so `default.timeout` stands.
        assert_eq!(timeouts.interface(), Some(ms(250)));
        assert_eq!(timeouts.method("sayHello"), Some(ms(300)));
        assert_eq!(timeouts.method("bye"), None);
        assert_eq!(
            timeouts.method("sayHello.1"),
            None,
            "an argument's key is no method's"
        );
        let plain = Invoker::new("b:1", channels()).with_params([("timeout", "1200")]);
        assert_eq!(plain.timeouts().interface(), Some(ms(1_200)));
        assert_eq!(plain.timeouts().method("sayHello"), None);
        // Past Java's `int`: not a timeout Java would read.
        let huge = Invoker::new("c:1", channels()).with_params([
            ("timeout", "2147483648"),
            ("sayHello.timeout", "2147483647"),
        ]);
        assert_eq!(huge.timeouts().interface(), None);
        assert_eq!(huge.timeouts().method("sayHello"), Some(ms(2_147_483_647)));
    }

    #[test]
    fn params_are_sorted_unique_and_found() {
        let invoker = Invoker::new("a:1", channels())
            .with_params([("weight", "100"), ("anyhost", "true")])
            .with_params([("weight", "200"), ("zone", "z1")]);
        let params: Vec<_> = invoker.params().collect();
        assert_eq!(
            params,
            [("anyhost", "true"), ("weight", "200"), ("zone", "z1")]
        );
        assert_eq!(invoker.param("weight"), Some("200"));
        assert_eq!(invoker.param("timeout"), None);
        assert_eq!(invoker.address(), "a:1");
    }

    #[test]
    fn a_static_directory_lists_its_invokers_in_order() {
        let (a, b) = (
            Invoker::new("a:1", channels()),
            Invoker::new("b:2", channels()),
        );
        let directory = StaticDirectory::new([a.clone(), b.clone()]);
        let listed = directory.list(&Route::new("s", "m"));
        assert_eq!(listed.len(), 2);
        assert!(listed[0].ptr_eq(&a) && listed[1].ptr_eq(&b));
        assert!(!listed[0].is_available() && listed[0].connection().is_none());
    }
}
