//! [`Attachments`]: the string-keyed map that closes request and response bodies
//! (`docs/protocol.md` §2.3, §3.1).

use std::borrow::Cow;
use std::collections::HashMap;

use crate::hessian2::Value;

/// Up to this many entries, duplicates are found by comparing every pair: faster than
/// hashing for the 4–10 entries of a typical attachment map.
const SCAN_MAX: usize = 16;

/// Attachments in insertion order (wire order when decoded), keys unique.
///
/// Standard keys carry strings; Java ≥ 2.7 peers may send any value (e.g. `_TO` as an
/// int), and dubbo-ssl sends `group` as null, so values are [`Value`]s.
///
/// Lookups scan the entries, which is fastest for the handful a call carries. Building a
/// map from many entries at once ([`FromIterator`], and decoding) takes linear time
/// whatever the keys; [`insert`](Self::insert) is linear in the entries already there.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Attachments {
    /// Decoded standard keys borrow a static copy ([`well_known`]): no allocation per key.
    entries: Vec<(Cow<'static, str>, Value)>,
}

/// The static copy of `key` if it is one of the keys nearly every request carries.
pub(crate) fn well_known(key: &str) -> Option<&'static str> {
    Some(match key {
        "path" => "path",
        "interface" => "interface",
        "version" => "version",
        "timeout" => "timeout",
        "group" => "group",
        "dubbo" => "dubbo",
        "token" => "token",
        "generic" => "generic",
        "_TO" => "_TO",
        _ => return None,
    })
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

    /// Entries in order, a later value of a key replacing the earlier one in its place
    /// (as if inserted one by one), in linear time: a peer sending many distinct keys must
    /// not make decoding quadratic.
    pub(crate) fn from_entries(mut entries: Vec<(Cow<'static, str>, Value)>) -> Self {
        let n = entries.len();
        // The common case, no repeated key, checked without allocating.
        if n <= SCAN_MAX && (1..n).all(|i| entries[..i].iter().all(|(k, _)| *k != entries[i].0)) {
            return Self { entries };
        }
        // `first[i]`: where the key of entry `i` first occurs. std's randomly seeded hasher:
        // keys chosen to collide cannot make it quadratic.
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(n);
        let first: Vec<usize> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, _))| *seen.entry(k).or_insert(i))
            .collect();
        if first.iter().enumerate().all(|(i, &f)| f == i) {
            return Self { entries };
        }
        for (i, &f) in first.iter().enumerate() {
            if f != i {
                entries[f].1 = std::mem::take(&mut entries[i].1);
            }
        }
        let mut i = 0;
        entries.retain(|_| {
            i += 1;
            first[i - 1] == i - 1
        });
        Self { entries }
    }

    /// Sets `key` to `value`, replacing (in place) an earlier value of that key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.entries.push((Cow::Owned(key), value)),
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
        self.entries.iter().map(|(k, v)| (&**k, v))
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

/// A later value of a key replaces the earlier one in its place, as with
/// [`insert`](Attachments::insert); linear in the number of entries.
impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Attachments {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_entries(
            iter.into_iter()
                .map(|(k, v)| (Cow::Owned(k.into()), v.into()))
                .collect(),
        )
    }
}

impl IntoIterator for Attachments {
    type Item = (String, Value);
    type IntoIter = AttachmentsIntoIter;

    fn into_iter(self) -> Self::IntoIter {
        AttachmentsIntoIter(self.entries.into_iter())
    }
}

/// The entries of [`Attachments`], by value, in order.
#[derive(Debug)]
pub struct AttachmentsIntoIter(std::vec::IntoIter<(Cow<'static, str>, Value)>);

impl Iterator for AttachmentsIntoIter {
    type Item = (String, Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.into_owned(), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for AttachmentsIntoIter {}

impl std::iter::FusedIterator for AttachmentsIntoIter {}

impl DoubleEndedIterator for AttachmentsIntoIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k.into_owned(), v))
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

    /// What inserting one by one gives.
    fn inserted(entries: &[(String, Value)]) -> Attachments {
        let mut a = Attachments::new();
        for (k, v) in entries {
            a.insert(k.clone(), v.clone());
        }
        a
    }

    #[test]
    fn from_entries_is_insert_in_order_small_and_large() {
        // Duplicates of the first, a middle and the last key; below and above the size
        // where hashing takes over from scanning.
        for n in [0, 1, 3, SCAN_MAX, SCAN_MAX + 1, 100] {
            let mut entries: Vec<(String, Value)> = (0..n)
                .map(|i| (format!("k{i}"), Value::Int(i as i32)))
                .collect();
            if n > 0 {
                entries.push(("k0".into(), Value::from("last k0")));
                entries.push((format!("k{}", n / 2), Value::Null));
                entries.push((format!("k{}", n - 1), Value::from("x")));
                entries.push((format!("k{}", n - 1), Value::from("last")));
            }
            let expected = inserted(&entries);
            let cows = entries
                .iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), v.clone()));
            assert_eq!(Attachments::from_entries(cows.collect()), expected, "{n}");
            let collected: Attachments = entries.into_iter().collect();
            assert_eq!(collected, expected, "{n}");
            if n >= 3 {
                assert_eq!(expected.len(), n);
                assert_eq!(expected.iter().next().unwrap().0, "k0");
                assert_eq!(expected.get_str("k0"), Some("last k0"));
                assert_eq!(expected.get_str(&format!("k{}", n - 1)), Some("last"));
            }
        }
    }

    #[test]
    fn distinct_keys_keep_their_order_and_into_iter_gives_them_back() {
        for n in [2, SCAN_MAX, SCAN_MAX + 1] {
            let entries: Vec<(String, Value)> = (0..n)
                .map(|i| (format!("k{i}"), Value::Int(i as i32)))
                .collect();
            let a: Attachments = entries.clone().into_iter().collect();
            assert_eq!(a, inserted(&entries), "{n}");
            let back: Vec<_> = a.into_iter().collect();
            assert_eq!(back, entries, "{n}");
        }
        // Well-known keys may be static and still compare by content.
        let a = Attachments::from_entries(vec![
            (Cow::Borrowed("path"), Value::from("p")),
            (Cow::Owned("path".into()), Value::from("q")),
        ]);
        assert_eq!(a, [("path", "q")].into_iter().collect());
        assert_eq!(well_known("version"), Some("version"));
        assert_eq!(well_known("versio"), None);
    }
}
