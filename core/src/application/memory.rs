//! [`StaticDiscovery`]: application instances kept in memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::{Mutex, ReentrantMutex};

use super::{InstancesListener, ServiceDiscovery};
use crate::call::Completion;
use crate::metadata::{MetadataInfo, ServiceInstance};
use crate::registry::{self, RegistryResult, SubscriptionId};

/// A [`ServiceDiscovery`] over instances, mappings and metadata held in memory: for tests,
/// and for consumers told their providers' instances by other means. Watches hear changes
/// as they are made, on the thread that makes them.
///
/// ```
/// use std::sync::Arc;
/// use tether_core::application::{ServiceDiscovery, StaticDiscovery};
/// use tether_core::metadata::{MetadataInfo, ServiceInstance};
/// use tether_core::url::Url;
///
/// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter")?;
/// let info = MetadataInfo::from_urls("greeter", [&url]);
/// let discovery = StaticDiscovery::new();
/// let seen = Arc::new(parking_lot::Mutex::new(0));
/// let counter = seen.clone();
/// let listener = move |instances: &[ServiceInstance]| *counter.lock() = instances.len();
/// discovery.watch("demo.Greeter", &[], Arc::new(listener)).wait()?;
///
/// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
/// discovery.add(instance.clone());
/// assert_eq!(*seen.lock(), 1);
/// discovery.remove(&instance);
/// assert_eq!(*seen.lock(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct StaticDiscovery {
    state: Mutex<State>,
    /// Serializes notifications (re-entrant: a listener may change the discovery).
    notifying: ReentrantMutex<()>,
}

#[derive(Default)]
struct State {
    /// By application, then instance id.
    instances: HashMap<String, Vec<ServiceInstance>>,
    /// Applications by interface.
    mapping: HashMap<String, Vec<String>>,
    /// Metadata JSON by application and revision.
    metadata: HashMap<(String, String), String>,
    watches: Vec<Watch>,
    next_id: u64,
}

struct Watch {
    id: SubscriptionId,
    interface: String,
    apps: Vec<String>,
    listener: Arc<dyn InstancesListener>,
}

impl StaticDiscovery {
    /// An empty one.
    ///
    /// ```
    /// # use tether_core::application::StaticDiscovery;
    /// let discovery = StaticDiscovery::new();
    /// assert!(discovery.applications("demo.Greeter").is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `instance` (replacing the one of its application with the same id) and maps
    /// each of its [`interfaces`](ServiceInstance::interfaces) to its application, as a
    /// provider registering at application level does.
    ///
    /// ```
    /// # use tether_core::application::StaticDiscovery;
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// let info = MetadataInfo::from_urls("greeter", [&url]);
    /// let discovery = StaticDiscovery::new();
    /// discovery.add(ServiceInstance::new(&info, "10.0.0.7", 20880, 1));
    /// assert_eq!(discovery.applications("demo.Greeter"), ["greeter"]);
    /// ```
    pub fn add(&self, instance: ServiceInstance) {
        let _order = self.notifying.lock();
        {
            let mut state = self.state.lock();
            for interface in &instance.interfaces {
                let apps = state.mapping.entry(interface.clone()).or_default();
                if !apps.contains(&instance.app) {
                    apps.push(instance.app.clone());
                }
            }
            let list = state.instances.entry(instance.app.clone()).or_default();
            match list.iter_mut().find(|i| i.id() == instance.id()) {
                Some(slot) => *slot = instance,
                None => list.push(instance),
            }
        }
        self.notify_all();
    }

    /// Removes the instance of `instance`'s application with its id (the mapping stays, as
    /// providers leave it).
    ///
    /// ```
    /// # use tether_core::application::StaticDiscovery;
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let discovery = StaticDiscovery::new();
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
    /// discovery.add(instance.clone());
    /// discovery.remove(&instance);
    /// ```
    pub fn remove(&self, instance: &ServiceInstance) {
        let _order = self.notifying.lock();
        {
            let mut state = self.state.lock();
            if let Some(list) = state.instances.get_mut(&instance.app) {
                list.retain(|i| i.id() != instance.id());
            }
        }
        self.notify_all();
    }

    /// Maps `interface` to `app` (Dubbo's service-name mapping), without an instance.
    ///
    /// ```
    /// # use tether_core::application::StaticDiscovery;
    /// let discovery = StaticDiscovery::new();
    /// discovery.map("demo.Greeter", "greeter");
    /// assert_eq!(discovery.applications("demo.Greeter"), ["greeter"]);
    /// ```
    pub fn map(&self, interface: &str, app: &str) {
        let _order = self.notifying.lock();
        {
            let mut state = self.state.lock();
            let apps = state.mapping.entry(interface.to_owned()).or_default();
            if !apps.iter().any(|a| a == app) {
                apps.push(app.to_owned());
            }
        }
        self.notify_all();
    }

    /// The applications `interface` is mapped to.
    ///
    /// ```
    /// # use tether_core::application::StaticDiscovery;
    /// assert!(StaticDiscovery::new().applications("demo.Greeter").is_empty());
    /// ```
    pub fn applications(&self, interface: &str) -> Vec<String> {
        let state = self.state.lock();
        state.mapping.get(interface).cloned().unwrap_or_default()
    }

    /// Stores `info` as remote metadata ([`MetadataInfo::to_json`]) under its application
    /// and revision, for instances of `storage-type=remote`.
    ///
    /// ```
    /// # use tether_core::application::{ServiceDiscovery, StaticDiscovery};
    /// # use tether_core::metadata::MetadataInfo;
    /// let info = MetadataInfo::new("greeter", []);
    /// let discovery = StaticDiscovery::new();
    /// discovery.store_metadata(&info);
    /// let stored = discovery.metadata("greeter", "0").wait().unwrap();
    /// assert_eq!(stored, Some(info.to_json()));
    /// ```
    pub fn store_metadata(&self, info: &MetadataInfo) {
        let key = (
            info.app.clone().unwrap_or_default(),
            info.revision
                .clone()
                .unwrap_or_else(|| info.compute_revision()),
        );
        self.state.lock().metadata.insert(key, info.to_json());
    }

    /// Tells every watch its instances.
    fn notify_all(&self) {
        let _order = self.notifying.lock();
        let calls: Vec<(Arc<dyn InstancesListener>, Vec<ServiceInstance>)> = {
            let state = self.state.lock();
            (state.watches.iter())
                .map(|watch| (watch.listener.clone(), state.instances_of(watch)))
                .collect()
        };
        for (listener, instances) in calls {
            listener.changed(&instances);
        }
    }
}

impl State {
    fn instances_of(&self, watch: &Watch) -> Vec<ServiceInstance> {
        let mapped;
        let apps = if watch.apps.is_empty() {
            mapped = self
                .mapping
                .get(&watch.interface)
                .cloned()
                .unwrap_or_default();
            &mapped
        } else {
            &watch.apps
        };
        (apps.iter())
            .filter_map(|app| self.instances.get(app))
            .flatten()
            .cloned()
            .collect()
    }
}

impl ServiceDiscovery for StaticDiscovery {
    fn watch(
        &self,
        interface: &str,
        apps: &[String],
        listener: Arc<dyn InstancesListener>,
    ) -> Completion<RegistryResult<SubscriptionId>> {
        let _order = self.notifying.lock();
        let (id, instances) = {
            let mut state = self.state.lock();
            let id = SubscriptionId(state.next_id);
            state.next_id += 1;
            let watch = Watch {
                id,
                interface: interface.to_owned(),
                apps: apps.to_vec(),
                listener: listener.clone(),
            };
            let instances = state.instances_of(&watch);
            state.watches.push(watch);
            (id, instances)
        };
        listener.changed(&instances);
        registry::ready(Ok(id))
    }

    fn unwatch(&self, id: SubscriptionId) -> Completion<RegistryResult<()>> {
        let _order = self.notifying.lock();
        self.state.lock().watches.retain(|w| w.id != id);
        registry::ready(Ok(()))
    }

    fn metadata(&self, app: &str, revision: &str) -> Completion<RegistryResult<Option<String>>> {
        let key = (app.to_owned(), revision.to_owned());
        registry::ready(Ok(self.state.lock().metadata.get(&key).cloned()))
    }

    fn name(&self) -> String {
        "static discovery".to_owned()
    }
}

impl fmt::Debug for StaticDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("StaticDiscovery")
            .field("applications", &state.instances.len())
            .field("watches", &state.watches.len())
            .finish_non_exhaustive()
    }
}
