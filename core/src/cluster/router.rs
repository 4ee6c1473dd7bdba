//! Routers: rules that narrow the providers a call may go to before one is picked (Dubbo's
//! `Router`s), and the tag router gray releases use.

use std::fmt;

use super::{Invoker, Route};

/// Narrows the providers a call may go to (Dubbo's `StateRouter`). A reference runs its
/// routers in order over what its directory lists, before its strategy and load balancer
/// pick ([`ReferenceBuilder::router`](crate::consumer::ReferenceBuilder::router)).
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, Route, Router};
///
/// /// Keeps the providers of one zone, when there are any.
/// #[derive(Debug)]
/// struct SameZone(&'static str);
///
/// impl Router for SameZone {
///     fn route(&self, invokers: &[Invoker], _: &Route<'_>) -> Option<Vec<Invoker>> {
///         let local: Vec<_> =
///             invokers.iter().filter(|i| i.param("zone") == Some(self.0)).cloned().collect();
///         (!local.is_empty() && local.len() < invokers.len()).then_some(local)
///     }
/// }
///
/// let at = |address: &str, zone: &str| {
///     Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN))).with_params([("zone", zone)])
/// };
/// let listed = [at("10.0.0.7:20880", "east"), at("10.1.0.7:20880", "west")];
/// let routed = SameZone("west").route(&listed, &Route::new("demo.Greeter", "greet")).unwrap();
/// assert_eq!(routed[0].address(), "10.1.0.7:20880");
/// ```
pub trait Router: Send + Sync + fmt::Debug + 'static {
    /// The providers among `invokers` that the call `route` may go to, or `None` to keep
    /// them all (the common case, which costs no allocation).
    fn route(&self, invokers: &[Invoker], route: &Route<'_>) -> Option<Vec<Invoker>>;
}

/// The request attachment and provider URL parameter naming a tag (Dubbo's `dubbo.tag`).
pub const TAG_KEY: &str = "dubbo.tag";
/// The request attachment that forbids falling back to untagged providers
/// (Dubbo's `dubbo.force.tag`).
pub const FORCE_TAG_KEY: &str = "dubbo.force.tag";

/// Dubbo's tag router with static tags (the one every Java consumer runs): providers carry a
/// `dubbo.tag` URL parameter; a call tagged with the `dubbo.tag` attachment (or the
/// reference's own tag) goes to the providers with that tag, or, when none has it and
/// `dubbo.force.tag` is not `true`, to the untagged ones; an untagged call goes to untagged
/// providers only. Dynamic tag rules from a configuration center are not read.
///
/// Every reference runs one (with no tag of its own) unless its routers are replaced.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Invoker, Route, Router, TagRouter};
/// use tether_core::context::CallContext;
///
/// let at = |address: &str| Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN)));
/// let listed = [at("10.0.0.7:20880"), at("10.0.0.8:20880").with_params([("dubbo.tag", "gray")])];
/// let router = TagRouter::default();
///
/// let gray = CallContext::new().attachment("dubbo.tag", "gray");
/// let routed = router.route(&listed, &Route::new("demo.Greeter", "greet").with_context(&gray));
/// assert_eq!(routed.unwrap()[0].address(), "10.0.0.8:20880");
///
/// // Untagged calls stay off tagged providers.
/// let plain = router.route(&listed, &Route::new("demo.Greeter", "greet")).unwrap();
/// assert_eq!(plain.len(), 1);
/// assert_eq!(plain[0].address(), "10.0.0.7:20880");
/// ```
#[derive(Clone, Debug, Default)]
pub struct TagRouter {
    /// The tag of calls without a `dubbo.tag` attachment (the consumer's `dubbo.tag`).
    tag: Option<String>,
}

impl TagRouter {
    /// A tag router whose calls carry `tag` unless their context names another.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Invoker, Route, Router, TagRouter};
    ///
    /// let at = |a: &str| Invoker::new(a, Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let listed = [at("10.0.0.7:20880"), at("10.0.0.8:20880").with_params([("dubbo.tag", "gray")])];
    /// let routed = TagRouter::with_tag("gray").route(&listed, &Route::new("demo.Greeter", "greet"));
    /// assert_eq!(routed.unwrap()[0].address(), "10.0.0.8:20880");
    /// ```
    pub fn with_tag(tag: impl Into<String>) -> Self {
        Self {
            tag: Some(tag.into()).filter(|t: &String| !t.is_empty()),
        }
    }
}

/// `invokers` matching `keep`, or `None` when all of them do.
fn only(invokers: &[Invoker], keep: impl Fn(&Invoker) -> bool) -> Option<Vec<Invoker>> {
    if invokers.iter().all(&keep) {
        return None;
    }
    Some(invokers.iter().filter(|i| keep(i)).cloned().collect())
}

fn untagged(invoker: &Invoker) -> bool {
    invoker.param(TAG_KEY).is_none_or(str::is_empty)
}

impl Router for TagRouter {
    fn route(&self, invokers: &[Invoker], route: &Route<'_>) -> Option<Vec<Invoker>> {
        let attachments = route.context.map(|ctx| ctx.attachments());
        let tag = attachments
            .and_then(|a| a.get_str(TAG_KEY))
            .filter(|t| !t.is_empty())
            .or(self.tag.as_deref());
        let Some(tag) = tag else {
            return only(invokers, untagged);
        };
        let tagged = only(invokers, |i| i.param(TAG_KEY) == Some(tag));
        let matched = tagged.as_ref().map_or(invokers.len(), Vec::len);
        if matched > 0 {
            return tagged;
        }
        let force = attachments
            .and_then(|a| a.get_str(FORCE_TAG_KEY))
            .is_some_and(|f| f.eq_ignore_ascii_case("true"));
        if force {
            return Some(Vec::new());
        }
        only(invokers, untagged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Channels;
    use crate::context::CallContext;
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    fn at(address: &str, tag: Option<&str>) -> Invoker {
        let invoker = Invoker::new(address, Arc::new(Channels::new(NonZeroUsize::MIN)));
        match tag {
            Some(tag) => invoker.with_params([(TAG_KEY, tag)]),
            None => invoker,
        }
    }

    fn addresses(routed: Option<Vec<Invoker>>, listed: &[Invoker]) -> Vec<String> {
        routed
            .unwrap_or_else(|| listed.to_vec())
            .iter()
            .map(|i| i.address().to_owned())
            .collect()
    }

    #[test]
    fn tagged_calls_prefer_their_tag_then_fall_back_to_untagged_unless_forced() {
        let listed = [at("a", None), at("b", Some("gray")), at("c", Some("blue"))];
        let router = TagRouter::default();
        let call = |ctx: &CallContext| {
            let route = Route::new("s", "m").with_context(ctx);
            addresses(router.route(&listed, &route), &listed)
        };
        let gray = CallContext::new().attachment(TAG_KEY, "gray");
        assert_eq!(call(&gray), ["b"]);
        let red = CallContext::new().attachment(TAG_KEY, "red");
        assert_eq!(call(&red), ["a"]);
        let forced = CallContext::new()
            .attachment(TAG_KEY, "red")
            .attachment(FORCE_TAG_KEY, "true");
        assert_eq!(call(&forced), Vec::<String>::new());
        assert_eq!(call(&CallContext::new()), ["a"]);
        // The reference's own tag applies to calls that name none.
        let router = TagRouter::with_tag("blue");
        let routed = router.route(&listed, &Route::new("s", "m"));
        assert_eq!(addresses(routed, &listed), ["c"]);
    }

    #[test]
    fn nothing_is_allocated_when_everything_passes() {
        let listed = [at("a", None), at("b", None)];
        assert!(
            TagRouter::default()
                .route(&listed, &Route::new("s", "m"))
                .is_none()
        );
        let gray = [at("a", Some("gray")), at("b", Some("gray"))];
        let ctx = CallContext::new().attachment(TAG_KEY, "gray");
        let route = Route::new("s", "m").with_context(&ctx);
        assert!(TagRouter::default().route(&gray, &route).is_none());
    }
}
