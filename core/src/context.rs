//! What travels with one call besides its arguments and its value: attachments both ways,
//! the timeout, and per-call state of filters (Dubbo's `RpcContext`, `docs/protocol.md` §2.3,
//! §3.1).
//!
//! - A consumer sets a call's own attachments and timeout in a [`CallContext`] and passes
//!   it to [`Method::call_with`](crate::consumer::Method::call_with); the answer comes back as a
//!   [`Reply`], the value with the attachments the provider sent along.
//! - A provider's handler reads the request's attachments from its
//!   [`provider::Context`](crate::provider::Context) and may answer a [`Reply`] to send
//!   attachments back (Java reads them from `RpcContext.getServerContext()`).
//! - Filters on either side ([`consumer::Filter`](crate::consumer::Filter),
//!   [`provider::Filter`](crate::provider::Filter)) see every call, may change its
//!   attachments, and keep their own per-call state in the call's [`Extensions`].
//!
//! Response attachments need a peer speaking Dubbo 2.0.2 or later (Java 2.7+, dubbo-go):
//! older peers have no place for them in the response body, and they are dropped.

use std::any::{Any, TypeId};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::hessian2::Value;
use crate::message::Attachments;

/// A consumer's options for one call: attachments sent with this call only (on top of the
/// reference's), a timeout in place of the method's, and filters' per-call state.
///
/// ```
/// use std::time::Duration;
/// use tether_core::context::CallContext;
///
/// let ctx = CallContext::new()
///     .attachment("traceId", "4bf92f3577b34da6")
///     .timeout(Duration::from_millis(250));
/// assert_eq!(ctx.attachments().get_str("traceId"), Some("4bf92f3577b34da6"));
/// assert_eq!(ctx.timeout_override(), Some(Duration::from_millis(250)));
/// ```
#[derive(Default, Debug)]
pub struct CallContext {
    attachments: Attachments,
    timeout: Option<Duration>,
    extensions: Extensions,
}

impl CallContext {
    /// No attachments of its own, the method's timeout.
    ///
    /// ```
    /// use tether_core::context::CallContext;
    ///
    /// let ctx = CallContext::new();
    /// assert!(ctx.attachments().is_empty());
    /// assert_eq!(ctx.timeout_override(), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an attachment sent with this call; it replaces a reference attachment of the
    /// same key.
    ///
    /// ```
    /// use tether_core::context::CallContext;
    ///
    /// let ctx = CallContext::new().attachment("traceId", "4bf92f3577b34da6");
    /// assert_eq!(ctx.attachments().get_str("traceId"), Some("4bf92f3577b34da6"));
    /// ```
    pub fn attachment(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.attachments.insert(key, value);
        self
    }

    /// This call's timeout, in place of the method's (and sent to the provider as its
    /// `timeout` attachment, as Java does).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::context::CallContext;
    ///
    /// let ctx = CallContext::new().timeout(Duration::from_millis(250));
    /// assert_eq!(ctx.timeout_override(), Some(Duration::from_millis(250)));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The attachments of this call (not those of the reference).
    ///
    /// ```
    /// use tether_core::context::CallContext;
    ///
    /// let ctx = CallContext::new().attachment("tenant", "acme").attachment("region", "eu");
    /// assert_eq!(ctx.attachments().len(), 2);
    /// assert_eq!(ctx.attachments().get_str("region"), Some("eu"));
    /// ```
    pub fn attachments(&self) -> &Attachments {
        &self.attachments
    }

    /// The attachments of this call, to change (a filter adding a trace header, say).
    ///
    /// ```
    /// use tether_core::context::CallContext;
    ///
    /// let mut ctx = CallContext::new();
    /// ctx.attachments_mut().insert("traceId", "4bf92f3577b34da6");
    /// assert_eq!(ctx.attachments().get_str("traceId"), Some("4bf92f3577b34da6"));
    /// ```
    pub fn attachments_mut(&mut self) -> &mut Attachments {
        &mut self.attachments
    }

    /// The timeout set for this call, if any.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::context::CallContext;
    ///
    /// // None: the call keeps its method's timeout.
    /// assert_eq!(CallContext::new().timeout_override(), None);
    /// let ctx = CallContext::new().timeout(Duration::from_secs(2));
    /// assert_eq!(ctx.timeout_override(), Some(Duration::from_secs(2)));
    /// ```
    pub fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    /// Sets or clears this call's timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::context::CallContext;
    ///
    /// let mut ctx = CallContext::new();
    /// ctx.set_timeout(Some(Duration::from_millis(500)));
    /// assert_eq!(ctx.timeout_override(), Some(Duration::from_millis(500)));
    /// ctx.set_timeout(None);
    /// assert_eq!(ctx.timeout_override(), None);
    /// ```
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Filters' per-call state.
    ///
    /// ```
    /// use std::time::Instant;
    /// use tether_core::context::CallContext;
    ///
    /// struct Started(Instant);
    /// let mut ctx = CallContext::new();
    /// assert!(ctx.extensions().is_empty());
    /// ctx.extensions_mut().insert(Started(Instant::now()));
    /// assert!(ctx.extensions().get::<Started>().is_some());
    /// ```
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Filters' per-call state, to change.
    ///
    /// ```
    /// use tether_core::context::CallContext;
    ///
    /// /// A filter's count of attempts for one call.
    /// struct Attempts(u32);
    /// let mut ctx = CallContext::new();
    /// ctx.extensions_mut().insert(Attempts(1));
    /// if let Some(attempts) = ctx.extensions_mut().get_mut::<Attempts>() {
    ///     attempts.0 += 1;
    /// }
    /// assert_eq!(ctx.extensions().get::<Attempts>().map(|a| a.0), Some(2));
    /// ```
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// Whether the call needs nothing beyond what its method sends anyway.
    pub(crate) fn is_plain(&self) -> bool {
        self.attachments.is_empty() && self.timeout.is_none()
    }
}

/// A value together with the attachments sent along with it: what
/// [`Method::call_with`](crate::consumer::Method::call_with) returns, and what a provider's handler
/// may return instead of a bare value to send attachments back.
///
/// ```
/// use tether_core::context::Reply;
///
/// let reply = Reply::new("Hello").attachment("served-by", "rust-1");
/// assert_eq!(reply.attachments.get_str("served-by"), Some("rust-1"));
/// assert_eq!(reply.into_value(), "Hello");
/// ```
#[derive(Clone, PartialEq, Debug)]
pub struct Reply<T> {
    /// The value.
    pub value: T,
    /// The attachments.
    pub attachments: Attachments,
}

impl<T> Reply<T> {
    /// `value` with no attachments.
    ///
    /// ```
    /// use tether_core::context::Reply;
    ///
    /// let reply = Reply::new(42);
    /// assert_eq!(reply.value, 42);
    /// assert!(reply.attachments.is_empty());
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            value,
            attachments: Attachments::new(),
        }
    }

    /// Adds an attachment.
    ///
    /// ```
    /// use tether_core::context::Reply;
    ///
    /// let reply = Reply::new("done").attachment("served-by", "rust-1").attachment("region", "eu");
    /// assert_eq!(reply.attachments.get_str("served-by"), Some("rust-1"));
    /// assert_eq!(reply.attachments.get_str("region"), Some("eu"));
    /// ```
    pub fn attachment(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.attachments.insert(key, value);
        self
    }

    /// The value, attachments dropped.
    ///
    /// ```
    /// use tether_core::context::Reply;
    ///
    /// let reply = Reply::new(vec![1, 2, 3]).attachment("cached", "true");
    /// assert_eq!(reply.into_value(), [1, 2, 3]);
    /// ```
    pub fn into_value(self) -> T {
        self.value
    }
}

/// What a provider's handler may return: any serializable value, or a [`Reply`] of one to
/// send attachments with it.
///
/// ```
/// use tether_core::context::{IntoReply, Reply};
///
/// // A bare value is sent with no attachments...
/// let plain = "Hello".into_reply();
/// assert_eq!(plain.value, "Hello");
/// assert_eq!(plain.attachments.get_str("served-by"), None);
/// // ...a `Reply` with its own.
/// let tagged = Reply::new("Hello").attachment("served-by", "rust-1").into_reply();
/// assert_eq!(tagged.attachments.get_str("served-by"), Some("rust-1"));
/// ```
pub trait IntoReply: Send + 'static {
    /// The value written.
    type Value: Serialize + Send + 'static;

    /// The value and the attachments to send.
    fn into_reply(self) -> Reply<Self::Value>;
}

impl<T: Serialize + Send + 'static> IntoReply for T {
    type Value = T;

    fn into_reply(self) -> Reply<T> {
        Reply::new(self)
    }
}

impl<T: Serialize + Send + 'static> IntoReply for Reply<T> {
    type Value = T;

    fn into_reply(self) -> Reply<T> {
        self
    }
}

/// Per-call state of filters, one value per type (a start time, a tracing span...).
/// Empty, it allocates nothing.
///
/// ```
/// use std::time::Instant;
/// use tether_core::context::Extensions;
///
/// struct Started(Instant);
/// let mut extensions = Extensions::default();
/// extensions.insert(Started(Instant::now()));
/// assert!(extensions.get::<Started>().is_some());
/// assert!(extensions.remove::<Started>().is_some());
/// assert!(extensions.get::<Started>().is_none());
/// ```
#[derive(Default)]
pub struct Extensions {
    values: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
}

impl Extensions {
    /// Stores `value`, returning the one of its type stored before.
    ///
    /// ```
    /// use tether_core::context::Extensions;
    ///
    /// struct Span(&'static str);
    /// let mut extensions = Extensions::default();
    /// assert!(extensions.insert(Span("first")).is_none());
    /// // A second value of the same type replaces the first, which comes back.
    /// let previous = extensions.insert(Span("second"));
    /// assert_eq!(previous.map(|s| s.0), Some("first"));
    /// ```
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        let previous = self.remove::<T>();
        self.values.push((TypeId::of::<T>(), Box::new(value)));
        previous
    }

    /// The value of type `T`.
    ///
    /// ```
    /// use tether_core::context::Extensions;
    ///
    /// struct Tenant(String);
    /// let mut extensions = Extensions::default();
    /// assert!(extensions.get::<Tenant>().is_none());
    /// extensions.insert(Tenant("acme".to_owned()));
    /// assert_eq!(extensions.get::<Tenant>().map(|t| t.0.as_str()), Some("acme"));
    /// ```
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, value)| value.downcast_ref())
    }

    /// The value of type `T`, to change.
    ///
    /// ```
    /// use tether_core::context::Extensions;
    ///
    /// struct Retries(u32);
    /// let mut extensions = Extensions::default();
    /// extensions.insert(Retries(0));
    /// if let Some(retries) = extensions.get_mut::<Retries>() {
    ///     retries.0 += 1;
    /// }
    /// assert_eq!(extensions.get::<Retries>().map(|r| r.0), Some(1));
    /// ```
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.values
            .iter_mut()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, value)| value.downcast_mut())
    }

    /// Takes the value of type `T` out.
    ///
    /// ```
    /// use std::time::Instant;
    /// use tether_core::context::Extensions;
    ///
    /// struct Started(Instant);
    /// let mut extensions = Extensions::default();
    /// extensions.insert(Started(Instant::now()));
    /// let started = extensions.remove::<Started>().expect("inserted above");
    /// assert!(started.0.elapsed().as_secs() < 60);
    /// assert!(extensions.get::<Started>().is_none());
    /// ```
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        let i = self
            .values
            .iter()
            .position(|(id, _)| *id == TypeId::of::<T>())?;
        self.values.swap_remove(i).1.downcast().ok().map(|b| *b)
    }

    /// Whether it holds nothing.
    ///
    /// ```
    /// use tether_core::context::Extensions;
    ///
    /// let mut extensions = Extensions::default();
    /// assert!(extensions.is_empty());
    /// extensions.insert(7_u64);
    /// assert!(!extensions.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.values.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_keep_one_value_per_type() {
        let mut e = Extensions::default();
        assert_eq!(e.insert(1u32), None);
        assert_eq!(e.insert("a"), None);
        assert_eq!(e.insert(2u32), Some(1));
        *e.get_mut::<u32>().unwrap() += 1;
        assert_eq!(e.get::<u32>(), Some(&3));
        assert_eq!(e.get::<&str>(), Some(&"a"));
        assert_eq!(e.get::<u64>(), None);
        assert_eq!(e.remove::<u32>(), Some(3));
        assert!(!e.is_empty());
        assert_eq!(e.remove::<&str>(), Some("a"));
        assert!(e.is_empty());
    }

    #[test]
    fn a_bare_value_and_a_reply_both_answer() {
        let bare = "v".to_owned().into_reply();
        assert_eq!(bare, Reply::new("v".to_owned()));
        let with = Reply::new(7).attachment("k", "x").into_reply();
        assert_eq!(with.attachments.get_str("k"), Some("x"));
        assert_eq!(with.value, 7);
    }
}
