//! Consumer filters: code that sees every call of a reference before it is sent and once its
//! outcome is known (Dubbo's consumer-side `Filter`), the seam for tracing, metrics, auth
//! headers and client-side rate limits.

use std::sync::Arc;

use super::RpcError;
use crate::context::CallContext;
use crate::message::Attachments;

/// Sees every call made through a [`Reference`](super::Reference) that it was added to
/// ([`ReferenceBuilder::filter`](super::ReferenceBuilder::filter)).
///
/// Filters run in the order they were added for [`on_call`](Self::on_call), and in reverse
/// order for [`on_outcome`](Self::on_outcome): the first filter added is the outermost. A
/// filter whose `on_call` fails stops the call there: it is not sent, the filters before
/// it see the error in `on_outcome`, those after it see nothing.
///
/// `on_call` runs on the caller's thread. `on_outcome` runs where the call completes: on the
/// caller's thread for [`Method::call_blocking`](super::Method::call_blocking), on the IO thread or the
/// callback executor for an asynchronous call; keep it short.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Instant;
/// use tether_core::consumer::{Filter, Invocation, RpcError};
/// use tether_core::message::Attachments;
///
/// /// Adds a trace id to every call and counts failures.
/// struct Tracing {
///     failures: AtomicUsize,
/// }
///
/// impl Filter for Tracing {
///     fn on_call(&self, call: &mut Invocation<'_>) -> Result<(), RpcError> {
///         call.context.attachments_mut().insert("traceId", "4bf92f3577b34da6");
///         call.context.extensions_mut().insert(Instant::now());
///         Ok(())
///     }
///
///     fn on_outcome(&self, call: &mut Invocation<'_>, outcome: Result<&Attachments, &RpcError>) {
///         let _took = call.context.extensions().get::<Instant>().map(Instant::elapsed);
///         if outcome.is_err() {
///             self.failures.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let filter: Arc<dyn Filter> = Arc::new(Tracing { failures: AtomicUsize::new(0) });
/// ```
pub trait Filter: Send + Sync + 'static {
    /// Before the call is sent: may change the call's attachments and timeout, or fail it.
    fn on_call(&self, call: &mut Invocation<'_>) -> Result<(), RpcError> {
        let _ = call;
        Ok(())
    }

    /// Once the outcome is known: the attachments the provider sent back, or the error.
    fn on_outcome(&self, call: &mut Invocation<'_>, outcome: Result<&Attachments, &RpcError>) {
        let _ = (call, outcome);
    }
}

/// One call as a [`Filter`] sees it.
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
/// use tether_core::consumer::{Filter, Invocation, RpcError};
/// use tether_core::consumer::{Channels, Reference};
/// use tether_core::provider::{Context, Dispatch, Provider, Service};
///
/// let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(
///     Service::new("org.example.Greeter")
///         .method("greet", |_: Context, (name,): (String,)| Ok(format!("Hello, {name}"))),
/// );
///
/// /// Records which method of which service each call is for.
/// struct Log(Arc<Mutex<Vec<String>>>);
///
/// impl Filter for Log {
///     fn on_call(&self, call: &mut Invocation<'_>) -> Result<(), RpcError> {
///         self.0.lock().unwrap().push(format!("{}.{}", call.service, call.method));
///         Ok(())
///     }
/// }
///
/// let calls = Arc::new(Mutex::new(Vec::new()));
/// let reference = Reference::builder("org.example.Greeter")
///     .filter(Log(calls.clone()))
///     .build(Arc::new(Channels::single(conn.clone())));
///
/// let hello = reference.method::<(String,), String>("greet").call(("world".to_owned(),));
/// pump(&provider);
/// hello.wait()?;
/// assert_eq!(*calls.lock().unwrap(), ["org.example.Greeter.greet"]);
/// # Ok::<(), tether_core::consumer::RpcError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Invocation<'a> {
    /// The service path (the Java interface name).
    pub service: &'a str,
    /// The method name (for a generic call, the method it calls, not `$invoke`).
    pub method: &'a str,
    /// The call's attachments, timeout and filters' state.
    pub context: &'a mut CallContext,
}

/// The filters of a reference, in the order they were added.
pub(crate) type Filters = Arc<[Arc<dyn Filter>]>;

/// Runs `on_call` of each filter in order. On a failure, the filters that ran see it in
/// `on_outcome` (in reverse), and the error is returned.
pub(crate) fn before(
    filters: &[Arc<dyn Filter>],
    service: &str,
    method: &str,
    context: &mut CallContext,
) -> Result<(), RpcError> {
    for (i, filter) in filters.iter().enumerate() {
        let mut call = Invocation {
            service,
            method,
            context,
        };
        if let Err(error) = filter.on_call(&mut call) {
            after(&filters[..i], service, method, context, Err(&error));
            return Err(error);
        }
    }
    Ok(())
}

/// Runs `on_outcome` of each filter, last added first.
pub(crate) fn after(
    filters: &[Arc<dyn Filter>],
    service: &str,
    method: &str,
    context: &mut CallContext,
    outcome: Result<&Attachments, &RpcError>,
) {
    for filter in filters.iter().rev() {
        let mut call = Invocation {
            service,
            method,
            context,
        };
        filter.on_outcome(&mut call, outcome);
    }
}

/// A shared filter, e.g. one counting the calls of several references.
impl<F: Filter + ?Sized> Filter for Arc<F> {
    fn on_call(&self, call: &mut Invocation<'_>) -> Result<(), RpcError> {
        (**self).on_call(call)
    }

    fn on_outcome(&self, call: &mut Invocation<'_>, outcome: Result<&Attachments, &RpcError>) {
        (**self).on_outcome(call, outcome)
    }
}
