//! The consumer: service references and typed method handles, in every Dubbo call mode
//! (`docs/protocol.md` §5.3, §7, §8).
//!
//! A [`Reference`] names a remote service (path, version, group) and holds its connections
//! ([`Channels`], round robin). [`Reference::method`] gives a typed [`Method`] whose
//! options mirror `<dubbo:method>`: timeout, `sent`, and the `oninvoke` / `onreturn` /
//! `onthrow` listeners. A method is called synchronously ([`Method::call_blocking`]), asynchronously
//! ([`Method::call`], a [`Completion`] returned at once, so many calls run in parallel
//! with no extra threads), or one-way ([`Method::oneway`], Dubbo's `return=false`).
//!
//! A method that throws fails with [`RpcError::Business`]; [`RpcError::business_as`]
//! decodes the exception into your own struct for its Java class (see
//! [`JavaException`](crate::message::JavaException#your-own-exception-classes)).

mod callback;
mod cluster;
mod filter;

use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::cluster::{Backoff, Channels};
use crate::cluster::{
    Cluster, Directory, FailbackQueue, HashArguments, Invoker, LoadBalance, Random, Route, Router,
    StaticDirectory, TagRouter,
};
pub use crate::invoke::{RpcError, SerializationError};
pub use callback::{Callback, CallbackDispatcher};
pub use filter::{Filter, Invocation};

use crate::call::{Completer, Completion, Inline, pair};
use crate::connection::{CallOptions, Canceller, Sent, Started, abandoned_call};
use crate::context::{CallContext, Reply};
use crate::error::TimeoutPhase;
use crate::event::CallResult;
use crate::frame::SerializationId;
use crate::hessian2::{self, Value};
use crate::invoke::{abandoned, decode, decode_with_attachments, decoding_pair, wait_sent};
use crate::message::{
    Arguments, Attachments, DUBBO_VERSION, GENERIC_DESCRIPTOR, GENERIC_METHOD, GenericArgs,
    RequestBody, RequestTemplate,
};
use crate::shared::SharedConnection;
use parking_lot::Mutex;

/// How long a synchronous caller waits beyond the call's timeout before giving up on its own.
/// The connection times the call out first; this only guards against a dead IO loop.
const WAIT_GRACE: Duration = Duration::from_secs(1);

/// A remote service as the consumer sees it.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Instant;
/// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
/// # struct Now;
/// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
/// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
/// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
/// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
/// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
/// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
/// #         let mut wire = Vec::new();
/// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
/// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
/// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
/// #     }
/// # };
/// # struct NoSpawn;
/// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
/// use tether_core::consumer::{Channels, Reference};
/// use tether_core::provider::{Context, Dispatch, Provider, Service};
///
/// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
///     Service::new("org.example.Greeter")
///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
/// );
/// let reference = Reference::builder("org.example.Greeter")
///     .build(Arc::new(Channels::single(conn.clone())));
///
/// let greet = reference.method::<(String,), String>("greet");
/// let hello = greet.call(("world".to_owned(),));
/// pump(&provider);
/// assert_eq!(hello.wait()?, "Hello, world");
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
#[derive(Clone)]
pub struct Reference(Arc<ReferenceInner>);

struct ReferenceInner {
    path: String,
    version: Option<String>,
    group: Option<String>,
    /// Set by [`ReferenceBuilder::timeout`]; unset, a provider's URL or 1 s decide.
    timeout: Option<Duration>,
    token: Option<String>,
    attachments: Attachments,
    filters: filter::Filters,
    directory: Arc<dyn Directory>,
    cluster: Cluster,
    balance: Arc<dyn LoadBalance>,
    routers: Arc<[Arc<dyn Router>]>,
    failback: Option<Arc<FailbackQueue>>,
}

/// Builds a [`Reference`].
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tether_core::consumer::{Channels, Reference};
///
/// let reference = Reference::builder("org.example.Greeter")
///     .version("1.0.0")
///     .group("eu")
///     .timeout(Duration::from_secs(3))
///     .attachment("application", "shop")
///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
/// assert_eq!(reference.path(), "org.example.Greeter");
/// ```
pub struct ReferenceBuilder {
    path: String,
    version: Option<String>,
    group: Option<String>,
    timeout: Option<Duration>,
    token: Option<String>,
    attachments: Attachments,
    filters: Vec<Arc<dyn Filter>>,
    cluster: Cluster,
    balance: Option<Arc<dyn LoadBalance>>,
    tag: Option<String>,
    tag_routing: bool,
    routers: Vec<Arc<dyn Router>>,
    failback: Option<Arc<FailbackQueue>>,
}

impl fmt::Debug for ReferenceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceBuilder")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("group", &self.group)
            .field("timeout", &self.timeout)
            .field("attachments", &self.attachments)
            .field("filters", &self.filters.len())
            .field("cluster", &self.cluster)
            .field("balance", &self.balance)
            .field("tag", &self.tag)
            .field("routers", &self.routers)
            .finish_non_exhaustive()
    }
}

impl ReferenceBuilder {
    /// The service version.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// // Two versions of one service, side by side.
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn))
    ///     .export(
    ///         Service::new("org.example.Greeter").version("1.0.0")
    ///             .method("greet", |_: Context, (): ()| Ok("v1")),
    ///     )
    ///     .export(
    ///         Service::new("org.example.Greeter").version("2.0.0")
    ///             .method("greet", |_: Context, (): ()| Ok("v2")),
    ///     );
    /// let channels = Arc::new(Channels::single(conn.clone()));
    /// let v2 = Reference::builder("org.example.Greeter").version("2.0.0").build(channels);
    /// let greeting = v2.method::<(), String>("greet").call(());
    /// pump(&provider);
    /// assert_eq!(greeting.wait()?, "v2");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// The service group.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter").group("eu")
    ///         .method("region", |_: Context, (): ()| Ok("eu")),
    /// );
    /// let eu = Reference::builder("org.example.Greeter")
    ///     .group("eu")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let region = eu.method::<(), String>("region").call(());
    /// pump(&provider);
    /// assert_eq!(region.wait()?, "eu");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_owned());
        self
    }

    /// The default call timeout (Dubbo's 1 000 ms unless set).
    ///
    /// Unset, a provider's own `timeout` URL parameter (from a registry or a
    /// [`StaticDirectory`] invoker's parameters) takes its
    /// place for calls to that provider, as Java's consumers take it; set, it wins over the
    /// provider's `timeout` but not over its `<method>.timeout`, which only
    /// [`Method::timeout`] and a call's [`CallContext`] override.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use std::time::Duration;
    ///
    /// let reference = Reference::builder("org.example.Reports")
    ///     .timeout(Duration::from_secs(30))
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// // Every method of the reference starts with its timeout.
    /// let monthly = reference.method::<(i32,), String>("monthly");
    /// assert!(format!("{monthly:?}").contains("timeout: 30s"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The provider's token, sent with every call.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Vault").token("s3cret")
    ///         .method("open", |_: Context, (): ()| Ok(true)),
    /// );
    /// let channels = Arc::new(Channels::single(conn.clone()));
    /// let trusted = Reference::builder("org.example.Vault").token("s3cret")
    ///     .build(channels.clone());
    /// let stranger = Reference::builder("org.example.Vault").build(channels);
    /// let opened = trusted.method::<(), bool>("open").call(());
    /// let refused = stranger.method::<(), bool>("open").call(());
    /// pump(&provider);
    /// assert!(opened.wait()?);
    /// assert!(refused.wait().is_err());
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// An attachment sent with every call.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter").method("caller", |ctx: Context, (): ()| {
    ///         Ok(ctx.attachment("application").unwrap_or("unknown").to_owned())
    ///     }),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .attachment("application", "shop")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let caller = reference.method::<(), String>("caller").call(());
    /// pump(&provider);
    /// assert_eq!(caller.wait()?, "shop");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn attachment(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.attachments.insert(key, value);
        self
    }

    /// Adds a filter that sees every call of the reference (after those added before it:
    /// the first added is the outermost).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Filter, Invocation, Reference, RpcError};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// /// Sends the caller's tenant with every call.
    /// struct Tenant(&'static str);
    ///
    /// impl Filter for Tenant {
    ///     fn on_call(&self, call: &mut Invocation<'_>) -> Result<(), RpcError> {
    ///         call.context.attachments_mut().insert("tenant", self.0);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .filter(Tenant("acme"))
    ///     .build(Arc::new(Channels::single(conn.clone())));
    ///
    /// // A provider answering with the tenant it was sent.
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter").method("tenant", |ctx: Context, (): ()| {
    ///         Ok(ctx.attachment("tenant").unwrap_or("none").to_owned())
    ///     }),
    /// );
    ///
    /// let tenant = reference.method::<(), String>("tenant").call(());
    /// pump(&provider);
    /// assert_eq!(tenant.wait()?, "acme");
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn filter(mut self, filter: impl Filter) -> Self {
        self.filters.push(Arc::new(filter));
        self
    }

    /// The fault-tolerance strategy of its calls (Dubbo's `cluster=`; failover with 2
    /// retries unless set); a method may have its own ([`Method::cluster`]).
    ///
    /// ```
    /// use tether_core::cluster::Cluster;
    /// use tether_core::consumer::Reference;
    ///
    /// // Writes are not idempotent: one attempt, and its failure is the call's.
    /// let builder = Reference::builder("org.example.Orders").cluster(Cluster::Failfast);
    /// assert!(format!("{builder:?}").contains("Failfast"));
    /// ```
    pub fn cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = cluster;
        self
    }

    /// How its calls pick among several providers (Dubbo's `loadbalance=`): weighted
    /// [`Random`] unless set, as in Dubbo. [`load_balance`](crate::cluster::load_balance)
    /// finds Dubbo's balancers by name.
    ///
    /// ```
    /// use tether_core::cluster::load_balance;
    /// use tether_core::consumer::Reference;
    ///
    /// let builder = Reference::builder("org.example.Greeter")
    ///     .load_balance(load_balance("leastactive").expect("a Dubbo balancer"));
    /// # let _ = builder;
    /// ```
    pub fn load_balance(mut self, balance: Arc<dyn LoadBalance>) -> Self {
        self.balance = Some(balance);
        self
    }

    /// Where calls under [`Cluster::Failback`] wait to be resent (see [`FailbackQueue`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::{Cluster, FailbackQueue};
    /// use tether_core::consumer::Reference;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    ///
    /// // An adapter's spawner and sleep (here stand-ins): resends wait 5 s, 100 at most.
    /// let sleep = Arc::new(|_: Duration| -> tether_core::BoxFuture { Box::pin(async {}) });
    /// let queue = Arc::new(FailbackQueue::new(Arc::new(NoSpawn), sleep));
    /// let reference = Reference::builder("org.example.Notifier")
    ///     .cluster(Cluster::Failback { retries: 3 })
    ///     .failback_queue(queue.clone());
    /// assert_eq!(queue.waiting(), 0);
    /// # let _ = reference;
    /// ```
    pub fn failback_queue(mut self, queue: Arc<FailbackQueue>) -> Self {
        self.failback = Some(queue);
        self
    }

    /// The tag of its calls (Dubbo's consumer `dubbo.tag`): they go to the providers with
    /// this tag, or to untagged ones when none has it ([`TagRouter`]). A call's own
    /// `dubbo.tag` attachment wins.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::cluster::{Invoker, StaticDirectory};
    ///
    /// let at = |address: &str| Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let directory = StaticDirectory::new([
    ///     at("10.0.0.7:20880"),
    ///     at("10.0.0.8:20880").with_params([("dubbo.tag", "gray")]),
    /// ]);
    /// let gray = Reference::builder("org.example.Greeter").tag("gray")
    ///     .build_with(Arc::new(directory));
    /// // The call goes to the gray provider (which has no connection up here).
    /// let error = gray.method::<(), String>("greet").call_blocking(()).unwrap_err();
    /// assert!(matches!(&error, RpcError::NoConnection(_)));
    /// assert!(error.to_string().ends_with("at 10.0.0.8:20880"));
    /// ```
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = Some(tag.to_owned());
        self
    }

    /// Adds a router, run after the tag router and those added before it.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::cluster::{Invoker, Route, Router, StaticDirectory};
    ///
    /// /// Keeps the providers of one zone.
    /// #[derive(Debug)]
    /// struct Zone(&'static str);
    ///
    /// impl Router for Zone {
    ///     fn route(&self, invokers: &[Invoker], _: &Route<'_>) -> Option<Vec<Invoker>> {
    ///         Some(invokers.iter().filter(|i| i.param("zone") == Some(self.0)).cloned().collect())
    ///     }
    /// }
    ///
    /// let at = |address: &str, zone: &str| {
    ///     Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN)))
    ///         .with_params([("zone", zone)])
    /// };
    /// let directory =
    ///     StaticDirectory::new([at("10.0.0.7:20880", "east"), at("10.1.0.7:20880", "west")]);
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .router(Zone("west"))
    ///     .build_with(Arc::new(directory));
    /// // The call goes to the west provider (which has no connection up here).
    /// let error = reference.method::<(), String>("greet").call_blocking(()).unwrap_err();
    /// assert!(error.to_string().ends_with("at 10.1.0.7:20880"));
    /// ```
    pub fn router(mut self, router: impl Router) -> Self {
        self.routers.push(Arc::new(router));
        self
    }

    /// Drops the tag router every reference runs by default: calls go to tagged and
    /// untagged providers alike, whatever their tags.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::cluster::{Invoker, StaticDirectory};
    ///
    /// let gray = || {
    ///     let channels = Arc::new(Channels::new(NonZeroUsize::MIN));
    ///     let provider = Invoker::new("10.0.0.8:20880", channels).with_params([("dubbo.tag", "gray")]);
    ///     Arc::new(StaticDirectory::new([provider]))
    /// };
    /// // By default an untagged call never goes to a tagged provider...
    /// let routed = Reference::builder("org.example.Greeter").build_with(gray());
    /// let error = routed.method::<(), String>("greet").call_blocking(()).unwrap_err();
    /// assert_eq!(error.to_string(), "no available connection to org.example.Greeter");
    /// // ...without tag routing, it does (the provider has no connection up here).
    /// let unrouted = Reference::builder("org.example.Greeter").without_tag_routing()
    ///     .build_with(gray());
    /// let error = unrouted.method::<(), String>("greet").call_blocking(()).unwrap_err();
    /// assert!(error.to_string().ends_with("at 10.0.0.8:20880"));
    /// ```
    pub fn without_tag_routing(mut self) -> Self {
        self.tag_routing = false;
        self
    }

    /// The reference, calling one provider over `channels` (Dubbo's direct `url=`
    /// reference).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Clock").method("year", |_: Context, (): ()| Ok(2026)),
    /// );
    /// // `conn` is a connection to the provider, opened by an adapter.
    /// let reference = Reference::builder("org.example.Clock")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let year = reference.method::<(), i32>("year").call(());
    /// pump(&provider);
    /// assert_eq!(year.wait()?, 2026);
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn build(self, channels: Arc<Channels>) -> Reference {
        let direct = Invoker::new(String::new(), channels);
        self.build_with(Arc::new(StaticDirectory::new([direct])))
    }

    /// The reference, calling the provider at `address` (`host:port`) over connections
    /// `connector` opens in the background (Dubbo's direct `url=` reference with
    /// `check=false`): it is built at once even while the provider is down, and connects
    /// (then reconnects, with backoff) when it comes up. Until then its calls fail at once
    /// with [`RpcError::NoConnection`] naming the service and the address.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Connector, connections};
    /// use tether_core::consumer::{Reference, RpcError};
    /// use tether_core::url::Url;
    ///
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// // An adapter's connector (`tether_tokio::Connector`...); this one never connects.
    /// let connector = Nowhere;
    /// let reference = Reference::builder("org.example.Greeter").build_lazy(&connector, "10.0.0.7:20880");
    /// let error = reference.method::<(String,), String>("greet").call_blocking(("world".into(),)).unwrap_err();
    /// assert!(matches!(&error, RpcError::NoConnection(_)));
    /// assert_eq!(
    ///     error.to_string(),
    ///     "no available connection to org.example.Greeter at 10.0.0.7:20880"
    /// );
    /// ```
    pub fn build_lazy(self, connector: &dyn crate::cluster::Connector, address: &str) -> Reference {
        // What the connector reads of a provider's URL: no parameters, one connection.
        let bare = crate::url::Url::builder("dubbo").path(self.path.as_str());
        let provider = crate::url::Url::parse(&format!("dubbo://{address}/{}", self.path))
            .or_else(|_| bare.build());
        let Ok(provider) = provider else {
            unreachable!("a URL of a protocol and a path always builds")
        };
        let channels = connector.channels(address, &provider);
        let direct = Invoker::new(address, channels);
        self.build_with(Arc::new(StaticDirectory::new([direct])))
    }

    /// The reference, calling the providers `directory` lists (a registry's, say), round
    /// robin over those with a connection available.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Directory, Invoker, Route, StaticDirectory};
    /// use tether_core::consumer::{Reference, RpcError};
    ///
    /// let provider = |address: &str| Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let directory = StaticDirectory::new([provider("10.0.0.7:20880"), provider("10.0.0.8:20880")]);
    /// let reference = Reference::builder("org.example.Greeter").build_with(Arc::new(directory));
    ///
    /// let listed = reference.directory().list(&Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(listed.len(), 2);
    /// // Neither provider has a connection up yet.
    /// let greet = reference.method::<(String,), String>("greet");
    /// assert!(matches!(greet.call_blocking(("world".to_owned(),)), Err(RpcError::NoConnection(_))));
    /// ```
    pub fn build_with(self, directory: Arc<dyn Directory>) -> Reference {
        Reference(Arc::new(ReferenceInner {
            path: self.path,
            version: self.version,
            group: self.group,
            timeout: self.timeout,
            token: self.token,
            attachments: self.attachments,
            filters: self.filters.into(),
            directory,
            cluster: self.cluster,
            balance: self.balance.unwrap_or_else(|| Arc::new(Random::new())),
            routers: self
                .tag_routing
                .then(|| -> Arc<dyn Router> {
                    Arc::new(match self.tag {
                        Some(tag) => TagRouter::with_tag(tag),
                        None => TagRouter::default(),
                    })
                })
                .into_iter()
                .chain(self.routers)
                .collect(),
            failback: self.failback,
        }))
    }
}

impl Reference {
    /// Starts building a reference to the service at `path` (the Java interface name).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    ///
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .version("1.0.0")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// assert_eq!(reference.path(), "org.example.Greeter");
    /// ```
    pub fn builder(path: &str) -> ReferenceBuilder {
        ReferenceBuilder {
            path: path.to_owned(),
            version: None,
            group: None,
            timeout: None,
            token: None,
            attachments: Attachments::new(),
            filters: Vec::new(),
            cluster: Cluster::default(),
            balance: None,
            tag: None,
            tag_routing: true,
            routers: Vec::new(),
            failback: None,
        }
    }

    /// The service path.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    ///
    /// let reference = Reference::builder("org.apache.dubbo.demo.DemoService")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// assert_eq!(reference.path(), "org.apache.dubbo.demo.DemoService");
    /// ```
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The providers its calls go to.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Route};
    /// use tether_core::consumer::Reference;
    ///
    /// let channels = Arc::new(Channels::new(NonZeroUsize::MIN));
    /// let reference = Reference::builder("org.example.Greeter").build(channels);
    /// // A direct reference lists its one provider.
    /// let providers = reference.directory().list(&Route::new(reference.path(), "greet"));
    /// assert_eq!(providers.len(), 1);
    /// assert!(!providers[0].is_available());
    /// ```
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.0.directory
    }

    /// A connection for one attempt of a call of `method`: to the one provider listed, or
    /// to the one the load balancer picks among several.
    fn connection(
        &self,
        method: &str,
        ctx: Option<&CallContext>,
    ) -> Result<SharedConnection, RpcError> {
        let r = &self.0;
        let mut route = Route::new(&r.path, method);
        route.context = ctx;
        let mut picked = None;
        self.visit_routed(&route, &mut |invokers, route| {
            picked = match invokers {
                [one] => one.connection(),
                several => crate::cluster::select(several, route, &*r.balance, &[], None)
                    .and_then(|invoker| invoker.connection()),
            };
        });
        picked.ok_or_else(|| RpcError::NoConnection(r.path.clone()))
    }

    /// Runs `visit` over the providers the directory lists for `route`, narrowed by the
    /// routers, with `route` naming the directory's list when none narrowed it
    /// ([`Route::list`]).
    fn visit_routed(&self, route: &Route<'_>, visit: &mut dyn FnMut(&[Invoker], &Route<'_>)) {
        let r = &self.0;
        r.directory.visit(route, &mut |invokers| {
            let mut narrowed: Option<Vec<Invoker>> = None;
            for router in r.routers.iter() {
                let current = narrowed.as_deref().unwrap_or(invokers);
                if let Some(fewer) = router.route(current, route) {
                    narrowed = Some(fewer);
                }
            }
            match narrowed {
                Some(fewer) => visit(&fewer, route),
                None => visit(invokers, &route.with_list(invokers)),
            }
        });
    }

    /// The connection of a call that needs no cluster machinery: the one provider listed
    /// under a strategy for which one provider means one plain attempt (`Ok(None)`: the
    /// call goes through its strategy).
    fn plain_connection(
        &self,
        method: &str,
        ctx: Option<&CallContext>,
        cluster: Cluster,
        plain: &dyn Fn(&Invoker) -> bool,
    ) -> Result<Option<SharedConnection>, RpcError> {
        let r = &self.0;
        if !cluster.is_plain_with_one() {
            return Ok(None);
        }
        let mut route = Route::new(&r.path, method);
        route.context = ctx;
        let mut picked = Ok(None);
        self.visit_routed(&route, &mut |invokers, _| {
            picked = match invokers {
                [one] if !plain(one) => Ok(None),
                [one] => one
                    .connection()
                    .map(Some)
                    .ok_or_else(|| no_connection(&r.path, one)),
                [] => Err(RpcError::NoConnection(r.path.clone())),
                _ => Ok(None),
            };
        });
        picked
    }

    /// A typed handle to method `name` taking the argument tuple `A` (whose Java types give
    /// the parameter descriptor) and returning `R`.
    ///
    /// Making one encodes the request's fixed part (service, version, method, descriptor)
    /// once, so make it once and keep it (it is cheap to clone and share between threads)
    /// rather than making one per call.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Calculator")
    ///         .method("add", |_: Context, (a, b): (i32, i32)| Ok(a + b)),
    /// );
    /// let reference = Reference::builder("org.example.Calculator")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// // Java's `int add(int a, int b)`.
    /// let add = reference.method::<(i32, i32), i32>("add");
    /// let sum = add.call((2, 3));
    /// pump(&provider);
    /// assert_eq!(sum.wait()?, 5);
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn method<A, R>(&self, name: &str) -> Method<A, R>
    where
        A: Arguments + Serialize + Send + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        let descriptor = A::descriptor_string();
        Method {
            reference: self.clone(),
            name: name.into(),
            descriptor: descriptor.as_str().into(),
            timeout: self.default_timeout(),
            timeout_from: if self.0.timeout.is_some() {
                TimeoutFrom::Reference
            } else {
                TimeoutFrom::Default
            },
            sent: false,
            release_callbacks: false,
            request: Arc::new(self.request_template(name, &descriptor, self.default_timeout())),
            listeners: Arc::new(Listeners::default()),
            cluster: self.0.cluster,
            sticky: None,
            _types: PhantomData,
        }
    }

    /// What every call of method `name` sends besides its arguments (`docs/protocol.md` §2.3).
    /// The timeout of calls that no method, call or provider sets: the reference's, else
    /// Dubbo's 1 s.
    fn default_timeout(&self) -> Duration {
        self.0.timeout.unwrap_or(CallOptions::DEFAULT_TIMEOUT)
    }

    fn request_template(&self, name: &str, descriptor: &str, timeout: Duration) -> RequestTemplate {
        let r = &self.0;
        let mut attachments = Attachments::with_capacity(6 + r.attachments.len());
        attachments.insert("path", r.path.as_str());
        attachments.insert("interface", r.path.as_str());
        attachments.insert("version", r.version.as_deref().unwrap_or("0.0.0"));
        if let Some(group) = &r.group {
            attachments.insert("group", group.as_str());
        }
        attachments.insert("timeout", timeout.as_millis().to_string());
        if let Some(token) = &r.token {
            attachments.insert("token", token.as_str());
        }
        for (key, value) in r.attachments.iter() {
            attachments.insert(key, value.clone());
        }
        RequestTemplate::new(
            DUBBO_VERSION,
            &r.path,
            Some(r.version.as_deref().unwrap_or("0.0.0")),
            name,
            descriptor,
            attachments,
        )
    }
}

impl Reference {
    /// A generic call (`$invoke`, `docs/protocol.md` §2.4): calls `method` with Java parameter
    /// type names (`"java.lang.String"`, `"int"`...) and dynamic values, for consumers
    /// without the interface's types. The result is dynamic too.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::hessian2::Value;
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Calculator")
    ///         .method("add", |_: Context, (a, b): (i32, i32)| Ok(a + b)),
    /// );
    /// let reference = Reference::builder("org.example.Calculator")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// // No Rust types for the interface: Java type names and dynamic values.
    /// let sum = reference.call_generic("add", &["int", "int"], &[Value::from(2), Value::from(3)]);
    /// pump(&provider);
    /// assert_eq!(sum.wait()?, Value::from(5));
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn call_generic(
        &self,
        method: &str,
        parameter_types: &[&str],
        args: &[Value],
    ) -> Completion<Result<Value, RpcError>> {
        self.call_generic_with(CallContext::new(), method, parameter_types, args)
            .map(|result| result.map(Reply::into_value), abandoned)
    }

    /// [`call_generic`](Self::call_generic) with a per-call context: its attachments go
    /// with the request, its timeout replaces the reference's, and the result carries the
    /// attachments the provider sent back.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::context::CallContext;
    /// use tether_core::hessian2::Value;
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter").method("greet", |ctx: Context, (name,): (String,)| {
    ///         Ok(format!("Hello, {name} of {}", ctx.attachment("tenant").unwrap_or("nobody")))
    ///     }),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    ///
    /// let ctx = CallContext::new().attachment("tenant", "acme");
    /// let reply = reference.call_generic_with(ctx, "greet", &["java.lang.String"], &[Value::from("world")]);
    /// pump(&provider);
    /// assert_eq!(reply.wait()?.value.as_str(), Some("Hello, world of acme"));
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn call_generic_with(
        &self,
        mut ctx: CallContext,
        method: &str,
        parameter_types: &[&str],
        args: &[Value],
    ) -> Completion<Result<Reply<Value>, RpcError>> {
        let r = &self.0;
        if let Err(error) = filter::before(&r.filters, &r.path, method, &mut ctx) {
            return Completion::ready(Err(error));
        }
        let fail = |mut ctx: CallContext, error: RpcError| {
            filter::after(&r.filters, &r.path, method, &mut ctx, Err(&error));
            Completion::ready(Err(error))
        };
        let conn = match self.connection(method, Some(&ctx)) {
            Ok(conn) => conn,
            Err(error) => return fail(ctx, error),
        };
        let timeout = ctx.timeout_override().unwrap_or(self.default_timeout());
        let mut attachments = Attachments::with_capacity(6 + ctx.attachments().len());
        attachments.insert("path", r.path.as_str());
        attachments.insert("interface", r.path.as_str());
        attachments.insert("version", r.version.as_deref().unwrap_or("0.0.0"));
        if let Some(group) = &r.group {
            attachments.insert("group", group.as_str());
        }
        attachments.insert("generic", "true");
        attachments.insert("timeout", timeout.as_millis().to_string());
        if let Some(token) = &r.token {
            attachments.insert("token", token.as_str());
        }
        for (key, value) in r.attachments.iter().chain(ctx.attachments().iter()) {
            attachments.insert(key, value.clone());
        }
        let args = GenericArgs {
            method,
            parameter_types,
            args,
        };
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: &r.path,
            version: Some(r.version.as_deref().unwrap_or("0.0.0")),
            method: GENERIC_METHOD,
            parameter_types: GENERIC_DESCRIPTOR,
            args: &args,
            attachments: &attachments,
        };
        let (completer, response) = pair(abandoned_call);
        let (response, canceller) =
            match conn.start_call_with(CallOptions::new(timeout), body, completer) {
                Ok(started) => (started.cancel(response), started.canceller()),
                Err(e) => return fail(ctx, RpcError::from(e.kind)),
            };
        if r.filters.is_empty() {
            return response.map(
                move |result| decode_with_attachments(result, timeout),
                abandoned,
            );
        }
        // Filters see every outcome, as on typed calls: dropping the completion lets the
        // call run on, `cancel` calls it off.
        let reference = self.clone();
        let method: Arc<str> = method.into();
        observed(response, move |result| {
            let result = decode_with_attachments(result, timeout);
            let r = &reference.0;
            let outcome = result.as_ref().map(|reply| &reply.attachments);
            // On the IO thread or executor: a panic must not take the loop down.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                filter::after(&r.filters, &r.path, &method, &mut ctx, outcome)
            }));
            result
        })
        .on_cancel(move || cluster::cancel_on(&canceller, &conn))
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reference")
            .field("path", &self.0.path)
            .field("version", &self.0.version)
            .field("group", &self.0.group)
            .finish_non_exhaustive()
    }
}

type OnInvoke<A> = Arc<dyn Fn(&A) + Send + Sync>;
type OnReturn<A, R> = Arc<dyn Fn(&R, &A) + Send + Sync>;
type OnThrow<A> = Arc<dyn Fn(&RpcError, &A) + Send + Sync>;

struct Listeners<A, R> {
    on_invoke: Option<OnInvoke<A>>,
    on_return: Option<OnReturn<A, R>>,
    on_throw: Option<OnThrow<A>>,
}

impl<A, R> Clone for Listeners<A, R> {
    fn clone(&self) -> Self {
        Self {
            on_invoke: self.on_invoke.clone(),
            on_return: self.on_return.clone(),
            on_throw: self.on_throw.clone(),
        }
    }
}

impl<A, R> Default for Listeners<A, R> {
    fn default() -> Self {
        Self {
            on_invoke: None,
            on_return: None,
            on_throw: None,
        }
    }
}

impl<A, R> Listeners<A, R> {
    fn wants_outcome(&self) -> bool {
        self.on_return.is_some() || self.on_throw.is_some()
    }

    fn invoked(&self, args: &A) {
        if let Some(f) = &self.on_invoke {
            f(args);
        }
    }

    fn finished(&self, result: Result<&R, &RpcError>, args: &A) {
        match result {
            Ok(value) => {
                if let Some(f) = &self.on_return {
                    f(value, args);
                }
            }
            Err(error) => {
                if let Some(f) = &self.on_throw {
                    f(error, args);
                }
            }
        }
    }
}

/// A typed remote method with its `<dubbo:method>` options.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Instant;
/// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
/// # struct Now;
/// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
/// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
/// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
/// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
/// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
/// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
/// #         let mut wire = Vec::new();
/// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
/// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
/// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
/// #     }
/// # };
/// # struct NoSpawn;
/// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
/// use tether_core::consumer::{Channels, Reference};
/// use tether_core::provider::{Context, Dispatch, Provider, Service};
///
/// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
///     Service::new("org.example.Greeter")
///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
/// );
/// let reference = Reference::builder("org.example.Greeter")
///     .build(Arc::new(Channels::single(conn.clone())));
///
/// let greet = reference.method::<(String,), String>("greet");
/// // Many calls in flight at once, each with its own completion.
/// let calls: Vec<_> = ["Ann", "Bob"].map(|name| greet.call((name.to_owned(),))).into();
/// pump(&provider);
/// let greetings: Vec<String> = calls.into_iter().map(|c| c.wait()).collect::<Result<_, _>>()?;
/// assert_eq!(greetings, ["Hello, Ann", "Hello, Bob"]);
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
pub struct Method<A, R> {
    reference: Reference,
    name: Arc<str>,
    descriptor: Arc<str>,
    timeout: Duration,
    /// Who set `timeout`: a provider's URL parameters take its place unless the method did.
    timeout_from: TimeoutFrom,
    sent: bool,
    /// Whether callback arguments of this method unsubscribe (Dubbo's `callback="false"`).
    release_callbacks: bool,
    /// Encoded once: every call of this method sends the same head and attachments.
    request: Arc<RequestTemplate>,
    listeners: Arc<Listeners<A, R>>,
    cluster: Cluster,
    /// The provider of the last call, shared by clones (Dubbo's `sticky`), when sticky.
    sticky: Option<Arc<Mutex<Option<Invoker>>>>,
    _types: PhantomData<fn(A) -> R>,
}

impl<A, R> Clone for Method<A, R> {
    fn clone(&self) -> Self {
        Self {
            reference: self.reference.clone(),
            name: self.name.clone(),
            descriptor: self.descriptor.clone(),
            timeout: self.timeout,
            timeout_from: self.timeout_from,
            sent: self.sent,
            release_callbacks: self.release_callbacks,
            request: self.request.clone(),
            listeners: self.listeners.clone(),
            cluster: self.cluster,
            sticky: self.sticky.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, R> fmt::Debug for Method<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Method")
            .field("name", &self.name)
            .field("descriptor", &self.descriptor)
            .field("timeout", &self.timeout)
            .field("sent", &self.sent)
            .field("cluster", &self.cluster)
            .field("sticky", &self.sticky.is_some())
            .finish_non_exhaustive()
    }
}

impl<A, R> Method<A, R>
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    /// This method's timeout (the reference's unless set). Set, it wins over a provider's
    /// `timeout` and `<method>.timeout` URL parameters; unset, those apply to the calls that
    /// go to that provider (see [`ReferenceBuilder::timeout`]). A call's own timeout
    /// ([`CallContext::timeout`]) wins over all of them.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use std::time::Duration;
    ///
    /// let reference = Reference::builder("org.example.Reports")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// // This one method may take longer than the reference's default.
    /// let yearly = reference.method::<(i32,), String>("yearly").timeout(Duration::from_secs(60));
    /// assert!(format!("{yearly:?}").contains("timeout: 60s"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.timeout_from = TimeoutFrom::Method;
        let request = self
            .reference
            .request_template(&self.name, &self.descriptor, timeout);
        self.request = Arc::new(request);
        self
    }

    /// Dubbo's `sent=true`: [`call_blocking`](Self::call_blocking) and [`oneway`](Self::oneway) return (or fail)
    /// only once the request was written to the transport. [`call`](Self::call)
    /// never blocks; a write failure fails its completion.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter")
    ///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    ///
    /// // The completion fails if the request cannot be written.
    /// let greet = reference.method::<(String,), String>("greet").sent(true);
    /// let hello = greet.call(("world".to_owned(),));
    /// pump(&provider);
    /// assert_eq!(hello.wait()?, "Hello, world");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn sent(mut self, sent: bool) -> Self {
        self.sent = sent;
        self
    }

    /// Declares that this method's [`Callback`] arguments unsubscribe (Dubbo's
    /// `callback="false"`): they are withdrawn from the connection as the call is sent.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::consumer::Callback;
    ///
    /// struct Listener;
    /// tether_core::java_class!(Listener => "org.example.Listener");
    ///
    /// let reference = Reference::builder("org.example.News")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let subscribe = reference.method::<(Callback<Listener>,), ()>("subscribe");
    /// // Passing the listener to `unsubscribe` withdraws it from the connection.
    /// let unsubscribe = reference
    ///     .method::<(Callback<Listener>,), ()>("unsubscribe")
    ///     .callback_release(true);
    /// # let _ = (subscribe, unsubscribe);
    /// ```
    pub fn callback_release(mut self, release: bool) -> Self {
        self.release_callbacks = release;
        self
    }

    /// This method's fault-tolerance strategy (the reference's unless set; Dubbo's
    /// `<dubbo:method cluster=... retries=...>`).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::cluster::Cluster;
    ///
    /// let reference = Reference::builder("org.example.Orders")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// // Reads retry elsewhere (the default); placing an order must not.
    /// let find = reference.method::<(i64,), String>("find");
    /// let place = reference.method::<(String,), i64>("place").cluster(Cluster::Failfast);
    /// assert!(format!("{find:?}").contains("Failover"));
    /// assert!(format!("{place:?}").contains("Failfast"));
    /// ```
    pub fn cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = cluster;
        self
    }

    /// Dubbo's `sticky`: calls keep going to the provider of the previous call while it is
    /// listed and available (for providers holding per-client state). Clones of this method
    /// share the provider they stick to.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    ///
    /// let reference = Reference::builder("org.example.Cart")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// // The cart lives in one provider's memory: keep calling that one.
    /// let add = reference.method::<(String,), u32>("add").sticky(true);
    /// assert!(format!("{add:?}").contains("sticky: true"));
    /// ```
    pub fn sticky(mut self, sticky: bool) -> Self {
        self.sticky = sticky.then(|| Arc::new(Mutex::new(None)));
        self
    }

    /// Runs `f` with the arguments on the caller's thread before each call is sent.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter")
    ///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    ///
    /// let sent = Arc::new(AtomicUsize::new(0));
    /// let counter = sent.clone();
    /// let greet = reference
    ///     .method::<(String,), String>("greet")
    ///     .on_invoke(move |(name,)| {
    ///         assert!(!name.is_empty());
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// let hello = greet.call(("world".to_owned(),));
    /// assert_eq!(sent.load(Ordering::Relaxed), 1);
    /// pump(&provider);
    /// hello.wait()?;
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn on_invoke(mut self, f: impl Fn(&A) + Send + Sync + 'static) -> Self {
        self.listeners_mut().on_invoke = Some(Arc::new(f));
        self
    }

    /// Runs `f` with the result and the arguments after a successful call: on the caller's
    /// thread for [`call_blocking`](Self::call_blocking), where the call completes (the IO thread or the
    /// callback executor) for [`call`](Self::call). It runs whether or not the
    /// caller keeps the call's completion.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use std::sync::Mutex;
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter")
    ///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    ///
    /// let answers = Arc::new(Mutex::new(Vec::new()));
    /// let log = answers.clone();
    /// let greet = reference
    ///     .method::<(String,), String>("greet")
    ///     .on_return(move |greeting, (name,)| {
    ///         log.lock().unwrap().push(format!("{name}: {greeting}"));
    ///     });
    /// // Nobody keeps the completion; the listener still sees the answer.
    /// drop(greet.call(("world".to_owned(),)));
    /// pump(&provider);
    /// assert_eq!(*answers.lock().unwrap(), ["world: Hello, world"]);
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn on_return(mut self, f: impl Fn(&R, &A) + Send + Sync + 'static) -> Self {
        self.listeners_mut().on_return = Some(Arc::new(f));
        self
    }

    /// Runs `f` with the error and the arguments after a failed call (business exception,
    /// timeout, network or remote error), on the same thread as `on_return`.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use std::sync::Mutex;
    ///
    /// let failures = Arc::new(Mutex::new(Vec::new()));
    /// let log = failures.clone();
    /// // No connection is up, so the call fails.
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let greet = reference
    ///     .method::<(String,), String>("greet")
    ///     .on_throw(move |error, (name,)| log.lock().unwrap().push(format!("{name}: {error}")));
    /// assert!(greet.call_blocking(("world".to_owned(),)).is_err());
    /// assert_eq!(
    ///     *failures.lock().unwrap(),
    ///     ["world: no available connection to org.example.Greeter"]
    /// );
    /// ```
    pub fn on_throw(mut self, f: impl Fn(&RpcError, &A) + Send + Sync + 'static) -> Self {
        self.listeners_mut().on_throw = Some(Arc::new(f));
        self
    }

    /// Calls the method and blocks the current thread until its result or its timeout. Do not
    /// call it on the thread that drives the connection.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use std::time::Duration;
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter")
    ///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// # // An IO loop, here a thread pumping bytes until the example is done.
    /// # let done = std::sync::atomic::AtomicBool::new(false);
    /// # let started = Instant::now();
    /// # std::thread::scope(|s| {
    /// # s.spawn(|| while !done.load(std::sync::atomic::Ordering::Relaxed) && started.elapsed().as_secs() < 10 {
    /// #     pump(&provider);
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # });
    /// # let result = (|| {
    /// // Blocks this thread until the answer arrives (an IO loop runs elsewhere).
    /// let greet = reference.method::<(String,), String>("greet");
    /// assert_eq!(greet.call_blocking(("world".to_owned(),))?, "Hello, world");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// # })();
    /// # done.store(true, std::sync::atomic::Ordering::Relaxed);
    /// # result
    /// # })?;
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn call_blocking(&self, args: A) -> Result<R, RpcError> {
        let r = &self.reference.0;
        let conn = match self.plain_connection(None) {
            Ok(Some(conn)) if r.filters.is_empty() => conn,
            Ok(_) => {
                return self
                    .call_blocking_in(CallContext::new(), args)
                    .map(Reply::into_value);
            }
            Err(error) => {
                self.listeners.invoked(&args);
                self.listeners.finished(Err(&error), &args);
                return Err(error);
            }
        };
        if conn.is_io_thread() {
            return Err(self.blocking_on_io_thread());
        }
        self.listeners.invoked(&args);
        let result = self.start(&conn, &args, true).and_then(|(response, _)| {
            match response.wait_timeout(self.timeout + WAIT_GRACE) {
                Ok(result) => decode(result, self.timeout),
                // The connection should have timed the call out: its IO loop is stuck.
                // Dropping the completion cancels the call.
                Err(_) => Err(RpcError::Timeout {
                    phase: TimeoutPhase::ClientSide,
                    timeout: self.timeout,
                }),
            }
        });
        self.listeners.finished(result.as_ref(), &args);
        result
    }

    /// [`call_blocking`](Self::call_blocking) with a per-call context: its attachments go with the request
    /// and its timeout replaces the method's; the result carries the attachments the
    /// provider sent back. Blocks like `call`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use std::time::Duration;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::context::{CallContext, Reply};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter").method("greet", |ctx: Context, (name,): (String,)| {
    ///         let tenant = ctx.attachment("tenant").unwrap_or("nobody").to_owned();
    ///         Ok(Reply::new(format!("Hello, {name}")).attachment("tenant-seen", tenant))
    ///     }),
    /// );
    /// # // An IO loop, here a thread pumping bytes until the example is done.
    /// # let done = std::sync::atomic::AtomicBool::new(false);
    /// # let started = Instant::now();
    /// # std::thread::scope(|s| {
    /// # s.spawn(|| while !done.load(std::sync::atomic::Ordering::Relaxed) && started.elapsed().as_secs() < 10 {
    /// #     pump(&provider);
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # });
    /// # let result = (|| {
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let greet = reference.method::<(String,), String>("greet");
    ///
    /// let ctx = CallContext::new()
    ///     .attachment("tenant", "acme")
    ///     .timeout(Duration::from_secs(3));
    /// let reply = greet.call_with_blocking(ctx, ("world".to_owned(),))?;
    /// assert_eq!(reply.value, "Hello, world");
    /// assert_eq!(reply.attachments.get_str("tenant-seen"), Some("acme"));
    /// # Ok::<(), RpcError>(())
    /// # })();
    /// # done.store(true, std::sync::atomic::Ordering::Relaxed);
    /// # result
    /// # })?;
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn call_with_blocking(&self, ctx: CallContext, args: A) -> Result<Reply<R>, RpcError> {
        self.call_blocking_in(ctx, args)
    }

    /// A blocking call with a context: a failover strategy retries its timeouts too, as
    /// Java does for synchronous calls, so the wait covers every attempt.
    fn call_blocking_in(&self, ctx: CallContext, args: A) -> Result<Reply<R>, RpcError> {
        if self.drives_io_here(&ctx) {
            return Err(self.blocking_on_io_thread());
        }
        // Each attempt may take as long as its provider's timeout allows.
        let mut timeout = self.timeout_in(Some(&ctx));
        self.reference
            .visit_routed(&self.route(&ctx), &mut |invokers, _| {
                for invoker in invokers {
                    timeout = timeout.max(self.attempt_timeout(Some(&ctx), invoker));
                }
            });
        let attempts = match self.cluster {
            Cluster::Failover { retries } => retries.saturating_add(1),
            _ => 1,
        };
        let bound = (timeout + WAIT_GRACE).saturating_mul(attempts);
        self.call_as(ctx, args, true)
            .wait_timeout(bound)
            .unwrap_or(Err(RpcError::Timeout {
                phase: TimeoutPhase::ClientSide,
                timeout,
            }))
    }

    /// Calls the method with a per-call context (attachments sent with this call only, a
    /// timeout in place of the method's) and returns its completion at once, as
    /// [`call`](Self::call) does; the result carries the attachments the
    /// provider sent back (Dubbo 2.0.2+ peers: Java 2.7 and later, dubbo-go).
    ///
    /// ```no_run
    /// # fn demo(reference: tether_core::consumer::Reference) -> Result<(), tether_core::consumer::RpcError> {
    /// use tether_core::context::CallContext;
    ///
    /// let say_hello = reference.method::<(String,), String>("sayHello");
    /// let ctx = CallContext::new().attachment("traceId", "4bf92f3577b34da6");
    /// let reply = say_hello.call_with(ctx, ("world".to_owned(),)).wait()?;
    /// println!("{} (served by {:?})", reply.value, reply.attachments.get_str("host"));
    /// # Ok(()) }
    /// ```
    pub fn call_with(&self, ctx: CallContext, args: A) -> Completion<Result<Reply<R>, RpcError>> {
        self.call_as(ctx, args, false)
    }

    /// [`call_with`](Self::call_with), for a caller that blocks on the outcome (`blocking`) or not.
    fn call_as(
        &self,
        mut ctx: CallContext,
        args: A,
        blocking: bool,
    ) -> Completion<Result<Reply<R>, RpcError>> {
        let r = &self.reference.0;
        self.listeners.invoked(&args);
        if let Err(error) = filter::before(&r.filters, &r.path, &self.name, &mut ctx) {
            self.listeners.finished(Err(&error), &args);
            return Completion::ready(Err(error));
        }
        let conn = match self.plain_connection(Some(&ctx)) {
            Ok(Some(conn)) => conn,
            Ok(None) => return cluster::invoke(self, self.cluster, args, ctx, blocking),
            Err(error) => return Completion::ready(self.finished(Err(error), &args, &mut ctx)),
        };
        let timeout = self.timeout_in(Some(&ctx));
        let (completer, response) = pair(abandoned_call);
        // A blocking caller with `sent` waits for the write here, as the unfiltered path does.
        let wait_for_sent = blocking && self.sent;
        let (response, canceller, sent) =
            match self.start_on(&conn, &args, wait_for_sent, completer, Some(&ctx), None) {
                Ok(started) => (started.cancel(response), started.canceller(), started.sent),
                Err(error) => {
                    return Completion::ready(self.finished(Err(error), &args, &mut ctx));
                }
            };
        if let Some(Err(error)) = sent.map(|sent| wait_sent(sent, timeout)) {
            // Dropping the response cancels the call.
            drop(response);
            return Completion::ready(self.finished(Err(error), &args, &mut ctx));
        }
        let method = self.clone();
        let finish = move |result| {
            let result = decode_with_attachments(result, timeout);
            method.finished(result, &args, &mut ctx)
        };
        if self.is_observed() {
            let conn = conn.clone();
            observed(response, finish).on_cancel(move || cluster::cancel_on(&canceller, &conn))
        } else {
            response.map(finish, abandoned)
        }
    }

    /// Whether filters or `on_return`/`on_throw` listeners watch this method's calls: then
    /// they see every outcome, and dropping a call's completion does not cancel it.
    fn is_observed(&self) -> bool {
        !self.reference.0.filters.is_empty() || self.listeners.wants_outcome()
    }

    /// Hands a call's final outcome to the filters and listeners, and back.
    fn finished(
        &self,
        result: Result<Reply<R>, RpcError>,
        args: &A,
        ctx: &mut CallContext,
    ) -> Result<Reply<R>, RpcError> {
        let r = &self.reference.0;
        // Filter and listener code may run on the IO thread or executor: a panic must not
        // take the loop down.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let outcome = result.as_ref().map(|reply| &reply.attachments);
            filter::after(&r.filters, &r.path, &self.name, ctx, outcome);
            self.listeners
                .finished(result.as_ref().map(|reply| &reply.value), args);
        }));
        result
    }

    /// Calls the method and returns its completion at once: await it, `wait()` on it, or
    /// continue it with `on_complete`. Dropping the completion cancels the call, unless
    /// `on_return`/`on_throw` listeners or filters watch it: they see every outcome, so the
    /// call runs to its answer or timeout (Dubbo's semantics; `let _ = m.call(..)`
    /// with a listener still runs the listener). [`Completion::cancel`] calls off either.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter")
    ///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    ///
    /// let greet = reference.method::<(String,), String>("greet");
    /// // Returns at once; the answer comes when the IO loop has moved the bytes.
    /// let hello = greet.call(("world".to_owned(),));
    /// pump(&provider);
    /// assert_eq!(hello.wait()?, "Hello, world");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn call(&self, args: A) -> Completion<Result<R, RpcError>> {
        let conn = match self.plain_connection(None) {
            Ok(Some(conn)) if self.reference.0.filters.is_empty() => conn,
            Ok(_) => {
                return self
                    .call_with(CallContext::new(), args)
                    .map(|result| result.map(Reply::into_value), abandoned);
            }
            Err(error) => {
                self.listeners.invoked(&args);
                self.listeners.finished(Err(&error), &args);
                return Completion::ready(Err(error));
            }
        };
        self.listeners.invoked(&args);
        if !self.listeners.wants_outcome() {
            // The usual case: the response is decoded by the call's own completion, one
            // allocation per call.
            let (completer, response) = decoding_pair(self.timeout);
            return match self.start_on(&conn, &args, false, completer, None, None) {
                Ok(started) => started.cancel(response),
                Err(error) => Completion::ready(Err(error)),
            };
        }
        // Never blocks: with `sent`, a failed write still fails the call through the
        // completion (the connection ends, and so does the call).
        let (response, canceller) = match self.start(&conn, &args, false) {
            Ok(started) => started,
            Err(error) => {
                self.listeners.finished(Err(&error), &args);
                return Completion::ready(Err(error));
            }
        };
        // Here `on_return` or `on_throw` is set: the arguments go along for them.
        let timeout = self.timeout;
        let listeners = self.listeners.clone();
        observed(response, move |result| {
            let result = decode(result, timeout);
            // Listener code runs on the IO thread or executor: a panic must not take the
            // loop down.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                listeners.finished(result.as_ref(), &args)
            }));
            result
        })
        .on_cancel(move || cluster::cancel_on(&canceller, &conn))
    }

    /// Sends the call one-way (Dubbo's `return=false`): no response, no timeout. With
    /// `sent(true)` it returns once the request was written. `on_return` runs at once with
    /// the null result when `R` can be null (as Java completes one-way calls with null).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use std::sync::Mutex;
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let events = Arc::new(Mutex::new(Vec::new()));
    /// let log = events.clone();
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Audit")
    ///         .method("record", move |_: Context, (event,): (String,)| {
    ///             log.lock().unwrap().push(event);
    ///             Ok(())
    ///         }),
    /// );
    /// let reference = Reference::builder("org.example.Audit")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// // No answer to wait for.
    /// reference.method::<(String,), ()>("record").oneway(("login".to_owned(),))?;
    /// pump(&provider);
    /// assert_eq!(*events.lock().unwrap(), ["login"]);
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn oneway(&self, args: A) -> Result<(), RpcError> {
        self.oneway_with(CallContext::new(), args)
    }

    /// [`oneway`](Self::oneway) with a per-call context (its attachments go with the
    /// request). Filters see the outcome of the send, with no attachments back.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # // Moves bytes between the two connections and hands out what arrives (an IO loop's job).
    /// # let pump = |handler: &dyn RequestHandler| for _ in 0..3 {
    /// #     for (from, to) in [(&conn, &server), (&server, &conn)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use std::sync::Mutex;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::context::CallContext;
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// // A provider recording each event with the tenant it came from.
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Audit")
    ///         .method("record", move |ctx: Context, (event,): (String,)| {
    ///             let tenant = ctx.attachment("tenant").map(str::to_owned);
    ///             log.lock().unwrap().push((event, tenant));
    ///             Ok(())
    ///         }),
    /// );
    /// let reference = Reference::builder("org.example.Audit")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let record = reference.method::<(String,), ()>("record");
    ///
    /// let ctx = CallContext::new().attachment("tenant", "acme");
    /// record.oneway_with(ctx, ("login".to_owned(),))?;
    /// pump(&provider);
    /// assert_eq!(*seen.lock().unwrap(), [("login".to_owned(), Some("acme".to_owned()))]);
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn oneway_with(&self, mut ctx: CallContext, args: A) -> Result<(), RpcError> {
        let r = &self.reference.0;
        self.listeners.invoked(&args);
        let result = match filter::before(&r.filters, &r.path, &self.name, &mut ctx) {
            // The filters that ran have seen the error.
            Err(error) => Err(error),
            Ok(()) => {
                let result = self.send_oneway(&args, &ctx);
                if !r.filters.is_empty() {
                    let no_attachments = Attachments::new();
                    let outcome = result.as_ref().map(|()| &no_attachments);
                    filter::after(&r.filters, &r.path, &self.name, &mut ctx, outcome);
                }
                result
            }
        };
        match &result {
            Ok(()) => {
                if let (Some(f), Ok(null)) = (
                    &self.listeners.on_return,
                    hessian2::from_value::<R>(Value::Null),
                ) {
                    f(&null, &args);
                }
            }
            Err(error) => {
                if let Some(f) = &self.listeners.on_throw {
                    f(error, &args);
                }
            }
        }
        result
    }

    fn listeners_mut(&mut self) -> &mut Listeners<A, R> {
        // A set shared with clones of this method is copied: theirs stay as they were.
        Arc::make_mut(&mut self.listeners)
    }

    /// Exports (or, for a releasing method, withdraws) the [`Callback`] arguments on `conn`
    /// and returns the attachments that name them, or `None` when there are none
    /// (`docs/protocol.md` §6.2).
    fn callback_attachments(
        &self,
        conn: &SharedConnection,
        args: &A,
        ctx: Option<&CallContext>,
        provider_timeout: Option<Duration>,
    ) -> Result<Option<Exports>, RpcError> {
        let found = callback::find_callbacks(args);
        let mut attachments = match ctx.filter(|ctx| !ctx.is_plain()) {
            Some(ctx) => self.call_attachments(ctx),
            None if found.is_empty() && provider_timeout.is_none() => return Ok(None),
            None => self.request.attachments().clone(),
        };
        if let Some(timeout) = provider_timeout {
            attachments.insert("timeout", timeout.as_millis().to_string());
        }
        let mut exports = Exports {
            attachments,
            added: Vec::new(),
        };
        for (index, id) in found {
            // The arguments hold the callback, so it is registered.
            let Some(instance) = callback::lookup(id) else {
                continue;
            };
            let Some(Ok(param)) = hessian2::descriptors(&self.descriptor).nth(index) else {
                continue;
            };
            let interface = hessian2::java_type_name(param);
            let target: crate::callback::CallbackTarget = instance.service.clone();
            let exported = conn.with(|c, _| {
                if self.release_callbacks {
                    c.callbacks().unexport(&interface, id);
                    Ok(false)
                } else {
                    c.callbacks().export(&interface, id, target)
                }
            });
            match exported {
                Ok(true) => exports.added.push((interface, id)),
                Ok(false) => {}
                Err(e) => {
                    exports.undo(conn);
                    return Err(RpcError::LimitExceeded(e.to_string()));
                }
            }
            exports.attachments.insert(
                format!("{}{index}", crate::serve::CALLBACK_ARG_PREFIX),
                id.to_string(),
            );
        }
        Ok(Some(exports))
    }

    /// The attachments of a call with a context: the method's, then the context's, and the
    /// context's timeout.
    fn call_attachments(&self, ctx: &CallContext) -> Attachments {
        let mut attachments = self.request.attachments().clone();
        for (key, value) in ctx.attachments().iter() {
            attachments.insert(key, value.clone());
        }
        if let Some(timeout) = ctx.timeout_override() {
            attachments.insert("timeout", timeout.as_millis().to_string());
        }
        attachments
    }

    /// Starts the two-way call on `conn`, and returns its completion and what calls it off.
    /// With `sent` and `wait_for_sent`, waits until it was written.
    fn start(
        &self,
        conn: &SharedConnection,
        args: &A,
        wait_for_sent: bool,
    ) -> Result<(Completion<CallResult>, Canceller), RpcError> {
        let (completer, response) = pair(abandoned_call);
        let started = self.start_on(
            conn,
            args,
            self.sent && wait_for_sent,
            completer,
            None,
            None,
        )?;
        // Dropped on a failed write, the completion cancels the call.
        let (response, canceller) = (started.cancel(response), started.canceller());
        if let Some(sent) = started.sent {
            wait_sent(sent, self.timeout)?;
        }
        Ok((response, canceller))
    }

    /// Starts the two-way call on `conn`, resolving `response` (dropped, so resolved as
    /// abandoned, if the call cannot start). `provider_timeout` is the timeout a provider's
    /// URL gives the attempt ([`provider_timeout`](Self::provider_timeout)), sent as the
    /// call's `timeout`.
    pub(crate) fn start_on(
        &self,
        conn: &SharedConnection,
        args: &A,
        notify_sent: bool,
        response: Completer<CallResult>,
        ctx: Option<&CallContext>,
        provider_timeout: Option<Duration>,
    ) -> Result<Started, RpcError> {
        let exports = self.callback_attachments(conn, args, ctx, provider_timeout)?;
        let attachments = exports.as_ref().map(|e| &e.attachments);
        let options =
            CallOptions::new(self.timeout_with(ctx, provider_timeout)).notify_sent(notify_sent);
        let body = self.request.body(args, attachments);
        conn.start_call_with(options, body, response).map_err(|e| {
            if let Some(exports) = &exports {
                exports.undo(conn);
            }
            RpcError::from(e.kind)
        })
    }

    /// The timeout of a call: its context's, else the method's.
    fn timeout_in(&self, ctx: Option<&CallContext>) -> Duration {
        ctx.and_then(CallContext::timeout_override)
            .unwrap_or(self.timeout)
    }

    /// The timeout `invoker`'s URL gives an attempt on it, where it differs from
    /// [`timeout_in`](Self::timeout_in): the provider's `<method>.timeout` unless the method
    /// or the call set one, its `timeout` unless the reference did too.
    #[inline]
    pub(crate) fn provider_timeout(
        &self,
        ctx: Option<&CallContext>,
        invoker: &Invoker,
    ) -> Option<Duration> {
        if self.timeout_from == TimeoutFrom::Method
            || ctx.is_some_and(|ctx| ctx.timeout_override().is_some())
        {
            return None;
        }
        let timeouts = invoker.timeouts();
        let provider = match timeouts.method(&self.name) {
            Some(timeout) => timeout,
            None if self.timeout_from == TimeoutFrom::Default => timeouts.interface()?,
            None => return None,
        };
        (provider != self.timeout).then_some(provider)
    }

    /// The timeout of an attempt on `invoker`.
    pub(crate) fn attempt_timeout(&self, ctx: Option<&CallContext>, invoker: &Invoker) -> Duration {
        self.timeout_with(ctx, self.provider_timeout(ctx, invoker))
    }

    /// The timeout of an attempt whose provider's URL gives `provider_timeout`
    /// ([`provider_timeout`](Self::provider_timeout)): that, else the call's or the method's.
    pub(crate) fn timeout_with(
        &self,
        ctx: Option<&CallContext>,
        provider_timeout: Option<Duration>,
    ) -> Duration {
        provider_timeout.unwrap_or_else(|| self.timeout_in(ctx))
    }

    /// See [`Reference::plain_connection`].
    fn plain_connection(
        &self,
        ctx: Option<&CallContext>,
    ) -> Result<Option<SharedConnection>, RpcError> {
        // A provider whose URL sets this call's timeout goes the way that reads it.
        let plain = |invoker: &Invoker| self.provider_timeout(ctx, invoker).is_none();
        self.reference
            .plain_connection(&self.name, ctx, self.cluster, &plain)
    }

    fn route<'a>(&'a self, ctx: &'a CallContext) -> Route<'a> {
        Route::new(&self.reference.0.path, &self.name).with_context(ctx)
    }

    /// The providers a call may go to now, after routing.
    fn list(&self, ctx: &CallContext) -> Vec<Invoker> {
        let mut listed = Vec::new();
        self.reference
            .visit_routed(&self.route(ctx), &mut |invokers, _| {
                listed = invokers.to_vec();
            });
        listed
    }

    /// The provider for an attempt, preferring those not `tried` yet
    /// ([`cluster::select`](crate::cluster::select)); remembered when sticky. `arguments`
    /// are the call's, as text, for a balancer that hashes them.
    fn select(
        &self,
        ctx: &CallContext,
        arguments: Option<&dyn HashArguments>,
        tried: &[Invoker],
    ) -> Option<Invoker> {
        let r = &self.reference.0;
        let mut route = self.route(ctx);
        route.arguments = arguments;
        let sticky = self.sticky.as_ref().and_then(|s| s.lock().clone());
        let mut picked = None;
        self.reference.visit_routed(&route, &mut |invokers, route| {
            picked = crate::cluster::select(invokers, route, &*r.balance, tried, sticky.as_ref());
        });
        if let (Some(slot), Some(invoker)) = (&self.sticky, &picked) {
            *slot.lock() = Some(invoker.clone());
        }
        picked
    }

    /// The first listed provider with a connection available (Dubbo's `available`).
    fn first_available(&self, ctx: &CallContext) -> Option<Invoker> {
        let mut picked = None;
        self.reference
            .visit_routed(&self.route(ctx), &mut |invokers, _| {
                picked = invokers.iter().find(|i| i.is_available()).cloned();
            });
        picked
    }

    /// Whether the current thread drives the IO of a connection this call could go to.
    fn drives_io_here(&self, ctx: &CallContext) -> bool {
        let mut here = false;
        self.reference
            .visit_routed(&self.route(ctx), &mut |invokers, _| {
                here = invokers.iter().any(|invoker| {
                    let channels = invoker.channels();
                    (0..channels.len())
                        .any(|i| channels.get(i).is_some_and(|conn| conn.is_io_thread()))
                });
            });
        here
    }

    fn blocking_on_io_thread(&self) -> RpcError {
        RpcError::BlockingOnIoThread(format!("{}.{}", self.reference.0.path, self.name))
    }

    /// The error of a call with no provider to go to.
    fn no_provider(&self) -> RpcError {
        RpcError::NoConnection(self.reference.0.path.clone())
    }

    fn send_oneway(&self, args: &A, ctx: &CallContext) -> Result<(), RpcError> {
        let conn = self.reference.connection(&self.name, Some(ctx))?;
        let exports = self.callback_attachments(&conn, args, Some(ctx), None)?;
        let attachments = exports.as_ref().map(|e| &e.attachments);
        let body = self.request.body(args, attachments);
        let sent = conn.send_oneway(SerializationId::HESSIAN2, self.sent, body);
        if sent.is_err() {
            if let Some(exports) = &exports {
                exports.undo(&conn);
            }
        }
        let Sent { sent, .. } = sent.map_err(|e| RpcError::from(e.kind))?;
        match sent {
            Some(sent) => wait_sent(sent, self.timeout),
            None => Ok(()),
        }
    }
}

/// The error of a call that found `invoker` without a connection: it names the service and,
/// when known, the address.
pub(crate) fn no_connection(path: &str, invoker: &Invoker) -> RpcError {
    match invoker.address() {
        "" => RpcError::NoConnection(path.to_owned()),
        address => RpcError::NoConnection(format!("{path} at {address}")),
    }
}

/// A completion of `f(value)` where `f` runs whether or not the caller keeps the returned
/// completion: listeners and filters see every outcome (Dubbo's semantics: an `onreturn`
/// runs even when nobody holds the future, and a tracing filter closes every span).
/// Dropping the returned completion therefore does not cancel the call, which runs to its
/// answer or its timeout.
/// Who set a method's timeout. Java's consumer reads a provider's `<method>.timeout` before
/// its own interface-level `timeout`, and the provider's `timeout` before the default
/// (`ClusterUtils.mergeUrl`, then `getMethodPositiveParameter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeoutFrom {
    /// Nobody: 1 s, unless the provider says otherwise.
    Default,
    /// `ReferenceBuilder::timeout`: the provider's `<method>.timeout` still comes first.
    Reference,
    /// `Method::timeout`: it holds.
    Method,
}

fn observed<T, U>(
    response: Completion<T>,
    f: impl FnOnce(T) -> Result<U, RpcError> + Send + 'static,
) -> Completion<Result<U, RpcError>>
where
    T: Send + 'static,
    U: Send + 'static,
{
    let (out, completion) = pair(abandoned);
    response.on_complete(move |value| out.complete(f(value), &Inline));
    completion
}

/// The attachments naming a call's callback arguments, and the exports the call added.
struct Exports {
    attachments: Attachments,
    added: Vec<(String, i32)>,
}

impl Exports {
    /// Withdraws the exports this call added, for a call that did not go out.
    fn undo(&self, conn: &SharedConnection) {
        if self.added.is_empty() {
            return;
        }
        conn.with(|c, _| {
            for (interface, id) in &self.added {
                c.callbacks().unexport(interface, *id);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn listeners_set_before_a_clone_stay_on_both() {
        use std::num::NonZeroUsize;
        let (invoked, thrown) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // No connection: every call fails at once, after `on_invoke`, into `on_throw`.
        let reference =
            Reference::builder("demo.Svc").build(Arc::new(Channels::new(NonZeroUsize::MIN)));
        let counter = invoked.clone();
        let method: Method<(i32,), i32> = reference.method("m").on_invoke(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let counter = thrown.clone();
        let clone = method.clone().on_throw(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert!(matches!(
            clone.call_blocking((1,)),
            Err(RpcError::NoConnection(_))
        ));
        assert_eq!(
            (
                invoked.load(Ordering::SeqCst),
                thrown.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        // The original keeps its own set: no `on_throw`.
        assert!(method.call_blocking((1,)).is_err());
        assert_eq!(
            (
                invoked.load(Ordering::SeqCst),
                thrown.load(Ordering::SeqCst)
            ),
            (2, 1)
        );
    }
}
