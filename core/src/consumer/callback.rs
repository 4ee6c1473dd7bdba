//! Callback arguments on the consumer side (`docs/protocol.md` §6.2): a local service passed as an
//! argument, exported on the connection the call goes out on, written as null with its
//! instance id in a `sys_callback_arg-<i>` attachment. The provider calls it back over that
//! same connection; [`CallbackDispatcher`] answers those calls.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;
use serde::{Serialize, Serializer};

use crate::event::InboundRequest;
use crate::hessian2::{JavaType, NULL_NEWTYPE};
use crate::serve::{Dispatch, Service, serve_callback};
use crate::shared::{RequestHandler, SharedConnection, Spawner};

/// A local object passed as a callback argument of interface `I` (a marker type naming the
/// Java interface, made with [`java_class!`](crate::java_class)); it must be an argument
/// itself (or an `Option` of one), not nested inside another value. The provider receives a
/// proxy and may call the object's methods later, over the same connection, as long as the
/// consumer keeps it exported (until unsubscribed or disconnected).
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
pub struct Callback<I> {
    inner: Arc<CallbackInner>,
    _interface: PhantomData<fn() -> I>,
}

pub(crate) struct CallbackInner {
    id: i32,
    pub(crate) service: Arc<Service>,
}

impl<I: JavaType> Callback<I> {
    /// Wraps `service`, whose methods implement the callback interface.
    ///
    /// ```
    /// use tether_core::consumer::Callback;
    /// use tether_core::provider::{Context, Service};
    ///
    /// struct Listener;
    /// tether_core::java_class!(Listener => "org.example.Listener");
    ///
    /// // The local object the provider will call back: a service implementing the interface.
    /// let listener = Callback::<Listener>::new(
    ///     Service::new("org.example.Listener")
    ///         .method("onNews", |_: Context, (headline,): (String,)| {
    ///             println!("news: {headline}");
    ///             Ok(())
    ///         }),
    /// );
    /// assert!(listener.id() > 0);
    /// ```
    pub fn new(service: Service) -> Self {
        let id = next_id();
        let inner = Arc::new(CallbackInner {
            id,
            service: Arc::new(service),
        });
        registry().lock().insert(id, Arc::downgrade(&inner));
        Self {
            inner,
            _interface: PhantomData,
        }
    }

    /// The instance id sent to the provider.
    ///
    /// ```
    /// use tether_core::consumer::Callback;
    /// use tether_core::provider::Service;
    ///
    /// struct Listener;
    /// tether_core::java_class!(Listener => "org.example.Listener");
    ///
    /// let first = Callback::<Listener>::new(Service::new("org.example.Listener"));
    /// let second = Callback::<Listener>::new(Service::new("org.example.Listener"));
    /// // Each object has its own id; clones share it.
    /// assert_ne!(first.id(), second.id());
    /// assert_eq!(first.clone().id(), first.id());
    /// ```
    pub fn id(&self) -> i32 {
        self.inner.id
    }
}

impl<I> Clone for Callback<I> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _interface: PhantomData,
        }
    }
}

impl<I> fmt::Debug for Callback<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

impl<I: JavaType> JavaType for Callback<I> {
    fn descriptor(out: &mut String) {
        I::descriptor(out);
    }

    fn array_type() -> std::borrow::Cow<'static, str> {
        I::array_type()
    }
}

impl<I> Serialize for Callback<I> {
    /// Written as null (§6.2 step 3); the id inside is seen only by the probe that finds
    /// callback arguments.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(NULL_NEWTYPE, &self.inner.id)
    }
}

impl Drop for CallbackInner {
    fn drop(&mut self) {
        let mut registry = registry().lock();
        // Only remove our own entry (the id may have been reused after wrapping).
        if registry
            .get(&self.id)
            .is_some_and(|w| w.strong_count() == 0)
        {
            registry.remove(&self.id);
        }
    }
}

/// Live callback instances by id, so that a probe that found an id can find its service.
fn registry() -> &'static Mutex<HashMap<i32, Weak<CallbackInner>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<i32, Weak<CallbackInner>>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// A positive id not in use: Java sends identity hash codes; any stable positive `i32` that
/// is unique among live instances will do.
fn next_id() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(1);
    let registry = registry().lock();
    loop {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if id > 0 && !registry.contains_key(&id) {
            return id;
        }
        if id <= 0 {
            NEXT.store(1, Ordering::Relaxed);
        }
    }
}

pub(crate) fn lookup(id: i32) -> Option<Arc<CallbackInner>> {
    registry().lock().get(&id)?.upgrade()
}

/// The callback arguments among `args`: (argument index, instance id). Serializes each
/// top-level element with a probe that stops at the first call, so it costs a few calls per
/// argument.
pub(crate) fn find_callbacks<A: Serialize>(args: &A) -> Vec<(usize, i32)> {
    let mut found = Vec::new();
    let _ = args.serialize(probe::TupleProbe(&mut found));
    found
}

mod probe {
    //! Serializers that only look for [`NULL_NEWTYPE`] newtypes at the top of a tuple.

    use serde::Serialize;
    use serde::ser::{Error, Impossible, SerializeTuple, Serializer};

    use crate::hessian2::NULL_NEWTYPE;

    #[derive(Debug)]
    pub(super) struct Stop;

    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("probe stop")
        }
    }

    impl std::error::Error for Stop {}

    impl Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    macro_rules! stop {
        ($($f:ident($($t:ty),* $(,)?)),* $(,)?) => {$(
            fn $f(self, $(_: $t),*) -> Result<Self::Ok, Stop> {
                Err(Stop)
            }
        )*};
    }

    macro_rules! stop_compound {
        ($($f:ident($($t:ty),* $(,)?) -> $out:ident),* $(,)?) => {$(
            fn $f(self, $(_: $t),*) -> Result<Self::$out, Stop> {
                Err(Stop)
            }
        )*};
    }

    macro_rules! leaf_probe {
        ($ty:ident, $ok:ty) => {
            impl Serializer for $ty {
                type Ok = $ok;
                type Error = Stop;
                type SerializeSeq = Impossible<$ok, Stop>;
                type SerializeTuple = Impossible<$ok, Stop>;
                type SerializeTupleStruct = Impossible<$ok, Stop>;
                type SerializeTupleVariant = Impossible<$ok, Stop>;
                type SerializeMap = Impossible<$ok, Stop>;
                type SerializeStruct = Impossible<$ok, Stop>;
                type SerializeStructVariant = Impossible<$ok, Stop>;

                stop!(
                    serialize_bool(bool), serialize_i8(i8), serialize_i16(i16),
                    serialize_i64(i64), serialize_u8(u8), serialize_u16(u16),
                    serialize_u32(u32), serialize_u64(u64), serialize_f32(f32),
                    serialize_f64(f64), serialize_char(char), serialize_str(&str),
                    serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
                    serialize_unit_struct(&'static str),
                    serialize_unit_variant(&'static str, u32, &'static str),
                );

                stop_compound!(
                    serialize_seq(Option<usize>) -> SerializeSeq,
                    serialize_tuple(usize) -> SerializeTuple,
                    serialize_tuple_struct(&'static str, usize) -> SerializeTupleStruct,
                    serialize_tuple_variant(&'static str, u32, &'static str, usize) -> SerializeTupleVariant,
                    serialize_map(Option<usize>) -> SerializeMap,
                    serialize_struct(&'static str, usize) -> SerializeStruct,
                    serialize_struct_variant(&'static str, u32, &'static str, usize) -> SerializeStructVariant,
                );

                fn serialize_i32(self, v: i32) -> Result<$ok, Stop> {
                    self.id(v)
                }

                fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<$ok, Stop> {
                    self.some(value)
                }

                fn serialize_newtype_struct<T: Serialize + ?Sized>(
                    self,
                    name: &'static str,
                    value: &T,
                ) -> Result<$ok, Stop> {
                    self.newtype(name, value)
                }

                fn serialize_newtype_variant<T: Serialize + ?Sized>(
                    self,
                    _: &'static str,
                    _: u32,
                    _: &'static str,
                    _: &T,
                ) -> Result<$ok, Stop> {
                    Err(Stop)
                }
            }
        };
    }

    /// One argument: a callback newtype, or not.
    pub(super) struct ArgProbe;

    impl ArgProbe {
        fn id(self, _: i32) -> Result<i32, Stop> {
            Err(Stop)
        }

        /// `Some(callback)` is a callback argument too.
        fn some<T: Serialize + ?Sized>(self, value: &T) -> Result<i32, Stop> {
            value.serialize(self)
        }

        fn newtype<T: Serialize + ?Sized>(
            self,
            name: &'static str,
            value: &T,
        ) -> Result<i32, Stop> {
            if name == NULL_NEWTYPE {
                value.serialize(IdProbe)
            } else {
                Err(Stop)
            }
        }
    }

    leaf_probe!(ArgProbe, i32);

    /// The id inside a callback newtype.
    pub(super) struct IdProbe;

    impl IdProbe {
        fn id(self, v: i32) -> Result<i32, Stop> {
            Ok(v)
        }

        fn some<T: Serialize + ?Sized>(self, _: &T) -> Result<i32, Stop> {
            Err(Stop)
        }

        fn newtype<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<i32, Stop> {
            Err(Stop)
        }
    }

    leaf_probe!(IdProbe, i32);

    /// The argument tuple.
    pub(super) struct TupleProbe<'a>(pub(super) &'a mut Vec<(usize, i32)>);

    pub(super) struct Elements<'a> {
        found: &'a mut Vec<(usize, i32)>,
        index: usize,
    }

    impl SerializeTuple for Elements<'_> {
        type Ok = ();
        type Error = Stop;

        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
            if let Ok(id) = value.serialize(ArgProbe) {
                self.found.push((self.index, id));
            }
            self.index += 1;
            Ok(())
        }

        fn end(self) -> Result<(), Stop> {
            Ok(())
        }
    }

    impl<'a> Serializer for TupleProbe<'a> {
        type Ok = ();
        type Error = Stop;
        type SerializeSeq = Impossible<(), Stop>;
        type SerializeTuple = Elements<'a>;
        type SerializeTupleStruct = Impossible<(), Stop>;
        type SerializeTupleVariant = Impossible<(), Stop>;
        type SerializeMap = Impossible<(), Stop>;
        type SerializeStruct = Impossible<(), Stop>;
        type SerializeStructVariant = Impossible<(), Stop>;

        stop!(
            serialize_bool(bool),
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            serialize_f32(f32),
            serialize_f64(f64),
            serialize_char(char),
            serialize_str(&str),
            serialize_bytes(&[u8]),
            serialize_none(),
            serialize_unit(),
            serialize_unit_struct(&'static str),
            serialize_unit_variant(&'static str, u32, &'static str),
        );

        stop_compound!(
            serialize_seq(Option<usize>) -> SerializeSeq,
            serialize_tuple_struct(&'static str, usize) -> SerializeTupleStruct,
            serialize_tuple_variant(
                &'static str,
                u32,
                &'static str,
                usize,
            ) -> SerializeTupleVariant,
            serialize_map(Option<usize>) -> SerializeMap,
            serialize_struct(&'static str, usize) -> SerializeStruct,
            serialize_struct_variant(
                &'static str,
                u32,
                &'static str,
                usize,
            ) -> SerializeStructVariant,
        );

        fn serialize_tuple(self, _: usize) -> Result<Elements<'a>, Stop> {
            Ok(Elements {
                found: self.0,
                index: 0,
            })
        }

        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Stop> {
            Err(Stop)
        }

        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<(), Stop> {
            Err(Stop)
        }

        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), Stop> {
            Err(Stop)
        }
    }
}

/// Answers the callback invocations a provider makes over a consumer's connections: give it
/// to the adapter as the consumer connections' [`RequestHandler`].
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
/// // The provider calls the listener back: the dispatcher runs it on the consumer's side.
/// let delivered = proxy.call::<(String,), ()>("onNews", ("Dubbo speaks Rust".to_owned(),));
/// pump();
/// delivered.wait()?;
/// assert_eq!(*heard.lock().unwrap(), ["Dubbo speaks Rust"]);
/// # let _ = heard;
/// # Ok::<(), RpcError>(())
/// ```
pub struct CallbackDispatcher {
    dispatch: Dispatch,
    spawner: Arc<dyn Spawner>,
    oneway: crate::serve::OnewayLimit,
}

impl CallbackDispatcher {
    /// Runs callback handlers per `dispatch`, async ones on `spawner`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::consumer::CallbackDispatcher;
    /// use tether_core::provider::Dispatch;
    /// use tether_core::{BoxFuture, Spawner};
    ///
    /// /// Stands for an adapter's executor, which runs async callback handlers.
    /// struct Executor;
    /// impl Spawner for Executor {
    ///     fn spawn(&self, _future: BoxFuture) {}
    /// }
    /// // The request handler of the consumer's connections: callbacks run on the IO loop.
    /// let dispatcher = CallbackDispatcher::new(Dispatch::Direct, Arc::new(Executor));
    /// assert!(format!("{dispatcher:?}").contains("Direct"));
    /// ```
    pub fn new(dispatch: Dispatch, spawner: Arc<dyn Spawner>) -> Self {
        Self {
            dispatch,
            spawner,
            oneway: crate::serve::OnewayLimit::new(
                crate::Config::DEFAULT_MAX_IN_FLIGHT,
                crate::Config::DEFAULT_MAX_INBOUND_BYTES,
            ),
        }
    }
}

impl RequestHandler for CallbackDispatcher {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        serve_callback(conn, request, &self.dispatch, &self.spawner, &self.oneway);
    }
}

impl fmt::Debug for CallbackDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackDispatcher")
            .field("dispatch", &self.dispatch)
            .finish_non_exhaustive()
    }
}
