//! The provider: exported services answered through the serving pipeline
//! (`crate::serve`), every two-way request exactly once (`docs/protocol.md` §2, §5.6, §9).
//!
//! A [`Provider`] is the [`RequestHandler`] an adapter's server hands each received request
//! to. For each request it decodes the head and attachments, finds the exported service
//! (path, version, group) and the method (name and parameter descriptor), checks the token
//! and the caller's deadline, runs its [`Filter`]s, then runs the handler where the
//! [`Dispatch`] policy says. Failures become the status Java would send: 40 for undecodable
//! requests, 70 for unknown services or methods, a bad token, or a handler that failed
//! outside the method (a panic), 31 for a request whose caller had given up before dispatch.
//!
//! A handler throws a Java exception by returning `Err(JavaException)`; one of your own
//! exception classes, with its fields, is [`JavaException::from_typed`] of your struct
//! (see [`JavaException`](crate::message::JavaException#your-own-exception-classes)).
//!
//! [`JavaException::from_typed`]: crate::message::JavaException::from_typed

use std::fmt;
use std::sync::Arc;

pub use crate::serve::{
    Answer, CallbackArg, CallbackProxy, Context, Dispatch, Filter, Outcome, Rejection, Request,
    Service, ServiceKey,
};

use crate::event::InboundRequest;
use crate::serve::{OnewayLimit, Services, serve};
use crate::shared::{RequestHandler, SharedConnection, Spawner};

/// Exported services and the policy that runs them: the [`RequestHandler`] of a server.
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
/// // An adapter's server hands the provider each request it reads.
/// let hello = reference.method::<(String,), String>("greet").call(("world".to_owned(),));
/// pump(&provider);
/// assert_eq!(hello.wait()?, "Hello, world");
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
pub struct Provider {
    services: Services,
    dispatch: Dispatch,
    /// Runs async handlers' futures.
    spawner: Arc<dyn Spawner>,
    oneway: OnewayLimit,
    /// In the order added.
    filters: Arc<[Arc<dyn Filter>]>,
}

impl Provider {
    /// A provider with no services, running handlers with `dispatch` and async handlers'
    /// futures on `spawner`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::provider::{Dispatch, Provider};
    /// use tether_core::{BoxFuture, Spawner};
    ///
    /// /// Stands for an executor (an adapter's runtime) that runs async handlers.
    /// struct Executor;
    /// impl Spawner for Executor {
    ///     fn spawn(&self, _future: BoxFuture) {}
    /// }
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(Executor));
    /// assert!(format!("{provider:?}").contains("Direct"));
    /// ```
    pub fn new(dispatch: Dispatch, spawner: Arc<dyn Spawner>) -> Self {
        Self {
            services: Services::default(),
            dispatch,
            spawner,
            oneway: OnewayLimit::new(
                crate::Config::DEFAULT_MAX_IN_FLIGHT,
                crate::Config::DEFAULT_MAX_INBOUND_BYTES,
            ),
            filters: Arc::new([]),
        }
    }

    /// Adds a filter that sees every request routed to a method, and its answer (after those
    /// added before it: the first added is the outermost).
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
    /// use tether_core::Status;
    /// use tether_core::consumer::{Channels, Reference, RpcError};
    /// use tether_core::provider::{Context, Dispatch, Filter, Provider, Rejection, Request, Service};
    ///
    /// /// Refuses calls that carry no `tenant` attachment.
    /// struct TenantGate;
    ///
    /// impl Filter for TenantGate {
    ///     fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
    ///         match request.context.attachment("tenant") {
    ///             Some(_) => Ok(()),
    ///             None => Err(Rejection::Status(Status::SERVICE_ERROR, "no tenant".into())),
    ///         }
    ///     }
    /// }
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn))
    ///     .filter(TenantGate)
    ///     .export(Service::new("org.example.Greeter").method("greet", |_: Context, (name,): (String,)| {
    ///         Ok(format!("Hello, {name}"))
    ///     }));
    ///
    /// let channels = Arc::new(Channels::single(conn.clone()));
    /// let anonymous = Reference::builder("org.example.Greeter").build(channels.clone());
    /// let tenant = Reference::builder("org.example.Greeter")
    ///     .attachment("tenant", "acme")
    ///     .build(channels);
    /// let refused = anonymous.method::<(String,), String>("greet").call(("world".to_owned(),));
    /// let served = tenant.method::<(String,), String>("greet").call(("world".to_owned(),));
    /// pump(&provider);
    /// assert!(matches!(refused.wait(), Err(RpcError::Remote { status: Status::SERVICE_ERROR, .. })));
    /// assert_eq!(served.wait()?, "Hello, world");
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn filter(mut self, filter: impl Filter) -> Self {
        let mut filters = self.filters.to_vec();
        filters.push(Arc::new(filter));
        self.filters = filters.into();
        self
    }

    /// The most one-way requests handled at once, over all connections (default 65 536).
    /// Past it, one-way requests are dropped, as Java drops those its pool rejects (two-way
    /// requests are bounded per connection by `Config::max_inbound_in_flight`).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::provider::{Dispatch, Provider};
    /// use tether_core::{BoxFuture, Spawner};
    ///
    /// struct Executor;
    /// impl Spawner for Executor {
    ///     fn spawn(&self, _future: BoxFuture) {}
    /// }
    /// // At most 1 000 fire-and-forget requests at once; more are dropped.
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(Executor))
    ///     .max_oneway_in_flight(NonZeroUsize::new(1_000).unwrap());
    /// assert_eq!(provider.oneway_in_flight(), 0);
    /// ```
    pub fn max_oneway_in_flight(mut self, limit: std::num::NonZeroUsize) -> Self {
        self.oneway = OnewayLimit::new(limit.get(), self.oneway.byte_limit());
        self
    }

    /// The most body bytes of the one-way requests handled at once, over all connections
    /// (default 128 MiB, as [`Config::max_inbound_bytes`](crate::Config::max_inbound_bytes)).
    /// Past it, one-way requests are dropped as past
    /// [`max_oneway_in_flight`](Self::max_oneway_in_flight); a lone request is always taken.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::provider::{Dispatch, Provider};
    /// use tether_core::{BoxFuture, Spawner};
    ///
    /// struct Discard;
    /// impl Spawner for Discard {
    ///     fn spawn(&self, _future: BoxFuture) {}
    /// }
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(Discard))
    ///     .max_oneway_in_flight(NonZeroUsize::new(10_000).unwrap())
    ///     .max_oneway_bytes(NonZeroUsize::new(32 << 20).unwrap());
    /// assert_eq!(provider.oneway_in_flight(), 0);
    /// ```
    pub fn max_oneway_bytes(mut self, bytes: std::num::NonZeroUsize) -> Self {
        self.oneway = OnewayLimit::new(self.oneway.limit(), bytes.get());
        self
    }

    /// One-way requests being handled now.
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
    ///     Service::new("org.example.Audit")
    ///         .method("record", |_: Context, (_,): (String,)| Ok(())),
    /// );
    /// let reference = Reference::builder("org.example.Audit")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// reference.method::<(String,), ()>("record").oneway(("login".to_owned(),))?;
    /// pump(&provider);
    /// // Handled on the IO loop, and done with.
    /// assert_eq!(provider.oneway_in_flight(), 0);
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn oneway_in_flight(&self) -> usize {
        self.oneway.in_flight()
    }

    /// Exports `service` (replacing one with the same key).
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
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn))
    ///     .export(Service::new("org.example.Greeter").method("greet", |_: Context, (): ()| Ok("Hi")))
    ///     .export(Service::new("org.example.Clock").method("year", |_: Context, (): ()| Ok(2026)));
    /// let channels = Arc::new(Channels::single(conn.clone()));
    /// let greeter = Reference::builder("org.example.Greeter").build(channels.clone());
    /// let clock = Reference::builder("org.example.Clock").build(channels);
    /// let hello = greeter.method::<(), String>("greet").call(());
    /// let year = clock.method::<(), i32>("year").call(());
    /// pump(&provider);
    /// assert_eq!((hello.wait()?, year.wait()?), ("Hi".to_owned(), 2026));
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn export(mut self, service: Service) -> Self {
        self.services.export(service);
        self
    }
}

impl RequestHandler for Provider {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        serve(
            &self.services,
            conn,
            request,
            &self.dispatch,
            &self.spawner,
            &self.oneway,
            &self.filters,
        );
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .field("dispatch", &self.dispatch)
            .finish_non_exhaustive()
    }
}
