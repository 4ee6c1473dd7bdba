//! Parameter callbacks on the serving side (`docs/protocol.md` §6.3): the proxies a provider gets
//! for a consumer's callback arguments, and the marker type that declares such an argument.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hessian2::{self, JavaType};
use crate::invoke::RpcError;
use crate::message::{Arguments, Attachments, DUBBO_VERSION, RequestBody};
use crate::shared::SharedConnection;

use super::service::Service;

/// Attachment naming the instance id of callback argument `<i>` (`docs/protocol.md` §6.2).
pub(crate) const CALLBACK_ARG_PREFIX: &str = "sys_callback_arg-";
/// Attachment naming the callback instance a provider invokes (`docs/protocol.md` §6.3).
pub(crate) const CALLBACK_INSTANCE: &str = "callback.service.instid";

/// Proxies for the callback arguments named by `sys_callback_arg-<i>` attachments
/// (`docs/protocol.md` §6.3), registered on the connection against its limit; unsubscribing
/// arguments destroy theirs. A limit error is the message of a 40 answer.
pub(super) fn callback_proxies(
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
        let undo = || {
            conn.with(|c, _| {
                for (interface, id) in &added_here {
                    c.callbacks().remove_proxy(interface, *id);
                }
            })
        };
        if proxies.iter().any(|(i, _)| *i == index) {
            // `sys_callback_arg-1` and `-01`: one argument, two proxies against the limit.
            undo();
            return Err(format!(
                "Fail to decode request due to: callback argument {index} named twice ({key})"
            ));
        }
        let Some(id) = value.as_str().and_then(|v| v.trim().parse::<i32>().ok()) else {
            undo();
            return Err(format!(
                "Fail to decode request due to: bad callback id in {key}"
            ));
        };
        let Some(Ok(param)) = hessian2::descriptors(descriptor).nth(index) else {
            undo();
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
                undo();
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

/// A provider's handle to a consumer's callback: calls go back over the connection the
/// callback arrived on (`docs/protocol.md` §6.3).
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
/// // Later, the provider calls the consumer's listener back.
/// let delivered = proxy.call::<(String,), ()>("onNews", ("Dubbo speaks Rust".to_owned(),));
/// pump();
/// delivered.wait()?;
/// assert_eq!(*heard.lock().unwrap(), ["Dubbo speaks Rust"]);
/// # let _ = heard;
/// # Ok::<(), RpcError>(())
/// ```
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
    /// assert_eq!(proxy.interface(), "org.example.Listener");
    /// # let _ = heard;
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The instance id the consumer gave it.
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
    /// // The id the consumer's callback object was sent under.
    /// assert_eq!(proxy.id(), listener.id());
    /// # let _ = heard;
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Whether calls can still reach it: the connection is open and the consumer has not
    /// unsubscribed it.
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
    /// assert!(proxy.is_live());
    /// // Once the connection the listener came on closes (`server` is the provider's end),
    /// // calls can no longer reach it.
    /// server.close();
    /// assert!(!proxy.is_live());
    /// # let _ = heard;
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn is_live(&self) -> bool {
        self.conn
            .with(|c, _| !c.is_closed() && c.callbacks().has_proxy(&self.interface, self.id))
    }

    /// Calls `method` of the consumer's callback object. Once the proxy is dead the call
    /// fails at once, unsent: [`RpcError::Network`] if the connection closed,
    /// [`RpcError::ServiceNotFound`] if the consumer unsubscribed it.
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
    /// // Later, the provider calls the consumer's listener back.
    /// let delivered = proxy.call::<(String,), ()>("onNews", ("Dubbo speaks Rust".to_owned(),));
    /// pump();
    /// delivered.wait()?;
    /// assert_eq!(*heard.lock().unwrap(), ["Dubbo speaks Rust"]);
    ///
    /// // Once the connection is gone, a call fails at once, unsent.
    /// server.close();
    /// let late = proxy.call::<(String,), ()>("onNews", ("too late".to_owned(),));
    /// assert!(matches!(late.wait(), Err(RpcError::Network(_))));
    /// # let _ = heard;
    /// # Ok::<(), RpcError>(())
    /// ```
    pub fn call<A, R>(&self, method: &str, args: A) -> crate::Completion<Result<R, RpcError>>
    where
        A: Arguments + Send + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        if !self.is_live() {
            // Closed: the connection's reason. Open: the consumer unsubscribed it, and Java's
            // proxy would be answered 70 "Not found exported service" (`docs/protocol.md` §6.5).
            let error = match self.conn.close_reason() {
                Some(reason) => RpcError::Network(reason),
                None => RpcError::ServiceNotFound(format!(
                    "callback {}.{} was unsubscribed on this connection",
                    self.interface, self.id
                )),
            };
            return crate::Completion::ready(Err(error));
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
        crate::invoke::call_decoded(&self.conn, self.timeout, body)
    }
}

/// The provider's view of a callback argument of interface `I`: it reads the null the consumer
/// sends and carries `I`'s descriptor, so the method signature matches the consumer's. Get the
/// proxy from [`Context::callback`](super::Context::callback).
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
/// // The provider's `subscribe` took a `CallbackArg<Listener>` where the consumer passed a
/// // `Callback<Listener>`: both name `org.example.Listener` in the method's signature.
/// assert!(proxy.is_live());
/// # let _ = heard;
/// # Ok::<(), RpcError>(())
/// ```
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
