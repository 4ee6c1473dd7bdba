//! Hessian strings: lengths in UTF-16 units, supplementary characters as two 3-byte
//! surrogates, `'R'` chunks of 32 768 units (`docs/protocol.md` §11.6).

/// Java's chunk size for long strings, in UTF-16 units.
const CHUNK_UNITS: usize = 0x8000;

/// Appends `s` as a Hessian string exactly as Java's hessian-lite writes it: the shortest
/// length form, lengths in UTF-16 units, supplementary characters as two 3-byte surrogate
/// sequences (CESU-8), and strings longer than 32 768 units split into `'R'` chunks (one unit
/// shorter when a chunk would end on a high surrogate).
#[inline]
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    let mut rest = s;
    loop {
        let (split, units) = prefix_of_units(rest, CHUNK_UNITS);
        if split == rest.len() {
            write_final_chunk(out, rest, units);
            return;
        }
        out.push(b'R');
        out.extend_from_slice(&(units as u16).to_be_bytes());
        write_cesu8(out, &rest[..split]);
        rest = &rest[split..];
    }
}

#[inline]
fn write_final_chunk(out: &mut Vec<u8>, s: &str, units: usize) {
    if units <= 31 {
        out.push(units as u8);
    } else if units <= 1023 {
        out.push(0x30 + (units >> 8) as u8);
        out.push(units as u8);
    } else {
        // Reached only with units <= CHUNK_UNITS, which fits the 2-byte length.
        out.push(b'S');
        out.extend_from_slice(&(units as u16).to_be_bytes());
    }
    write_cesu8(out, s);
}

/// The byte length and UTF-16 length of the longest prefix of `s` with at most `max_units`
/// UTF-16 units that does not split a surrogate pair.
#[inline]
fn prefix_of_units(s: &str, max_units: usize) -> (usize, usize) {
    if s.is_ascii() {
        let n = s.len().min(max_units);
        return (n, n);
    }
    let mut units = 0;
    for (at, c) in s.char_indices() {
        let w = c.len_utf16();
        if units + w > max_units {
            return (at, units);
        }
        units += w;
    }
    (s.len(), units)
}

/// UTF-8 and CESU-8 agree on every BMP character; only 4-byte sequences (supplementary
/// characters) become two 3-byte surrogate sequences.
#[inline]
fn write_cesu8(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b >= 0xF0) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let mut units = [0u16; 2];
    for c in s.chars() {
        if c.len_utf8() < 4 {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else {
            for &unit in c.encode_utf16(&mut units).iter() {
                out.extend_from_slice(&[
                    0xE0 | (unit >> 12) as u8,
                    0x80 | ((unit >> 6) & 0x3F) as u8,
                    0x80 | (unit & 0x3F) as u8,
                ]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_string(&mut out, s);
        out
    }

    #[test]
    fn short_forms() {
        assert_eq!(enc(""), [0x00]);
        assert_eq!(enc("boom"), b"\x04boom");
        let s = "x".repeat(32);
        assert_eq!(enc(&s)[..2], [0x30, 32]);
        let s = "x".repeat(1024);
        assert_eq!(enc(&s)[..3], [b'S', 0x04, 0x00]);
    }

    #[test]
    fn lengths_count_utf16_units_and_surrogates_are_cesu8() {
        // docs/protocol.md §11.6: Java writes "a😀" as 03 61 ED A0 BD ED B8 80.
        assert_eq!(enc("a😀"), [0x03, 0x61, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
        // 2- and 3-byte characters pass through; the length is 13 chars, 17 bytes.
        let out = enc("héllo wörld ☃");
        assert_eq!(out[0], 13);
        assert_eq!(&out[1..], "héllo wörld ☃".as_bytes());
    }

    #[test]
    fn long_strings_are_chunked_like_java() {
        // Java: 40 000 × 'a' → 52 80 00 + 32 768 bytes + 53 1C 40 + 7 232 bytes.
        let out = enc(&"a".repeat(40_000));
        assert_eq!(out[..3], [b'R', 0x80, 0x00]);
        assert_eq!(out[3 + 32_768..3 + 32_768 + 3], [b'S', 0x1C, 0x40]);
        assert_eq!(out.len(), 3 + 32_768 + 3 + 7_232);
    }

    #[test]
    fn chunk_never_splits_a_surrogate_pair() {
        let s = format!("{}😀tail", "a".repeat(CHUNK_UNITS - 1));
        let out = enc(&s);
        // The first chunk stops before the pair: 32 767 units.
        assert_eq!(out[..3], [b'R', 0x7F, 0xFF]);
        assert_eq!(
            out[3 + 32_767],
            0x06,
            "final chunk: pair (2 units) + 'tail'"
        );
    }
}
