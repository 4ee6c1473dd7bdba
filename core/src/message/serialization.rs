//! Body serializations keyed by the header's serialization id (`docs/protocol.md` §12), and the
//! value-level operations the dubbo bodies need from one ([`ObjectOutput`],
//! [`ObjectInput`], named after Dubbo's own interfaces).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::attachments::{Attachments, well_known};
use crate::frame::SerializationId;
use crate::hessian2::{DecodeError, Decoder, EncodeError, Encoder, Head, TypeError, Value, tag};

/// Writes the values of one body (one context per body, `docs/protocol.md` §11.1).
pub trait ObjectOutput {
    /// Writes null.
    fn write_null(&mut self);
    /// Writes an int.
    fn write_int(&mut self, v: i32);
    /// Writes a string.
    fn write_str(&mut self, v: &str);
    /// Writes any serde value.
    fn write_object<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), EncodeError>;
    /// Writes a dynamic value.
    fn write_value(&mut self, v: &Value) -> Result<(), EncodeError>;
    /// Writes an attachment map (string keys), with `extra` entries first unless `map` has
    /// the same key.
    fn write_attachments(
        &mut self,
        map: &Attachments,
        extra: &[(&str, &str)],
    ) -> Result<(), EncodeError>;
}

/// Reads the values of one body in order.
pub trait ObjectInput<'de> {
    /// Reads a string or null.
    fn read_str_or_null(&mut self) -> Result<Option<Cow<'de, str>>, DecodeError>;
    /// Reads an int.
    fn read_int(&mut self) -> Result<i32, DecodeError>;
    /// Reads any serde value.
    fn read_object<T: Deserialize<'de>>(&mut self) -> Result<T, DecodeError>;
    /// Reads a dynamic value.
    fn read_value(&mut self) -> Result<Value, DecodeError>;
    /// Skips a value.
    fn skip(&mut self) -> Result<(), DecodeError>;
    /// Whether the next value is null (without consuming it).
    fn is_null_next(&self) -> bool;
    /// Reads an attachment map (string keys); null is an empty map.
    fn read_attachments(&mut self) -> Result<Attachments, DecodeError>;
}

/// A body serialization: how the values of a body are written and read.
pub trait Serialization {
    /// The id in the header's flag byte.
    const ID: SerializationId;
    /// Dubbo's name for it (the `serialization` URL key).
    const NAME: &'static str;
    /// Writer of one body.
    type Output<'a>: ObjectOutput;
    /// Reader of one body.
    type Input<'de>: ObjectInput<'de>;

    /// A writer appending one body to `out`.
    fn output(out: &mut Vec<u8>) -> Self::Output<'_>;

    /// A reader of one body.
    fn input(body: &[u8]) -> Self::Input<'_>;
}

/// Hessian 2 (id 2): Dubbo's default and the only serialization tether speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Hessian2;

impl Serialization for Hessian2 {
    const ID: SerializationId = SerializationId::HESSIAN2;
    const NAME: &'static str = "hessian2";
    type Output<'a> = Encoder<'a>;
    type Input<'de> = Decoder<'de>;

    fn output(out: &mut Vec<u8>) -> Encoder<'_> {
        Encoder::new(out)
    }

    fn input(body: &[u8]) -> Decoder<'_> {
        Decoder::new(body)
    }
}

/// The serializations tether implements, looked up by header id: a provider answers in the
/// serialization its request used and rejects the others with status 40 (`docs/protocol.md`
/// §1.1, §12).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum SerializationKind {
    /// [`Hessian2`].
    #[default]
    Hessian2,
}

impl SerializationKind {
    /// The serialization with header id `id`.
    pub fn from_id(id: SerializationId) -> Result<Self, UnsupportedSerialization> {
        match id {
            Hessian2::ID => Ok(Self::Hessian2),
            _ => Err(UnsupportedSerialization(id)),
        }
    }

    /// Its header id.
    pub fn id(self) -> SerializationId {
        match self {
            Self::Hessian2 => Hessian2::ID,
        }
    }

    /// Its Dubbo name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hessian2 => Hessian2::NAME,
        }
    }
}

/// A header names a serialization tether does not implement.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unsupported serialization id {}", .0.get())]
pub struct UnsupportedSerialization(pub SerializationId);

impl ObjectOutput for Encoder<'_> {
    fn write_null(&mut self) {
        Encoder::write_null(self)
    }

    fn write_int(&mut self, v: i32) {
        Encoder::write_int(self, v)
    }

    fn write_str(&mut self, v: &str) {
        Encoder::write_str(self, v)
    }

    fn write_object<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), EncodeError> {
        self.encode(v)
    }

    fn write_value(&mut self, v: &Value) -> Result<(), EncodeError> {
        Encoder::write_value(self, v)
    }

    fn write_attachments(
        &mut self,
        map: &Attachments,
        extra: &[(&str, &str)],
    ) -> Result<(), EncodeError> {
        // Java writes attachments as a HashMap: untyped 'H' (§2.3, §11.9).
        self.begin_map(None)?;
        for (k, v) in extra {
            if map.get(k).is_none() {
                Encoder::write_str(self, k);
                Encoder::write_str(self, v);
            }
        }
        for (k, v) in map.iter() {
            Encoder::write_str(self, k);
            Encoder::write_value(self, v)?;
        }
        self.write_end();
        Ok(())
    }
}

/// Entries reserved ahead when decoding attachments.
const ATTACHMENTS_GUESS: usize = 8;

impl<'de> ObjectInput<'de> for Decoder<'de> {
    fn read_str_or_null(&mut self) -> Result<Option<Cow<'de, str>>, DecodeError> {
        Decoder::read_str_or_null(self)
    }

    fn read_int(&mut self) -> Result<i32, DecodeError> {
        Decoder::read_int(self)
    }

    fn read_object<T: Deserialize<'de>>(&mut self) -> Result<T, DecodeError> {
        self.decode()
    }

    fn read_value(&mut self) -> Result<Value, DecodeError> {
        Decoder::read_value(self)
    }

    fn skip(&mut self) -> Result<(), DecodeError> {
        self.skip_value()
    }

    fn is_null_next(&self) -> bool {
        self.peek_byte() == Some(b'N')
    }

    fn read_attachments(&mut self) -> Result<Attachments, DecodeError> {
        // Room for what a call carries (Java sends 4–8 keys), never more than the bytes left
        // could hold (a key and a value take at least two).
        let mut entries = Vec::with_capacity(ATTACHMENTS_GUESS.min(self.remaining().len() / 2));
        visit_attachments(self, |key, input| {
            // Charged like a decoded map entry (`DecodeLimits::memory_factor`).
            input.charge(std::mem::size_of::<(String, Value)>() + key.len())?;
            let value = Decoder::read_value(input)?;
            let key = match well_known(&key) {
                Some(key) => Cow::Borrowed(key),
                None => Cow::Owned(key.into_owned()),
            };
            entries.push((key, value));
            Ok(())
        })?;
        // Java's HashMap keeps the last value of a repeated key.
        Ok(Attachments::from_entries(entries))
    }
}

/// Reads an attachment map (or null) entry by entry: `visit` gets each key, borrowed from
/// the body where possible, and must read or skip exactly its value. Keys that are not
/// strings are an error, as in Java's `Map<String, Object>` (`docs/protocol.md` §2.3).
pub(crate) fn visit_attachments<'de>(
    input: &mut Decoder<'de>,
    mut visit: impl FnMut(Cow<'de, str>, &mut Decoder<'de>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let at = input.position();
    let found = input.peek()?;
    let not_a_map = || {
        DecodeError::from(TypeError::Mismatch {
            expected: "an attachment map",
            found: tag::name(found),
            tag: found,
            offset: at,
        })
    };
    match found {
        tag::NULL => {
            input.skip_value()?;
            return Ok(());
        }
        tag::MAP | tag::MAP_TYPED => {}
        _ => return Err(not_a_map()),
    }
    let Head::Map { .. } = input.read_head()? else {
        return Err(not_a_map());
    };
    while !input.at_end_marker()? {
        let key_at = input.position();
        let key = match input.read_str_or_null() {
            Ok(Some(key)) => key,
            Ok(None) | Err(DecodeError::Type(_)) => {
                return Err(TypeError::Custom {
                    message: format!("attachment key at offset {key_at} is not a string"),
                }
                .into());
            }
            Err(e) => return Err(e),
        };
        visit(key, input)?;
    }
    input.leave();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachments(body: &[u8]) -> Result<Attachments, DecodeError> {
        Decoder::new(body).read_attachments()
    }

    #[test]
    fn repeated_attachment_keys_keep_the_first_place_and_the_last_value() {
        // {a: 1, b: 2, a: 3, c: N, b: 4}
        let body = b"H\x01a\x91\x01b\x92\x01a\x93\x01cN\x01b\x94Z";
        let a = attachments(body).unwrap();
        let entries: Vec<_> = a.iter().collect();
        assert_eq!(
            entries,
            [
                ("a", &Value::Int(3)),
                ("b", &Value::Int(4)),
                ("c", &Value::Null)
            ]
        );
        assert_eq!(attachments(b"N").unwrap(), Attachments::new());
        let standard = attachments(b"H\x04path\x01p\x07timeout\x03300\x03abc\x91Z").unwrap();
        assert_eq!(standard.get_str("path"), Some("p"));
        assert_eq!(standard.get_str("timeout"), Some("300"));
        assert_eq!(standard.get("abc"), Some(&Value::Int(1)));
        assert!(attachments(b"H\x91\x91Z").is_err());
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // timing the decoder is the point of the test
    fn many_distinct_attachment_keys_decode_in_linear_time() {
        // Review reproducer: 200 000 distinct keys took 40 s (release) through a linear
        // search per key. 100 000 keys here: tens of milliseconds in a debug build now,
        // tens of seconds before.
        let n = 100_000;
        let mut body = vec![b'H'];
        for i in 0..n {
            crate::hessian2::write_string(&mut body, &format!("{i:x}"));
            body.push(b'N');
        }
        body.push(b'Z');
        let start = std::time::Instant::now();
        let a = attachments(&body).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(a.len(), n);
        assert_eq!(a.get("1869f"), Some(&Value::Null));
        assert!(
            elapsed < std::time::Duration::from_secs(3),
            "{n} keys took {elapsed:?}"
        );
    }
}
