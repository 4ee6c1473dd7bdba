//! [`Attachments`]: the string-keyed map that closes request and response bodies
//! (`PROTOCOL.md` §2.3, §3.1).

use crate::hessian2::Value;

/// Attachments in insertion order (wire order when decoded), keys unique.
///
/// Standard keys carry strings; Java ≥ 2.7 peers may send any value (e.g. `_TO` as an
/// int), and dubbo-ssl sends `group` as null, so values are [`Value`]s.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Attachments {
    entries: Vec<(String, Value)>,
}

impl Attachments {
    /// No attachments.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// No attachments, room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// Sets `key` to `value`, replacing (in place) an earlier value of that key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key` if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Attachments {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl IntoIterator for Attachments {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_keeps_order() {
        let mut a: Attachments = [("path", "p"), ("version", "1")].into_iter().collect();
        a.insert("path", "q");
        a.insert("_TO", Value::Int(5));
        let keys: Vec<_> = a.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["path", "version", "_TO"]);
        assert_eq!(a.get_str("path"), Some("q"));
        assert_eq!(a.get_str("_TO"), None);
        assert_eq!(a.remove("version"), Some(Value::from("1")));
        assert_eq!(a.len(), 2);
    }
}
