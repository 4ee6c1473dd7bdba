//! Hessian 2 errors, one enum per failure domain: bytes that are not Hessian
//! ([`MalformedError`]), well-formed values of the wrong shape for the requested Rust type
//! ([`TypeError`]), and values that cannot be written ([`EncodeError`]).

use std::fmt;

/// Bytes that are not valid Hessian 2 (the peer is to blame).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedError {
    /// The input ended inside a value.
    #[error("unexpected end of input at offset {offset}, {needed} more bytes needed")]
    UnexpectedEof {
        /// Where the missing bytes should have started.
        offset: usize,
        /// How many more bytes the value needed (at least).
        needed: usize,
    },
    /// A tag that cannot start what the grammar expects at this point.
    #[error("unexpected tag {tag:#04x} at offset {offset}, expected {expected}")]
    UnexpectedTag {
        /// The byte found.
        tag: u8,
        /// Its offset in the body.
        offset: usize,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// A string's bytes are not UTF-8 (nor CESU-8).
    #[error("invalid utf-8 byte {byte:#04x} in string at offset {offset}")]
    InvalidUtf8 {
        /// The offending byte.
        byte: u8,
        /// Its offset in the body.
        offset: usize,
    },
    /// A length, count or index that is negative.
    #[error("negative {what} {value} at offset {offset}")]
    Negative {
        /// What the number was (length, field count, index).
        what: &'static str,
        /// The value read.
        value: i64,
        /// Offset of the number.
        offset: usize,
    },
    /// A `'Q'` back-reference to a value that was not (yet) defined.
    #[error("back-reference #{index} at offset {offset}, only {defined} values defined")]
    BadRef {
        /// The index read.
        index: u64,
        /// Offset of the `'Q'` tag.
        offset: usize,
        /// Size of the reference table at that point.
        defined: usize,
    },
    /// An object instance naming a class definition that does not exist.
    #[error(
        "object instance of class definition #{index} at offset {offset}, only {defined} defined"
    )]
    BadClassRef {
        /// The index read.
        index: u64,
        /// Offset of the instance tag.
        offset: usize,
        /// Size of the class-definition table.
        defined: usize,
    },
    /// A list or map type given as an index into the type table that does not exist.
    #[error("type reference #{index} at offset {offset}, only {defined} types defined")]
    BadTypeRef {
        /// The index read.
        index: u64,
        /// Offset of the index.
        offset: usize,
        /// Size of the type table.
        defined: usize,
    },
    /// Values nested deeper than the decoder's depth limit.
    #[error("values nested deeper than {limit} at offset {offset}")]
    TooDeep {
        /// The configured limit.
        limit: u32,
        /// Offset of the value that went over.
        offset: usize,
    },
    /// Back-references expanded into more work than the decoder allows for this input.
    #[error("back-references at offset {offset} expand beyond the work limit of {limit} bytes")]
    WorkLimit {
        /// The limit, in bytes re-read.
        limit: usize,
        /// Offset of the `'Q'` that went over.
        offset: usize,
    },
    /// The [`Value`](super::Value)s decoded from the body would hold more memory than the
    /// decoder allows for this input ([`DecodeLimits::memory_factor`](super::DecodeLimits)).
    #[error("values decoded at offset {offset} exceed the memory limit of {limit} bytes")]
    MemoryLimit {
        /// The limit, in bytes.
        limit: usize,
        /// Offset of the value that went over (of the outermost `'Q'` when it was being
        /// re-read for a back-reference).
        offset: usize,
    },
}

/// A well-formed value that does not fit the Rust type it is decoded into.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypeError {
    /// The value has another Hessian type.
    #[error("expected {expected}, found {found} (tag {tag:#04x}) at offset {offset}")]
    Mismatch {
        /// What the Rust type accepts.
        expected: &'static str,
        /// What the tag encodes.
        found: &'static str,
        /// The tag.
        tag: u8,
        /// Offset of the tag.
        offset: usize,
    },
    /// A back-reference into a value that encloses it: a cycle cannot become a Rust tree.
    #[error(
        "reference at offset {offset} points into an enclosing value, cannot decode as {expected}"
    )]
    Cyclic {
        /// What was being decoded.
        expected: &'static str,
        /// Offset of the `'Q'` tag.
        offset: usize,
    },
    /// A message from a `Deserialize` implementation (missing field, unknown variant...).
    #[error("{message}")]
    Custom {
        /// The message.
        message: String,
    },
}

/// Any decoding failure: malformed bytes or a type mismatch.
///
/// This is the `serde::de::Error` of the Hessian deserializer.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not Hessian 2.
    #[error(transparent)]
    Malformed(#[from] MalformedError),
    /// The value does not fit the requested type.
    #[error(transparent)]
    Type(#[from] TypeError),
}

impl DecodeError {
    /// Whether the bytes themselves were bad (as opposed to a well-formed value of an
    /// unexpected type).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Self::Malformed(_))
    }
}

impl serde::de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Type(TypeError::Custom {
            message: msg.to_string(),
        })
    }
}

/// A value that cannot be written as Hessian 2.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// An unsigned or 128-bit integer beyond the range of a Java `long`.
    #[error("integer {0} does not fit in a Java long")]
    OutOfRange(i128),
    /// Two instances of one class wrote different field lists (objects of a class share one
    /// definition per body, `docs/protocol.md` §11.10).
    #[error(
        "class `{class}`: field #{index} is `{found}` but the class definition has `{expected}`"
    )]
    FieldMismatch {
        /// The Java class.
        class: String,
        /// Field position.
        index: usize,
        /// The name in the class definition (empty if the definition has fewer fields).
        expected: String,
        /// The name written.
        found: String,
    },
    /// A `Value::Ref` pointing above the outermost open container.
    #[error("back-reference {up} levels up, only {open} containers are open")]
    BadRef {
        /// Levels up.
        up: usize,
        /// Containers open at that point.
        open: usize,
    },
    /// A Rust `char` beyond the Basic Multilingual Plane, which a Java `char` (one UTF-16
    /// unit) cannot hold; send it as a string.
    #[error("{0:?} (U+{code:X}) does not fit in a Java char", code = *.0 as u32)]
    CharOutsideBmp(char),
    /// A value nested deeper than the encoder's limit (128 lists, maps and objects, the
    /// decoder's default depth).
    #[error("value nested deeper than {0} containers")]
    TooDeep(usize),
    /// A sequence announced one length and produced another.
    #[error("sequence announced {announced} elements but wrote {written}")]
    LengthMismatch {
        /// The announced length.
        announced: usize,
        /// The number written.
        written: usize,
    },
    /// A Hessian-specific wrapper (typed list, object, date, ref) was serialized in an
    /// unexpected shape, e.g. by a hand-written `Serialize` impl.
    #[error("malformed {0} representation")]
    BadRepresentation(&'static str),
    /// A message from a `Serialize` implementation.
    #[error("{0}")]
    Custom(String),
}

impl serde::ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string())
    }
}
