//! The provider: exported services, typed handlers (sync or async), and the request pipeline
//! that answers every two-way request exactly once (`PROTOCOL.md` §2, §5.6, §9).
//!
//! A [`Provider`] is the [`RequestHandler`] an adapter's server hands each received request
//! to. For each request it decodes the head and attachments, finds the exported service
//! (path, version, group) and the method (name and parameter descriptor), checks the token
//! and the caller's deadline, then runs the handler where the [`Dispatch`] policy says.
//! Failures become the status Java would send: 40 for undecodable requests, 70 for unknown
//! services or methods, a bad token, or a handler that failed outside the method (a panic),
//! 31 for a request whose caller had given up before dispatch.

mod generic;
mod responder;
mod routing;

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
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use responder::OnewayLimit;
pub(crate) use responder::Responder;
use routing::{RequestAttachments, Routing};

use std::marker::PhantomData;

use crate::consumer::RpcError;
use crate::event::InboundRequest;
use crate::frame::{SerializationId, Status};
use crate::hessian2::{self, JavaType, Value};
use crate::message::{
    ArgsStart, Arguments, Attachments, DUBBO_VERSION, DecodeArgs, JavaException, RequestBody,
    RequestHead, RequestReader, attachments_supported,
};
use crate::shared::{RequestHandler, SharedConnection, Spawner};

/// What identifies an exported service: path (interface name), version and group. An empty
/// version, `"0.0.0"` and `"*"` all mean "no version" (`PROTOCOL.md` §2).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ServiceKey {
    path: String,
    version: Option<String>,
    group: Option<String>,
}

impl ServiceKey {
    /// The key for `path`, `version` and `group`.
    pub fn new(path: &str, version: Option<&str>, group: Option<&str>) -> Self {
        Self {
            path: path.to_owned(),
            version: some_version(version).map(str::to_owned),
            group: some_group(group).map(str::to_owned),
        }
    }

    /// Whether this is `ServiceKey::new(path, version, group)`, without building that.
    fn is(&self, path: &str, version: Option<&str>, group: Option<&str>) -> bool {
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
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Context {
    /// The request's attachments, decoded when first asked for.
    attachments: RequestAttachments,
    /// When the caller gives up, from its `timeout` (or `_TO`) attachment.
    pub deadline: Option<Instant>,
    /// The connection the request came on: callback proxies make reverse calls over it.
    pub connection: SharedConnection,
    /// The caller's dubbo protocol version (body field 1); the usual
    /// [`DUBBO_VERSION`] is borrowed, not copied per request.
    pub dubbo_version: Cow<'static, str>,
    /// The method name (`$invoke` for a generic call), shared with the service's copy.
    pub method: Arc<str>,
    /// Proxies for the callback arguments, by argument index (`PROTOCOL.md` §6.3).
    pub callbacks: Vec<(usize, CallbackProxy)>,
}

impl Context {
    /// The request's attachments (`path`, `version`, `timeout`, user keys...), decoded from
    /// the request on the first call: a handler that never looks pays nothing for them.
    pub fn attachments(&self) -> &Attachments {
        self.attachments.get()
    }

    /// The attachment `key` as a string, if present and a string.
    pub fn attachment(&self, key: &str) -> Option<&str> {
        self.attachments().get_str(key)
    }

    /// The proxy for the callback passed as argument `index`.
    pub fn callback(&self, index: usize) -> Option<&CallbackProxy> {
        self.callbacks
            .iter()
            .find_map(|(i, proxy)| (*i == index).then_some(proxy))
    }
}

/// Where arguments come from: the body of an ordinary call (decoded by the handler, where
/// they start), or the values of a generic one.
enum Args {
    Body(Bytes, ArgsStart),
    Values(Vec<Value>),
}

/// A method implementation with its types erased.
trait Handler: Send + Sync {
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
    R: Serialize + Send + 'static,
    F: Fn(Context, A) -> Result<R, JavaException> + Send + Sync + 'static,
{
    fn invoke(&self, args: Args, ctx: Context, responder: Responder, _: &dyn Spawner) {
        let args = match decode_args::<A>(args) {
            Ok(args) => args,
            Err(e) => return responder.bad_request(e),
        };
        // A panicking handler answers its caller and leaves the IO loop standing.
        match catch_unwind(AssertUnwindSafe(|| (self.0.0)(ctx, args))) {
            Ok(result) => responder.reply(result.as_ref()),
            Err(panic) => responder.fail(Status::SERVICE_ERROR, &panic_message(&*panic)),
        }
    }
}

struct AsyncHandler<F>(F);

impl<A, R, F, Fut> Handler for AsyncHandler<(F, fn(A) -> (R, Fut))>
where
    A: for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
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
                Ok(result) => responder.reply(result.as_ref()),
                Err(message) => responder.fail(Status::SERVICE_ERROR, &message),
            }
        }));
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

struct Method {
    /// The name, shared with every call's [`Context::method`].
    name: Arc<str>,
    descriptor: String,
    handler: Arc<dyn Handler>,
}

/// An exported service: its key, optional token, and methods.
pub struct Service {
    key: ServiceKey,
    token: Option<String>,
    /// By method name; overloads differ by descriptor.
    methods: HashMap<String, Vec<Method>>,
    /// (method, argument index) pairs whose callback argument unsubscribes (Dubbo's
    /// `callback="false"`): the proxy is destroyed when such a call arrives.
    releases: Vec<(String, usize)>,
    /// Timeout of the calls its callback proxies make.
    callback_timeout: Duration,
}

impl Service {
    /// A service at `path` (the Java interface name) with no version and no group.
    pub fn new(path: &str) -> Self {
        Self {
            key: ServiceKey::new(path, None, None),
            token: None,
            methods: HashMap::new(),
            releases: Vec::new(),
            callback_timeout: crate::connection::CallOptions::DEFAULT_TIMEOUT,
        }
    }

    /// Declares that argument `index` of `method` unsubscribes a callback passed earlier
    /// (Dubbo's `<dubbo:argument index=".." callback="false"/>`): its proxy is destroyed.
    pub fn callback_release(mut self, method: &str, index: usize) -> Self {
        self.releases.push((method.to_owned(), index));
        self
    }

    /// The timeout of calls made through this service's callback proxies (default 1 000 ms).
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Sets the service version.
    pub fn version(mut self, version: &str) -> Self {
        self.key = ServiceKey::new(&self.key.path, Some(version), self.key.group.as_deref());
        self
    }

    /// Sets the service group.
    pub fn group(mut self, group: &str) -> Self {
        self.key = ServiceKey::new(&self.key.path, self.key.version.as_deref(), Some(group));
        self
    }

    /// Requires callers to send this `token` attachment (Dubbo's `token`).
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The service key.
    pub fn key(&self) -> &ServiceKey {
        &self.key
    }

    /// Adds method `name` implemented by a function of the argument tuple `A`; the parameter
    /// descriptor comes from `A`'s Java types. Return `Err` to throw a Java exception.
    pub fn method<A, R, F>(mut self, name: &str, f: F) -> Self
    where
        A: Arguments + for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(Context, A) -> Result<R, JavaException> + Send + Sync + 'static,
    {
        let handler = SyncHandler((f, (|_| unreachable!()) as fn(A) -> R));
        self.add(name, A::descriptor_string(), Arc::new(handler));
        self
    }

    /// Adds method `name` implemented by an async function (provider-side async): the response
    /// is written when the future completes.
    pub fn method_async<A, R, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        A: Arguments + for<'de> DecodeArgs<'de> + DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
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

    fn find(&self, name: &str, descriptor: &str) -> Option<&Method> {
        self.methods
            .get(name)?
            .iter()
            .find(|m| m.descriptor == descriptor)
    }

    /// The method to run for a generic call: by name, and by Java type names when overloaded.
    fn find_generic(&self, name: &str, type_names: &[String]) -> Option<&Method> {
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

/// Where handlers run (Dubbo's dispatcher, `PROTOCOL.md` §9.1).
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

/// Exported services and the policy that runs them: the [`RequestHandler`] of a server.
pub struct Provider {
    /// By path, then the few versions and groups of that path: found from the request's
    /// borrowed strings, without building a key.
    services: HashMap<String, Vec<Arc<Service>>>,
    dispatch: Dispatch,
    /// Runs async handlers' futures.
    spawner: Arc<dyn Spawner>,
    oneway: OnewayLimit,
}

impl Provider {
    /// A provider with no services, running handlers with `dispatch` and async handlers'
    /// futures on `spawner`.
    pub fn new(dispatch: Dispatch, spawner: Arc<dyn Spawner>) -> Self {
        Self {
            services: HashMap::new(),
            dispatch,
            spawner,
            oneway: OnewayLimit::new(
                crate::Config::DEFAULT_MAX_IN_FLIGHT,
                crate::Config::DEFAULT_MAX_INBOUND_BYTES,
            ),
        }
    }

    /// The most one-way requests handled at once, over all connections (default 65 536).
    /// Past it, one-way requests are dropped, as Java drops those its pool rejects (two-way
    /// requests are bounded per connection by `Config::max_inbound_in_flight`).
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
    pub fn oneway_in_flight(&self) -> usize {
        self.oneway.in_flight()
    }

    /// Exports `service` (replacing one with the same key).
    pub fn export(mut self, service: Service) -> Self {
        let same_path = self.services.entry(service.key.path.clone()).or_default();
        same_path.retain(|s| s.key != service.key);
        same_path.push(Arc::new(service));
        self
    }

    /// The service exported as `ServiceKey::new(path, version, group)`.
    fn service(&self, path: &str, version: Option<&str>, group: Option<&str>) -> Option<&Service> {
        let same_path = self.services.get(path)?;
        same_path
            .iter()
            .find(|s| s.key.is(path, version, group))
            .map(|s| &**s)
    }

    fn handle(&self, conn: &SharedConnection, request: InboundRequest) {
        let Some(parsed) = parse(conn, &request, &self.oneway) else {
            return;
        };
        // Java ≥ 2.7: the `path` and `version` attachments override body fields 2 and 3.
        let routing = &parsed.routing;
        let path = routing.path.as_deref().unwrap_or(&parsed.head.path);
        let version = (routing.version.as_deref()).or(parsed.head.version.as_deref());
        let group = routing.group.as_deref();
        let Some(service) = self.service(path, version, group) else {
            let key = ServiceKey::new(path, version, group);
            let known: Vec<String> = self
                .services
                .values()
                .flatten()
                .map(|s| s.key.to_string())
                .collect();
            let message = format!(
                "Not found exported service: {key} in [{}], may be version or group mismatch, method: {}",
                known.join(", "),
                parsed.head.method
            );
            return parsed.responder.fail(Status::SERVICE_ERROR, &message);
        };
        if let Some(token) = &service.token {
            if routing.token.as_deref() != Some(token.as_str()) {
                let message = format!(
                    "Invalid token! Forbid invoke remote service {} method {}() from consumer",
                    service.key, parsed.head.method
                );
                return parsed.responder.fail(Status::SERVICE_ERROR, &message);
            }
        }
        invoke(
            conn,
            service,
            parsed,
            &request,
            &self.dispatch,
            &self.spawner,
            true,
        );
    }
}

/// A request decoded up to its attachments, the head borrowed from the body, with the
/// responder that answers it.
struct Parsed<'a> {
    head: RequestHead<'a>,
    /// Where the arguments start: the handler decodes them from there.
    args: ArgsStart,
    routing: Routing<'a>,
    /// The attachments, decoded when the routing scan found keys or values that need them.
    attachments: Option<Attachments>,
    responder: Responder,
}

/// Decodes the head and the attachments (which name the group and may override path and
/// version), skipping the arguments until the method is known. Answers 40 itself on failure.
fn parse<'a>(
    conn: &SharedConnection,
    request: &'a InboundRequest,
    oneway: &OnewayLimit,
) -> Option<Parsed<'a>> {
    let &InboundRequest {
        id,
        two_way,
        serialization,
        ref body,
        ..
    } = request;
    let slot = if two_way {
        None
    } else {
        // Past the limit a one-way request is dropped: it has nobody to answer.
        Some(oneway.try_acquire(body.len())?)
    };
    if serialization != SerializationId::HESSIAN2 {
        // `PROTOCOL.md` §12: answered in Hessian2 with 40.
        let responder = Responder::new(conn.clone(), id, serialization, two_way, false);
        let message = format!(
            "Unrecognized serialize type from consumer: {}",
            serialization.get()
        );
        responder.fail(Status::BAD_REQUEST, &message);
        return None;
    }
    let parsed = RequestReader::new(body).and_then(|reader| {
        let head = reader.head().clone();
        let args = reader.args_start();
        let routing = Routing::scan(reader)?;
        // Rare: callback keys, or values that may still fail to decode (answered with 40).
        let attachments = if routing.needs_map() {
            Some(RequestReader::new(body)?.attachments()?)
        } else {
            None
        };
        Ok((head, args, routing, attachments))
    });
    match parsed {
        Ok((head, args, routing, attachments)) => {
            let mut responder = Responder::new(
                conn.clone(),
                id,
                serialization,
                two_way,
                attachments_supported(&head.dubbo_version),
            );
            if let Some(slot) = slot {
                responder = responder.with_slot(slot);
            }
            Some(Parsed {
                head,
                args,
                routing,
                attachments,
                responder,
            })
        }
        Err(e) => {
            Responder::new(conn.clone(), id, serialization, two_way, false).bad_request(e);
            None
        }
    }
}

/// Finds the method on `service`, sets up callback proxies (`with_proxies`, on a provider)
/// and runs the handler per `dispatch`.
fn invoke(
    conn: &SharedConnection,
    service: &Service,
    parsed: Parsed<'_>,
    request: &InboundRequest,
    dispatch: &Dispatch,
    spawner: &Arc<dyn Spawner>,
    with_proxies: bool,
) {
    let Parsed {
        head,
        args: args_start,
        routing,
        attachments,
        mut responder,
    } = parsed;
    let key = &service.key;
    let body = &request.body;
    let deadline = (routing.caller_timeout()).map(|timeout| request.received_at + timeout);

    // `$echo` returns its argument; `$invoke` names the real method in its arguments.
    let (method, args) = if head.is_echo() {
        return match RequestReader::new(body).and_then(|mut r| r.next_arg::<Value>()) {
            Ok(value) => responder.reply(Ok::<_, &JavaException>(&value)),
            Err(e) => responder.bad_request(e),
        };
    } else if head.is_generic() {
        // A mode whose arguments tether cannot read is refused, as Java refuses the modes
        // it does not allow (status 70).
        let mode = match generic::GenericMode::of(routing.generic.as_deref()) {
            Ok(mode) => mode,
            Err(message) => return responder.fail(Status::SERVICE_ERROR, &message),
        };
        let call = match RequestReader::new(body).and_then(|mut r| r.generic_args()) {
            Ok(call) => call,
            Err(e) => return responder.bad_request(e),
        };
        responder = responder.generic(mode);
        match service.find_generic(&call.method, &call.parameter_types) {
            Some(method) => (method, Args::Values(call.args)),
            None => return not_found(responder, key, &call.method, ""),
        }
    } else {
        match service.find(&head.method, &head.parameter_types) {
            Some(method) => (method, Args::Body(body.clone(), args_start)),
            None => return not_found(responder, key, &head.method, &head.parameter_types),
        }
    };

    let callbacks = match &attachments {
        Some(attachments) if with_proxies => {
            match callback_proxies(
                conn,
                service,
                &head.method,
                &head.parameter_types,
                attachments,
            ) {
                Ok(callbacks) => callbacks,
                Err(message) => return responder.fail(Status::BAD_REQUEST, &message),
            }
        }
        _ => Vec::new(),
    };
    let attachments = match attachments {
        Some(attachments) => RequestAttachments::decoded(attachments),
        None => RequestAttachments::lazy(body.clone()),
    };
    let ctx = Context {
        attachments,
        deadline,
        connection: conn.clone(),
        dubbo_version: if head.dubbo_version == DUBBO_VERSION {
            Cow::Borrowed(DUBBO_VERSION)
        } else {
            Cow::Owned(head.dubbo_version.into_owned())
        },
        // A generic call names another method than the one it runs.
        method: if *method.name == *head.method {
            method.name.clone()
        } else {
            head.method.as_ref().into()
        },
        callbacks,
    };
    let handler = method.handler.clone();
    match dispatch {
        Dispatch::Direct => run(&*handler, args, ctx, responder, &**spawner),
        Dispatch::Pool(pool) => {
            let spawner = spawner.clone();
            pool.spawn(Box::pin(async move {
                run(&*handler, args, ctx, responder, &*spawner);
            }));
        }
    }
}

/// Proxies for the callback arguments named by `sys_callback_arg-<i>` attachments
/// (`PROTOCOL.md` §6.3), registered on the connection against its limit; unsubscribing
/// arguments destroy theirs. A limit error is the message of a 40 answer.
fn callback_proxies(
    conn: &SharedConnection,
    service: &Service,
    method: &str,
    descriptor: &str,
    attachments: &Attachments,
) -> Result<Vec<(usize, CallbackProxy)>, String> {
    let mut proxies = Vec::new();
    let mut added_here: Vec<(Arc<str>, i32)> = Vec::new();
    for (key, value) in attachments.iter() {
        let Some(index) = key
            .strip_prefix(CALLBACK_ARG_PREFIX)
            .and_then(|i| i.parse::<usize>().ok())
        else {
            continue;
        };
        let Some(id) = value.as_str().and_then(|v| v.trim().parse::<i32>().ok()) else {
            return Err(format!(
                "Fail to decode request due to: bad callback id in {key}"
            ));
        };
        let Some(Ok(param)) = hessian2::descriptors(descriptor).nth(index) else {
            return Err(format!(
                "Fail to decode request due to: {key} names no parameter of {method}({descriptor})"
            ));
        };
        let interface: Arc<str> = hessian2::java_type_name(param).into();
        let release = service
            .releases
            .iter()
            .any(|(m, i)| m == method && *i == index);
        let added = conn.with(|c, _| {
            if release {
                c.callbacks().remove_proxy(&interface, id);
                Ok(false)
            } else {
                c.callbacks().add_proxy(&interface, id)
            }
        });
        match added {
            Ok(new) => {
                if new {
                    added_here.push((interface.clone(), id));
                }
            }
            Err(e) => {
                // The request is refused: withdraw the proxies it had added.
                conn.with(|c, _| {
                    for (interface, id) in &added_here {
                        c.callbacks().remove_proxy(interface, *id);
                    }
                });
                return Err(format!("Fail to decode request due to: {e}"));
            }
        }
        proxies.push((
            index,
            CallbackProxy {
                conn: conn.clone(),
                interface,
                id,
                timeout: service.callback_timeout,
                group: attachments.get_str("group").map(Into::into),
                token: service.token.as_deref().map(Into::into),
            },
        ));
    }
    Ok(proxies)
}

/// Answers a provider's call of a callback this consumer exported on `conn`: found by the
/// interface (the path) and `callback.service.instid` attachment (`PROTOCOL.md` §6.3).
pub(crate) fn serve_callback(
    conn: &SharedConnection,
    request: InboundRequest,
    dispatch: &Dispatch,
    spawner: &Arc<dyn Spawner>,
    oneway: &OnewayLimit,
) {
    let Some(parsed) = parse(conn, &request, oneway) else {
        return;
    };
    let interface = (parsed.routing.path.as_deref()).unwrap_or(&parsed.head.path);
    // The routing scan decodes the map when it sees the instance key.
    let id = (parsed.attachments.as_ref())
        .and_then(|attachments| attachments.get_str(CALLBACK_INSTANCE))
        .and_then(|v| v.trim().parse::<i32>().ok());
    let target = id.and_then(|id| conn.with(|c, _| c.callbacks().exported(interface, id)));
    match target.and_then(|t| t.downcast::<Service>().ok()) {
        Some(service) => invoke(conn, &service, parsed, &request, dispatch, spawner, false),
        None => {
            let message = format!(
                "Not found exported callback: {interface}.{} on this connection, method: {}",
                id.map_or_else(|| "?".to_owned(), |id| id.to_string()),
                parsed.head.method
            );
            parsed.responder.fail(Status::SERVICE_ERROR, &message);
        }
    }
}

/// Attachment naming the instance id of callback argument `<i>` (`PROTOCOL.md` §6.2).
pub(crate) const CALLBACK_ARG_PREFIX: &str = "sys_callback_arg-";
/// Attachment naming the callback instance a provider invokes (`PROTOCOL.md` §6.3).
pub(crate) const CALLBACK_INSTANCE: &str = "callback.service.instid";

/// Runs a handler unless its caller has already given up.
fn run(
    handler: &dyn Handler,
    args: Args,
    ctx: Context,
    responder: Responder,
    spawner: &dyn Spawner,
) {
    if let Some(deadline) = ctx.deadline {
        let now = ctx.connection.now();
        if now >= deadline {
            // The caller's timeout passed while the request waited: do not run it. Java
            // consumers read status 31 as a server-side timeout.
            let message = format!(
                "Server-side timeout: the request waited past the caller's deadline by {:?} and was not run",
                now - deadline
            );
            return responder.fail(Status::SERVER_TIMEOUT, &message);
        }
    }
    handler.invoke(args, ctx, responder, spawner);
}

fn not_found(responder: Responder, key: &ServiceKey, method: &str, descriptor: &str) {
    let message = format!("Not found method {method}({descriptor}) in service {key}");
    responder.fail(Status::SERVICE_ERROR, &message);
}

/// A provider's handle to a consumer's callback: calls go back over the connection the
/// callback arrived on (`PROTOCOL.md` §6.3).
#[derive(Clone, Debug)]
pub struct CallbackProxy {
    conn: SharedConnection,
    interface: Arc<str>,
    id: i32,
    timeout: Duration,
    group: Option<Arc<str>>,
    /// The service's token: a Java consumer checks it on callback invocations (§6.3).
    token: Option<Arc<str>>,
}

impl CallbackProxy {
    /// The callback interface.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The instance id the consumer gave it.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Whether calls can still reach it: the connection is open and the consumer has not
    /// unsubscribed it.
    pub fn is_live(&self) -> bool {
        self.conn
            .with(|c, _| !c.is_closed() && c.callbacks().has_proxy(&self.interface, self.id))
    }

    /// Calls `method` of the consumer's callback object. Once the proxy is dead the call
    /// fails at once, unsent: [`RpcError::Network`] if the connection closed,
    /// [`RpcError::ServiceNotFound`] if the consumer unsubscribed it.
    pub fn call<A, R>(&self, method: &str, args: A) -> crate::Completion<Result<R, RpcError>>
    where
        A: Arguments + Send + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        if !self.is_live() {
            // Closed: the connection's reason. Open: the consumer unsubscribed it, and Java's
            // proxy would be answered 70 "Not found exported service" (`PROTOCOL.md` §6.5).
            let error = match self.conn.close_reason() {
                Some(reason) => RpcError::Network(reason),
                None => RpcError::ServiceNotFound(format!(
                    "callback {}.{} was unsubscribed on this connection",
                    self.interface, self.id
                )),
            };
            return crate::consumer::ready(Err(error));
        }
        let mut attachments = Attachments::with_capacity(4);
        attachments.insert("path", &*self.interface);
        attachments.insert(CALLBACK_INSTANCE, self.id.to_string());
        if let Some(group) = &self.group {
            attachments.insert("group", &**group);
        }
        if let Some(token) = &self.token {
            attachments.insert("token", &**token);
        }
        let descriptor = A::descriptor_string();
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: &self.interface,
            // Callbacks are version-less: field 3 is null.
            version: None,
            method,
            parameter_types: &descriptor,
            args: &args,
            attachments: &attachments,
        };
        crate::consumer::call_decoded(&self.conn, self.timeout, body)
    }
}

/// The provider's view of a callback argument of interface `I`: it reads the null the consumer
/// sends and carries `I`'s descriptor, so the method signature matches the consumer's. Get the
/// proxy from [`Context::callback`].
pub struct CallbackArg<I>(PhantomData<fn() -> I>);

impl<I> fmt::Debug for CallbackArg<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackArg")
    }
}

impl<I: JavaType> JavaType for CallbackArg<I> {
    fn descriptor(out: &mut String) {
        I::descriptor(out);
    }

    fn array_type() -> std::borrow::Cow<'static, str> {
        I::array_type()
    }
}

impl<'de, I> serde::Deserialize<'de> for CallbackArg<I> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Self(PhantomData))
    }
}

impl<I> Serialize for CallbackArg<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl RequestHandler for Provider {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        self.handle(conn, request);
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field(
                "services",
                &self
                    .services
                    .values()
                    .flatten()
                    .map(|s| &s.key)
                    .collect::<Vec<_>>(),
            )
            .field("dispatch", &self.dispatch)
            .finish_non_exhaustive()
    }
}
