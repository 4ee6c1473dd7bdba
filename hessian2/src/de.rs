//! serde `Deserializer` for [`Decoder`]: Hessian values streamed straight into Rust types,
//! without an intermediate [`Value`](super::Value). The mapping is in the
//! [crate docs](crate).

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, Visitor};

use super::decoder::{Decoder, Head};
use super::error::{DecodeError, TypeError};
use super::tag;
use super::token;
use super::value::hand_over;

impl<'de> Decoder<'de> {
    /// Decodes the next value as a `T`.
    #[inline]
    pub fn decode<T: de::Deserialize<'de>>(&mut self) -> Result<T, DecodeError> {
        T::deserialize(&mut *self)
    }

    /// Decodes the next value with a serde seed.
    #[inline]
    pub fn decode_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        seed.deserialize(&mut *self)
    }

    #[inline]
    fn head_mismatch(&self, expected: &'static str) -> DecodeError {
        self.mismatch(self.head_tag, self.head_at, expected)
    }

    /// Resolves a back-reference for a typed target: re-reads the referenced container with
    /// `f`, unless it encloses the current position (a cycle has no tree form).
    #[inline]
    fn follow<R>(
        &mut self,
        index: usize,
        expected: &'static str,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        let at = self.head_at;
        if self.open_level(index).is_some() {
            return Err(TypeError::Cyclic {
                expected,
                offset: at,
            }
            .into());
        }
        self.replay(index, at, f)
    }

    /// Hands the value with `head` to `visitor` in serde's data model.
    #[inline]
    fn visit_head<V: Visitor<'de>>(
        &mut self,
        head: Head,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match head {
            Head::Null => visitor.visit_unit(),
            Head::Bool(v) => visitor.visit_bool(v),
            Head::Int(v) => visitor.visit_i32(v),
            Head::Long(v) | Head::Date(v) => visitor.visit_i64(v),
            Head::Double(v) => visitor.visit_f64(v),
            Head::Str(tag) => match self.read_str_after(tag)? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            },
            Head::Binary(tag) => match self.read_binary_after(tag)? {
                Cow::Borrowed(b) => visitor.visit_borrowed_bytes(b),
                Cow::Owned(b) => visitor.visit_byte_buf(b),
            },
            Head::List { len, .. } => {
                let mut access = ListAccess {
                    de: self,
                    left: len,
                    ended: false,
                };
                let value = visitor.visit_seq(&mut access)?;
                access.finish()?;
                self.leave();
                Ok(value)
            }
            Head::Map { .. } => {
                let mut access = MapAccess {
                    de: self,
                    ended: false,
                };
                let value = visitor.visit_map(&mut access)?;
                if !access.ended {
                    while !self.at_end_marker()? {
                        self.skip_value()?;
                        self.skip_value()?;
                    }
                }
                self.leave();
                Ok(value)
            }
            Head::Object { class } => {
                let fields = self.classes[class].fields.len();
                let mut access = ObjectAccess {
                    de: self,
                    class,
                    next: 0,
                    fields,
                };
                let value = visitor.visit_map(&mut access)?;
                for _ in access.next..fields {
                    self.skip_value()?;
                }
                self.leave();
                Ok(value)
            }
            Head::Ref { index } => self.follow(index, "a value", |de| {
                let head = de.read_head()?;
                de.visit_head(head, visitor)
            }),
        }
    }
}

/// Reads a head for a typed target: back-references are followed, heads that `accept`
/// rejects are type errors naming `expected`.
macro_rules! typed {
    ($de:ident, $visitor:ident, $expected:expr, $method:ident($($arg:expr),*), $accept:pat) => {{
        let head = $de.read_head()?;
        match head {
            Head::Ref { index } => $de.follow(index, $expected, |de| de.$method($($arg,)* $visitor)),
            $accept => $de.visit_head(head, $visitor),
            _ => Err($de.head_mismatch($expected)),
        }
    }};
}

macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            typed!(self, visitor, "a number", $method(),
                Head::Int(_) | Head::Long(_) | Head::Double(_) | Head::Date(_))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = DecodeError;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let head = self.read_head()?;
        self.visit_head(head, visitor)
    }

    #[inline]
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        typed!(
            self,
            visitor,
            "a boolean",
            deserialize_bool(),
            Head::Bool(_)
        )
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    #[inline]
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        typed!(
            self,
            visitor,
            "a one-character string",
            deserialize_char(),
            Head::Str(_)
        )
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        typed!(self, visitor, "a string", deserialize_str(), Head::Str(_))
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    #[inline]
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        typed!(
            self,
            visitor,
            "a binary",
            deserialize_bytes(),
            Head::Binary(_) | Head::Str(_) | Head::List { .. }
        )
    }

    #[inline]
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }

    /// `'N'` is `None`. So is a back-reference to an enclosing object: Java writes a
    /// `Throwable` without cause with `cause` pointing at itself (`docs/protocol.md` §3.3).
    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.peek()? {
            tag::NULL => {
                self.pos += 1;
                visitor.visit_none()
            }
            tag::REF => {
                let start = self.pos;
                if let Head::Ref { index } = self.read_head()? {
                    if self.open_level(index).is_some() {
                        return visitor.visit_none();
                    }
                }
                self.pos = start;
                visitor.visit_some(self)
            }
            _ => visitor.visit_some(self),
        }
    }

    #[inline]
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        typed!(self, visitor, "null", deserialize_unit(), Head::Null)
    }

    /// `'N'` or an instance of the class (its fields are skipped).
    #[inline]
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let head = self.read_head()?;
        match head {
            Head::Null => visitor.visit_unit(),
            Head::Object { class } => {
                for _ in 0..self.classes[class].fields.len() {
                    self.skip_value()?;
                }
                self.leave();
                visitor.visit_unit()
            }
            Head::Ref { index } => self.follow(index, "an object", |de| {
                de.deserialize_unit_struct(name, visitor)
            }),
            _ => Err(self.head_mismatch("null or an object")),
        }
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match name {
            token::VALUE => {
                let value = self.read_value()?;
                hand_over(value, visitor)
            }
            token::DATE => typed!(
                self,
                visitor,
                "a date",
                deserialize_newtype_struct(name),
                Head::Date(_) | Head::Long(_) | Head::Int(_)
            ),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let head = self.read_head()?;
        match head {
            Head::Ref { index } => self.follow(index, "a list", |de| de.deserialize_seq(visitor)),
            Head::List { .. } => self.visit_head(head, visitor),
            // `byte[]` read into a sequence (`Vec<u8>`).
            Head::Binary(tag) => {
                let bytes = self.read_binary_after(tag)?;
                visitor.visit_seq(de::value::SeqDeserializer::<_, DecodeError>::new(
                    bytes.iter().copied(),
                ))
            }
            _ => Err(self.head_mismatch("a list")),
        }
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        typed!(
            self,
            visitor,
            "a map",
            deserialize_map(),
            Head::Map { .. } | Head::Object { .. }
        )
    }

    /// Objects match fields by name in any order, skipping unknown ones; maps with string
    /// keys are accepted too (generic callers send POJOs as maps, `docs/protocol.md` §2.4).
    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        typed!(
            self,
            visitor,
            "an object",
            deserialize_struct(name, fields),
            Head::Map { .. } | Head::Object { .. }
        )
    }

    /// Java enums are objects with a `name` field; the constant's name as a string is
    /// accepted too, and a one-entry map `{variant: content}` for non-unit variants.
    #[inline]
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let head = self.read_head()?;
        match head {
            Head::Ref { index } => self.follow(index, "an enum", |de| {
                de.deserialize_enum(name, variants, visitor)
            }),
            Head::Str(tag) => {
                let s = self.read_str_after(tag)?;
                visit_unit_variant(visitor, s)
            }
            Head::Object { class } => {
                let mut constant = None;
                for i in 0..self.classes[class].fields.len() {
                    if constant.is_none() && self.classes[class].fields[i] == "name" {
                        constant = self.read_str_or_null()?;
                    } else {
                        self.skip_value()?;
                    }
                }
                self.leave();
                let constant = constant.ok_or_else(|| {
                    DecodeError::from(TypeError::Custom {
                        message: format!(
                            "enum object of class `{}` has no `name`",
                            self.classes[class].name
                        ),
                    })
                })?;
                visit_unit_variant(visitor, constant)
            }
            Head::Map { .. } => {
                let value = visitor.visit_enum(EnumAccess { de: self })?;
                if !self.at_end_marker()? {
                    return Err(TypeError::Custom {
                        message: "enum map has more than one entry".into(),
                    }
                    .into());
                }
                self.leave();
                Ok(value)
            }
            _ => Err(self.head_mismatch("an enum (object, string or map)")),
        }
    }

    #[inline]
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    #[inline]
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.skip_value()?;
        visitor.visit_unit()
    }
}

/// Visits the enum named by `name`, a unit variant, keeping the borrow when there is one:
/// serde's string deserializers are also enums of one unit variant.
#[inline]
fn visit_unit_variant<'de, V: Visitor<'de>>(
    visitor: V,
    name: Cow<'de, str>,
) -> Result<V::Value, DecodeError> {
    match name {
        Cow::Borrowed(s) => visitor.visit_enum(de::value::BorrowedStrDeserializer::new(s)),
        Cow::Owned(s) => visitor.visit_enum(de::value::StringDeserializer::new(s)),
    }
}

/// `{variant: content}` read from an open map.
struct EnumAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'_, 'de> {
    type Error = DecodeError;
    type Variant = Self;

    #[inline]
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), DecodeError> {
        let variant = seed.deserialize(&mut *self.de)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumAccess<'_, 'de> {
    type Error = DecodeError;

    #[inline]
    fn unit_variant(self) -> Result<(), DecodeError> {
        de::Deserialize::deserialize(&mut *self.de)
    }

    #[inline]
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        seed.deserialize(&mut *self.de)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_seq(&mut *self.de, visitor)
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_map(&mut *self.de, visitor)
    }
}

/// Items of a list being read: `left` counts down for fixed lengths, `None` until `'Z'`.
struct ListAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
    left: Option<usize>,
    ended: bool,
}

impl ListAccess<'_, '_> {
    /// After the visitor: every item must have been consumed.
    #[inline]
    fn finish(&mut self) -> Result<(), DecodeError> {
        let extra = match self.left {
            Some(n) => n > 0,
            None => !self.ended && !self.de.at_end_marker()?,
        };
        if extra {
            return Err(TypeError::Custom {
                message: format!(
                    "list at offset {} has more items than expected",
                    self.de.position()
                ),
            }
            .into());
        }
        Ok(())
    }
}

impl<'de> de::SeqAccess<'de> for ListAccess<'_, 'de> {
    type Error = DecodeError;

    #[inline]
    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        match &mut self.left {
            Some(0) => return Ok(None),
            Some(n) => *n -= 1,
            None => {
                if self.ended || self.de.at_end_marker()? {
                    self.ended = true;
                    return Ok(None);
                }
            }
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        // Capped by the bytes left: serde preallocates from this hint.
        self.left.map(|n| self.de.cap(n))
    }
}

/// Entries of an `'H'`/`'M'` map being read.
struct MapAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
    ended: bool,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = DecodeError;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if self.ended || self.de.at_end_marker()? {
            self.ended = true;
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        seed.deserialize(&mut *self.de)
    }
}

/// Fields of an object instance, presented as a map from field name to value.
struct ObjectAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
    class: usize,
    next: usize,
    fields: usize,
}

impl<'de> de::MapAccess<'de> for ObjectAccess<'_, 'de> {
    type Error = DecodeError;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if self.next >= self.fields {
            return Ok(None);
        }
        let name = &self.de.classes[self.class].fields[self.next];
        self.next += 1;
        match name {
            Cow::Borrowed(s) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s)),
            Cow::Owned(s) => seed.deserialize(de::value::StrDeserializer::new(s)),
        }
        .map(Some)
    }

    #[inline]
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        seed.deserialize(&mut *self.de)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        Some(self.fields - self.next)
    }
}
