//! [`Value`]: any Hessian value, for generic calls and for payloads of unknown shape
//! (`docs/protocol.md` §11.13).
//!
//! Back-references: a `'Q'` to a container that is complete is resolved by decoding that
//! container again (an acyclic shared value becomes a copy; the work is bounded, see
//! [`DecodeLimits`](super::DecodeLimits)). A `'Q'` to a container that is still being
//! decoded (an ancestor of the reference: a cycle, e.g. a Java exception whose `cause` is
//! itself) becomes [`Value::Ref`], which counts levels up from the reference, so the value
//! means the same wherever it is written again.
//!
//! Memory: class, field and type names are shared (`Arc<str>`) by every value decoded from
//! one body that uses them, so an instance costs its field values, not copies of its
//! definition; and everything a body's values hold is charged to the decoder's memory
//! budget ([`DecodeLimits::memory_factor`](super::DecodeLimits::memory_factor)), which
//! bounds what back-references can replay.
//!
//! The value layer writes and reads itself natively ([`Encoder::write_value`],
//! [`Decoder::read_value`], defined here so that the byte-level encoder and decoder know
//! nothing of `Value`); serde sees it through its `Serialize` and `Deserialize` impls.
//!
//! Through serde, a [`Value`] asked of this crate's deserializers is handed to
//! `Value::deserialize` whole (see [`hand_over`]) rather than rebuilt through serde's data
//! model, which would cost a second tree and a copy of every name.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, SerializeMap};
use serde::{Deserialize, Serialize};

use super::decoder::{Decoder, Head};
use super::encoder::{Encoder, Name};
use super::error::{DecodeError, EncodeError, TypeError};
use super::token::{self, ListRepr};

/// A dynamically typed Hessian value (`docs/protocol.md` §11.13).
///
/// It implements `Serialize` and `Deserialize` losslessly through the Hessian codec (int vs
/// long, list and map types, object classes, dates, cycles); other serde formats see plain
/// data (objects as maps with a `"$class"` entry, typed lists as
/// `{"$type": ..., "$items": [...]}`).
#[derive(Clone, PartialEq, Debug, Default)]
pub enum Value {
    /// `'N'`.
    #[default]
    Null,
    /// `'T'`/`'F'`.
    Bool(bool),
    /// A Java `int` (also `byte`, `short`).
    Int(i32),
    /// A Java `long`, kept distinct from `Int`.
    Long(i64),
    /// A Java `double` (also `float`).
    Double(f64),
    /// A `java.util.Date`, in milliseconds since the Unix epoch (UTC).
    Date(i64),
    /// A string (also Java `char`).
    String(String),
    /// A `byte[]`.
    Binary(Vec<u8>),
    /// A list or array; `type_name` is Java's type string (`"[int"`,
    /// `"java.util.HashSet"`...), `None` for an untyped list (`java.util.ArrayList`).
    ///
    /// Names are `Arc<str>`: decoded values share one copy of each name per body.
    List {
        /// The list type, if any.
        type_name: Option<Arc<str>>,
        /// The items.
        items: Vec<Value>,
    },
    /// A map in wire order; `type_name` is `None` for `'H'` (`java.util.HashMap`).
    Map {
        /// The map class, if any.
        type_name: Option<Arc<str>>,
        /// Key/value pairs in the order they were written.
        entries: Vec<(Value, Value)>,
    },
    /// An instance of a Java class, fields in wire order.
    ///
    /// The class and field names are shared by all instances decoded from one body.
    Object {
        /// The Java class name.
        class: Arc<str>,
        /// Field names and values.
        fields: Vec<(Arc<str>, Value)>,
    },
    /// A back-reference to the list, map or object that encloses this value `n` levels up
    /// (0 = the innermost enclosing container): how cycles are represented.
    Ref(usize),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Self::String(s.into())
    }

    /// An untyped list (`java.util.ArrayList`).
    pub fn list(items: Vec<Value>) -> Self {
        Self::List {
            type_name: None,
            items,
        }
    }

    /// A list of Java type `type_name` (`"[int"`, `"java.util.HashSet"`...).
    pub fn typed_list(type_name: impl Into<Arc<str>>, items: Vec<Value>) -> Self {
        Self::List {
            type_name: Some(type_name.into()),
            items,
        }
    }

    /// An object of `class`; field names convert with `.into()` (`("name".into(), value)`).
    pub fn object(class: impl Into<Arc<str>>, fields: Vec<(Arc<str>, Value)>) -> Self {
        Self::Object {
            class: class.into(),
            fields,
        }
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer value of an `Int` or `Long`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(v) => Some(i64::from(*v)),
            Self::Long(v) => Some(*v),
            _ => None,
        }
    }

    /// The value of a `Double`, `Int` or `Long` as a double.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Double(v) => Some(*v),
            Self::Int(v) => Some(f64::from(*v)),
            Self::Long(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The bytes, if this is a `Binary`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Self::List { items, .. } => Some(items),
            _ => None,
        }
    }

    /// The first field named `name` of an object, or the first entry whose key is the
    /// string `name` of a map.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Self::Object { fields, .. } => {
                fields.iter().find(|(k, _)| **k == *name).map(|(_, v)| v)
            }
            Self::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The class of an object.
    pub fn class(&self) -> Option<&str> {
        match self {
            Self::Object { class, .. } => Some(class),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Self::Int(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Long(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Double(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self::Binary(v)
    }
}

// -------------------------------------------------------------------------------------
// Native encoding

impl Encoder<'_> {
    /// Writes a [`Value`] (`docs/protocol.md` §11.13).
    pub fn write_value(&mut self, value: &Value) -> Result<(), EncodeError> {
        match value {
            Value::Null => self.write_null(),
            Value::Bool(v) => self.write_bool(*v),
            Value::Int(v) => self.write_int(*v),
            Value::Long(v) => self.write_long(*v),
            Value::Double(v) => self.write_double(*v),
            Value::Date(v) => self.write_date(*v),
            Value::String(v) => self.write_str(v),
            Value::Binary(v) => self.write_binary(v),
            Value::List { type_name, items } => {
                self.begin_list(type_name.as_deref().map(Name::Dynamic), Some(items.len()))?;
                for item in items {
                    self.write_value(item)?;
                }
                self.leave();
            }
            Value::Map { type_name, entries } => {
                self.begin_map(type_name.as_deref())?;
                for (k, v) in entries {
                    self.write_value(k)?;
                    self.write_value(v)?;
                }
                self.write_end();
            }
            Value::Object { class, fields } => {
                let mut state = self.begin_object(Name::Dynamic(class))?;
                for (name, v) in fields {
                    self.object_field(&mut state, Name::Dynamic(name))?;
                    self.write_value(v)?;
                }
                self.end_object(state)?;
            }
            Value::Ref(up) => self.write_ref_up(*up)?,
        }
        Ok(())
    }
}

// -------------------------------------------------------------------------------------
// Native decoding

/// Heap held by one list item, map entry and object field: what each is charged to the
/// decoder's memory budget, on top of the heap of the value itself.
const ITEM: usize = std::mem::size_of::<Value>();
const ENTRY: usize = std::mem::size_of::<(Value, Value)>();
const FIELD: usize = std::mem::size_of::<(Arc<str>, Value)>();

impl Decoder<'_> {
    /// Reads the next value as a [`Value`].
    ///
    /// Everything the values of one body hold (items, entries, fields, strings, binaries and
    /// the shared names) is charged to the decoder's memory budget; going over it is a
    /// [`MemoryLimit`](super::MalformedError::MemoryLimit) error.
    pub fn read_value(&mut self) -> Result<Value, DecodeError> {
        let head = self.read_head()?;
        self.value_from(head)
    }

    /// Reads the list, map or object that back-reference `index` points to (a
    /// [`Head::Ref`]'s), as [`read_value`](Self::read_value) resolves references: a copy,
    /// re-read from the body within the decoder's work and memory budgets, or
    /// [`Value::Ref`] if the container encloses the current position (a cycle).
    pub fn read_ref(&mut self, index: usize) -> Result<Value, DecodeError> {
        self.value_from(Head::Ref { index })
    }

    fn value_from(&mut self, head: Head) -> Result<Value, DecodeError> {
        Ok(match head {
            Head::Null => Value::Null,
            Head::Bool(v) => Value::Bool(v),
            Head::Int(v) => Value::Int(v),
            Head::Long(v) => Value::Long(v),
            Head::Double(v) => Value::Double(v),
            Head::Date(v) => Value::Date(v),
            Head::Str(tag) => {
                let s = self.read_str_after(tag)?.into_owned();
                self.charge(s.capacity())?;
                Value::String(s)
            }
            Head::Binary(tag) => {
                let b = self.read_binary_after(tag)?.into_owned();
                self.charge(b.capacity())?;
                Value::Binary(b)
            }
            Head::List { ty, len } => {
                let type_name = ty.map(|i| self.shared_type(i)).transpose()?;
                let mut items = Vec::with_capacity(self.cap(len.unwrap_or(0)));
                match len {
                    Some(n) => {
                        for _ in 0..n {
                            self.charge(ITEM)?;
                            items.push(self.read_value()?);
                        }
                    }
                    None => {
                        while !self.at_end_marker()? {
                            self.charge(ITEM)?;
                            items.push(self.read_value()?);
                        }
                    }
                }
                // Only what was charged stays allocated (growth may have doubled it).
                items.shrink_to_fit();
                self.leave();
                Value::List { type_name, items }
            }
            Head::Map { ty } => {
                let type_name = ty.map(|i| self.shared_type(i)).transpose()?;
                let mut entries = Vec::new();
                while !self.at_end_marker()? {
                    self.charge(ENTRY)?;
                    let k = self.read_value()?;
                    let v = self.read_value()?;
                    entries.push((k, v));
                }
                entries.shrink_to_fit();
                self.leave();
                Value::Map { type_name, entries }
            }
            Head::Object { class } => {
                let (name, names) = self.shared_class(class)?;
                let mut fields = Vec::with_capacity(self.cap(names.len()));
                for field in names.iter() {
                    self.charge(FIELD)?;
                    fields.push((field.clone(), self.read_value()?));
                }
                self.leave();
                Value::Object {
                    class: name,
                    fields,
                }
            }
            Head::Ref { index } => match self.open_level(index) {
                Some(up) => Value::Ref(up),
                None => {
                    let at = self.head_at;
                    self.replay(index, at, Decoder::read_value)?
                }
            },
        })
    }
}

// -------------------------------------------------------------------------------------
// Handing a decoded Value through serde

thread_local! {
    /// A [`Value`] on its way from [`hand_over`] to [`ValueVisitor`], within one call.
    static HANDED_OVER: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// Gives `value` to `visitor`, the visitor of `Value::deserialize`, which asked this crate's
/// deserializer for [`token::VALUE`].
///
/// serde's data model has no way to pass a `Value` as it is: rebuilt through it, every node
/// would be allocated again and every shared class, field and type name copied, which for
/// a list of instances of one class multiplies memory by the size of its definition. So the
/// value waits in a thread-local slot and the visitor is told to take it from there (an
/// enum whose unit variant is the reserved name [`token::HANDED_OVER`]). Only [`ValueVisitor`] knows
/// that variant; for any other visitor the slot is emptied again when this returns.
pub(crate) fn hand_over<'de, V: Visitor<'de>>(
    value: Value,
    visitor: V,
) -> Result<V::Value, DecodeError> {
    HANDED_OVER.with(|slot| *slot.borrow_mut() = Some(value));
    // serde's string deserializer is also an enum of one unit variant, named by the string.
    let result = visitor.visit_enum(de::value::StrDeserializer::<DecodeError>::new(
        token::HANDED_OVER,
    ));
    HANDED_OVER.with(|slot| slot.borrow_mut().take());
    result
}

/// The variant name [`hand_over`] announces; any other name is an unknown variant.
struct HandedOverTag;

impl<'de> Deserialize<'de> for HandedOverTag {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HandedOverTag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value handed over by the Hessian decoder")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HandedOverTag, E> {
                if v == token::HANDED_OVER {
                    Ok(HandedOverTag)
                } else {
                    Err(E::unknown_variant(v, &[]))
                }
            }
        }
        d.deserialize_identifier(V)
    }
}

// -------------------------------------------------------------------------------------
// Serialize

struct TypedMap<'a>(&'a str, &'a [(Value, Value)]);

impl Serialize for TypedMap<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.1.len() + 1))?;
        map.serialize_entry(token::TYPE_KEY, self.0)?;
        for (k, v) in self.1 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct ObjectRepr<'a>(&'a str, &'a [(Arc<str>, Value)]);

impl Serialize for ObjectRepr<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.1.len() + 1))?;
        map.serialize_entry(token::CLASS_KEY, self.0)?;
        for (k, v) in self.1 {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::Int(v) => s.serialize_i32(*v),
            Value::Long(v) => s.serialize_i64(*v),
            Value::Double(v) => s.serialize_f64(*v),
            Value::Date(v) => s.serialize_newtype_struct(token::DATE, v),
            Value::String(v) => s.serialize_str(v),
            Value::Binary(v) => s.serialize_bytes(v),
            Value::List {
                type_name: None,
                items,
            } => s.collect_seq(items),
            Value::List {
                type_name: Some(t),
                items,
            } => s.serialize_newtype_struct(token::LIST, &ListRepr::<Value>(t, items)),
            Value::Map {
                type_name: None,
                entries,
            } => s.collect_map(entries.iter().map(|(k, v)| (k, v))),
            Value::Map {
                type_name: Some(t),
                entries,
            } => s.serialize_newtype_struct(token::MAP, &TypedMap(t, entries)),
            Value::Object { class, fields } => {
                s.serialize_newtype_struct(token::OBJECT, &ObjectRepr(class, fields))
            }
            Value::Ref(up) => s.serialize_newtype_struct(token::REF, &(*up as u64)),
        }
    }
}

// -------------------------------------------------------------------------------------
// Deserialize

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The Hessian deserializer (and `ValueDeserializer`) answer this name by handing over
        // the whole value (see `hand_over`); other formats just see a newtype.
        d.deserialize_newtype_struct(token::VALUE, ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any Hessian value")
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i8<E>(self, v: i8) -> Result<Value, E> {
        Ok(Value::Int(i32::from(v)))
    }

    fn visit_i16<E>(self, v: i16) -> Result<Value, E> {
        Ok(Value::Int(i32::from(v)))
    }

    fn visit_i32<E>(self, v: i32) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Long(v))
    }

    fn visit_u8<E>(self, v: u8) -> Result<Value, E> {
        Ok(Value::Int(i32::from(v)))
    }

    fn visit_u16<E>(self, v: u16) -> Result<Value, E> {
        Ok(Value::Int(i32::from(v)))
    }

    fn visit_u32<E>(self, v: u32) -> Result<Value, E> {
        Ok(Value::Long(i64::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Long)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"a Java long"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Double(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(v.to_vec()))
    }

    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(v))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::list(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map {
            type_name: None,
            entries,
        })
    }

    /// Only this crate's deserializers produce an enum here: the value they hand over.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess;
        let (HandedOverTag, variant) = data.variant::<HandedOverTag>()?;
        variant.unit_variant()?;
        HANDED_OVER
            .with(|slot| slot.borrow_mut().take())
            .ok_or_else(|| de::Error::custom("no Hessian value was handed over"))
    }
}

// -------------------------------------------------------------------------------------
// Value as a Deserializer

/// Reads a [`Value`] into any `Deserialize` type (see [`from_value`](super::from_value)).
///
/// Objects are maps of their fields, dates are `i64` milliseconds, typed lists and maps are
/// plain sequences and maps; a [`Value::Ref`] is `None` for an `Option`, skipped where the
/// target ignores it (a field its struct lacks), and an error otherwise. A [`Value`] target
/// gets the value as it is.
#[derive(Debug)]
pub struct ValueDeserializer {
    value: Value,
}

impl ValueDeserializer {
    /// A deserializer reading `value`.
    pub fn new(value: Value) -> Self {
        Self { value }
    }
}

impl IntoDeserializer<'_, DecodeError> for Value {
    type Deserializer = ValueDeserializer;

    fn into_deserializer(self) -> ValueDeserializer {
        ValueDeserializer::new(self)
    }
}

fn cyclic(expected: &'static str) -> DecodeError {
    TypeError::Cyclic {
        expected,
        offset: 0,
    }
    .into()
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(v) => visitor.visit_bool(v),
            Value::Int(v) => visitor.visit_i32(v),
            Value::Long(v) => visitor.visit_i64(v),
            Value::Double(v) => visitor.visit_f64(v),
            Value::Date(v) => visitor.visit_i64(v),
            Value::String(v) => visitor.visit_string(v),
            Value::Binary(v) => visitor.visit_byte_buf(v),
            Value::List { items, .. } => visitor.visit_seq(Items(items.into_iter())),
            Value::Map { entries, .. } => visitor.visit_map(Pairs {
                iter: entries.into_iter(),
                value: None,
            }),
            Value::Object { fields, .. } => visitor.visit_map(Fields {
                iter: fields.into_iter(),
                value: None,
            }),
            Value::Ref(_) => Err(cyclic("a value")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null | Value::Ref(_) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match (name, self.value) {
            (token::VALUE, value) => hand_over(value, visitor),
            (token::DATE, Value::Date(v)) => visitor.visit_i64(v),
            (_, value) => visitor.visit_newtype_struct(Self { value }),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Binary(b) => visitor.visit_seq(de::value::SeqDeserializer::new(b.into_iter())),
            Value::List { items, .. } => visitor.visit_seq(Items(items.into_iter())),
            value => ValueDeserializer { value }.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Object { mut fields, .. } => {
                let at = fields.iter().position(|(k, _)| &**k == "name");
                match at.map(|i| fields.swap_remove(i).1) {
                    Some(Value::String(s)) => visitor.visit_enum(s.into_deserializer()),
                    _ => Err(de::Error::custom("enum object has no string `name`")),
                }
            }
            Value::Map { mut entries, .. } if entries.len() == 1 => {
                let (k, v) = entries.swap_remove(0);
                visitor.visit_enum(VariantValue {
                    variant: k,
                    content: v,
                })
            }
            value => ValueDeserializer { value }.deserialize_any(EnumFallback(name, visitor)),
        }
    }

    /// A value the target skips (a field its struct does not have) is dropped unread, a
    /// [`Value::Ref`] included: the `cause` of a Java exception refers to the exception
    /// itself, and a struct without a `cause` field must still decode.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple
        tuple_struct map struct identifier
    }
}

/// Turns "not an enum" into the visitor's own type error.
struct EnumFallback<V>(&'static str, V);

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumFallback<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enum {}", self.0)
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = DecodeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        match self.0.next() {
            Some(value) => seed.deserialize(ValueDeserializer { value }).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Pairs {
    iter: std::vec::IntoIter<(Value, Value)>,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for Pairs {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(ValueDeserializer { value: k }).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        let value = self.value.take().unwrap_or_default();
        seed.deserialize(ValueDeserializer { value })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The fields of an object as a map from field name (a string) to value.
struct Fields {
    iter: std::vec::IntoIter<(Arc<str>, Value)>,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(de::value::StrDeserializer::<DecodeError>::new(&k))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        let value = self.value.take().unwrap_or_default();
        seed.deserialize(ValueDeserializer { value })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// `{variant: content}` as an enum.
struct VariantValue {
    variant: Value,
    content: Value,
}

impl<'de> de::EnumAccess<'de> for VariantValue {
    type Error = DecodeError;
    type Variant = ValueDeserializer;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, ValueDeserializer), DecodeError> {
        let v = seed.deserialize(ValueDeserializer {
            value: self.variant,
        })?;
        Ok((
            v,
            ValueDeserializer {
                value: self.content,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDeserializer {
    type Error = DecodeError;

    fn unit_variant(self) -> Result<(), DecodeError> {
        Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MalformedError, from_slice, from_value, to_vec};

    fn slot_is_empty() -> bool {
        HANDED_OVER.with(|slot| slot.borrow().is_none())
    }

    #[test]
    fn values_are_handed_over_whole_with_their_shared_names() {
        // Two instances of one class: through serde the names stay shared, as read_value
        // shares them (a rebuild through serde's data model would copy them).
        let a = Value::object("A", vec![("x".into(), Value::Int(1))]);
        let bytes = to_vec(&Value::list(vec![a.clone(), a])).unwrap();
        for v in [
            from_slice::<Value>(&bytes).unwrap(),
            from_value::<Value>(Decoder::new(&bytes).read_value().unwrap()).unwrap(),
        ] {
            let classes: Vec<_> = v
                .as_list()
                .unwrap()
                .iter()
                .map(|o| match o {
                    Value::Object { class, .. } => Arc::as_ptr(class),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(classes[0], classes[1]);
            assert!(slot_is_empty());
        }
    }

    #[test]
    fn a_foreign_visitor_of_the_reserved_name_gets_an_error_and_the_slot_is_emptied() {
        #[derive(Deserialize, Debug)]
        #[serde(rename = "$tether::hessian2::Value")]
        struct Impostor(#[allow(dead_code)] i32);
        assert!(from_slice::<Impostor>(b"\x91").is_err());
        assert!(slot_is_empty());
        assert!(from_value::<Impostor>(Value::Int(1)).is_err());
        assert!(slot_is_empty());
    }

    #[test]
    fn read_ref_resolves_references_as_read_value_does() {
        // ArrayList[A{x: 1}, Q#1]: the list is reference #0, the object #1.
        let bytes = crate::test_util::hex("7a 43 01 41 91 01 78 60 91 51 91");
        let a = Value::object("A", vec![("x".into(), Value::Int(1))]);
        let mut d = Decoder::new(&bytes);
        assert!(matches!(
            d.read_head(),
            Ok(Head::List {
                ty: None,
                len: Some(2)
            })
        ));
        assert_eq!(d.read_value(), Ok(a.clone()));
        assert_eq!(d.read_head(), Ok(Head::Ref { index: 1 }));
        assert_eq!(d.read_ref(1), Ok(a));
        // The enclosing list is a cycle from here; an index never defined is an error.
        assert_eq!(d.read_ref(0), Ok(Value::Ref(0)));
        assert!(matches!(
            d.read_ref(2),
            Err(DecodeError::Malformed(MalformedError::BadRef {
                index: 2,
                defined: 2,
                ..
            }))
        ));
        d.leave();
        assert!(d.is_at_end());
        assert_eq!(d.class_name(0), Some("A"));
        assert_eq!(d.field_names(0).map(<[_]>::len), Some(1));
        assert_eq!(
            (d.class_name(1), d.field_names(1), d.type_name(0)),
            (None, None, None)
        );
    }

    #[test]
    fn other_formats_build_plain_values() {
        let v: Value = serde_json::from_str(r#"{"a": [1, "x", null]}"#).unwrap();
        assert_eq!(
            v,
            Value::Map {
                type_name: None,
                entries: vec![(
                    Value::from("a"),
                    Value::list(vec![Value::Long(1), Value::from("x"), Value::Null])
                )],
            }
        );
        assert!(slot_is_empty());
    }
}
