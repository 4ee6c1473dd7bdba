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

mod responder;

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

pub use responder::Responder;

use crate::event::InboundRequest;
use crate::frame::{SerializationId, Status};
use crate::hessian2::{self, Value};
use crate::message::{
    Arguments, Attachments, DecodeArgs, JavaException, RequestReader, attachments_supported,
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
        let version = version.filter(|v| !v.is_empty() && *v != "0.0.0" && *v != "*");
        Self {
            path: path.to_owned(),
            version: version.map(str::to_owned),
            group: group.filter(|g| !g.is_empty()).map(str::to_owned),
        }
    }
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
pub struct Context {
    /// The request's attachments (`path`, `version`, `timeout`, user keys...).
    pub attachments: Attachments,
    /// When the caller gives up, from its `timeout` (or `_TO`) attachment.
    pub deadline: Option<Instant>,
    /// The connection the request came on: callback proxies make reverse calls over it.
    pub connection: SharedConnection,
    /// The caller's dubbo protocol version (body field 1).
    pub dubbo_version: String,
    /// The method name.
    pub method: String,
}

impl Context {
    /// The attachment `key` as a string, if present and a string.
    pub fn attachment(&self, key: &str) -> Option<&str> {
        self.attachments.get_str(key)
    }
}

/// Where arguments come from: the body of an ordinary call, or the values of a generic one.
enum Args {
    Body(Bytes),
    Values(Vec<Value>),
}

/// A method implementation with its types erased.
trait Handler: Send + Sync {
    fn invoke(&self, args: Args, ctx: Context, responder: Responder, spawner: &dyn Spawner);
}

fn decode_args<A: for<'de> DecodeArgs<'de> + DeserializeOwned>(args: Args) -> Result<A, String> {
    match args {
        Args::Body(body) => RequestReader::new(&body)
            .and_then(|mut reader| reader.args::<A>())
            .map_err(|e| e.to_string()),
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
            Err(e) => {
                let message = format!("Fail to decode request due to: {e}");
                return responder.fail(Status::BAD_REQUEST, &message);
            }
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
            Err(e) => {
                let message = format!("Fail to decode request due to: {e}");
                return responder.fail(Status::BAD_REQUEST, &message);
            }
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
    descriptor: String,
    handler: Arc<dyn Handler>,
}

/// An exported service: its key, optional token, and methods.
pub struct Service {
    key: ServiceKey,
    token: Option<String>,
    /// By method name; overloads differ by descriptor.
    methods: HashMap<String, Vec<Method>>,
}

impl Service {
    /// A service at `path` (the Java interface name) with no version and no group.
    pub fn new(path: &str) -> Self {
        Self {
            key: ServiceKey::new(path, None, None),
            token: None,
            methods: HashMap::new(),
        }
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
    services: HashMap<ServiceKey, Service>,
    dispatch: Dispatch,
    /// Runs async handlers' futures.
    spawner: Arc<dyn Spawner>,
}

impl Provider {
    /// A provider with no services, running handlers with `dispatch` and async handlers'
    /// futures on `spawner`.
    pub fn new(dispatch: Dispatch, spawner: Arc<dyn Spawner>) -> Self {
        Self {
            services: HashMap::new(),
            dispatch,
            spawner,
        }
    }

    /// Exports `service` (replacing one with the same key).
    pub fn export(mut self, service: Service) -> Self {
        self.services.insert(service.key.clone(), service);
        self
    }

    fn handle(&self, conn: &SharedConnection, request: InboundRequest) {
        let InboundRequest {
            id,
            two_way,
            serialization,
            body,
            received_at,
        } = request;
        if serialization != SerializationId::HESSIAN2 {
            // `PROTOCOL.md` §12: answered in Hessian2 with 40.
            let responder = Responder::new(conn.clone(), id, serialization, two_way, false);
            let message = format!(
                "Unrecognized serialize type from consumer: {}",
                serialization.get()
            );
            return responder.fail(Status::BAD_REQUEST, &message);
        }
        // First pass: the head and the attachments (which name the group and may override
        // path and version), skipping the arguments until the method is known.
        let parsed = RequestReader::new(&body).and_then(|reader| {
            let head = reader.head().clone().into_owned();
            reader.attachments().map(|attachments| (head, attachments))
        });
        let (head, attachments) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                let responder = Responder::new(conn.clone(), id, serialization, two_way, false);
                let message = format!("Fail to decode request due to: {e}");
                return responder.fail(Status::BAD_REQUEST, &message);
            }
        };
        let responder = Responder::new(
            conn.clone(),
            id,
            serialization,
            two_way,
            attachments_supported(&head.dubbo_version),
        );
        // Java ≥ 2.7: the `path` and `version` attachments override body fields 2 and 3.
        let path = attachments.get_str("path").unwrap_or(&head.path);
        let version = attachments.get_str("version").or(head.version.as_deref());
        let key = ServiceKey::new(path, version, attachments.get_str("group"));
        let Some(service) = self.services.get(&key) else {
            let known: Vec<String> = self.services.keys().map(ToString::to_string).collect();
            let message = format!(
                "Not found exported service: {key} in [{}], may be version or group mismatch, method: {}",
                known.join(", "),
                head.method
            );
            return responder.fail(Status::SERVICE_ERROR, &message);
        };
        if let Some(token) = &service.token {
            if attachments.get_str("token") != Some(token.as_str()) {
                let message = format!(
                    "Invalid token! Forbid invoke remote service {} method {}() from consumer",
                    key, head.method
                );
                return responder.fail(Status::SERVICE_ERROR, &message);
            }
        }
        let deadline = caller_timeout(&attachments).map(|timeout| received_at + timeout);

        // `$echo` returns its argument; `$invoke` names the real method in its arguments.
        let (method, args) = if head.is_echo() {
            return match RequestReader::new(&body).and_then(|mut r| r.next_arg::<Value>()) {
                Ok(value) => responder.reply(Ok::<_, &JavaException>(&value)),
                Err(e) => responder.fail(
                    Status::BAD_REQUEST,
                    &format!("Fail to decode request due to: {e}"),
                ),
            };
        } else if head.is_generic() {
            let call = match RequestReader::new(&body).and_then(|mut r| r.generic_args()) {
                Ok(call) => call,
                Err(e) => {
                    let message = format!("Fail to decode request due to: {e}");
                    return responder.fail(Status::BAD_REQUEST, &message);
                }
            };
            match service.find_generic(&call.method, &call.parameter_types) {
                Some(method) => (method, Args::Values(call.args)),
                None => return not_found(responder, &key, &call.method, ""),
            }
        } else {
            match service.find(&head.method, &head.parameter_types) {
                Some(method) => (method, Args::Body(body)),
                None => return not_found(responder, &key, &head.method, &head.parameter_types),
            }
        };

        let ctx = Context {
            attachments,
            deadline,
            connection: conn.clone(),
            dubbo_version: head.dubbo_version.into_owned(),
            method: head.method.into_owned(),
        };
        let handler = method.handler.clone();
        match &self.dispatch {
            Dispatch::Direct => run(&*handler, args, ctx, responder, &*self.spawner),
            Dispatch::Pool(pool) => {
                let spawner = self.spawner.clone();
                pool.spawn(Box::pin(async move {
                    run(&*handler, args, ctx, responder, &*spawner);
                }));
            }
        }
    }
}

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

/// The caller's timeout: `timeout` (string of milliseconds, Java 3.x, dubbo-go) or `_TO`
/// (int, with timeout countdown), `PROTOCOL.md` §2.3.
fn caller_timeout(attachments: &Attachments) -> Option<Duration> {
    let millis = |v: &Value| match v {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::Long(l) => u64::try_from(*l).ok(),
        _ => None,
    };
    ["_TO", "_to", "timeout"]
        .iter()
        .find_map(|key| attachments.get(key).and_then(millis))
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

impl RequestHandler for Provider {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        self.handle(conn, request);
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
