//! Application-level discovery over ZooKeeper: [`ServiceDiscovery`] for
//! [`ZookeeperRegistry`], what `tether_core::application::ApplicationRegistry` reads
//! instances and remote metadata through.
//!
//! A watch follows `/<root>/mapping/<interface>` (unless told the applications), and for
//! each application `/services/<app>` and the data of every instance under it. Any change
//! re-reads the lot (re-arming every watch) and tells the listener if the instances
//! differ; a read that fails (connection lost, session expired) is retried every
//! [`ZookeeperConfig::retry`](crate::ZookeeperConfig::retry), the last instances standing
//! meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use tether_core::Completion;
use tether_core::application::{InstancesListener, ServiceDiscovery};
use tether_core::metadata::ServiceInstance;
use tether_core::registry::{self, Registry, RegistryError, RegistryResult, SubscriptionId};
use zookeeper_client::{Client, OneshotWatcher};

use crate::{
    Counted, Inner, SERVICES_ROOT, Skipped, ZookeeperRegistry, mapping_path, spawn,
    to_registry_error,
};

/// One [`ServiceDiscovery::watch`].
pub(crate) struct InstanceWatch {
    interface: String,
    apps: Vec<String>,
    listener: Arc<dyn InstancesListener>,
    active: AtomicBool,
    /// The waker of its loop, woken by [`stop`](Self::stop).
    waker: Mutex<Option<Waker>>,
}

impl InstanceWatch {
    /// Ends it: its loop ends now, dropping its watchers (which removes the watches).
    pub(crate) fn stop(&self) {
        self.active.store(false, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().take() {
            waker.wake();
        }
    }

    fn poll_stopped(&self, cx: &Context<'_>) -> Poll<()> {
        let mut waker = self.waker.lock();
        // Checked under the lock `stop` takes after clearing `active`: no wake-up is lost.
        if !self.active.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

type Changed = Pin<Box<dyn Future<Output = zookeeper_client::WatchedEvent> + Send>>;

impl ServiceDiscovery for ZookeeperRegistry {
    fn watch(
        &self,
        interface: &str,
        apps: &[String],
        listener: Arc<dyn InstancesListener>,
    ) -> Completion<RegistryResult<SubscriptionId>> {
        let watch = Arc::new(InstanceWatch {
            interface: interface.to_owned(),
            apps: apps.to_vec(),
            listener,
            active: AtomicBool::new(true),
            waker: Mutex::new(None),
        });
        self.run(move |inner| {
            Box::pin(async move {
                let id = {
                    let mut state = inner.state.lock();
                    let id = SubscriptionId(state.next_id);
                    state.next_id += 1;
                    state.instance_watches.insert(id, watch.clone());
                    id
                };
                let first = match inner.client() {
                    Ok((client, _)) => read(&inner, &client, &watch).await,
                    Err(e) => Err(e),
                };
                let (watchers, last) = match first {
                    Ok((instances, watchers)) => {
                        watch.listener.changed(&instances);
                        (watchers, Some(instances))
                    }
                    Err(RegistryError::Closed) => {
                        watch.stop();
                        inner.state.lock().instance_watches.remove(&id);
                        return Err(RegistryError::Closed);
                    }
                    // No session yet, or it failed: the loop reads until it succeeds, and
                    // the listener hears the first read that does.
                    Err(_) => (Vec::new(), None),
                };
                spawn(&inner.spawner, follow(inner.clone(), watch, watchers, last));
                Ok(id)
            })
        })
    }

    fn unwatch(&self, id: SubscriptionId) -> Completion<RegistryResult<()>> {
        if let Some(watch) = self.inner.state.lock().instance_watches.remove(&id) {
            watch.stop();
        }
        registry::ready(Ok(()))
    }

    fn metadata(&self, app: &str, revision: &str) -> Completion<RegistryResult<Option<String>>> {
        let root = self.inner.config.root.trim_end_matches('/').to_owned();
        // Java's metadata report writes `/<root>/metadata/<app>/<revision>`; dubbo-go 3.3
        // writes `/<root>/<app>/<revision>` (`docs/registry.md`).
        let paths = [
            format!("{root}/metadata/{app}/{revision}"),
            format!("{root}/{app}/{revision}"),
        ];
        self.run(move |inner| {
            Box::pin(async move {
                let (client, _) = inner.client()?;
                for path in paths {
                    match client.get_data(&path).await {
                        Ok((data, _)) => {
                            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
                        }
                        Err(zookeeper_client::Error::NoNode) => continue,
                        Err(e) => return Err(to_registry_error(&e)),
                    }
                }
                Ok(None)
            })
        })
    }

    fn name(&self) -> String {
        Registry::name(self)
    }
}

/// Re-reads `watch`'s instances whenever a watch fires, until it stops or the registry
/// closes.
async fn follow(
    inner: Arc<Inner>,
    watch: Arc<InstanceWatch>,
    mut watchers: Vec<OneshotWatcher>,
    mut last: Option<Vec<ServiceInstance>>,
) {
    let _counted = Counted::new(&inner.watch_loops);
    loop {
        if last.is_some() {
            let mut changes: Vec<Changed> = watchers
                .drain(..)
                .map(|w| Box::pin(w.changed()) as Changed)
                .collect();
            let stopped = std::future::poll_fn(|cx| {
                if watch.poll_stopped(cx).is_ready() {
                    return Poll::Ready(true);
                }
                for change in &mut changes {
                    if change.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(false);
                    }
                }
                Poll::Pending
            })
            .await;
            // The watches that did not fire are removed with their futures.
            drop(changes);
            if stopped {
                return;
            }
        }
        loop {
            if !watch.active.load(Ordering::SeqCst) {
                return;
            }
            // No client is held while waiting: closing the registry closes the session.
            let outcome = match inner.client() {
                Ok((client, _)) => read(&inner, &client, &watch).await,
                Err(RegistryError::Closed) => return,
                Err(e) => Err(e),
            };
            match outcome {
                Ok((instances, next)) => {
                    if last.as_ref() != Some(&instances) && watch.active.load(Ordering::SeqCst) {
                        watch.listener.changed(&instances);
                    }
                    last = Some(instances);
                    watchers = next;
                    break;
                }
                // Connection loss, an expired session: the last instances stand; try again.
                Err(_) => {
                    async_io::Timer::after(inner.config.retry).await;
                }
            }
        }
    }
}

/// Reads `watch`'s applications and their instances, watching each node read (and each
/// node missing, for its creation).
async fn read(
    inner: &Inner,
    client: &Client,
    watch: &InstanceWatch,
) -> RegistryResult<(Vec<ServiceInstance>, Vec<OneshotWatcher>)> {
    let error = |e: zookeeper_client::Error| to_registry_error(&e);
    let mut watchers = Vec::new();
    let apps = if watch.apps.is_empty() {
        let path = mapping_path(&inner.config.root, &watch.interface);
        let read = || async {
            let (data, _, watcher) = client.get_and_watch_data(&path).await?;
            Ok((data, watcher))
        };
        match read_or_watch_creation(client, &path, &mut watchers, read).await? {
            Some(data) => crate::parse_applications(&data),
            None => Vec::new(),
        }
    } else {
        watch.apps.clone()
    };
    let mut instances = Vec::new();
    for app in apps {
        let parent = format!("{SERVICES_ROOT}/{app}");
        let read = || async {
            let (children, _, watcher) = client.get_and_watch_children(&parent).await?;
            Ok((children, watcher))
        };
        let mut children =
            match read_or_watch_creation(client, &parent, &mut watchers, read).await? {
                Some(children) => children,
                None => continue,
            };
        children.sort_unstable();
        for child in children {
            match client
                .get_and_watch_data(&format!("{parent}/{child}"))
                .await
            {
                Ok((data, _, watcher)) => {
                    watchers.push(watcher);
                    if let Some(instance) = inner.parse_instance(&parent, child, &data) {
                        instances.push(instance);
                    }
                }
                // Gone since the listing: the children watch fires.
                Err(zookeeper_client::Error::NoNode) => continue,
                Err(e) => return Err(error(e)),
            }
        }
    }
    Ok((instances, watchers))
}

impl Inner {
    /// The instance an instance node's data describes; `None` (counted in
    /// [`Stats::skipped`](crate::Stats::skipped), handed to the skip hook) if it is not one.
    pub(crate) fn parse_instance(
        &self,
        parent: &str,
        child: String,
        data: &[u8],
    ) -> Option<ServiceInstance> {
        match ServiceInstance::from_json(&String::from_utf8_lossy(data)) {
            Ok(instance) => Some(instance),
            Err(e) => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                if let Some(hook) = &self.config.on_skip {
                    hook(&Skipped {
                        parent: parent.to_owned(),
                        child,
                        reason: e.to_string(),
                    });
                }
                None
            }
        }
    }
}

/// How often a read retries a node that appeared between finding it missing and setting a
/// watch for its creation, before giving up for this round.
const APPEARING_ATTEMPTS: usize = 3;

/// What `read` gives for `path` (a read that also watches the node), or `None` if there is
/// no such node, with a watch for its creation. A node created between the read and the
/// watch is read again (an existence watch set on a node that exists would not fire for its
/// creation).
async fn read_or_watch_creation<T, F, Fut>(
    client: &Client,
    path: &str,
    watchers: &mut Vec<OneshotWatcher>,
    read: F,
) -> RegistryResult<Option<T>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(T, OneshotWatcher), zookeeper_client::Error>>,
{
    for _ in 0..APPEARING_ATTEMPTS {
        match read().await {
            Ok((value, watcher)) => {
                watchers.push(watcher);
                return Ok(Some(value));
            }
            Err(zookeeper_client::Error::NoNode) => {}
            Err(e) => return Err(to_registry_error(&e)),
        }
        let (stat, watcher) =
            (client.check_and_watch_stat(path).await).map_err(|e| to_registry_error(&e))?;
        if stat.is_none() {
            watchers.push(watcher);
            return Ok(None);
        }
    }
    Err(RegistryError::Unavailable(format!(
        "{path} keeps appearing and vanishing"
    )))
}
