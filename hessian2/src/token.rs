//! The serde representation of the Hessian-specific values: the reserved newtype-struct
//! names and map keys by which `Serialize` impls ([`Value`](super::Value), [`Date`],
//! [`TypedList`], [`JavaArray`]) tell the Hessian serializer and deserializer what they carry.
//!
//! This module is the contract between those impls and the codec: it depends on nothing
//! else in the crate, so the serde layer (`ser`, `de`), the value layer and the Java types
//! can all use it without depending on each other. Other serializers see plain data
//! (`{"$class": ..., fields...}`, `{"$type": ..., "$items": [...]}`).
//!
//! [`Date`]: super::Date
//! [`TypedList`]: super::TypedList
//! [`JavaArray`]: super::JavaArray

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A `java.util.Date`: wraps the milliseconds as an `i64`.
pub(crate) const DATE: &str = "$tether::hessian2::Date";
/// A back-reference: wraps the number of levels up as a `u64`.
pub(crate) const REF: &str = "$tether::hessian2::Ref";
/// A typed list: wraps a map `{"$type": name, "$items": [...]}` ([`ListRepr`]).
pub(crate) const LIST: &str = "$tether::hessian2::TypedList";
/// A typed map: wraps a map `{"$type": name, key: value...}`.
pub(crate) const MAP: &str = "$tether::hessian2::TypedMap";
/// An object with a dynamic class: wraps a map `{"$class": name, field: value...}`.
pub(crate) const OBJECT: &str = "$tether::hessian2::Object";
/// Asks the Hessian deserializer for a lossless [`Value`](super::Value).
pub(crate) const VALUE: &str = "$tether::hessian2::Value";
/// Written as null whatever it wraps: the content is for other serializers
/// ([`NULL_NEWTYPE`](super::NULL_NEWTYPE); tether's callback arguments carry their instance
/// id in it, for the probe that finds them).
pub(crate) const NULL: &str = "$tether::hessian2::Null";
/// The enum variant telling the `Value` visitor to take the value handed over to it.
pub(crate) const HANDED_OVER: &str = "$tether::hessian2::HandedOver";
/// Key holding the type of typed lists and maps.
pub(crate) const TYPE_KEY: &str = "$type";
/// Key holding the items of a typed list.
pub(crate) const ITEMS_KEY: &str = "$items";
/// Key holding the class of an object.
pub(crate) const CLASS_KEY: &str = "$class";

/// A typed list `{"$type": ty, "$items": items}`, serialized under [`LIST`] by its callers.
pub(crate) struct ListRepr<'a, T>(pub(crate) &'a str, pub(crate) &'a [T]);

impl<T: Serialize> Serialize for ListRepr<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry(TYPE_KEY, self.0)?;
        map.serialize_entry(ITEMS_KEY, self.1)?;
        map.end()
    }
}
