//! [`MigrationRegistry`]: interface-level and application-level providers behind one
//! registry, chosen between as a Dubbo 3 consumer does.

use std::fmt;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::subscriptions::Subscriptions;
use crate::call::{Completer, Completion, Inline, pair};
use crate::registry::{self, NotifyListener, Registry, RegistryResult, SubscriptionId};
use crate::url::Url;

/// Which providers a [`MigrationRegistry`] hands out (Dubbo's `MigrationStep`; set per
/// consumer with `dubbo.application.migration.step`).
///
/// ```
/// use tether_core::application::MigrationStep;
///
/// assert_eq!(MigrationStep::default(), MigrationStep::ApplicationFirst);
/// assert_eq!(MigrationStep::from_name("FORCE_INTERFACE"), Some(MigrationStep::ForceInterface));
/// assert_eq!(MigrationStep::ForceApplication.name(), "FORCE_APPLICATION");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum MigrationStep {
    /// Interface-level providers only (Dubbo 2's model; the application-level registry is
    /// not subscribed).
    ForceInterface,
    /// Application-level providers when there are any (and enough: see
    /// [`MigrationRegistry::threshold`]), else interface-level ones: Dubbo 3's default.
    #[default]
    ApplicationFirst,
    /// Application-level providers only.
    ForceApplication,
}

impl MigrationStep {
    /// The step of Dubbo's name (`FORCE_INTERFACE`, `APPLICATION_FIRST`,
    /// `FORCE_APPLICATION`, any case), `None` for another name.
    ///
    /// ```
    /// # use tether_core::application::MigrationStep;
    /// assert_eq!(MigrationStep::from_name("application_first"), Some(MigrationStep::ApplicationFirst));
    /// assert_eq!(MigrationStep::from_name("sometimes"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::ForceInterface,
            Self::ApplicationFirst,
            Self::ForceApplication,
        ]
        .into_iter()
        .find(|step| step.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Dubbo's name of the step.
    ///
    /// ```
    /// # use tether_core::application::MigrationStep;
    /// assert_eq!(MigrationStep::ApplicationFirst.name(), "APPLICATION_FIRST");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::ForceInterface => "FORCE_INTERFACE",
            Self::ApplicationFirst => "APPLICATION_FIRST",
            Self::ForceApplication => "FORCE_APPLICATION",
        }
    }
}

/// An interface-level and an application-level [`Registry`] behind one: what a Dubbo 3
/// consumer subscribes to by default (`docs/estate.md` §1.6). Registering goes to the
/// interface-level registry. A subscription follows both and notifies one of their
/// provider lists, by [`MigrationStep`]:
///
/// - `APPLICATION_FIRST` (default): the application-level providers if there is at least
///   one and their count is at least [`threshold`](Self::threshold) times the
///   interface-level count (Dubbo's `DefaultMigrationAddressComparator`; the default
///   threshold 0.0 means "any"), else the interface-level providers. The choice is made
///   again at every change of either list.
/// - `FORCE_INTERFACE` / `FORCE_APPLICATION`: that level's providers only.
///
/// Categories other than `providers` (configurators, routers) always come from the
/// interface-level registry. Until both registries have notified, a non-empty list is
/// notified as soon as it arrives by the rule above, and an empty one waits for the other.
///
/// Unlike Java's `MigrationInvoker`, the choice follows the *listed* providers, not
/// whether their connections are up at call time.
///
/// ```
/// use std::sync::Arc;
/// use tether_core::application::MigrationRegistry;
/// use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
///
/// let old = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(1)?;
/// let new = ProviderSpec::new("demo.Greeter", "10.0.0.8", 20880).to_url(1)?;
/// let interface_level = Arc::new(StaticRegistry::new([old]));
/// // Another registry standing for the application level (an `ApplicationRegistry`).
/// let application_level = Arc::new(StaticRegistry::new([new]));
/// let registry = MigrationRegistry::new(interface_level, application_level);
///
/// let consumer = ConsumerSpec::new("demo.Greeter", "10.0.0.1").to_url(1)?;
/// let found = registry.lookup(&consumer).wait()?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].address(), "10.0.0.8:20880");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MigrationRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    interface: Arc<dyn Registry>,
    application: Arc<dyn Registry>,
    step: MigrationStep,
    threshold: f64,
    subscriptions: Subscriptions<State, Handles>,
}

impl MigrationRegistry {
    /// The two registries behind one, `APPLICATION_FIRST` with threshold 0.0.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::application::{MigrationRegistry, MigrationStep};
    /// # use tether_core::registry::StaticRegistry;
    /// let registry = MigrationRegistry::new(
    ///     Arc::new(StaticRegistry::new([])),
    ///     Arc::new(StaticRegistry::new([])),
    /// );
    /// assert_eq!(registry.migration_step(), MigrationStep::ApplicationFirst);
    /// ```
    pub fn new(interface: Arc<dyn Registry>, application: Arc<dyn Registry>) -> Self {
        Self {
            inner: Arc::new(Inner {
                interface,
                application,
                step: MigrationStep::default(),
                threshold: 0.0,
                subscriptions: Subscriptions::new(),
            }),
        }
    }

    /// Sets the step (before subscribing).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::application::{MigrationRegistry, MigrationStep};
    /// # use tether_core::registry::StaticRegistry;
    /// let registry = MigrationRegistry::new(
    ///     Arc::new(StaticRegistry::new([])),
    ///     Arc::new(StaticRegistry::new([])),
    /// )
    /// .step(MigrationStep::ForceInterface);
    /// assert_eq!(registry.migration_step(), MigrationStep::ForceInterface);
    /// ```
    #[must_use]
    pub fn step(mut self, step: MigrationStep) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.step = step;
        }
        self
    }

    /// Sets the threshold of `APPLICATION_FIRST` (before subscribing): the application-level
    /// providers are chosen only if their count is at least `threshold` times the
    /// interface-level count (Dubbo's `dubbo.application.migration.threshold`, default 0.0).
    /// A threshold above 1.0 keeps the interface level until the application level lists
    /// more providers.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::application::MigrationRegistry;
    /// # use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
    /// let a = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(1)?;
    /// let b = ProviderSpec::new("demo.Greeter", "10.0.0.8", 20880).to_url(1)?;
    /// let c = ProviderSpec::new("demo.Greeter", "10.0.0.9", 20880).to_url(1)?;
    /// let registry = MigrationRegistry::new(
    ///     Arc::new(StaticRegistry::new([a, b])),
    ///     Arc::new(StaticRegistry::new([c])),
    /// )
    /// .threshold(1.0);
    /// let consumer = ConsumerSpec::new("demo.Greeter", "10.0.0.1").to_url(1)?;
    /// // One application-level provider against two at interface level: 0.5 < 1.0.
    /// assert_eq!(registry.lookup(&consumer).wait()?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn threshold(mut self, threshold: f64) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.threshold = threshold;
        }
        self
    }

    /// The step it follows.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::application::{MigrationRegistry, MigrationStep};
    /// # use tether_core::registry::StaticRegistry;
    /// # let registry = MigrationRegistry::new(Arc::new(StaticRegistry::new([])), Arc::new(StaticRegistry::new([])));
    /// assert_eq!(registry.migration_step().name(), "APPLICATION_FIRST");
    /// ```
    pub fn migration_step(&self) -> MigrationStep {
        self.inner.step
    }
}

impl fmt::Debug for MigrationRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationRegistry")
            .field("interface", &self.inner.interface.name())
            .field("application", &self.inner.application.name())
            .field("step", &self.inner.step)
            .field("threshold", &self.inner.threshold)
            .finish_non_exhaustive()
    }
}

/// What one level has notified: URLs by category, in the order categories first came.
#[derive(Default, Clone)]
struct Lists(Vec<(String, Vec<Url>)>);

impl Lists {
    /// Takes in a notification: each category it names replaces that category's list.
    fn update(&mut self, urls: &[Url]) {
        let mut heard: Vec<(String, Vec<Url>)> = Vec::new();
        for url in urls {
            let category = url.category();
            match heard.iter_mut().find(|(c, _)| c == category) {
                Some((_, list)) => list.push(url.clone()),
                None => heard.push((category.to_owned(), vec![url.clone()])),
            }
        }
        for (category, list) in heard {
            match self.0.iter_mut().find(|(c, _)| *c == category) {
                Some((_, slot)) => *slot = list,
                None => self.0.push((category, list)),
            }
        }
    }

    /// Its providers, without `empty://` placeholders.
    fn providers(&self) -> Vec<Url> {
        (self.0.iter())
            .filter(|(c, _)| c == "providers")
            .flat_map(|(_, list)| list)
            .filter(|url| url.protocol() != registry::EMPTY_PROTOCOL)
            .cloned()
            .collect()
    }
}

/// The interface-level and application-level subscriptions, once made.
type Handles = (Option<SubscriptionId>, Option<SubscriptionId>);

type Subscription = super::subscriptions::Subscription<State, Handles>;

#[derive(Default)]
struct State {
    interface: Option<Lists>,
    application: Option<Lists>,
    notified: Option<Vec<Url>>,
}

/// Which level a notification came from.
#[derive(Clone, Copy)]
enum Level {
    Interface,
    Application,
}

struct LevelListener {
    subscription: Weak<Subscription>,
    registry: Weak<Inner>,
    level: Level,
}

impl NotifyListener for LevelListener {
    fn notify(&self, urls: &[Url]) {
        let (Some(subscription), Some(inner)) =
            (self.subscription.upgrade(), self.registry.upgrade())
        else {
            return;
        };
        let _order = subscription.notifying.lock();
        if !subscription.is_active() {
            return;
        }
        let out = {
            let mut state = subscription.state.lock();
            let lists = match self.level {
                Level::Interface => &mut state.interface,
                Level::Application => &mut state.application,
            };
            lists.get_or_insert_with(Lists::default).update(urls);
            let Some(out) = inner.choose(&subscription.consumer, &state) else {
                return;
            };
            if state.notified.as_ref() == Some(&out) {
                return;
            }
            state.notified = Some(out.clone());
            out
        };
        subscription.listener.notify(&out);
    }
}

impl Inner {
    /// What to notify, given what each level has notified; `None` to wait.
    fn choose(&self, consumer: &Url, state: &State) -> Option<Vec<Url>> {
        let interface = state.interface.as_ref().map(Lists::providers);
        let application = state.application.as_ref().map(Lists::providers);
        let providers = match self.step {
            MigrationStep::ForceInterface => interface?,
            MigrationStep::ForceApplication => application?,
            MigrationStep::ApplicationFirst => match (application, interface) {
                (Some(app), iface) if !app.is_empty() => {
                    let iface = iface.unwrap_or_default();
                    let enough =
                        iface.is_empty() || app.len() as f64 / iface.len() as f64 >= self.threshold;
                    if enough { app } else { iface }
                }
                (Some(_), Some(iface)) => iface,
                (None, Some(iface)) if !iface.is_empty() => iface,
                _ => return None,
            },
        };
        let mut out = registry::notification(consumer, [("providers", providers.iter())]);
        if let Some(lists) = &state.interface {
            for (category, urls) in &lists.0 {
                if category != "providers" {
                    out.extend(urls.iter().cloned());
                }
            }
        }
        Some(out)
    }
}

impl Registry for MigrationRegistry {
    fn register(&self, url: &Url) -> Completion<RegistryResult<()>> {
        self.inner.interface.register(url)
    }

    fn unregister(&self, url: &Url) -> Completion<RegistryResult<()>> {
        self.inner.interface.unregister(url)
    }

    fn subscribe(
        &self,
        consumer: &Url,
        listener: Arc<dyn NotifyListener>,
    ) -> Completion<RegistryResult<SubscriptionId>> {
        let inner = &self.inner;
        let (id, subscription) = inner.subscriptions.add(consumer, listener);
        let listener = |level| {
            Arc::new(LevelListener {
                subscription: Arc::downgrade(&subscription),
                registry: Arc::downgrade(inner),
                level,
            })
        };
        // The interface level carries configurators even when its providers are not used.
        let interface = inner
            .interface
            .subscribe(consumer, listener(Level::Interface));
        let application = match inner.step {
            MigrationStep::ForceInterface => registry::ready(Ok(None)),
            _ => (inner
                .application
                .subscribe(consumer, listener(Level::Application)))
            .map(|r| r.map(Some), registry::closed),
        };
        let registry = inner.clone();
        join(interface, application).map(
            move |(interface, application)| match (interface, application) {
                (Ok(i), Ok(a)) => {
                    *subscription.handles.lock() = (Some(i), a);
                    if !subscription.is_active() {
                        // Unsubscribed while the levels were being subscribed: it found no
                        // handles to end, so end them here.
                        let (i, a) = std::mem::take(&mut *subscription.handles.lock());
                        i.into_iter()
                            .for_each(|i| drop(registry.interface.unsubscribe(i)));
                        a.into_iter()
                            .for_each(|a| drop(registry.application.unsubscribe(a)));
                    }
                    Ok(id)
                }
                (interface, application) => {
                    registry.subscriptions.remove(id);
                    let mut error = None;
                    match interface {
                        Ok(i) => drop(registry.interface.unsubscribe(i)),
                        Err(e) => error = Some(e),
                    }
                    match application {
                        Ok(Some(a)) => drop(registry.application.unsubscribe(a)),
                        Ok(None) => {}
                        Err(e) => error = error.or(Some(e)),
                    }
                    Err(error.unwrap_or(registry::RegistryError::Closed))
                }
            },
            registry::closed,
        )
    }

    fn unsubscribe(&self, id: SubscriptionId) -> Completion<RegistryResult<()>> {
        // A notification under way finishes before `remove` returns.
        let Some(subscription) = self.inner.subscriptions.remove(id) else {
            return registry::ready(Ok(()));
        };
        let (interface, application) = std::mem::take(&mut *subscription.handles.lock());
        let interface = match interface {
            Some(i) => self.inner.interface.unsubscribe(i),
            None => registry::ready(Ok(())),
        };
        let application = match application {
            Some(a) => self.inner.application.unsubscribe(a),
            None => registry::ready(Ok(())),
        };
        join(interface, application).map(|(i, a)| i.and(a), registry::closed)
    }

    fn lookup(&self, consumer: &Url) -> Completion<RegistryResult<Vec<Url>>> {
        let interface = self.inner.interface.lookup(consumer);
        let application = match self.inner.step {
            MigrationStep::ForceInterface => registry::ready(Ok(Vec::new())),
            _ => self.inner.application.lookup(consumer),
        };
        let registry = self.inner.clone();
        let consumer = consumer.clone();
        join(interface, application).map(
            move |(interface, application)| {
                let mut state = State::default();
                let mut lists = Lists::default();
                lists.update(&interface?);
                state.interface = Some(lists);
                if registry.step != MigrationStep::ForceInterface {
                    let mut lists = Lists::default();
                    lists.update(&application?);
                    state.application = Some(lists);
                }
                let chosen = registry.choose(&consumer, &state).unwrap_or_default();
                Ok(chosen
                    .into_iter()
                    .filter(|url| url.protocol() != registry::EMPTY_PROTOCOL)
                    .collect())
            },
            registry::closed,
        )
    }

    fn name(&self) -> String {
        format!(
            "{} of {} and {}",
            self.inner.step.name(),
            self.inner.interface.name(),
            self.inner.application.name()
        )
    }
}

/// Both outcomes, once both completions have them.
fn join<A: Send + 'static, B: Send + 'static>(
    a: Completion<RegistryResult<A>>,
    b: Completion<RegistryResult<B>>,
) -> Completion<(RegistryResult<A>, RegistryResult<B>)> {
    type Slots<A, B> = (
        Option<RegistryResult<A>>,
        Option<RegistryResult<B>>,
        Option<Completer<(RegistryResult<A>, RegistryResult<B>)>>,
    );
    fn finish<A: Send + 'static, B: Send + 'static>(slots: &mut Slots<A, B>) {
        if slots.0.is_some() && slots.1.is_some() {
            if let (Some(a), Some(b), Some(completer)) =
                (slots.0.take(), slots.1.take(), slots.2.take())
            {
                completer.complete((a, b), &Inline);
            }
        }
    }
    let (completer, completion) = pair(|| (registry::closed(), registry::closed()));
    let slots: Arc<Mutex<Slots<A, B>>> = Arc::new(Mutex::new((None, None, Some(completer))));
    let first = slots.clone();
    a.on_complete(move |a| {
        let mut slots = first.lock();
        slots.0 = Some(a);
        finish(&mut slots);
    });
    b.on_complete(move |b| {
        let mut slots = slots.lock();
        slots.1 = Some(b);
        finish(&mut slots);
    });
    completion
}
