//! Hessian 2 tag bytes (`PROTOCOL.md` §11.2) and their names for error messages.

pub(crate) const BINARY_CHUNK: u8 = b'A';
pub(crate) const BINARY_FINAL: u8 = b'B';
pub(crate) const CLASS_DEF: u8 = b'C';
pub(crate) const DOUBLE: u8 = b'D';
pub(crate) const FALSE: u8 = b'F';
pub(crate) const MAP: u8 = b'H';
pub(crate) const INT: u8 = b'I';
pub(crate) const DATE_MILLIS: u8 = 0x4A;
pub(crate) const DATE_MINUTES: u8 = 0x4B;
pub(crate) const LONG: u8 = b'L';
pub(crate) const MAP_TYPED: u8 = b'M';
pub(crate) const NULL: u8 = b'N';
pub(crate) const OBJECT: u8 = b'O';
pub(crate) const REF: u8 = b'Q';
pub(crate) const STRING_CHUNK: u8 = b'R';
pub(crate) const STRING_FINAL: u8 = b'S';
pub(crate) const TRUE: u8 = b'T';
pub(crate) const LIST_VAR_TYPED: u8 = b'U';
pub(crate) const LIST_FIXED_TYPED: u8 = b'V';
pub(crate) const LIST_VAR: u8 = b'W';
pub(crate) const LIST_FIXED: u8 = b'X';
pub(crate) const LONG_INT: u8 = b'Y';
pub(crate) const END: u8 = b'Z';
pub(crate) const DOUBLE_ZERO: u8 = 0x5B;
pub(crate) const DOUBLE_ONE: u8 = 0x5C;
pub(crate) const DOUBLE_BYTE: u8 = 0x5D;
pub(crate) const DOUBLE_SHORT: u8 = 0x5E;
pub(crate) const DOUBLE_MILL: u8 = 0x5F;

/// Whether `tag` starts a string chunk.
pub(crate) fn is_string(tag: u8) -> bool {
    matches!(tag, 0x00..=0x1F | 0x30..=0x33 | STRING_CHUNK | STRING_FINAL)
}

/// Whether `tag` starts a binary chunk.
pub(crate) fn is_binary(tag: u8) -> bool {
    matches!(tag, 0x20..=0x2F | 0x34..=0x37 | BINARY_CHUNK | BINARY_FINAL)
}

/// Whether `tag` starts a null, boolean, number or string: a value whose decoding allocates
/// at most the string and touches no class or reference table.
pub(crate) fn is_scalar(tag: u8) -> bool {
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

/// What a value starting with `tag` is, for error messages.
pub(crate) fn name(tag: u8) -> &'static str {
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
