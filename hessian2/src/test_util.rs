//! Helpers shared by the unit tests of this crate.

/// Bytes from hex text; whitespace is ignored (`"da bb 02"`).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}
