//! Hessian 2.0 tag bytes (`docs/protocol.md` §11.2): the first byte of every value, as
//! [`Decoder::peek`](super::Decoder::peek) shows it. The single-byte tags are named here;
//! the compact forms are ranges (ints `0x80..=0xD7`, longs `0xD8..=0xFF` and `0x38..=0x3F`,
//! strings `0x00..=0x1F` and `0x30..=0x33`, binaries `0x20..=0x2F` and `0x34..=0x37`, and
//! the compact lists and objects named below), which the `is_*` functions classify.

/// A non-final binary chunk, 16-bit length.
pub const BINARY_CHUNK: u8 = b'A';
/// The final binary chunk, 16-bit length.
pub const BINARY_FINAL: u8 = b'B';
/// A class definition: name, field count, field names.
pub const CLASS_DEF: u8 = b'C';
/// A double, 8 bytes IEEE 754.
pub const DOUBLE: u8 = b'D';
/// `false`.
pub const FALSE: u8 = b'F';
/// An untyped map (Java's `HashMap`), entries until [`END`].
pub const MAP: u8 = b'H';
/// An int, 4 bytes.
pub const INT: u8 = b'I';
/// A date in milliseconds, 8 bytes.
pub const DATE_MILLIS: u8 = 0x4A;
/// A date in minutes, 4 bytes.
pub const DATE_MINUTES: u8 = 0x4B;
/// A long, 8 bytes.
pub const LONG: u8 = b'L';
/// A typed map: type, then entries until [`END`].
pub const MAP_TYPED: u8 = b'M';
/// `null`.
pub const NULL: u8 = b'N';
/// An object instance whose class index follows as an int (`0x60..=0x6F` are the compact forms for classes 0 to 15).
pub const OBJECT: u8 = b'O';
/// A back-reference to an earlier list, map or object, by index.
pub const REF: u8 = b'Q';
/// A non-final string chunk, 16-bit length in UTF-16 units.
pub const STRING_CHUNK: u8 = b'R';
/// The final string chunk, 16-bit length in UTF-16 units.
pub const STRING_FINAL: u8 = b'S';
/// `true`.
pub const TRUE: u8 = b'T';
/// A variable-length typed list: type, then items until [`END`].
pub const LIST_VAR_TYPED: u8 = b'U';
/// A fixed-length typed list: type, length, items (`0x70..=0x77` are the compact forms for 0 to 7 items).
pub const LIST_FIXED_TYPED: u8 = b'V';
/// A variable-length untyped list: items until [`END`].
pub const LIST_VAR: u8 = b'W';
/// A fixed-length untyped list: length, items (`0x78..=0x7F` are the compact forms for 0 to 7 items).
pub const LIST_FIXED: u8 = b'X';
/// A long that fits an int, 4 bytes.
pub const LONG_INT: u8 = b'Y';
/// The end of a map or variable-length list.
pub const END: u8 = b'Z';
/// The double `0.0`.
pub const DOUBLE_ZERO: u8 = 0x5B;
/// The double `1.0`.
pub const DOUBLE_ONE: u8 = 0x5C;
/// A double that is a whole number in a byte (`i8`).
pub const DOUBLE_BYTE: u8 = 0x5D;
/// A double that is a whole number in 2 bytes (`i16`).
pub const DOUBLE_SHORT: u8 = 0x5E;
/// A double as an `i32` count of thousandths (hessian-lite's form, `0x5F`).
pub const DOUBLE_MILL: u8 = 0x5F;

/// Whether `tag` starts a string chunk.
#[inline]
pub fn is_string(tag: u8) -> bool {
    matches!(tag, 0x00..=0x1F | 0x30..=0x33 | STRING_CHUNK | STRING_FINAL)
}

/// Whether `tag` starts a binary chunk.
#[inline]
pub fn is_binary(tag: u8) -> bool {
    matches!(tag, 0x20..=0x2F | 0x34..=0x37 | BINARY_CHUNK | BINARY_FINAL)
}

/// Whether `tag` starts a null, boolean, number or string: a value whose decoding allocates
/// at most the string and touches no class or reference table.
#[inline]
pub fn is_scalar(tag: u8) -> bool {
    matches!(
        tag,
        NULL | TRUE
            | FALSE
            | 0x80..=0xFF
            | 0x38..=0x3F
            | INT
            | LONG_INT
            | LONG
            | DOUBLE_ZERO..=DOUBLE_MILL
            | DOUBLE
    ) || is_string(tag)
}

/// What a value starting with `tag` is, in words (`"int"`, `"string"`, `"reserved tag"`...),
/// as error messages name it.
#[inline]
pub fn name(tag: u8) -> &'static str {
    match tag {
        NULL => "null",
        TRUE | FALSE => "boolean",
        0x80..=0xD7 | INT => "int",
        0xD8..=0xFF | 0x38..=0x3F | LONG_INT | LONG => "long",
        DOUBLE_ZERO..=DOUBLE_MILL | DOUBLE => "double",
        DATE_MILLIS | DATE_MINUTES => "date",
        t if is_string(t) => "string",
        t if is_binary(t) => "binary",
        LIST_VAR_TYPED | LIST_FIXED_TYPED | LIST_VAR | LIST_FIXED | 0x70..=0x7F => "list",
        MAP | MAP_TYPED => "map",
        OBJECT | 0x60..=0x6F => "object",
        CLASS_DEF => "class definition",
        REF => "back-reference",
        END => "end marker",
        _ => "reserved tag",
    }
}
