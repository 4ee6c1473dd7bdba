//! What a provider exports: [`Service`]s of typed handlers (sync or async) with their
//! [`ServiceKey`], the [`Context`] a handler sees, and the [`Dispatch`] policy that says where
//! handlers run.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::context::{IntoReply, Reply};
use crate::frame::Status;
use crate::hessian2::{self, Value};
use crate::message::{ArgsStart, Arguments, Attachments, DecodeArgs, JavaException};
use crate::shared::{SharedConnection, Spawner};

use super::callback::CallbackProxy;
use super::responder::Responder;
use super::routing::RequestAttachments;

/// What identifies an exported service: path (interface name), version and group. An empty
/// version, `"0.0.0"` and `"*"` all mean "no version" (`docs/protocol.md` §2).
///
/// ```
/// use tether_core::provider::ServiceKey;
///
/// let key = ServiceKey::new("org.example.Greeter", Some("1.0.0"), Some("eu"));
/// // Displayed as Java writes service keys: group/path:version.
/// assert_eq!(key.to_string(), "eu/org.example.Greeter:1.0.0");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ServiceKey {
    pub(super) path: String,
    pub(super) version: Option<String>,
    pub(super) group: Option<String>,
}

impl ServiceKey {
    /// The key for `path`, `version` and `group`.
    ///
    /// ```
    /// use tether_core::provider::ServiceKey;
    ///
    /// let plain = ServiceKey::new("org.example.Greeter", None, None);
    /// // "0.0.0" and "*" mean no version, as an empty group means no group.
    /// assert_eq!(ServiceKey::new("org.example.Greeter", Some("0.0.0"), Some("")), plain);
    /// assert_eq!(plain.to_string(), "org.example.Greeter");
    /// ```
    pub fn new(path: &str, version: Option<&str>, group: Option<&str>) -> Self {
        Self {
            path: path.to_owned(),
            version: some_version(version).map(str::to_owned),
            group: some_group(group).map(str::to_owned),
        }
    }

    /// Whether this is `ServiceKey::new(path, version, group)`, without building that.
    pub(super) fn is(&self, path: &str, version: Option<&str>, group: Option<&str>) -> bool {
        self.path == path
            && self.version.as_deref() == some_version(version)
            && self.group.as_deref() == some_group(group)
    }
}

/// The version, unless it is one of those meaning "no version".
fn some_version(version: Option<&str>) -> Option<&str> {
    version.filter(|v| !v.is_empty() && *v != "0.0.0" && *v != "*")
}

/// The group, unless empty.
fn some_group(group: Option<&str>) -> Option<&str> {
    group.filter(|g| !g.is_empty())
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Java's service key: group/path:version.
        if let Some(group) = &self.group {
            write!(f, "{group}/")?;
        }
        f.write_str(&self.path)?;
        if let Some(version) = &self.version {
            write!(f, ":{version}")?;
        }
        Ok(())
    }
}

/// What a handler learns about the call besides its arguments.
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
///     Service::new("org.example.Greeter").method("whoami", |ctx: Context, (): ()| {
///         // The caller sent its timeout: the handler knows when it gives up.
///         assert!(ctx.deadline.is_some());
///         Ok(format!("{} from {}", ctx.method, ctx.attachment("application").unwrap_or("?")))
///     }),
/// );
/// let reference = Reference::builder("org.example.Greeter")
///     .attachment("application", "shop")
///     .build(Arc::new(Channels::single(conn.clone())));
/// let answer = reference.method::<(), String>("whoami").call(());
/// pump(&provider);
/// assert_eq!(answer.wait()?, "whoami from shop");
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Context {
    /// The request's attachments, decoded when first asked for.
    pub(super) attachments: RequestAttachments,
    /// When the caller gives up, from its `timeout` (or `_TO`) attachment.
    pub deadline: Option<Instant>,
    /// The connection the request came on: callback proxies make reverse calls over it.
    pub connection: SharedConnection,
    /// The caller's dubbo protocol version (body field 1); the usual
    /// [`DUBBO_VERSION`](crate::message::DUBBO_VERSION) is borrowed, not copied per request.
    pub dubbo_version: Cow<'static, str>,
    /// The method name (`$invoke` for a generic call), shared with the service's copy.
    pub method: Arc<str>,
    /// Proxies for the callback arguments, by argument index (`docs/protocol.md` §6.3).
    pub callbacks: Vec<(usize, CallbackProxy)>,
}

impl Context {
    /// The request's attachments (`path`, `version`, `timeout`, user keys...), decoded from
    /// the request on the first call: a handler that never looks pays nothing for them.
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
    ///     Service::new("org.example.Greeter").method("interface", |ctx: Context, (): ()| {
    ///         // Besides the caller's own, Dubbo sends `path`, `interface`, `version`, `timeout`...
    ///         Ok(ctx.attachments().get_str("interface").unwrap_or_default().to_owned())
    ///     }),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let interface = reference.method::<(), String>("interface").call(());
    /// pump(&provider);
    /// assert_eq!(interface.wait()?, "org.example.Greeter");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn attachments(&self) -> &Attachments {
        self.attachments.get()
    }

    /// The attachment `key` as a string, if present and a string.
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
    /// use tether_core::context::CallContext;
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.Greeter").method("tenant", |ctx: Context, (): ()| {
    ///         Ok(ctx.attachment("tenant").unwrap_or("none").to_owned())
    ///     }),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let ctx = CallContext::new().attachment("tenant", "acme");
    /// let tenant = reference.method::<(), String>("tenant").call_with(ctx, ());
    /// pump(&provider);
    /// assert_eq!(tenant.wait()?.value, "acme");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn attachment(&self, key: &str) -> Option<&str> {
        self.attachments().get_str(key)
    }

    /// The request's attachments, to change (a filter may add or remove some before the
    /// handler runs).
    ///
    /// ```
    /// use tether_core::provider::{Filter, Rejection, Request};
    ///
    /// /// Gives calls without a tenant the default one, before the handler reads it.
    /// struct DefaultTenant;
    ///
    /// impl Filter for DefaultTenant {
    ///     fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
    ///         if request.context.attachment("tenant").is_none() {
    ///             request.context.attachments_mut().insert("tenant", "default");
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub fn attachments_mut(&mut self) -> &mut Attachments {
        self.attachments.get_mut()
    }

    /// The proxy for the callback passed as argument `index`.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use std::time::Instant;
    /// # use tether_core::{Clock, Config, Connection, Inline, RequestHandler, SharedConnection, Side};
    /// # struct Now;
    /// # impl Clock for Now { fn now(&self) -> Instant { Instant::now() } }
    /// # let open = |side| SharedConnection::new(Connection::new(Config::new(side), Instant::now()), Arc::new(Now), || {});
    /// # let (conn, server) = (open(Side::Consumer), open(Side::Provider));
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// use tether_core::consumer::{Callback, CallbackDispatcher, Channels, Reference, RpcError};
    /// use tether_core::provider::{CallbackArg, CallbackProxy, Context, Dispatch, Provider, Service};
    ///
    /// /// Names the Java interface of the callback.
    /// struct Listener;
    /// tether_core::java_class!(Listener => "org.example.Listener");
    ///
    /// // The provider keeps a proxy for each subscriber's listener.
    /// let subscribers: Arc<Mutex<Vec<CallbackProxy>>> = Arc::default();
    /// let kept = subscribers.clone();
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     Service::new("org.example.News")
    ///         .method("subscribe", move |ctx: Context, (_,): (CallbackArg<Listener>,)| {
    ///             let proxy = ctx.callback(0).expect("argument 0 is a callback");
    ///             kept.lock().unwrap().push(proxy.clone());
    ///             Ok(())
    ///         }),
    /// );
    /// // The consumer's connection answers the provider's calls back through a dispatcher.
    /// let dispatcher = CallbackDispatcher::new(Dispatch::Direct, Arc::new(NoSpawn));
    /// # // Moves bytes both ways; each side hands its requests to its own handler.
    /// # let pump = || for _ in 0..3 {
    /// #     for (from, to, handler) in [(&conn, &server, &provider as &dyn RequestHandler), (&server, &conn, &dispatcher)] {
    /// #         let mut wire = Vec::new();
    /// #         from.with(|c, now| { let n = c.poll_transmit(now, &mut wire); c.handle_written(now, n) });
    /// #         let events: Vec<_> = to.with(|c, now| { c.handle_input(now, &wire); std::iter::from_fn(|| c.poll_event()).collect() });
    /// #         events.into_iter().for_each(|e| tether_core::deliver(e, to, handler, &Inline));
    /// #     }
    /// # };
    ///
    /// let heard = Arc::new(Mutex::new(Vec::new()));
    /// let log = heard.clone();
    /// let listener = Callback::<Listener>::new(Service::new("org.example.Listener").method(
    ///     "onNews",
    ///     move |_: Context, (headline,): (String,)| {
    ///         log.lock().unwrap().push(headline);
    ///         Ok(())
    ///     },
    /// ));
    /// let reference = Reference::builder("org.example.News")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let subscribe = reference.method::<(Callback<Listener>,), ()>("subscribe");
    /// let subscribed = subscribe.call((listener.clone(),));
    /// pump();
    /// subscribed.wait()?;
    /// let proxy = subscribers.lock().unwrap()[0].clone();
    ///
    /// // In `subscribe`, argument 0 was a callback: the handler kept its proxy.
    /// assert_eq!(proxy.interface(), "org.example.Listener");
    /// # let _ = heard;
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn callback(&self, index: usize) -> Option<&CallbackProxy> {
        self.callbacks
            .iter()
            .find_map(|(i, proxy)| (*i == index).then_some(proxy))
    }
}

/// Where arguments come from: the body of an ordinary call (decoded by the handler, where
/// they start), or the values of a generic one.
pub(super) enum Args {
    Body(Bytes, ArgsStart),
    Values(Vec<Value>),
}

/// A method implementation with its types erased.
pub(super) trait Handler: Send + Sync {
    fn invoke(&self, args: Args, ctx: Context, responder: Responder, spawner: &dyn Spawner);
}

fn decode_args<A: for<'de> DecodeArgs<'de> + DeserializeOwned>(args: Args) -> Result<A, String> {
    match args {
        Args::Body(body, start) => start.args::<A>(&body).map_err(|e| e.to_string()),
        Args::Values(values) => {
            hessian2::from_value(Value::list(values)).map_err(|e| e.to_string())
        }
    }
}

struct SyncHandler<F>(F);

impl<A, R, F> Handler for SyncHandler<(F, fn(A) -> R)>
where
    A: for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
    R: IntoReply,
    F: Fn(Context, A) -> Result<R, JavaException> + Send + Sync + 'static,
{
    fn invoke(&self, args: Args, ctx: Context, responder: Responder, _: &dyn Spawner) {
        let args = match decode_args::<A>(args) {
            Ok(args) => args,
            Err(e) => return responder.bad_request(e),
        };
        // A panicking handler answers its caller and leaves the IO loop standing.
        match catch_unwind(AssertUnwindSafe(|| (self.0.0)(ctx, args))) {
            Ok(result) => answer(responder, result),
            Err(panic) => responder.fail(Status::SERVICE_ERROR, &panic_message(&*panic)),
        }
    }
}

struct AsyncHandler<F>(F);

impl<A, R, F, Fut> Handler for AsyncHandler<(F, fn(A) -> (R, Fut))>
where
    A: for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
    R: IntoReply,
    F: Fn(Context, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, JavaException>> + Send + 'static,
{
    fn invoke(&self, args: Args, ctx: Context, responder: Responder, spawner: &dyn Spawner) {
        let args = match decode_args::<A>(args) {
            Ok(args) => args,
            Err(e) => return responder.bad_request(e),
        };
        let future = match catch_unwind(AssertUnwindSafe(|| (self.0.0)(ctx, args))) {
            Ok(future) => future,
            Err(panic) => return responder.fail(Status::SERVICE_ERROR, &panic_message(&*panic)),
        };
        spawner.spawn(Box::pin(async move {
            match CatchUnwind(Box::pin(future)).await {
                Ok(result) => answer(responder, result),
                Err(message) => responder.fail(Status::SERVICE_ERROR, &message),
            }
        }));
    }
}

/// Answers with what a handler returned: a value (with attachments, for a [`Reply`]) or a
/// thrown exception.
fn answer<R: IntoReply>(responder: Responder, result: Result<R, JavaException>) {
    match result {
        Ok(value) => {
            let Reply { value, attachments } = value.into_reply();
            responder.reply_with(Ok::<_, &JavaException>(&value), attachments);
        }
        Err(exception) => responder.reply(Err::<&(), _>(&exception)),
    }
}

/// Polls a future, turning a panic into an error message.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic_message(&*panic))),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let detail = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("the service handler panicked: {detail}")
}

pub(super) struct Method {
    /// The name, shared with every call's [`Context::method`].
    pub(super) name: Arc<str>,
    pub(super) descriptor: String,
    pub(super) handler: Arc<dyn Handler>,
}

/// An exported service: its key, optional token, and methods.
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
/// let greeting = reference.method::<(String,), String>("greet").call(("world".to_owned(),));
/// pump(&provider);
/// assert_eq!(greeting.wait()?, "Hello, world");
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
pub struct Service {
    pub(super) key: ServiceKey,
    pub(super) token: Option<String>,
    /// By method name; overloads differ by descriptor.
    pub(super) methods: HashMap<String, Vec<Method>>,
    /// (method, argument index) pairs whose callback argument unsubscribes (Dubbo's
    /// `callback="false"`): the proxy is destroyed when such a call arrives.
    pub(super) releases: Vec<(String, usize)>,
    /// Timeout of the calls its callback proxies make.
    pub(super) callback_timeout: Duration,
}

impl Service {
    /// A service at `path` (the Java interface name) with no version and no group.
    ///
    /// ```
    /// use tether_core::provider::{Service, ServiceKey};
    ///
    /// let service = Service::new("org.example.Greeter");
    /// assert_eq!(service.key(), &ServiceKey::new("org.example.Greeter", None, None));
    /// ```
    pub fn new(path: &str) -> Self {
        Self {
            key: ServiceKey::new(path, None, None),
            token: None,
            methods: HashMap::new(),
            releases: Vec::new(),
            callback_timeout: crate::connection::CallOptions::DEFAULT_TIMEOUT,
        }
    }

    /// A service at the Java interface that `I` names (with `java_class!` or `#[java]`), so
    /// that the name is written once: for a provider's own interface, or for the local
    /// object behind a consumer's [`Callback`](crate::consumer::Callback).
    ///
    /// ```
    /// use tether_core::consumer::Callback;
    /// use tether_core::provider::{Context, Service, ServiceKey};
    ///
    /// struct Listener;
    /// tether_core::java_class!(Listener => "org.example.Listener");
    ///
    /// let service = Service::of::<Listener>();
    /// assert_eq!(service.key(), &ServiceKey::new("org.example.Listener", None, None));
    ///
    /// let listener = Callback::<Listener>::new(Service::of::<Listener>().method(
    ///     "onNews",
    ///     |_: Context, (headline,): (String,)| {
    ///         println!("news: {headline}");
    ///         Ok(())
    ///     },
    /// ));
    /// # let _ = listener;
    /// ```
    pub fn of<I: hessian2::JavaClass>() -> Self {
        Self::new(I::CLASS)
    }

    /// Declares that argument `index` of `method` unsubscribes a callback passed earlier
    /// (Dubbo's `<dubbo:argument index=".." callback="false"/>`): its proxy is destroyed.
    ///
    /// ```
    /// use tether_core::provider::{CallbackArg, Context, Service};
    ///
    /// struct Listener;
    /// tether_core::java_class!(Listener => "org.example.Listener");
    ///
    /// let service = Service::new("org.example.News")
    ///     .method("subscribe", |_: Context, (_,): (CallbackArg<Listener>,)| Ok(()))
    ///     .method("unsubscribe", |_: Context, (_,): (CallbackArg<Listener>,)| Ok(()))
    ///     // The listener passed to `unsubscribe` is the one to forget.
    ///     .callback_release("unsubscribe", 0);
    /// assert_eq!(service.key().to_string(), "org.example.News");
    /// ```
    pub fn callback_release(mut self, method: &str, index: usize) -> Self {
        self.releases.push((method.to_owned(), index));
        self
    }

    /// The timeout of calls made through this service's callback proxies (default 1 000 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::provider::Service;
    ///
    /// // Subscribers on slow links get 5 s to answer each notification.
    /// let service = Service::new("org.example.News").callback_timeout(Duration::from_secs(5));
    /// assert_eq!(service.key().to_string(), "org.example.News");
    /// ```
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Sets the service version.
    ///
    /// ```
    /// use tether_core::provider::Service;
    ///
    /// let service = Service::new("org.example.Greeter").version("2.0.0");
    /// assert_eq!(service.key().to_string(), "org.example.Greeter:2.0.0");
    /// ```
    pub fn version(mut self, version: &str) -> Self {
        self.key = ServiceKey::new(&self.key.path, Some(version), self.key.group.as_deref());
        self
    }

    /// Sets the service group.
    ///
    /// ```
    /// use tether_core::provider::Service;
    ///
    /// let service = Service::new("org.example.Greeter").version("2.0.0").group("eu");
    /// assert_eq!(service.key().to_string(), "eu/org.example.Greeter:2.0.0");
    /// ```
    pub fn group(mut self, group: &str) -> Self {
        self.key = ServiceKey::new(&self.key.path, self.key.version.as_deref(), Some(group));
        self
    }

    /// Requires callers to send this `token` attachment (Dubbo's `token`).
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
    /// // A caller without the token is refused.
    /// let stranger = Reference::builder("org.example.Vault")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let refused = stranger.method::<(), bool>("open").call(());
    /// pump(&provider);
    /// assert!(refused.wait().is_err());
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The service key.
    ///
    /// ```
    /// use tether_core::provider::{Service, ServiceKey};
    ///
    /// let service = Service::new("org.example.Greeter").version("1.0.0").group("eu");
    /// assert_eq!(service.key(), &ServiceKey::new("org.example.Greeter", Some("1.0.0"), Some("eu")));
    /// ```
    pub fn key(&self) -> &ServiceKey {
        &self.key
    }

    /// Adds method `name` implemented by a function of the argument tuple `A`; the parameter
    /// descriptor comes from `A`'s Java types. Return `Err` to throw a Java exception, and a
    /// [`Reply`] instead of a bare value to send attachments back.
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
    /// use tether_core::message::JavaException;
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
    ///     // Java's `int divide(int a, int b)`.
    ///     Service::new("org.example.Calculator")
    ///         .method("divide", |_: Context, (a, b): (i32, i32)| {
    ///             a.checked_div(b)
    ///                 .ok_or_else(|| JavaException::new("java.lang.ArithmeticException", "/ by zero"))
    ///         }),
    /// );
    /// let reference = Reference::builder("org.example.Calculator")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let divide = reference.method::<(i32, i32), i32>("divide");
    /// let (quotient, failed) = (divide.call((7, 2)), divide.call((1, 0)));
    /// pump(&provider);
    /// assert_eq!(quotient.wait()?, 3);
    /// assert!(matches!(failed.wait(), Err(RpcError::Business(_))));
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn method<A, R, F>(mut self, name: &str, f: F) -> Self
    where
        A: Arguments + for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
        R: IntoReply,
        F: Fn(Context, A) -> Result<R, JavaException> + Send + Sync + 'static,
    {
        let handler = SyncHandler((f, (|_| unreachable!()) as fn(A) -> R));
        self.add(name, A::descriptor_string(), Arc::new(handler));
        self
    }

    /// Adds method `name` implemented by an async function (provider-side async): the response
    /// is written when the future completes.
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
    /// # struct RunNow;
    /// # impl tether_core::Spawner for RunNow { fn spawn(&self, f: tether_core::BoxFuture) { futures::executor::block_on(f) } }
    /// use tether_core::consumer::{Channels, Reference};
    /// use tether_core::provider::{Context, Dispatch, Provider, Service};
    ///
    /// // `RunNow` stands for the executor that runs the handlers' futures.
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(RunNow)).export(
    ///     Service::new("org.example.Greeter")
    ///         .method_async("greet", |_: Context, (name,): (String,)| async move {
    ///             // A real handler would await a database or another service here.
    ///             Ok(format!("Hello, {name}"))
    ///         }),
    /// );
    /// let reference = Reference::builder("org.example.Greeter")
    ///     .build(Arc::new(Channels::single(conn.clone())));
    /// let hello = reference.method::<(String,), String>("greet").call(("world".to_owned(),));
    /// pump(&provider);
    /// assert_eq!(hello.wait()?, "Hello, world");
    /// # Ok::<(), tether_core::consumer::RpcError>(())
    /// ```
    pub fn method_async<A, R, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        A: Arguments + for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
        R: IntoReply,
        F: Fn(Context, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, JavaException>> + Send + 'static,
    {
        let handler = AsyncHandler((f, (|_| unreachable!()) as fn(A) -> (R, Fut)));
        self.add(name, A::descriptor_string(), Arc::new(handler));
        self
    }

    fn add(&mut self, name: &str, descriptor: String, handler: Arc<dyn Handler>) {
        let overloads = self.methods.entry(name.to_owned()).or_default();
        overloads.retain(|m| m.descriptor != descriptor);
        overloads.push(Method {
            name: name.into(),
            descriptor,
            handler,
        });
    }

    pub(super) fn find(&self, name: &str, descriptor: &str) -> Option<&Method> {
        self.methods
            .get(name)?
            .iter()
            .find(|m| m.descriptor == descriptor)
    }

    /// The method to run for a generic call: by name, and by Java type names when overloaded.
    pub(super) fn find_generic(&self, name: &str, type_names: &[String]) -> Option<&Method> {
        let overloads = self.methods.get(name)?;
        match overloads.as_slice() {
            [only] => Some(only),
            _ => overloads.iter().find(|m| {
                let names: Vec<String> = hessian2::descriptors(&m.descriptor)
                    .filter_map(Result::ok)
                    .map(hessian2::java_type_name)
                    .collect();
                names == type_names
            }),
        }
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("key", &self.key)
            .field("methods", &self.methods.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Where handlers run (Dubbo's dispatcher, `docs/protocol.md` §9.1).
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
/// # struct RunNow;
/// # impl tether_core::Spawner for RunNow { fn spawn(&self, f: tether_core::BoxFuture) { futures::executor::block_on(f) } }
/// use tether_core::consumer::{Channels, Reference};
/// use tether_core::provider::{Context, Dispatch, Provider, Service};
///
/// let greeter = || {
///     Service::new("org.example.Greeter")
///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}")))
/// };
/// // Quick handlers may run on the IO loop itself...
/// let direct = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(greeter());
/// // ...slow ones on a worker pool (`RunNow` stands for one here).
/// let pooled = Provider::new(Dispatch::Pool(Arc::new(RunNow)), Arc::new(NoSpawn)).export(greeter());
///
/// let reference = Reference::builder("org.example.Greeter")
///     .build(Arc::new(Channels::single(conn.clone())));
/// let greet = reference.method::<(String,), String>("greet");
/// for provider in [direct, pooled] {
///     let hello = greet.call(("world".to_owned(),));
///     pump(&provider);
///     assert_eq!(hello.wait()?, "Hello, world");
/// }
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
#[derive(Clone)]
pub enum Dispatch {
    /// On the IO loop (`direct`): lowest latency; a slow handler stalls the connection.
    Direct,
    /// On a worker pool (`all`, Dubbo's default).
    Pool(Arc<dyn Spawner>),
}

impl fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Direct => "Direct",
            Self::Pool(_) => "Pool",
        })
    }
}
