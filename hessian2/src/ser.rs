//! serde `Serializer` for [`Encoder`]: the Rust data model mapped onto Java's Hessian types
//! (the mapping is in the [crate docs](crate)).
//!
//! Hessian-specific values (typed lists and maps, objects with dynamic class names, dates,
//! back-references) travel through serde as newtype structs with reserved names
//! (`token`); the encoder recognises those names and reads the wrapped representation.

use serde::ser::{self, Impossible, Serialize};

use super::encoder::{Encoder, Name, ObjectState, Pending};
use super::error::EncodeError;
use super::token;

impl Encoder<'_> {
    /// Fails if a reserved wrapper expected another shape than a plain value.
    #[inline]
    fn plain(&mut self) -> Result<(), EncodeError> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => Ok(()),
            p => Err(EncodeError::BadRepresentation(pending_name(p))),
        }
    }
}

#[inline]
fn pending_name(p: Pending) -> &'static str {
    match p {
        Pending::None => "value",
        Pending::Date => "date",
        Pending::Ref => "back-reference",
        Pending::List | Pending::ListItems => "typed list",
        Pending::Map => "typed map",
        Pending::Object => "object",
    }
}

/// Collects the string a value serializes to (class names, field names, type names, the
/// chars of a `char[]`).
pub(crate) struct Capture<'s>(pub(crate) &'s mut String);

macro_rules! reject {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret, EncodeError> {
            Err(EncodeError::BadRepresentation("name"))
        })*
    };
}

impl ser::Serializer for Capture<'_> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Impossible<(), EncodeError>;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = Impossible<(), EncodeError>;
    type SerializeStruct = Impossible<(), EncodeError>;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.0.push_str(v);
        Ok(())
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        self.0.push(v);
        Ok(())
    }

    reject! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), EncodeError> {
        Err(EncodeError::BadRepresentation("name"))
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::BadRepresentation("name"))
    }
}

/// Serializes `value` to a string into `buf` (cleared first).
#[inline]
fn capture<T: Serialize + ?Sized>(buf: &mut String, value: &T) -> Result<(), EncodeError> {
    buf.clear();
    value.serialize(Capture(buf))
}

impl<'b, 'a> ser::Serializer for &'b mut Encoder<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Compound<'b, 'a>;
    type SerializeTuple = Compound<'b, 'a>;
    type SerializeTupleStruct = Compound<'b, 'a>;
    type SerializeTupleVariant = Compound<'b, 'a>;
    type SerializeMap = Compound<'b, 'a>;
    type SerializeStruct = Compound<'b, 'a>;
    type SerializeStructVariant = Compound<'b, 'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.plain()?;
        self.write_bool(v);
        Ok(())
    }

    // Java byte, short and int are all Hessian ints (§11.3).
    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
        self.serialize_i32(i32::from(v))
    }

    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
        self.serialize_i32(i32::from(v))
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
        self.plain()?;
        self.write_int(v);
        Ok(())
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => self.write_long(v),
            Pending::Date => self.write_date(v),
            Pending::Ref => {
                let up = usize::try_from(v)
                    .map_err(|_| EncodeError::BadRepresentation("back-reference"))?;
                self.write_ref_up(up)?;
            }
            p => return Err(EncodeError::BadRepresentation(pending_name(p))),
        }
        Ok(())
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.serialize_i32(i32::from(v))
    }

    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        self.serialize_i32(i32::from(v))
    }

    // Java has no unsigned types: u32 and u64 are longs, whatever their value.
    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        self.serialize_i64(i64::from(v))
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        let v = i64::try_from(v).map_err(|_| EncodeError::OutOfRange(i128::from(v)))?;
        self.serialize_i64(v)
    }

    #[inline]
    fn serialize_i128(self, v: i128) -> Result<(), EncodeError> {
        let v = i64::try_from(v).map_err(|_| EncodeError::OutOfRange(v))?;
        self.serialize_i64(v)
    }

    #[inline]
    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        let v = i64::try_from(v).map_err(|_| EncodeError::OutOfRange(v as i128))?;
        self.serialize_i64(v)
    }

    // Java widens float to double (§11.4).
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
        self.serialize_f64(f64::from(v))
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
        self.plain()?;
        self.write_double(v);
        Ok(())
    }

    // Java char is a one-unit string (§11.6): a char beyond the BMP would be two units, which
    // Java would cut to the first.
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        if u32::from(v) > 0xFFFF {
            return Err(EncodeError::CharOutsideBmp(v));
        }
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.plain()?;
        self.write_str(v);
        Ok(())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        self.plain()?;
        self.write_binary(v);
        Ok(())
    }

    #[inline]
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), EncodeError> {
        self.plain()?;
        self.write_null();
        Ok(())
    }

    /// A unit struct is an instance of its class with no fields.
    #[inline]
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), EncodeError> {
        self.plain()?;
        let state = self.begin_object(Name::Static(name))?;
        self.end_object(state)
    }

    /// A unit variant is a Java enum constant: an object of the enum's class with the single
    /// field `name` (§11.10).
    #[inline]
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), EncodeError> {
        self.plain()?;
        let mut state = self.begin_object(Name::Static(name))?;
        self.object_field(&mut state, Name::Static("name"))?;
        self.write_str(variant);
        self.end_object(state)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        if name == token::NULL {
            return self.serialize_unit();
        }
        let pending = match name {
            token::DATE => Pending::Date,
            token::REF => Pending::Ref,
            token::LIST => Pending::List,
            token::MAP => Pending::Map,
            token::OBJECT => Pending::Object,
            _ => return value.serialize(self),
        };
        self.plain()?;
        self.pending = pending;
        value.serialize(&mut *self)?;
        // A wrapper whose content never reached a serializer method.
        self.plain()
    }

    /// Non-unit variants use serde's external tagging: a one-entry map `{variant: content}`.
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.plain()?;
        self.begin_map(None)?;
        self.write_str(variant);
        value.serialize(&mut *self)?;
        self.write_end();
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'b, 'a>, EncodeError> {
        let typed = match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => false,
            Pending::ListItems => true,
            p => return Err(EncodeError::BadRepresentation(pending_name(p))),
        };
        if typed {
            let ty = std::mem::take(&mut self.scratch);
            let r = self.begin_list(Some(Name::Dynamic(&ty)), len);
            self.scratch = ty;
            r?;
        } else {
            self.begin_list(None, len)?;
        }
        Ok(Compound(Kind::Seq {
            enc: self,
            announced: len,
            written: 0,
        }))
    }

    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Compound<'b, 'a>, EncodeError> {
        self.serialize_seq(Some(len))
    }

    #[inline]
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'b, 'a>, EncodeError> {
        self.serialize_seq(Some(len))
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'b, 'a>, EncodeError> {
        self.plain()?;
        self.begin_map(None)?;
        self.write_str(variant);
        self.begin_list(None, Some(len))?;
        Ok(Compound(Kind::TupleVariant {
            enc: self,
            announced: len,
            written: 0,
        }))
    }

    #[inline]
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'b, 'a>, EncodeError> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {
                self.begin_map(None)?;
                Ok(Compound(Kind::Map { enc: self }))
            }
            Pending::List => Ok(Compound(Kind::TypedList { enc: self, step: 0 })),
            Pending::Map => Ok(Compound(Kind::TypedMap {
                enc: self,
                started: false,
                key_seen: false,
            })),
            Pending::Object => Ok(Compound(Kind::Object {
                enc: self,
                state: None,
                key_seen: false,
            })),
            p => Err(EncodeError::BadRepresentation(pending_name(p))),
        }
    }

    /// A struct is an instance of the Java class named by the struct's serde name.
    #[inline]
    fn serialize_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> Result<Compound<'b, 'a>, EncodeError> {
        self.plain()?;
        let state = self.begin_object(Name::Static(name))?;
        Ok(Compound(Kind::Struct { enc: self, state }))
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'b, 'a>, EncodeError> {
        self.plain()?;
        self.begin_map(None)?;
        self.write_str(variant);
        self.begin_map(None)?;
        Ok(Compound(Kind::StructVariant { enc: self }))
    }
}

/// The state of a list, map or object being serialized.
#[derive(Debug)]
pub struct Compound<'b, 'a>(Kind<'b, 'a>);

#[derive(Debug)]
enum Kind<'b, 'a> {
    Seq {
        enc: &'b mut Encoder<'a>,
        announced: Option<usize>,
        written: usize,
    },
    TupleVariant {
        enc: &'b mut Encoder<'a>,
        announced: usize,
        written: usize,
    },
    Map {
        enc: &'b mut Encoder<'a>,
    },
    Struct {
        enc: &'b mut Encoder<'a>,
        state: ObjectState,
    },
    StructVariant {
        enc: &'b mut Encoder<'a>,
    },
    /// `{"$type": name, "$items": [...]}`; `step` counts keys and values seen.
    TypedList {
        enc: &'b mut Encoder<'a>,
        step: u8,
    },
    TypedMap {
        enc: &'b mut Encoder<'a>,
        started: bool,
        key_seen: bool,
    },
    Object {
        enc: &'b mut Encoder<'a>,
        state: Option<ObjectState>,
        key_seen: bool,
    },
}

#[inline]
fn count(written: &mut usize, announced: Option<usize>) -> Result<(), EncodeError> {
    *written += 1;
    match announced {
        Some(n) if *written > n => Err(EncodeError::LengthMismatch {
            announced: n,
            written: *written,
        }),
        _ => Ok(()),
    }
}

#[inline]
fn check_len(written: usize, announced: Option<usize>) -> Result<(), EncodeError> {
    match announced {
        Some(n) if written != n => Err(EncodeError::LengthMismatch {
            announced: n,
            written,
        }),
        _ => Ok(()),
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        match &mut self.0 {
            Kind::Seq {
                enc,
                announced,
                written,
            } => {
                count(written, *announced)?;
                value.serialize(&mut **enc)
            }
            Kind::TupleVariant {
                enc,
                announced,
                written,
            } => {
                count(written, Some(*announced))?;
                value.serialize(&mut **enc)
            }
            _ => Err(EncodeError::BadRepresentation("sequence")),
        }
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        match self.0 {
            Kind::Seq {
                enc,
                announced,
                written,
            } => {
                check_len(written, announced)?;
                if announced.is_some() {
                    enc.leave();
                } else {
                    enc.write_end();
                }
                Ok(())
            }
            Kind::TupleVariant {
                enc,
                announced,
                written,
            } => {
                check_len(written, Some(announced))?;
                enc.leave();
                enc.write_end();
                Ok(())
            }
            _ => Err(EncodeError::BadRepresentation("sequence")),
        }
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        match &mut self.0 {
            Kind::Map { enc } | Kind::StructVariant { enc } => key.serialize(&mut **enc),
            Kind::TypedList { enc, step } => {
                let mut buf = std::mem::take(&mut enc.scratch2);
                let r = capture(&mut buf, key);
                let ok = r.is_ok()
                    && ((*step == 0 && buf == token::TYPE_KEY)
                        || (*step == 2 && buf == token::ITEMS_KEY));
                enc.scratch2 = buf;
                if !ok {
                    return Err(EncodeError::BadRepresentation("typed list"));
                }
                *step += 1;
                Ok(())
            }
            Kind::TypedMap {
                enc,
                started,
                key_seen,
            } => {
                *key_seen = true;
                if *started {
                    return key.serialize(&mut **enc);
                }
                let mut buf = std::mem::take(&mut enc.scratch2);
                let r = capture(&mut buf, key);
                let ok = r.is_ok() && buf == token::TYPE_KEY;
                enc.scratch2 = buf;
                if ok {
                    Ok(())
                } else {
                    Err(EncodeError::BadRepresentation("typed map"))
                }
            }
            Kind::Object {
                enc,
                state,
                key_seen,
            } => {
                *key_seen = true;
                let mut buf = std::mem::take(&mut enc.scratch2);
                let r = capture(&mut buf, key);
                let result = match (r, state.as_mut()) {
                    (Err(e), _) => Err(e),
                    (Ok(()), None) if buf == token::CLASS_KEY => Ok(()),
                    (Ok(()), None) => Err(EncodeError::BadRepresentation("object")),
                    (Ok(()), Some(state)) => enc.object_field(state, Name::Dynamic(&buf)),
                };
                enc.scratch2 = buf;
                result
            }
            _ => Err(EncodeError::BadRepresentation("map")),
        }
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        match &mut self.0 {
            Kind::Map { enc } | Kind::StructVariant { enc } => value.serialize(&mut **enc),
            Kind::TypedList { enc, step } => {
                *step += 1;
                if *step == 2 {
                    // The type name, kept in `scratch` for the items' list header.
                    let mut buf = std::mem::take(&mut enc.scratch);
                    let r = capture(&mut buf, value);
                    enc.scratch = buf;
                    r
                } else if *step == 4 {
                    enc.pending = Pending::ListItems;
                    value.serialize(&mut **enc)?;
                    enc.plain()
                } else {
                    Err(EncodeError::BadRepresentation("typed list"))
                }
            }
            Kind::TypedMap {
                enc,
                started,
                key_seen,
            } => {
                if !std::mem::take(key_seen) {
                    return Err(EncodeError::BadRepresentation("typed map"));
                }
                if *started {
                    return value.serialize(&mut **enc);
                }
                let mut buf = std::mem::take(&mut enc.scratch);
                let r = capture(&mut buf, value).and_then(|()| enc.begin_map(Some(&buf)));
                enc.scratch = buf;
                *started = true;
                r
            }
            Kind::Object {
                enc,
                state,
                key_seen,
            } => {
                if !std::mem::take(key_seen) {
                    return Err(EncodeError::BadRepresentation("object"));
                }
                if state.is_some() {
                    return value.serialize(&mut **enc);
                }
                let mut buf = std::mem::take(&mut enc.scratch);
                let r =
                    capture(&mut buf, value).and_then(|()| enc.begin_object(Name::Dynamic(&buf)));
                enc.scratch = buf;
                *state = Some(r?);
                Ok(())
            }
            _ => Err(EncodeError::BadRepresentation("map")),
        }
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        match self.0 {
            Kind::Map { enc } => {
                enc.write_end();
                Ok(())
            }
            Kind::StructVariant { enc } => {
                enc.write_end();
                enc.write_end();
                Ok(())
            }
            Kind::TypedList { step: 4, .. } => Ok(()),
            Kind::TypedList { .. } => Err(EncodeError::BadRepresentation("typed list")),
            Kind::TypedMap {
                enc, started: true, ..
            } => {
                enc.write_end();
                Ok(())
            }
            Kind::TypedMap { .. } => Err(EncodeError::BadRepresentation("typed map")),
            Kind::Object {
                enc,
                state: Some(state),
                ..
            } => enc.end_object(state),
            _ => Err(EncodeError::BadRepresentation("object")),
        }
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        match &mut self.0 {
            Kind::Struct { enc, state } => {
                enc.object_field(state, Name::Static(key))?;
                value.serialize(&mut **enc)
            }
            Kind::StructVariant { enc } => {
                enc.write_str(key);
                value.serialize(&mut **enc)
            }
            _ => Err(EncodeError::BadRepresentation("struct")),
        }
    }

    /// Every instance of a class writes every field of its definition: a field skipped by
    /// `skip_serializing_if` is written as null.
    #[inline]
    fn skip_field(&mut self, key: &'static str) -> Result<(), EncodeError> {
        match &mut self.0 {
            Kind::Struct { enc, state } => {
                enc.object_field(state, Name::Static(key))?;
                enc.write_null();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        match self.0 {
            Kind::Struct { enc, state } => enc.end_object(state),
            other => ser::SerializeMap::end(Compound(other)),
        }
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = EncodeError;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        ser::SerializeMap::end(self)
    }
}
