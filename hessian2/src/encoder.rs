//! The body-wide Hessian 2 writing context: appends values to a caller's buffer choosing
//! Java's shortest forms, and keeps the class-definition and type-name tables and the
//! reference count shared by all values of one body (`docs/protocol.md` §11.1).

use std::borrow::Cow;

use super::budget::DecodeLimits;
use super::error::EncodeError;
use super::stack::InlineStack;
use super::string::write_string;
use super::tag;

/// Size of Java's `Hessian2Output` buffer, which decides where it cuts binary chunks.
const JAVA_BUFFER: usize = 8192;

/// Nesting limit when writing, so a pathological value fails instead of overflowing the
/// stack: the decoder's default depth ([`DecodeLimits::DEFAULT`]), so
/// whatever we write we can read back, and shallow enough for a 2 MiB thread stack in a
/// debug build (serde recursion takes several KiB per level there).
pub(crate) const MAX_ENCODE_DEPTH: usize = DecodeLimits::DEFAULT.max_depth as usize;

/// A name that is either `'static` (serde struct and field names: never copied) or borrowed
/// for the call (dynamic [`Value`](super::Value) names: copied only when first defined).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Name<'n> {
    Static(&'static str),
    Dynamic(&'n str),
}

impl Name<'_> {
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match *self {
            Self::Static(s) => s,
            Self::Dynamic(s) => s,
        }
    }

    #[inline]
    fn to_cow(self) -> Cow<'static, str> {
        match self {
            Self::Static(s) => Cow::Borrowed(s),
            Self::Dynamic(s) => Cow::Owned(s.to_owned()),
        }
    }
}

#[derive(Debug)]
struct ClassOut {
    name: Cow<'static, str>,
    fields: Vec<Cow<'static, str>>,
    /// While the first instance is being written: where its definition must be inserted.
    pending_at: Option<usize>,
    /// While the first instance is being written: the fewest fields an instance nested in it
    /// (a later instance, closed before the field list was complete) was closed with. The
    /// reader gives every instance the final field list, so a shorter one would desync it.
    nested_fields: Option<usize>,
}

/// An object instance being written (see [`Encoder::begin_object`]).
#[derive(Debug)]
pub(crate) struct ObjectState {
    class: usize,
    /// This instance reserved the class definition and inserts it when done.
    reserves: bool,
    field: usize,
}

/// What the next serializer call must produce, after a reserved newtype name: state of the
/// serde layer (`ser`), kept in the encoder it drives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pending {
    None,
    Date,
    Ref,
    List,
    /// The items of a typed list whose type is in the encoder's scratch string.
    ListItems,
    Map,
    Object,
}

/// Writing state for one body.
///
/// Create one per body over the output buffer; every value written through it shares the
/// class definitions, type names and reference numbering of that body. Values are appended
/// to the buffer as they are written (no intermediate copy); the first instance of a class
/// has its definition inserted in front of it once its field names are known.
#[derive(Debug)]
pub struct Encoder<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    /// Where Java's output buffer was last flushed, to reproduce its binary chunking.
    java_base: usize,
    classes: Vec<ClassOut>,
    types: Vec<Cow<'static, str>>,
    /// Number of lists, maps and objects written so far (the next reference index).
    refs: u32,
    /// Reference indices of the containers being written, outermost first.
    open: InlineStack<u32, 16>,
    pub(crate) pending: Pending,
    /// Reused buffers for names that arrive through serde as values (type and class names,
    /// dynamic field names), so that they cost no allocation once warm.
    pub(crate) scratch: String,
    pub(crate) scratch2: String,
}

impl<'a> Encoder<'a> {
    /// A fresh body context appending to `out`.
    #[inline]
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        let java_base = out.len();
        Self {
            out,
            java_base,
            classes: Vec::new(),
            types: Vec::new(),
            refs: 0,
            open: InlineStack::default(),
            pending: Pending::None,
            scratch: String::new(),
            scratch2: String::new(),
        }
    }

    /// Writes `value` with serde (see the [crate docs](crate) for the mapping).
    #[inline]
    pub fn encode<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut *self)
    }

    /// Writes `null` (`'N'`).
    #[inline]
    pub fn write_null(&mut self) {
        self.out.push(tag::NULL);
    }

    /// Writes a boolean (`'T'`/`'F'`).
    #[inline]
    pub fn write_bool(&mut self, v: bool) {
        self.out.push(if v { tag::TRUE } else { tag::FALSE });
    }

    /// Writes an int in Java's shortest form (`docs/protocol.md` §11.3).
    #[inline]
    pub fn write_int(&mut self, v: i32) {
        write_int(self.out, v);
    }

    /// Writes a long in Java's shortest form (`docs/protocol.md` §11.3).
    #[inline]
    pub fn write_long(&mut self, v: i64) {
        let out = &mut *self.out;
        if (-8..=15).contains(&v) {
            out.push((0xE0 + v) as u8);
        } else if (-2048..=2047).contains(&v) {
            out.extend_from_slice(&[(0xF8 + (v >> 8)) as u8, v as u8]);
        } else if (-262_144..=262_143).contains(&v) {
            out.extend_from_slice(&[(0x3C + (v >> 16)) as u8, (v >> 8) as u8, v as u8]);
        } else if let Ok(v) = i32::try_from(v) {
            out.push(tag::LONG_INT);
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.push(tag::LONG);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }

    /// Writes a double in Java's shortest form, including the `0x5F` int-thousandths form
    /// (`docs/protocol.md` §11.4). `-0.0` becomes `0x5B` like in Java.
    #[inline]
    pub fn write_double(&mut self, v: f64) {
        let out = &mut *self.out;
        // Rust's `as` saturates and maps NaN to 0, exactly like Java's (int) cast.
        let int = v as i32;
        if f64::from(int) == v {
            match int {
                0 => return out.push(tag::DOUBLE_ZERO),
                1 => return out.push(tag::DOUBLE_ONE),
                -128..=127 => return out.extend_from_slice(&[tag::DOUBLE_BYTE, int as u8]),
                -32768..=32767 => {
                    out.push(tag::DOUBLE_SHORT);
                    return out.extend_from_slice(&(int as i16).to_be_bytes());
                }
                _ => {}
            }
        }
        let mills = (v * 1000.0) as i32;
        if 0.001 * f64::from(mills) == v {
            out.push(tag::DOUBLE_MILL);
            out.extend_from_slice(&mills.to_be_bytes());
        } else {
            out.push(tag::DOUBLE);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }

    /// Writes a `java.util.Date` of `millis` since the epoch: minutes form when whole
    /// minutes fit in an int (`docs/protocol.md` §11.5).
    #[inline]
    pub fn write_date(&mut self, millis: i64) {
        if millis % 60_000 == 0 {
            if let Ok(minutes) = i32::try_from(millis / 60_000) {
                self.out.push(tag::DATE_MINUTES);
                self.out.extend_from_slice(&minutes.to_be_bytes());
                return;
            }
        }
        self.out.push(tag::DATE_MILLIS);
        self.out.extend_from_slice(&millis.to_be_bytes());
    }

    /// Writes a string as Java does (`docs/protocol.md` §11.6).
    #[inline]
    pub fn write_str(&mut self, s: &str) {
        write_string(self.out, s);
    }

    /// Appends `bytes` as they are: Hessian values encoded earlier, such as a run of strings
    /// that starts every body and is encoded once.
    ///
    /// The encoder does not read them, so its tables learn nothing from them: they must not
    /// refer to class definitions, type names or back-references of the body, and what
    /// they define (a list, map or object is a reference; a `'C'` a class) must not be
    /// referred to by what is written after them. Nulls, booleans, numbers, dates, strings
    /// and binaries always qualify; anything may come last in a body.
    #[inline]
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Writes a `byte[]`, cutting chunks where Java's 8 KiB output buffer would
    /// (`docs/protocol.md` §11.7). The model assumes Java's buffer held this body from its start
    /// and is exact for bodies below 8 KiB; readers concatenate chunks anyway.
    #[inline]
    pub fn write_binary(&mut self, mut bytes: &[u8]) {
        let mut offset = self.out.len() - self.java_base;
        if JAVA_BUFFER < offset + 16 {
            self.java_base = self.out.len();
            offset = 0;
        }
        while JAVA_BUFFER - offset - 3 < bytes.len() {
            let mut sub = JAVA_BUFFER - offset - 3;
            if sub < 16 {
                self.java_base = self.out.len();
                sub = (JAVA_BUFFER - 3).min(bytes.len());
            }
            self.out.push(tag::BINARY_CHUNK);
            self.out.extend_from_slice(&(sub as u16).to_be_bytes());
            self.out.extend_from_slice(&bytes[..sub]);
            bytes = &bytes[sub..];
            // Java flushes after every non-final chunk.
            self.java_base = self.out.len();
            offset = 0;
        }
        let len = bytes.len();
        if len <= 15 {
            self.out.push(0x20 + len as u8);
        } else if len <= 1023 {
            self.out
                .extend_from_slice(&[0x34 + (len >> 8) as u8, len as u8]);
        } else {
            self.out.push(tag::BINARY_FINAL);
            // len <= JAVA_BUFFER - 3 here, which fits 16 bits.
            self.out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        self.out.extend_from_slice(bytes);
    }

    // ---------------------------------------------------------------------------------
    // Containers and tables

    #[inline]
    fn enter(&mut self) -> Result<(), EncodeError> {
        if self.open.len() >= MAX_ENCODE_DEPTH {
            return Err(EncodeError::TooDeep(MAX_ENCODE_DEPTH));
        }
        self.open.push(self.refs);
        self.refs += 1;
        Ok(())
    }

    /// Closes the innermost list, map or object (maps and variable lists also need
    /// [`write_end`](Self::write_end)).
    #[inline]
    pub(crate) fn leave(&mut self) {
        let _ = self.open.pop();
    }

    /// Writes a list or map type: its name the first time in this body, its index in the
    /// type table afterwards (`docs/protocol.md` §11.12).
    #[inline]
    pub(crate) fn write_type(&mut self, name: Name<'_>) {
        match self.types.iter().position(|t| t == name.as_str()) {
            Some(i) => write_int(self.out, i as i32),
            None => {
                write_string(self.out, name.as_str());
                self.types.push(name.to_cow());
            }
        }
    }

    /// Starts a list; `len` is `None` for the variable-length form ended by `'Z'`. Java
    /// writes the fixed-length forms (`docs/protocol.md` §11.8).
    #[inline]
    pub(crate) fn begin_list(
        &mut self,
        ty: Option<Name<'_>>,
        len: Option<usize>,
    ) -> Result<(), EncodeError> {
        self.enter()?;
        match (ty, len) {
            (Some(ty), Some(len)) if len <= 7 => {
                self.out.push(0x70 + len as u8);
                self.write_type(ty);
            }
            (Some(ty), Some(len)) => {
                self.out.push(tag::LIST_FIXED_TYPED);
                self.write_type(ty);
                self.write_len(len)?;
            }
            (Some(ty), None) => {
                self.out.push(tag::LIST_VAR_TYPED);
                self.write_type(ty);
            }
            (None, Some(len)) if len <= 7 => self.out.push(0x78 + len as u8),
            (None, Some(len)) => {
                self.out.push(tag::LIST_FIXED);
                self.write_len(len)?;
            }
            (None, None) => self.out.push(tag::LIST_VAR),
        }
        Ok(())
    }

    #[inline]
    fn write_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = i32::try_from(len).map_err(|_| EncodeError::OutOfRange(len as i128))?;
        write_int(self.out, len);
        Ok(())
    }

    /// Starts a map: `'H'` untyped (Java's `HashMap`), `'M'` + `type_name` otherwise
    /// (`docs/protocol.md` §11.9). Write its keys and values in turn, then end it with
    /// [`write_end`](Self::write_end): for a map streamed entry by entry, without a
    /// collection to serialize.
    ///
    /// Fails with [`TooDeep`](EncodeError::TooDeep) beyond the encoder's nesting limit.
    ///
    /// ```
    /// use tether_hessian2::{Decoder, Encoder, Value};
    ///
    /// let mut body = Vec::new();
    /// let mut out = Encoder::new(&mut body);
    /// out.begin_map(None)?;
    /// for (key, value) in [("path", "demo.Hello"), ("timeout", "300")] {
    ///     out.write_str(key);
    ///     out.write_str(value);
    /// }
    /// out.write_end();
    ///
    /// let map = Decoder::new(&body).read_value()?;
    /// assert_eq!(map.get("timeout"), Some(&Value::from("300")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn begin_map(&mut self, type_name: Option<&str>) -> Result<(), EncodeError> {
        self.enter()?;
        match type_name {
            None => self.out.push(tag::MAP),
            Some(ty) => {
                self.out.push(tag::MAP_TYPED);
                self.write_type(Name::Dynamic(ty));
            }
        }
        Ok(())
    }

    /// Ends the map begun by [`begin_map`](Self::begin_map) (or a variable-length list):
    /// writes its `'Z'`. The encoder does not check that a map is open; a `'Z'` without one
    /// makes the body unreadable.
    #[inline]
    pub fn write_end(&mut self) {
        self.out.push(tag::END);
        self.leave();
    }

    /// Starts an instance of `class` (`docs/protocol.md` §11.10). The first instance in the body
    /// reserves the class definition's index; its definition is written in front of it by
    /// [`end_object`](Self::end_object), once [`object_field`](Self::object_field) has seen
    /// every field name. Later instances must write the same fields in the same order.
    #[inline]
    pub(crate) fn begin_object(&mut self, class: Name<'_>) -> Result<ObjectState, EncodeError> {
        let (index, reserves) = match self.classes.iter().position(|c| c.name == class.as_str()) {
            Some(i) => (i, false),
            None => {
                self.classes.push(ClassOut {
                    name: class.to_cow(),
                    fields: Vec::new(),
                    pending_at: Some(self.out.len()),
                    nested_fields: None,
                });
                (self.classes.len() - 1, true)
            }
        };
        self.enter()?;
        self.write_instance_tag(index);
        Ok(ObjectState {
            class: index,
            reserves,
            field: 0,
        })
    }

    #[inline]
    fn write_instance_tag(&mut self, index: usize) {
        if index <= 15 {
            self.out.push(0x60 + index as u8);
        } else {
            self.out.push(tag::OBJECT);
            write_int(self.out, index as i32);
        }
    }

    /// Declares the next field of an object being written (its value follows).
    #[inline]
    pub(crate) fn object_field(
        &mut self,
        state: &mut ObjectState,
        name: Name<'_>,
    ) -> Result<(), EncodeError> {
        let class = &mut self.classes[state.class];
        if class.pending_at.is_some() && class.fields.len() == state.field {
            // The first instance (or a nested one of the same class) is still discovering
            // the field list.
            class.fields.push(name.to_cow());
        } else if class.fields.get(state.field).map(|f| &**f) != Some(name.as_str()) {
            return Err(EncodeError::FieldMismatch {
                class: class.name.to_string(),
                index: state.field,
                expected: class
                    .fields
                    .get(state.field)
                    .map(|f| f.to_string())
                    .unwrap_or_default(),
                found: name.as_str().to_owned(),
            });
        }
        state.field += 1;
        Ok(())
    }

    /// Finishes an object: checks the field count and, for the first instance of its class,
    /// inserts the class definition in front of it.
    ///
    /// An instance nested in the first instance of its class is checked against the fields
    /// known so far, and again when the first instance ends: if the first instance declares
    /// more fields after it, the nested instance is short and this is a
    /// [`FieldMismatch`](EncodeError::FieldMismatch), never bytes that cannot be read back.
    #[inline]
    pub(crate) fn end_object(&mut self, state: ObjectState) -> Result<(), EncodeError> {
        self.leave();
        let class = &mut self.classes[state.class];
        if state.field != class.fields.len() {
            return Err(short_instance(class, state.field));
        }
        if !state.reserves {
            if class.pending_at.is_some() {
                let fewest = class
                    .nested_fields
                    .map_or(state.field, |n| n.min(state.field));
                class.nested_fields = Some(fewest);
            }
            return Ok(());
        }
        if let Some(fewest) = class.nested_fields.take() {
            if fewest != class.fields.len() {
                return Err(short_instance(class, fewest));
            }
        }
        let Some(at) = class.pending_at.take() else {
            return Ok(());
        };
        // Append the definition, then rotate it in front of the instance. Nested first
        // instances inserted theirs further right earlier, so `at` is still exact.
        let end = self.out.len();
        self.out.push(tag::CLASS_DEF);
        write_string(self.out, &class.name);
        write_int(self.out, class.fields.len() as i32);
        for field in &class.fields {
            write_string(self.out, field);
        }
        let def_len = self.out.len() - end;
        self.out[at..].rotate_right(def_len);
        Ok(())
    }

    /// Writes a back-reference to the container `up` levels above the current position
    /// (0 = the innermost list, map or object being written).
    #[inline]
    pub(crate) fn write_ref_up(&mut self, up: usize) -> Result<(), EncodeError> {
        let open = self.open.len();
        // `up < open` also keeps `up + 1` from overflowing for `usize::MAX`.
        if up >= open {
            return Err(EncodeError::BadRef { up, open });
        }
        let index = self.open[open - 1 - up];
        self.out.push(tag::REF);
        write_int(self.out, index as i32);
        Ok(())
    }
}

/// An instance of `class` that ended after `written` of the definition's fields.
#[inline]
fn short_instance(class: &ClassOut, written: usize) -> EncodeError {
    EncodeError::FieldMismatch {
        class: class.name.to_string(),
        index: written,
        expected: class
            .fields
            .get(written)
            .map(|f| f.to_string())
            .unwrap_or_default(),
        found: String::new(),
    }
}

/// Appends an int in Java's shortest form (`docs/protocol.md` §11.3).
#[inline]
pub(crate) fn write_int(out: &mut Vec<u8>, v: i32) {
    if (-16..=47).contains(&v) {
        out.push((0x90 + v) as u8);
    } else if (-2048..=2047).contains(&v) {
        out.extend_from_slice(&[(0xC8 + (v >> 8)) as u8, v as u8]);
    } else if (-262_144..=262_143).contains(&v) {
        out.extend_from_slice(&[(0xD4 + (v >> 16)) as u8, (v >> 8) as u8, v as u8]);
    } else {
        out.push(tag::INT);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::super::Value;
    use super::*;
    use crate::test_util::hex;

    fn with(f: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut Encoder::new(&mut out));
        out
    }

    #[test]
    fn ints_pick_javas_shortest_form() {
        // docs/protocol.md §11.3, verified against Java.
        for (v, h) in [
            (0, "90"),
            (-16, "80"),
            (47, "bf"),
            (48, "c8 30"),
            (-17, "c7 ef"),
            (2047, "cf ff"),
            (-2048, "c0 00"),
            (2048, "d4 08 00"),
            (262_143, "d7 ff ff"),
            (-262_144, "d0 00 00"),
            (262_144, "49 00 04 00 00"),
        ] {
            assert_eq!(with(|e| e.write_int(v)), hex(h), "{v}");
        }
    }

    #[test]
    fn longs_pick_javas_shortest_form() {
        for (v, h) in [
            (0, "e0"),
            (-8, "d8"),
            (15, "ef"),
            (16, "f8 10"),
            (2047, "ff ff"),
            (-2048, "f0 00"),
            (262_143, "3f ff ff"),
            (-262_144, "38 00 00"),
            (262_144, "59 00 04 00 00"),
            (2_147_483_648, "4c 00 00 00 00 80 00 00 00"),
        ] {
            assert_eq!(with(|e| e.write_long(v)), hex(h), "{v}");
        }
    }

    #[test]
    #[allow(clippy::approx_constant)] // 3.14159 is the literal Java wrote
    fn doubles_pick_javas_shortest_form() {
        for (v, h) in [
            (0.0, "5b"),
            (-0.0, "5b"),
            (1.0, "5c"),
            (2.0, "5d 02"),
            (-128.0, "5d 80"),
            (128.0, "5e 00 80"),
            (32768.0, "5f 01 f4 00 00"),
            (12.25, "5f 00 00 2f da"),
            (0.001, "5f 00 00 00 01"),
            (1.5, "5f 00 00 05 dc"),
            (3.14159, "44 40 09 21 f9 f0 1b 86 6e"),
        ] {
            assert_eq!(with(|e| e.write_double(v)), hex(h), "{v}");
        }
        let nan = with(|e| e.write_double(f64::NAN));
        assert_eq!(nan[0], b'D');
        assert_eq!(with(|e| e.write_double(1e300))[0], b'D');
    }

    #[test]
    fn dates_pick_minutes_when_whole() {
        assert_eq!(with(|e| e.write_date(1)), hex("4a 00 00 00 00 00 00 00 01"));
        assert_eq!(with(|e| e.write_date(60_000)), hex("4b 00 00 00 01"));
        assert_eq!(with(|e| e.write_date(0)), hex("4b 00 00 00 00"));
        // Whole minutes beyond an int: millisecond form.
        let big = (i64::from(i32::MAX) + 1) * 60_000;
        assert_eq!(with(|e| e.write_date(big))[0], 0x4a);
    }

    #[test]
    fn binary_chunks_like_java() {
        assert_eq!(with(|e| e.write_binary(&[])), [0x20]);
        assert_eq!(with(|e| e.write_binary(&[7; 15]))[0], 0x2f);
        assert_eq!(with(|e| e.write_binary(&[7; 16]))[..2], [0x34, 0x10]);
        assert_eq!(
            with(|e| e.write_binary(&[7; 1024]))[..3],
            [b'B', 0x04, 0x00]
        );
        // §11.7: a 9 000-byte array → 41 1F FD + 8 189 bytes + 37 2B + 811 bytes.
        let data: Vec<u8> = (0..9000).map(|i| i as u8).collect();
        let out = with(|e| e.write_binary(&data));
        assert_eq!(out[..3], [b'A', 0x1f, 0xfd]);
        assert_eq!(out[3 + 8189..3 + 8189 + 2], [0x37, 0x2b]);
        assert_eq!(out.len(), 3 + 8189 + 2 + 811);
        // Many chunks: each non-final chunk is a full buffer.
        let out = with(|e| e.write_binary(&vec![1; 20_000]));
        assert_eq!(out[..3], [b'A', 0x1f, 0xfd]);
        assert_eq!(out[3 + 8189..3 + 8189 + 3], [b'A', 0x1f, 0xfd]);
        assert_eq!(out[2 * (3 + 8189)..2 * (3 + 8189) + 3], [b'B', 0x0e, 0x26]);
    }

    #[test]
    fn type_names_are_written_once_then_referenced() {
        // §11.12: two one-element int[] in one body.
        let out = with(|e| {
            for _ in 0..2 {
                e.begin_list(Some(Name::Static("[int")), Some(1)).unwrap();
                e.write_int(1);
                e.leave();
            }
        });
        assert_eq!(out, hex("71 04 5b 69 6e 74 91 71 90 91"));
    }

    #[test]
    fn class_definitions_precede_the_first_instance_only() {
        // §11.10: List[u1, u2] with demo.User{age, name}; nested new classes keep their
        // indexes in stream order.
        let out = with(|e| {
            e.begin_list(None, Some(2)).unwrap();
            for (age, name) in [(18, "tom"), (20, "amy")] {
                let mut st = e.begin_object(Name::Static("demo.User")).unwrap();
                e.object_field(&mut st, Name::Static("age")).unwrap();
                e.write_int(age);
                e.object_field(&mut st, Name::Static("name")).unwrap();
                e.write_str(name);
                e.end_object(st).unwrap();
            }
            e.leave();
        });
        assert_eq!(
            out,
            hex(
                "7a 43 09 64 65 6d 6f 2e 55 73 65 72 92 03 61 67 65 04 6e 61 6d 65 \
                 60 a2 03 74 6f 6d 60 a4 03 61 6d 79"
            )
        );
    }

    #[test]
    fn nested_first_instances_get_definitions_in_stream_order() {
        let out = with(|e| {
            let mut outer = e.begin_object(Name::Static("A")).unwrap();
            e.object_field(&mut outer, Name::Static("b")).unwrap();
            let mut inner = e.begin_object(Name::Static("B")).unwrap();
            e.object_field(&mut inner, Name::Static("x")).unwrap();
            e.write_int(1);
            e.end_object(inner).unwrap();
            e.end_object(outer).unwrap();
        });
        // C "A" [b] 60 C "B" [x] 61 91
        assert_eq!(out, hex("43 01 41 91 01 62 60 43 01 42 91 01 78 61 91"));
    }

    #[test]
    fn field_mismatch_is_an_error() {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out);
        let mut st = e.begin_object(Name::Static("A")).unwrap();
        e.object_field(&mut st, Name::Static("x")).unwrap();
        e.write_int(1);
        e.end_object(st).unwrap();
        let mut st = e.begin_object(Name::Static("A")).unwrap();
        let err = e.object_field(&mut st, Name::Static("y")).unwrap_err();
        assert!(
            matches!(err, EncodeError::FieldMismatch { index: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn nested_instance_of_a_class_still_being_defined_must_have_all_its_fields() {
        // Review reproducer: A{x: A{x: null}, y: 1}. The inner A ended with the one field
        // known at that point; the outer then added `y`, and the bytes gave the inner
        // instance two fields on reading. Now an error, through both writers.
        let inner = Value::object("A", vec![("x".into(), Value::Null)]);
        let outer = Value::object("A", vec![("x".into(), inner), ("y".into(), Value::Int(1))]);
        let expected = EncodeError::FieldMismatch {
            class: "A".into(),
            index: 1,
            expected: "y".into(),
            found: String::new(),
        };
        let mut out = Vec::new();
        assert_eq!(
            Encoder::new(&mut out).write_value(&outer),
            Err(expected.clone())
        );
        assert_eq!(super::super::to_vec(&outer), Err(expected));
        // The same shape with the full field list nested is fine, and so is a nested
        // instance that declares the fields the outer one then writes.
        let full = Value::object(
            "A",
            vec![
                (
                    "x".into(),
                    Value::object(
                        "A",
                        vec![("x".into(), Value::Null), ("y".into(), Value::Int(2))],
                    ),
                ),
                ("y".into(), Value::Int(1)),
            ],
        );
        let bytes = super::super::to_vec(&full).unwrap();
        assert_eq!(
            super::super::Decoder::new(&bytes).read_value().unwrap(),
            full
        );
        // A nested instance with more fields than the outer one writes is still an error.
        let long_inner = Value::object(
            "A",
            vec![(
                "x".into(),
                Value::object(
                    "A",
                    vec![("x".into(), Value::Null), ("y".into(), Value::Int(2))],
                ),
            )],
        );
        assert!(matches!(
            super::super::to_vec(&long_inner),
            Err(EncodeError::FieldMismatch { index: 1, .. })
        ));
    }

    #[test]
    fn maps_streamed_entry_by_entry_and_raw_values() {
        let out = with(|e| {
            e.write_raw(&hex("01 61"));
            e.begin_map(Some("java.util.TreeMap")).unwrap();
            e.write_str("k");
            e.write_int(1);
            e.write_end();
            e.begin_map(Some("java.util.TreeMap")).unwrap();
            e.write_end();
        });
        // The second map names its type by index (§11.12).
        assert_eq!(
            out,
            hex(
                "01 61 4d 11 6a 61 76 61 2e 75 74 69 6c 2e 54 72 65 65 4d 61 70 01 6b 91 5a 4d 90 5a"
            )
        );
    }

    #[test]
    fn refs_count_every_container() {
        let out = with(|e| {
            e.begin_map(None).unwrap();
            e.write_str("k");
            e.begin_list(None, Some(1)).unwrap();
            e.write_ref_up(0).unwrap();
            e.leave();
            e.write_end();
        });
        assert_eq!(out, hex("48 01 6b 79 51 91 5a"));
        let mut out = Vec::new();
        assert!(matches!(
            Encoder::new(&mut out).write_ref_up(0),
            Err(EncodeError::BadRef { up: 0, open: 0 })
        ));
    }

    #[test]
    fn ref_beyond_the_open_containers_is_an_error_even_for_usize_max() {
        // Review reproducer: `up + 1` overflowed (a debug panic; in release `51 90` was
        // written with no container open and Ok returned).
        for up in [usize::MAX, usize::MAX - 1, 1] {
            let mut out = Vec::new();
            let mut e = Encoder::new(&mut out);
            assert_eq!(
                e.write_value(&Value::Ref(up)),
                Err(EncodeError::BadRef { up, open: 0 })
            );
            let list = Value::list(vec![Value::Ref(up)]);
            assert_eq!(
                e.write_value(&list),
                Err(EncodeError::BadRef { up, open: 1 })
            );
            // Through serde too (u64::MAX is beyond a Java long: OutOfRange).
            assert!(super::super::to_vec(&list).is_err());
        }
        // The serde representation carries the level as a u64: the same check applies.
        let huge = Value::list(vec![Value::Ref(i64::MAX as usize)]);
        assert!(matches!(
            super::super::to_vec(&huge),
            Err(EncodeError::BadRef { .. })
        ));
    }
}
