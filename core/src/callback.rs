//! The callback table of a connection (`docs/protocol.md` §6): the callback instances this side
//! exported on it (a consumer's listeners, which the provider may call back) and the proxies
//! it holds for the peer's (a provider's view of those listeners). Both are counted per
//! callback interface against the connection's limit, and both vanish with the connection.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Whatever a layer above registers as the local target of a callback (the consumer layer
/// stores its callback service); type-erased so that the connection stays below that layer.
pub type CallbackTarget = Arc<dyn Any + Send + Sync>;

/// More callback instances of one interface on one connection than the limit allows.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error(
    "interface {interface} `s callback instances num exceed providers limit :{limit} ,current num: {attempted}. The new callback service will not work !!!"
)]
pub struct CallbackLimitExceeded {
    /// The callback interface.
    pub interface: String,
    /// The limit (Dubbo's `callbacks`).
    pub limit: usize,
    /// The count this registration would have reached.
    pub attempted: usize,
}

/// Callback exports and proxies of one connection.
#[derive(Default)]
pub struct CallbackTable {
    limit: usize,
    /// Exported by this side, by interface then instance id.
    exports: HashMap<String, HashMap<i32, CallbackTarget>>,
    /// Proxies for the peer's instances, by interface.
    proxies: HashMap<String, HashSet<i32>>,
}

impl CallbackTable {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The most instances per interface, each way.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Exports `target` as instance `id` of `interface`. Re-exporting the same instance does
    /// not count twice. Returns whether it was new.
    pub fn export(
        &mut self,
        interface: &str,
        id: i32,
        target: CallbackTarget,
    ) -> Result<bool, CallbackLimitExceeded> {
        let instances = self.exports.entry(interface.to_owned()).or_default();
        if instances.contains_key(&id) {
            return Ok(false);
        }
        if instances.len() >= self.limit {
            return Err(CallbackLimitExceeded {
                interface: interface.to_owned(),
                limit: self.limit,
                attempted: instances.len() + 1,
            });
        }
        instances.insert(id, target);
        Ok(true)
    }

    /// Withdraws an export. Returns whether it existed.
    pub fn unexport(&mut self, interface: &str, id: i32) -> bool {
        self.exports
            .get_mut(interface)
            .is_some_and(|instances| instances.remove(&id).is_some())
    }

    /// The local target of an exported instance.
    pub fn exported(&self, interface: &str, id: i32) -> Option<CallbackTarget> {
        self.exports.get(interface)?.get(&id).cloned()
    }

    /// Registers a proxy for the peer's instance `id` of `interface`. Returns whether it was
    /// new.
    pub fn add_proxy(&mut self, interface: &str, id: i32) -> Result<bool, CallbackLimitExceeded> {
        let instances = self.proxies.entry(interface.to_owned()).or_default();
        if instances.contains(&id) {
            return Ok(false);
        }
        if instances.len() >= self.limit {
            return Err(CallbackLimitExceeded {
                interface: interface.to_owned(),
                limit: self.limit,
                attempted: instances.len() + 1,
            });
        }
        instances.insert(id);
        Ok(true)
    }

    /// Destroys a proxy. Returns whether it existed.
    pub fn remove_proxy(&mut self, interface: &str, id: i32) -> bool {
        self.proxies
            .get_mut(interface)
            .is_some_and(|instances| instances.remove(&id))
    }

    /// Whether a proxy for the peer's instance is live.
    pub fn has_proxy(&self, interface: &str, id: i32) -> bool {
        self.proxies.get(interface).is_some_and(|i| i.contains(&id))
    }

    /// Exported instances of `interface`.
    pub fn export_count(&self, interface: &str) -> usize {
        self.exports.get(interface).map_or(0, HashMap::len)
    }

    /// Proxies for instances of `interface`.
    pub fn proxy_count(&self, interface: &str) -> usize {
        self.proxies.get(interface).map_or(0, HashSet::len)
    }

    pub(crate) fn clear(&mut self) {
        self.exports.clear();
        self.proxies.clear();
    }
}

impl fmt::Debug for CallbackTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackTable")
            .field("limit", &self.limit)
            .field(
                "exports",
                &self.exports.values().map(HashMap::len).sum::<usize>(),
            )
            .field(
                "proxies",
                &self.proxies.values().map(HashSet::len).sum::<usize>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_distinct_instances_per_interface() {
        let mut table = CallbackTable::new(2);
        let target: CallbackTarget = Arc::new(());
        assert_eq!(table.export("a.L", 1, target.clone()), Ok(true));
        assert_eq!(
            table.export("a.L", 1, target.clone()),
            Ok(false),
            "same instance"
        );
        assert_eq!(table.export("a.L", 2, target.clone()), Ok(true));
        let err = table.export("a.L", 3, target.clone()).unwrap_err();
        assert_eq!((err.limit, err.attempted), (2, 3));
        assert!(err.to_string().contains("callback instances num exceed"));
        assert_eq!(
            table.export("b.M", 3, target.clone()),
            Ok(true),
            "per interface"
        );
        assert!(table.unexport("a.L", 1));
        assert_eq!(table.export("a.L", 3, target), Ok(true));

        assert_eq!(table.add_proxy("a.L", 7), Ok(true));
        assert_eq!(table.add_proxy("a.L", 8), Ok(true));
        assert!(table.add_proxy("a.L", 9).is_err());
        assert!(table.remove_proxy("a.L", 7));
        assert!(!table.has_proxy("a.L", 7));
        table.clear();
        assert_eq!(table.export_count("a.L") + table.proxy_count("a.L"), 0);
    }
}
