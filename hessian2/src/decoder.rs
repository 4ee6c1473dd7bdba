//! The body-wide Hessian 2 reading context: a cursor over one body, the class-definition,
//! type-name and reference tables shared by all values of that body (`docs/protocol.md` §11.1),
//! and the [`Budget`] that keeps hostile input cheap.
//!
//! Every value starts with a [`Head`]: the tag and, for containers, their header (type,
//! length, class). The serde deserializer, the [`Value`](super::Value) reader and the skipper
//! all consume heads, so the tag grammar lives in one place; the same heads are the public
//! low-level reader ([`Decoder::read_head`]).
//!
//! Back-references (`'Q'`, §11.11) to a container that is already complete are resolved by
//! *replaying* its bytes: no decoded value is kept for later sharing. What replays re-read,
//! and what the replayed bytes turn into as [`Value`](super::Value)s, are charged to the
//! budget's work and memory allowances, both proportional to the input.

use std::borrow::Cow;
use std::sync::Arc;

use super::budget::{Budget, DecodeLimits};
use super::error::{DecodeError, MalformedError, TypeError};
use super::stack::InlineStack;
use super::tag;

/// Heap taken by an `Arc` of a `len`-byte `str` or slice: the two reference counts and the
/// data.
const fn arc_size(len: usize) -> usize {
    2 * std::mem::size_of::<usize>() + len
}

/// A class name and its field names as shared by decoded [`Value`](super::Value)s.
pub(crate) type SharedClass = (Arc<str>, Arc<[Arc<str>]>);

/// A class definition read from a `'C'` tag.
#[derive(Debug)]
pub(crate) struct ClassDef<'de> {
    pub(crate) name: Cow<'de, str>,
    pub(crate) fields: Vec<Cow<'de, str>>,
    /// The names as shared by decoded [`Value`](super::Value)s, made on first use.
    shared: Option<SharedClass>,
}

/// A list or map type name from the type table.
#[derive(Debug)]
struct TypeDef<'de> {
    /// Offset of the name in the body (to find it again on replay).
    at: usize,
    name: Cow<'de, str>,
    /// The name as shared by decoded [`Value`](super::Value)s, made on first use.
    shared: Option<Arc<str>>,
}

/// The start of one value, as [`Decoder::read_head`] reads it: a scalar whole, or the tag
/// and header of anything longer.
///
/// This is the decoder's low-level half: the serde deserializer, [`Decoder::read_value`]
/// and [`Decoder::skip_value`] are built on it. Use it to look at a value before deciding
/// how to read it, or to go through a map or object entry by entry without building it.
/// What follows a head:
///
/// - `Null` to `Date`: nothing, the value is complete;
/// - `Str(tag)`, `Binary(tag)`: the content, read with [`Decoder::read_str_after`] or
///   [`Decoder::read_binary_after`] given the tag;
/// - `List`, `Map`, `Object`: the container has been *entered*. Read or skip its items
///   (`len` of them, or until [`Decoder::at_end_marker`]), its key/value entries (until
///   `at_end_marker`) or its fields (one value per [`Decoder::field_names`]), then call
///   [`Decoder::leave`];
/// - `Ref { index }`: nothing; [`Decoder::read_ref`] gives the value it points to.
///
/// # Example
///
/// An object inspected field by field: its class and field names first, then only the
/// field wanted is decoded, the others skipped.
///
/// ```
/// use tether_hessian2::{Decoder, Head, Value, to_vec};
///
/// let user = Value::object(
///     "org.acme.User",
///     vec![("name".into(), Value::from("Alice")), ("age".into(), Value::Int(30))],
/// );
/// let bytes = to_vec(&user)?;
///
/// let mut input = Decoder::new(&bytes);
/// let Head::Object { class } = input.read_head()? else {
///     panic!("not an object");
/// };
/// assert_eq!(input.class_name(class), Some("org.acme.User"));
/// let fields: Vec<String> = input.field_names(class).unwrap_or_default().iter()
///     .map(|name| name.to_string())
///     .collect();
/// let mut age = None;
/// for field in &fields {
///     if field == "age" {
///         age = Some(input.decode::<i32>()?);
///     } else {
///         input.skip_value()?;
///     }
/// }
/// input.leave();
/// assert_eq!(age, Some(30));
/// assert!(input.is_at_end());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Debug)]
#[non_exhaustive]
pub enum Head {
    /// `'N'`.
    Null,
    /// `'T'` or `'F'`.
    Bool(bool),
    /// An int in any of its forms.
    Int(i32),
    /// A long in any of its forms.
    Long(i64),
    /// A double in any of its forms.
    Double(f64),
    /// A date, in milliseconds since the Unix epoch (UTC).
    Date(i64),
    /// A string whose first chunk has this tag; read it with
    /// [`Decoder::read_str_after`].
    Str(u8),
    /// A binary whose first chunk has this tag; read it with
    /// [`Decoder::read_binary_after`].
    Binary(u8),
    /// A list, entered: read its items, then [`Decoder::leave`].
    List {
        /// Index of its type in the body's type table ([`Decoder::type_name`]), `None` for
        /// an untyped list.
        ty: Option<usize>,
        /// Its length, `None` for the variable-length forms, whose items end with a `'Z'`
        /// ([`Decoder::at_end_marker`]).
        len: Option<usize>,
    },
    /// A map, entered: read its key/value entries until [`Decoder::at_end_marker`], then
    /// [`Decoder::leave`].
    Map {
        /// Index of its type in the body's type table ([`Decoder::type_name`]), `None` for
        /// an untyped `'H'` map.
        ty: Option<usize>,
    },
    /// An object instance, entered: read one value per field of its class
    /// ([`Decoder::field_names`]), then [`Decoder::leave`].
    Object {
        /// Index of its class definition in the body ([`Decoder::class_name`]).
        class: usize,
    },
    /// A back-reference (`'Q'`) to an earlier list, map or object of the body
    /// ([`Decoder::read_ref`]).
    Ref {
        /// Its index in the body's reference table, checked to exist.
        index: usize,
    },
}

/// Decoding state for one body.
///
/// Create one per body and read the body's values in order with
/// [`decode`](Self::decode), [`read_value`](Self::read_value) or
/// [`skip_value`](Self::skip_value); class definitions, type names and back-references are
/// shared between them. Bytes after the last value read are never looked at (dubbo-go
/// appends a stray `'N'` to its bodies, `docs/protocol.md` §1.5).
///
/// After an error the decoder's position and tables are unspecified: drop it.
#[derive(Debug)]
pub struct Decoder<'de> {
    pub(crate) input: &'de [u8],
    pub(crate) pos: usize,
    pub(crate) classes: Vec<ClassDef<'de>>,
    types: Vec<TypeDef<'de>>,
    /// Start offset of every list, map and object, in order (the reference table).
    refs: InlineStack<usize, 4>,
    /// Reference indices of the containers currently being decoded, outermost first.
    pub(crate) open: InlineStack<usize, 4>,
    /// Offset and tag of the value whose head was read last (for error messages).
    pub(crate) head_at: usize,
    pub(crate) head_tag: u8,
    /// Depth, work, memory and reservations this body may still spend.
    budget: Budget,
}

impl<'de> Decoder<'de> {
    /// A decoder over one body with the default limits.
    #[inline]
    pub fn new(input: &'de [u8]) -> Self {
        Self::with_limits(input, DecodeLimits::DEFAULT)
    }

    /// A decoder over one body with `limits`.
    #[inline]
    pub fn with_limits(input: &'de [u8], limits: DecodeLimits) -> Self {
        Self {
            input,
            pos: 0,
            classes: Vec::new(),
            types: Vec::new(),
            refs: InlineStack::default(),
            open: InlineStack::default(),
            head_at: 0,
            head_tag: 0,
            budget: Budget::new(input.len(), limits),
        }
    }

    /// Offset of the next unread byte.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Moves the cursor to `pos`, an offset in the input where a value starts: to skip
    /// values known not to matter, or to resume where an earlier reader of the same input
    /// stopped ([`position`](Self::position)), without reading what lies before again.
    ///
    /// The class-definition, type and reference tables stay as they are. So move only over
    /// values that define none of them: nulls, booleans, numbers, dates, strings and
    /// binaries (a Dubbo request's head, for example). Moving over a list, map or object or
    /// a class definition leaves the tables out of step with the body: the values after it
    /// that refer to them then fail to decode, or decode wrongly. Beyond the end of the
    /// input, reading fails with [`UnexpectedEof`](MalformedError::UnexpectedEof).
    ///
    /// ```
    /// use tether_hessian2::{Decoder, to_writer, write_string};
    ///
    /// // Two strings, then the values that matter.
    /// let mut body = Vec::new();
    /// write_string(&mut body, "a head field");
    /// write_string(&mut body, "another");
    /// let args = body.len();
    /// to_writer(&mut body, &(1, "x"))?;
    ///
    /// let mut input = Decoder::new(&body);
    /// input.seek(args);
    /// assert_eq!(input.decode::<(i32, String)>()?, (1, "x".to_owned()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> &'de [u8] {
        &self.input[self.pos.min(self.input.len())..]
    }

    /// Whether every byte was read.
    #[inline]
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// The next byte, without consuming it.
    #[inline]
    pub fn peek_byte(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The name of class definition `class` (a [`Head::Object`]'s), `None` if the body has
    /// not defined it.
    #[inline]
    pub fn class_name(&self, class: usize) -> Option<&str> {
        self.classes.get(class).map(|c| &*c.name)
    }

    /// The field names of class definition `class` (a [`Head::Object`]'s): an instance's
    /// field values follow its head in this order. `None` if the body has not defined it.
    #[inline]
    pub fn field_names(&self, class: usize) -> Option<&[Cow<'de, str>]> {
        self.classes.get(class).map(|c| &c.fields[..])
    }

    /// The type name at index `ty` of the body's type table (a [`Head::List`]'s or
    /// [`Head::Map`]'s `ty`), `None` if the body has not defined it.
    #[inline]
    pub fn type_name(&self, ty: usize) -> Option<&str> {
        self.types.get(ty).map(|t| &*t.name)
    }

    // ---------------------------------------------------------------------------------
    // Raw bytes

    #[inline]
    pub(crate) fn eof(&self, needed: usize) -> DecodeError {
        let have = self.input.len().saturating_sub(self.pos);
        MalformedError::UnexpectedEof {
            offset: self.pos.min(self.input.len()),
            needed: needed.saturating_sub(have).max(1),
        }
        .into()
    }

    /// The tag of the next value (its first byte, see [`tag`](super::tag)) without
    /// consuming it; at the end of the input, the
    /// [`UnexpectedEof`](MalformedError::UnexpectedEof) error reading the value would give.
    /// ([`peek_byte`](Self::peek_byte) is the same as an `Option`.)
    #[inline]
    pub fn peek(&self) -> Result<u8, DecodeError> {
        self.input.get(self.pos).copied().ok_or_else(|| self.eof(1))
    }

    #[inline]
    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'de [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| self.eof(n))?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Bytes left in the input: an upper bound for any count of values still to come, since
    /// every value takes at least one byte. Capacities are capped by it so that a length
    /// field cannot make us allocate memory the input does not pay for.
    #[inline]
    pub(crate) fn left(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    /// How many of `announced` elements to reserve room for: never more than the bytes
    /// left (each element takes at least one), and never more than the input length summed
    /// over the whole body. Beyond that, collections grow as elements actually arrive.
    #[inline]
    pub(crate) fn cap(&self, announced: usize) -> usize {
        self.budget.reserve(announced.min(self.left()))
    }

    /// Total elements reserved by [`cap`](Self::cap) so far.
    #[cfg(test)]
    #[inline]
    pub(crate) fn reserved(&self) -> usize {
        self.input.len() - self.budget.reserve_left()
    }

    #[inline]
    pub(crate) fn unexpected(&self, tag: u8, at: usize, expected: &'static str) -> DecodeError {
        MalformedError::UnexpectedTag {
            tag,
            offset: at,
            expected,
        }
        .into()
    }

    #[inline]
    pub(crate) fn mismatch(&self, tag: u8, at: usize, expected: &'static str) -> DecodeError {
        TypeError::Mismatch {
            expected,
            found: tag::name(tag),
            tag,
            offset: at,
        }
        .into()
    }

    // ---------------------------------------------------------------------------------
    // Numbers (`docs/protocol.md` §11.2, §11.3, §11.4)

    /// The int whose tag (already consumed) is `tag`, or `None` if `tag` is not an int tag.
    #[inline]
    pub(crate) fn int_after(&mut self, tag: u8) -> Result<Option<i32>, DecodeError> {
        Ok(Some(match tag {
            0x80..=0xBF => i32::from(tag) - 0x90,
            0xC0..=0xCF => ((i32::from(tag) - 0xC8) << 8) | i32::from(self.byte()?),
            0xD0..=0xD7 => {
                let [b1, b0] = self.array()?;
                ((i32::from(tag) - 0xD4) << 16) | (i32::from(b1) << 8) | i32::from(b0)
            }
            tag::INT => i32::from_be_bytes(self.array()?),
            _ => return Ok(None),
        }))
    }

    /// The long whose tag (already consumed) is `tag`, or `None` if `tag` is not a long tag.
    #[inline]
    fn long_after(&mut self, tag: u8) -> Result<Option<i64>, DecodeError> {
        Ok(Some(match tag {
            0xD8..=0xEF => i64::from(tag) - 0xE0,
            0xF0..=0xFF => ((i64::from(tag) - 0xF8) << 8) | i64::from(self.byte()?),
            0x38..=0x3F => {
                let [b1, b0] = self.array()?;
                ((i64::from(tag) - 0x3C) << 16) | (i64::from(b1) << 8) | i64::from(b0)
            }
            tag::LONG_INT => i64::from(i32::from_be_bytes(self.array()?)),
            tag::LONG => i64::from_be_bytes(self.array()?),
            _ => return Ok(None),
        }))
    }

    /// Reads an int in any int form: the lengths, counts and indexes inside the grammar.
    #[inline]
    pub fn read_int(&mut self) -> Result<i32, DecodeError> {
        let at = self.pos;
        let tag = self.byte()?;
        self.int_after(tag)?
            .ok_or_else(|| self.unexpected(tag, at, "int"))
    }

    /// A non-negative int used as a length, count or index.
    #[inline]
    fn read_count(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.read_int()?;
        usize::try_from(n).map_err(|_| {
            MalformedError::Negative {
                what,
                value: i64::from(n),
                offset: at,
            }
            .into()
        })
    }

    // ---------------------------------------------------------------------------------
    // Heads

    /// Reads the [`Head`] of the next value: the low-level reader. Class definitions in
    /// front of it are read and registered, back-references are checked to point to an
    /// earlier container, and lists, maps and objects are entered (counted against
    /// [`DecodeLimits::max_depth`]; call [`leave`](Self::leave) after their content).
    #[inline]
    pub fn read_head(&mut self) -> Result<Head, DecodeError> {
        loop {
            let at = self.pos;
            let tag = self.byte()?;
            let head = match tag {
                tag::NULL => Head::Null,
                tag::TRUE => Head::Bool(true),
                tag::FALSE => Head::Bool(false),
                0x80..=0xD7 | tag::INT => {
                    // The match arm guarantees an int tag.
                    Head::Int(self.int_after(tag)?.unwrap_or_default())
                }
                0xD8..=0xFF | 0x38..=0x3F | tag::LONG_INT | tag::LONG => {
                    Head::Long(self.long_after(tag)?.unwrap_or_default())
                }
                tag::DOUBLE_ZERO => Head::Double(0.0),
                tag::DOUBLE_ONE => Head::Double(1.0),
                tag::DOUBLE_BYTE => Head::Double(f64::from(self.byte()? as i8)),
                tag::DOUBLE_SHORT => Head::Double(f64::from(i16::from_be_bytes(self.array()?))),
                tag::DOUBLE_MILL => {
                    // §11.4: hessian-lite's int32 thousandths, with Java's exact expression.
                    let mills = i32::from_be_bytes(self.array()?);
                    Head::Double(0.001 * f64::from(mills))
                }
                tag::DOUBLE => Head::Double(f64::from_be_bytes(self.array()?)),
                tag::DATE_MILLIS => Head::Date(i64::from_be_bytes(self.array()?)),
                tag::DATE_MINUTES => {
                    let minutes = i32::from_be_bytes(self.array()?);
                    Head::Date(i64::from(minutes) * 60_000)
                }
                0x00..=0x1F | 0x30..=0x33 | tag::STRING_CHUNK | tag::STRING_FINAL => Head::Str(tag),
                0x20..=0x2F | 0x34..=0x37 | tag::BINARY_CHUNK | tag::BINARY_FINAL => {
                    Head::Binary(tag)
                }
                tag::CLASS_DEF => {
                    self.read_class_def()?;
                    continue;
                }
                tag::LIST_VAR_TYPED => {
                    let ty = self.read_type()?;
                    self.enter(at)?;
                    Head::List {
                        ty: Some(ty),
                        len: None,
                    }
                }
                tag::LIST_FIXED_TYPED => {
                    let ty = self.read_type()?;
                    let len = self.read_count("list length")?;
                    self.enter(at)?;
                    Head::List {
                        ty: Some(ty),
                        len: Some(len),
                    }
                }
                tag::LIST_VAR => {
                    self.enter(at)?;
                    Head::List {
                        ty: None,
                        len: None,
                    }
                }
                tag::LIST_FIXED => {
                    let len = self.read_count("list length")?;
                    self.enter(at)?;
                    Head::List {
                        ty: None,
                        len: Some(len),
                    }
                }
                0x70..=0x77 => {
                    let ty = self.read_type()?;
                    self.enter(at)?;
                    Head::List {
                        ty: Some(ty),
                        len: Some(usize::from(tag - 0x70)),
                    }
                }
                0x78..=0x7F => {
                    self.enter(at)?;
                    Head::List {
                        ty: None,
                        len: Some(usize::from(tag - 0x78)),
                    }
                }
                tag::MAP => {
                    self.enter(at)?;
                    Head::Map { ty: None }
                }
                tag::MAP_TYPED => {
                    let ty = self.read_type()?;
                    self.enter(at)?;
                    Head::Map { ty: Some(ty) }
                }
                tag::OBJECT => {
                    let index_at = self.pos;
                    let index = self.read_count("class index")?;
                    self.object_head(index, index_at, at)?
                }
                0x60..=0x6F => self.object_head(usize::from(tag - 0x60), at, at)?,
                tag::REF => {
                    let index_at = self.pos;
                    let index = self.read_count("reference index")?;
                    if index >= self.refs.len() {
                        return Err(MalformedError::BadRef {
                            index: index as u64,
                            offset: index_at,
                            defined: self.refs.len(),
                        }
                        .into());
                    }
                    Head::Ref { index }
                }
                _ => return Err(self.unexpected(tag, at, "a value")),
            };
            self.head_at = at;
            self.head_tag = tag;
            return Ok(head);
        }
    }

    #[inline]
    fn object_head(
        &mut self,
        class: usize,
        index_at: usize,
        at: usize,
    ) -> Result<Head, DecodeError> {
        if class >= self.classes.len() {
            return Err(MalformedError::BadClassRef {
                index: class as u64,
                offset: index_at,
                defined: self.classes.len(),
            }
            .into());
        }
        self.enter(at)?;
        Ok(Head::Object { class })
    }

    /// Reads a `'C'` class definition (tag consumed) and appends it to the table, except
    /// while replaying bytes whose definitions are already registered.
    #[inline]
    fn read_class_def(&mut self) -> Result<(), DecodeError> {
        let name = self.read_str()?;
        let count = self.read_count("field count")?;
        let mut fields = Vec::with_capacity(self.cap(count));
        for _ in 0..count {
            fields.push(self.read_str()?);
        }
        if !self.budget.is_replaying() {
            self.classes.push(ClassDef {
                name,
                fields,
                shared: None,
            });
        }
        Ok(())
    }

    /// Reads a list or map type: a string (registered in the type table) or an int index
    /// into that table (§11.12). Returns the table index.
    #[inline]
    fn read_type(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let tag = self.byte()?;
        if let Some(index) = self.int_after(tag)? {
            let defined = self.types.len();
            return usize::try_from(index)
                .ok()
                .filter(|&i| i < defined)
                .ok_or_else(|| {
                    MalformedError::BadTypeRef {
                        index: index as u64,
                        offset: at,
                        defined,
                    }
                    .into()
                });
        }
        if !tag::is_string(tag) {
            return Err(self.unexpected(tag, at, "a type name or type index"));
        }
        let name = self.read_str_after(tag)?;
        if self.budget.is_replaying() {
            // Registered when these bytes were first read: find it by its offset.
            if let Ok(i) = self.types.binary_search_by_key(&at, |t| t.at) {
                return Ok(i);
            }
        }
        self.types.push(TypeDef {
            at,
            name,
            shared: None,
        });
        Ok(self.types.len() - 1)
    }

    /// The type name at `index` of the type table, shared: every value of the body naming
    /// this type holds the same allocation, charged to the memory budget once.
    #[inline]
    pub(crate) fn shared_type(&mut self, index: usize) -> Result<Arc<str>, DecodeError> {
        if let Some(name) = &self.types[index].shared {
            return Ok(name.clone());
        }
        self.charge(arc_size(self.types[index].name.len()))?;
        let name: Arc<str> = Arc::from(&*self.types[index].name);
        self.types[index].shared = Some(name.clone());
        Ok(name)
    }

    /// The class and field names of class definition `class`, shared like
    /// [`shared_type`](Self::shared_type).
    #[inline]
    pub(crate) fn shared_class(&mut self, class: usize) -> Result<SharedClass, DecodeError> {
        if let Some((name, fields)) = &self.classes[class].shared {
            return Ok((name.clone(), fields.clone()));
        }
        let def = &self.classes[class];
        let slots = std::mem::size_of::<Arc<str>>() * def.fields.len();
        let names: usize = def.fields.iter().map(|f| arc_size(f.len())).sum();
        let cost = arc_size(def.name.len()) + arc_size(slots) + names;
        self.charge(cost)?;
        let def = &mut self.classes[class];
        let name: Arc<str> = Arc::from(&*def.name);
        let fields: Arc<[Arc<str>]> = def.fields.iter().map(|f| Arc::from(&**f)).collect();
        def.shared = Some((name.clone(), fields.clone()));
        Ok((name, fields))
    }

    /// Charges `bytes` of memory held by decoded values to the body's budget
    /// ([`DecodeLimits::memory_factor`]), failing with
    /// [`MemoryLimit`](MalformedError::MemoryLimit) once it is spent.
    ///
    /// The decoder charges what it builds itself ([`Value`](super::Value)s). A reader that
    /// keeps its own structures from a body read with [`read_head`](Self::read_head) charges
    /// them here, so that one limit bounds everything decoded from the body.
    #[inline]
    pub fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        self.budget.charge_memory(bytes, self.pos)
    }

    /// Registers a container starting at `at` in the reference table (or finds it again on
    /// replay) and checks the depth limit.
    #[inline]
    fn enter(&mut self, at: usize) -> Result<(), DecodeError> {
        self.budget.descend(at)?;
        let index = if self.budget.is_replaying() {
            self.refs.binary_search(&at).map_err(|_| {
                DecodeError::from(MalformedError::BadRef {
                    index: 0,
                    offset: at,
                    defined: self.refs.len(),
                })
            })?
        } else {
            self.refs.push(at);
            self.refs.len() - 1
        };
        self.open.push(index);
        Ok(())
    }

    /// Leaves the innermost list, map or object entered by [`read_head`](Self::read_head),
    /// once its content has been read. (With no container entered, it does nothing.)
    #[inline]
    pub fn leave(&mut self) {
        let _ = self.open.pop();
        self.budget.ascend();
    }

    /// Whether the `'Z'` that ends a map or a variable-length list is next; if so, it is
    /// consumed. At the end of the input, an
    /// [`UnexpectedEof`](MalformedError::UnexpectedEof) error.
    #[inline]
    pub fn at_end_marker(&mut self) -> Result<bool, DecodeError> {
        if self.peek()? == tag::END {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Whether reference `index` is a container still being decoded (an ancestor of the
    /// current position), and how many levels up it is.
    #[inline]
    pub(crate) fn open_level(&self, index: usize) -> Option<usize> {
        self.open.iter().rev().position(|&i| i == index)
    }

    /// Re-reads the complete container `index` (§11.11) with `f`, then returns to the
    /// current position. Bounded by the depth limit and the work budget.
    #[inline]
    pub(crate) fn replay<R>(
        &mut self,
        index: usize,
        at: usize,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        self.budget.check_work(at)?;
        let Some(&start) = self.refs.get(index) else {
            return Err(MalformedError::BadRef {
                index: index as u64,
                offset: at,
                defined: self.refs.len(),
            }
            .into());
        };
        self.budget.begin_replay(at)?;
        let resume = self.pos;
        self.pos = start;
        let result = f(self);
        // Nested replays charged their own spans; this one charges the bytes it re-read.
        let used = self.pos.saturating_sub(start);
        self.pos = resume;
        self.budget.end_replay(used, at)?;
        result
    }

    // ---------------------------------------------------------------------------------
    // Strings (`docs/protocol.md` §11.6)

    /// Reads a string value (any chunking), rejecting other tags.
    #[inline]
    pub(crate) fn read_str(&mut self) -> Result<Cow<'de, str>, DecodeError> {
        let at = self.pos;
        let tag = self.byte()?;
        if !tag::is_string(tag) {
            return Err(self.unexpected(tag, at, "a string"));
        }
        self.read_str_after(tag)
    }

    /// Reads a string or null (tag not consumed yet).
    #[inline]
    pub fn read_str_or_null(&mut self) -> Result<Option<Cow<'de, str>>, DecodeError> {
        let at = self.pos;
        let tag = self.byte()?;
        if tag == tag::NULL {
            return Ok(None);
        }
        if !tag::is_string(tag) {
            return Err(self.mismatch(tag, at, "a string or null"));
        }
        self.read_str_after(tag).map(Some)
    }

    /// Length in UTF-16 units of the chunk with `tag`, and whether it is the final chunk.
    #[inline]
    fn chunk_units(&mut self, tag: u8) -> Result<(usize, bool), DecodeError> {
        Ok(match tag {
            0x00..=0x1F => (usize::from(tag), true),
            0x30..=0x33 => (
                (usize::from(tag - 0x30) << 8) | usize::from(self.byte()?),
                true,
            ),
            tag::STRING_FINAL => (usize::from(self.u16()?), true),
            // tag::STRING_CHUNK: callers only pass string tags.
            _ => (usize::from(self.u16()?), false),
        })
    }

    /// Reads the string whose first chunk tag, already consumed, is `tag` (a
    /// [`Head::Str`]'s). A single chunk of plain UTF-8 is borrowed from the input;
    /// surrogates, 4-byte sequences or chunks are decoded into an owned string, with a lone
    /// surrogate as U+FFFD ([why](crate#lone-surrogates-decode-to-ufffd)).
    #[inline]
    pub fn read_str_after(&mut self, tag: u8) -> Result<Cow<'de, str>, DecodeError> {
        let (units, last) = self.chunk_units(tag)?;
        let start = self.pos;
        let end = self.scan_units(units)?;
        if last {
            if let Ok(s) = std::str::from_utf8(&self.input[start..end]) {
                self.pos = end;
                return Ok(Cow::Borrowed(s));
            }
        }
        let mut out = String::with_capacity((end - start).min(self.left()));
        let mut high = None;
        self.decode_units(start, end, &mut out, &mut high)?;
        if !last {
            self.read_more_chunks(&mut out, &mut high)?;
        }
        if high.is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
        Ok(Cow::Owned(out))
    }

    #[inline]
    fn read_more_chunks(
        &mut self,
        out: &mut String,
        high: &mut Option<u16>,
    ) -> Result<(), DecodeError> {
        loop {
            let at = self.pos;
            let tag = self.byte()?;
            if !tag::is_string(tag) {
                return Err(self.unexpected(tag, at, "a string chunk"));
            }
            let (units, last) = self.chunk_units(tag)?;
            let start = self.pos;
            let end = self.scan_units(units)?;
            out.reserve((end - start).min(self.left()));
            self.decode_units(start, end, out, high)?;
            if last {
                return Ok(());
            }
        }
    }

    /// Finds the end of `units` UTF-16 units of (CESU-8 or UTF-8) bytes starting at the
    /// current position, checking lead bytes. Java writes a supplementary character as two
    /// 3-byte surrogates, one unit each; peers that emit a 4-byte UTF-8 sequence instead
    /// count code points (Python, old dubbo-go: `docs/protocol.md` §11.6, §11.14), so a 4-byte
    /// sequence counts as one.
    #[inline]
    fn scan_units(&self, units: usize) -> Result<usize, DecodeError> {
        let bytes = &self.input[self.pos.min(self.input.len())..];
        // Fast path: `units` ASCII bytes.
        if let Some(head) = bytes.get(..units) {
            if head.is_ascii() {
                return Ok(self.pos + units);
            }
        }
        let mut i = 0;
        let mut left = units;
        while left > 0 {
            let Some(&b) = bytes.get(i) else {
                return Err(MalformedError::UnexpectedEof {
                    offset: self.pos + i,
                    needed: left,
                }
                .into());
            };
            let (len, n) = match b {
                0x00..=0x7F => (1, 1),
                0xC0..=0xDF => (2, 1),
                0xE0..=0xEF => (3, 1),
                0xF0..=0xF7 => (4, 1),
                _ => {
                    return Err(MalformedError::InvalidUtf8 {
                        byte: b,
                        offset: self.pos + i,
                    }
                    .into());
                }
            };
            if bytes.len() < i + len {
                return Err(MalformedError::UnexpectedEof {
                    offset: self.pos + bytes.len(),
                    needed: i + len - bytes.len(),
                }
                .into());
            }
            i += len;
            left -= n;
        }
        Ok(self.pos + i)
    }

    /// Decodes `input[start..end]` (scanned by `scan_units`) into `out`, joining surrogate
    /// pairs (also across chunks, through `high`) and replacing unpaired surrogates with
    /// U+FFFD. Leaves the position at `end`.
    #[inline]
    fn decode_units(
        &mut self,
        start: usize,
        end: usize,
        out: &mut String,
        high: &mut Option<u16>,
    ) -> Result<(), DecodeError> {
        let bytes = &self.input[start..end];
        if high.is_none() {
            if let Ok(s) = std::str::from_utf8(bytes) {
                out.push_str(s);
                self.pos = end;
                return Ok(());
            }
        }
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let cont = |k: usize| -> Result<u32, DecodeError> {
                let c = bytes[i + k];
                if c & 0xC0 != 0x80 {
                    return Err(MalformedError::InvalidUtf8 {
                        byte: c,
                        offset: start + i + k,
                    }
                    .into());
                }
                Ok(u32::from(c & 0x3F))
            };
            // `scan_units` checked the lead bytes and that every sequence is complete.
            let (cp, len) = match b {
                0x00..=0x7F => (u32::from(b), 1),
                0xC0..=0xDF => ((u32::from(b & 0x1F) << 6) | cont(1)?, 2),
                0xE0..=0xEF => ((u32::from(b & 0x0F) << 12) | (cont(1)? << 6) | cont(2)?, 3),
                _ => (
                    (u32::from(b & 0x07) << 18) | (cont(1)? << 12) | (cont(2)? << 6) | cont(3)?,
                    4,
                ),
            };
            i += len;
            match cp {
                0xD800..=0xDBFF => {
                    if high.replace(cp as u16).is_some() {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                }
                0xDC00..=0xDFFF => match high.take() {
                    Some(h) => {
                        let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (cp - 0xDC00);
                        out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    None => out.push(char::REPLACEMENT_CHARACTER),
                },
                _ => {
                    if high.take().is_some() {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                    out.push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
            }
        }
        self.pos = end;
        Ok(())
    }

    /// Skips a string whose first chunk tag (consumed) is `tag`.
    #[inline]
    fn skip_str_after(&mut self, mut tag: u8) -> Result<(), DecodeError> {
        loop {
            let (units, last) = self.chunk_units(tag)?;
            self.pos = self.scan_units(units)?;
            if last {
                return Ok(());
            }
            let at = self.pos;
            tag = self.byte()?;
            if !tag::is_string(tag) {
                return Err(self.unexpected(tag, at, "a string chunk"));
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Binary (`docs/protocol.md` §11.7)

    #[inline]
    fn binary_chunk(&mut self, tag: u8) -> Result<(&'de [u8], bool), DecodeError> {
        let (len, last) = match tag {
            0x20..=0x2F => (usize::from(tag - 0x20), true),
            0x34..=0x37 => (
                (usize::from(tag - 0x34) << 8) | usize::from(self.byte()?),
                true,
            ),
            tag::BINARY_FINAL => (usize::from(self.u16()?), true),
            _ => (usize::from(self.u16()?), false),
        };
        Ok((self.take(len)?, last))
    }

    /// Reads the binary whose first chunk tag, already consumed, is `tag` (a
    /// [`Head::Binary`]'s); a single chunk is borrowed from the input.
    #[inline]
    pub fn read_binary_after(&mut self, tag: u8) -> Result<Cow<'de, [u8]>, DecodeError> {
        let (first, mut last) = self.binary_chunk(tag)?;
        if last {
            return Ok(Cow::Borrowed(first));
        }
        let mut out = first.to_vec();
        while !last {
            let at = self.pos;
            let tag = self.byte()?;
            if !tag::is_binary(tag) {
                return Err(self.unexpected(tag, at, "a binary chunk"));
            }
            let (chunk, l) = self.binary_chunk(tag)?;
            out.extend_from_slice(chunk);
            last = l;
        }
        Ok(Cow::Owned(out))
    }

    /// Skips the binary whose first chunk tag (consumed) is `tag`, chunk by chunk, without
    /// copying it.
    #[inline]
    fn skip_binary_after(&mut self, mut tag: u8) -> Result<(), DecodeError> {
        loop {
            let (_, last) = self.binary_chunk(tag)?;
            if last {
                return Ok(());
            }
            let at = self.pos;
            tag = self.byte()?;
            if !tag::is_binary(tag) {
                return Err(self.unexpected(tag, at, "a binary chunk"));
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Skipping

    /// Reads and discards one value, still registering its class definitions, type names
    /// and references (later values may use them).
    #[inline]
    pub fn skip_value(&mut self) -> Result<(), DecodeError> {
        match self.read_head()? {
            Head::Null
            | Head::Bool(_)
            | Head::Int(_)
            | Head::Long(_)
            | Head::Double(_)
            | Head::Date(_)
            | Head::Ref { .. } => {}
            Head::Str(tag) => self.skip_str_after(tag)?,
            Head::Binary(tag) => self.skip_binary_after(tag)?,
            Head::List { len: Some(len), .. } => {
                for _ in 0..len {
                    self.skip_value()?;
                }
                self.leave();
            }
            Head::List { len: None, .. } => {
                while !self.at_end_marker()? {
                    self.skip_value()?;
                }
                self.leave();
            }
            Head::Map { .. } => {
                while !self.at_end_marker()? {
                    self.skip_value()?;
                    self.skip_value()?;
                }
                self.leave();
            }
            Head::Object { class } => {
                for _ in 0..self.classes[class].fields.len() {
                    self.skip_value()?;
                }
                self.leave();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::MEMORY_FLOOR;
    use crate::test_util::hex;

    fn head(bytes: &[u8]) -> Head {
        Decoder::new(bytes).read_head().unwrap()
    }

    #[test]
    fn ints_in_every_form() {
        // docs/protocol.md §11.3, Java's encodings.
        for (h, v) in [
            ("90", 0),
            ("80", -16),
            ("bf", 47),
            ("c8 30", 48),
            ("c7 ef", -17),
            ("cf ff", 2047),
            ("c0 00", -2048),
            ("d4 08 00", 2048),
            ("d7 ff ff", 262_143),
            ("d0 00 00", -262_144),
            ("49 00 04 00 00", 262_144),
            ("49 80 00 00 00", i32::MIN),
        ] {
            assert!(matches!(head(&hex(h)), Head::Int(x) if x == v), "{h}");
        }
    }

    #[test]
    fn longs_in_every_form() {
        for (h, v) in [
            ("e0", 0),
            ("d8", -8),
            ("ef", 15),
            ("f8 10", 16),
            ("ff ff", 2047),
            ("f0 00", -2048),
            ("3f ff ff", 262_143),
            ("38 00 00", -262_144),
            ("59 00 04 00 00", 262_144),
            ("4c 00 00 00 00 80 00 00 00", 2_147_483_648),
        ] {
            assert!(matches!(head(&hex(h)), Head::Long(x) if x == v), "{h}");
        }
    }

    #[test]
    #[allow(clippy::approx_constant)] // 3.14159 is the literal Java wrote
    fn doubles_in_every_form() {
        for (h, v) in [
            ("5b", 0.0),
            ("5c", 1.0),
            ("5d 02", 2.0),
            ("5d 80", -128.0),
            ("5e 00 80", 128.0),
            ("5f 01 f4 00 00", 32768.0),
            ("5f 00 00 2f da", 12.25),
            ("5f 00 00 00 01", 0.001),
            ("5f 00 00 05 dc", 1.5),
            ("44 40 09 21 f9 f0 1b 86 6e", 3.14159),
        ] {
            assert!(matches!(head(&hex(h)), Head::Double(x) if x == v), "{h}");
        }
    }

    #[test]
    fn dates_in_both_forms() {
        // §11.5: Date(1), Date(60000), Date(0).
        assert!(matches!(
            head(&hex("4a 00 00 00 00 00 00 00 01")),
            Head::Date(1)
        ));
        assert!(matches!(head(&hex("4b 00 00 00 01")), Head::Date(60_000)));
        assert!(matches!(head(&hex("4b 00 00 00 00")), Head::Date(0)));
        assert!(matches!(head(&hex("4b ff ff ff ff")), Head::Date(-60_000)));
    }

    fn string(bytes: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
        Decoder::new(bytes).read_str()
    }

    #[test]
    fn strings_borrow_plain_utf8_and_join_cesu8_surrogates() {
        assert!(matches!(
            string(b"\x05hello").unwrap(),
            Cow::Borrowed("hello")
        ));
        let java = hex("03 61 ed a0 bd ed b8 80");
        assert_eq!(string(&java).unwrap(), "a😀");
        // 4-byte UTF-8 from peers that count code points (dubbo-py writes "a😀b" so).
        assert_eq!(string(&hex("03 61 f0 9f 98 80 62")).unwrap(), "a😀b");
        assert_eq!(string(&hex("01 f0 9f 98 80")).unwrap(), "😀");
        // Unpaired surrogates become U+FFFD.
        assert_eq!(string(&hex("02 ed a0 bd 61")).unwrap(), "\u{fffd}a");
        assert_eq!(string(&hex("01 ed b8 80")).unwrap(), "\u{fffd}");
        assert_eq!(
            string(&hex("02 ed a0 bd ed a0 bd")).unwrap(),
            "\u{fffd}\u{fffd}"
        );
    }

    #[test]
    fn string_chunks_of_any_size_and_pairs_split_across_chunks() {
        // 'R' chunk of 2 units then a compact final chunk.
        let bytes = hex("52 00 02 61 62 01 63");
        assert_eq!(string(&bytes).unwrap(), "abc");
        // A surrogate pair split across an 'R' boundary.
        let bytes = hex("52 00 01 ed a0 bd 01 ed b8 80");
        assert_eq!(string(&bytes).unwrap(), "😀");
        // 'S' final chunk after 'R', and the 0x30 form.
        let mut bytes = hex("52 00 01 61 30 20");
        bytes.extend_from_slice(&[b'x'; 32]);
        assert_eq!(string(&bytes).unwrap(), format!("a{}", "x".repeat(32)));
        // 40 000 × 'a' as Java writes it.
        let mut out = Vec::new();
        crate::write_string(&mut out, &"a".repeat(40_000));
        assert_eq!(string(&out).unwrap().len(), 40_000);
    }

    #[test]
    fn bad_strings_are_errors() {
        assert!(matches!(
            string(&hex("02 61")),
            Err(DecodeError::Malformed(MalformedError::UnexpectedEof { .. }))
        ));
        assert!(matches!(
            string(&hex("01 ff")),
            Err(DecodeError::Malformed(MalformedError::InvalidUtf8 {
                byte: 0xff,
                offset: 1
            }))
        ));
        assert!(matches!(
            string(&hex("01 c3 41")),
            Err(DecodeError::Malformed(MalformedError::InvalidUtf8 {
                byte: 0x41,
                offset: 2
            }))
        ));
        // A non-string after an 'R' chunk.
        assert!(matches!(
            string(&hex("52 00 01 61 91")),
            Err(DecodeError::Malformed(MalformedError::UnexpectedTag {
                tag: 0x91,
                offset: 4,
                ..
            }))
        ));
    }

    #[test]
    fn binary_chunks_concatenate() {
        let mut d = Decoder::new(&[0x23, 1, 2, 3]);
        let Head::Binary(tag) = d.read_head().unwrap() else {
            panic!()
        };
        assert!(matches!(
            d.read_binary_after(tag).unwrap(),
            Cow::Borrowed([1, 2, 3])
        ));
        let bytes = hex("41 00 02 01 02 42 00 01 03");
        let mut d = Decoder::new(&bytes);
        let Head::Binary(tag) = d.read_head().unwrap() else {
            panic!()
        };
        assert_eq!(&*d.read_binary_after(tag).unwrap(), &[1, 2, 3]);
        let bytes = hex("41 00 01 01 21 02");
        let mut d = Decoder::new(&bytes);
        let Head::Binary(tag) = d.read_head().unwrap() else {
            panic!()
        };
        assert_eq!(&*d.read_binary_after(tag).unwrap(), &[1, 2]);
    }

    #[test]
    fn chunked_binaries_are_skipped_in_place() {
        // Two non-final chunks, a final short one, then an int: skipping lands on the int.
        let bytes = hex("41 00 02 01 02 41 00 01 03 21 04 91");
        let mut d = Decoder::new(&bytes);
        d.skip_value().unwrap();
        assert_eq!(d.position(), bytes.len() - 1);
        assert_eq!(d.read_int().unwrap(), 1);
        assert!(d.is_at_end());
        // A non-binary chunk after a non-final one, or a truncated chunk, is still an error.
        let err = Decoder::new(&hex("41 00 01 01 91"))
            .skip_value()
            .unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Malformed(MalformedError::UnexpectedTag {
                    tag: 0x91,
                    offset: 4,
                    ..
                })
            ),
            "{err:?}"
        );
        let err = Decoder::new(&hex("41 00 01 01 42 00 05 01"))
            .skip_value()
            .unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Malformed(MalformedError::UnexpectedEof { .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn skip_registers_tables() {
        // Java's List[u1, u2, u1] from §11.10: skipping it still defines class #0, and
        // ref #1 (the first user) stays valid.
        let bytes = hex(
            "7b 43 09 64 65 6d 6f 2e 55 73 65 72 92 03 61 67 65 04 6e 61 6d 65 \
             60 a2 03 74 6f 6d 60 a4 03 61 6d 79 51 91 \
             60 a5 03 62 6f 62",
        );
        let mut d = Decoder::new(&bytes);
        d.skip_value().unwrap();
        assert_eq!(d.classes.len(), 1);
        assert_eq!(d.refs.len(), 3);
        d.skip_value().unwrap();
        assert!(d.is_at_end());
        assert_eq!(d.open.len(), 0);
    }

    #[test]
    fn refs_must_point_backwards_and_classes_must_exist() {
        let err = Decoder::new(&hex("51 90")).skip_value().unwrap_err();
        assert!(matches!(
            err,
            DecodeError::Malformed(MalformedError::BadRef { index: 0, .. })
        ));
        let err = Decoder::new(&hex("60")).skip_value().unwrap_err();
        assert!(matches!(
            err,
            DecodeError::Malformed(MalformedError::BadClassRef { .. })
        ));
        let err = Decoder::new(&hex("71 90 91")).skip_value().unwrap_err();
        assert!(matches!(
            err,
            DecodeError::Malformed(MalformedError::BadTypeRef { .. })
        ));
    }

    #[test]
    fn depth_is_limited() {
        let bytes = vec![0x79; 10_000];
        let err = Decoder::new(&bytes).skip_value().unwrap_err();
        assert!(matches!(
            err,
            DecodeError::Malformed(MalformedError::TooDeep {
                limit: 128,
                offset: 128
            })
        ));
        let mut d = Decoder::with_limits(&bytes[..5], DecodeLimits::DEFAULT.with_max_depth(4));
        assert!(d.skip_value().is_err());
    }

    #[test]
    fn memory_budget_is_configurable_and_points_at_the_value_or_the_ref() {
        // 30 000 nulls hold 30 000 × 48 bytes as values: over a budget of 1 MiB alone.
        let mut nulls = vec![b'X', 0xd4, 0x75, 0x30];
        nulls.extend([b'N'; 30_000]);
        let tight = DecodeLimits::DEFAULT.with_memory_factor(0);
        let err = Decoder::with_limits(&nulls, tight)
            .read_value()
            .unwrap_err();
        let MalformedError::MemoryLimit { limit, offset } = err_malformed(err) else {
            panic!()
        };
        assert_eq!(limit, MEMORY_FLOOR);
        assert!((4..nulls.len()).contains(&offset), "{offset}");
        assert!(Decoder::new(&nulls).read_value().is_ok());
        // Skipping materializes nothing.
        Decoder::with_limits(&nulls, tight).skip_value().unwrap();
        // A budget exceeded while re-reading for a back-reference names the 'Q': a list of
        // 10 000 nulls (480 KB as values) then 30 refs to it; the second ref goes over.
        let mut body = vec![b'X', 0xaf, b'X', 0xd4, 0x27, 0x10];
        body.extend([b'N'; 10_000]);
        let second_q = body.len() + 2;
        body.extend([b'Q', 0x91].repeat(30));
        let err = Decoder::with_limits(&body, tight.with_work_factor(100))
            .read_value()
            .unwrap_err();
        assert_eq!(
            err_malformed(err),
            MalformedError::MemoryLimit {
                limit: MEMORY_FLOOR,
                offset: second_q,
            }
        );
    }

    fn err_malformed(err: DecodeError) -> MalformedError {
        match err {
            DecodeError::Malformed(e) => e,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn reserved_tags_are_rejected() {
        for t in [0x40, 0x45, 0x47, 0x50, b'Z'] {
            let err = Decoder::new(&[t]).skip_value().unwrap_err();
            assert!(
                matches!(err, DecodeError::Malformed(MalformedError::UnexpectedTag { tag, .. }) if tag == t),
                "{t:#x}"
            );
        }
    }
}
