//! `java.math.BigDecimal` and `java.math.BigInteger` as hessian-lite writes them, with
//! conversions to and from strings, integers and (crate features `rust_decimal`,
//! `num-bigint`) those crates' types.
//!
//! On the wire (checked against Java Dubbo 3.3 and 2.7 by tether's type matrix):
//!
//! - a `BigDecimal` is an object of class `java.math.BigDecimal` with one field `value`,
//!   the string `BigDecimal.toString()` gives (`"-12345.678900"`, `"1E+400"`, `"1E-21"`);
//!   Java reads it back with `new BigDecimal(value)`;
//! - a `BigInteger` is an object of class `java.math.BigInteger` with the JVM's own fields:
//!   `signum` (-1, 0, 1) and `mag`, the magnitude as a big-endian `int[]` without leading
//!   zeros. Java writes its cache fields too (`bitCount`...); they are skipped when read,
//!   and Java recomputes them when they are absent.
//!
//! ```
//! use tether_hessian2::{BigDecimal, BigInteger, from_slice, to_vec};
//!
//! let price: BigDecimal = "19.90".parse()?;
//! assert_eq!(from_slice::<BigDecimal>(&to_vec(&price)?)?, price);
//! // Java's canonical form: the scale is kept ("19.90" is not "19.9"), exponents as Java
//! // prints them.
//! assert_eq!("0.000000000000000000001".parse::<BigDecimal>()?.to_string(), "1E-21");
//! assert_eq!(price.scale(), 2);
//!
//! let big: BigInteger = "-123456789012345678901234567890".parse()?;
//! assert_eq!(big.signum(), -1);
//! assert_eq!(from_slice::<BigInteger>(&to_vec(&big)?)?, big);
//! assert_eq!(i128::try_from(&big)?, -123456789012345678901234567890);
//! assert_eq!(BigInteger::from(1u64 << 32).to_string(), "4294967296");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::java::{JavaArray, JavaClass, JavaType, class_descriptor};

/// A string that is not a number of the requested kind, or a number out of range.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{what}: {input:?}")]
pub struct NumberError {
    what: &'static str,
    input: String,
}

impl NumberError {
    fn new(what: &'static str, input: impl Into<String>) -> Self {
        Self {
            what,
            input: input.into(),
        }
    }
}

// -------------------------------------------------------------------------------------
// BigDecimal

/// A `java.math.BigDecimal`: an arbitrary-precision decimal number with a scale, kept in
/// Java's canonical string form (`BigDecimal.toString()`).
///
/// Parsing accepts what Java's `new BigDecimal(String)` accepts (an optional sign, digits
/// with an optional point, an optional exponent) and keeps the scale, as Java does:
/// `"1.50"` and `"1.5"` are different values (as `equals` says in Java), and so equality
/// here compares the canonical strings. Arithmetic is for a numeric crate: convert with
/// the `rust_decimal` feature (`rust_decimal::Decimal`), or read [`unscaled`](Self::unscaled)
/// and [`scale`](Self::scale).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct BigDecimal {
    /// Java's `toString()` of the value.
    canonical: String,
    /// The scale (digits after the point; negative for powers of ten).
    scale: i32,
}

impl BigDecimal {
    /// The unscaled value and the scale: the number is `unscaled × 10^-scale`.
    ///
    /// `unscaled` is decimal digits with an optional leading `-`, without leading zeros.
    pub fn from_parts(unscaled: &str, scale: i32) -> Result<Self, NumberError> {
        let (negative, digits) = match unscaled.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, unscaled),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::new("not an unscaled integer", unscaled));
        }
        Ok(Self::layout(negative, digits, scale))
    }

    /// The string Java's `BigDecimal.toString()` prints for `±digits × 10^-scale`.
    fn layout(negative: bool, digits: &str, scale: i32) -> Self {
        let digits = digits.trim_start_matches('0');
        let (negative, coeff) = if digits.is_empty() {
            (false, "0")
        } else {
            (negative, digits)
        };
        let mut s = String::with_capacity(coeff.len() + 8);
        if negative {
            s.push('-');
        }
        let len = coeff.len() as i64;
        let adjusted = -i64::from(scale) + (len - 1);
        if scale == 0 {
            s.push_str(coeff);
        } else if scale > 0 && adjusted >= -6 {
            // Plain notation.
            let scale = i64::from(scale);
            if scale >= len {
                s.push_str("0.");
                s.extend(std::iter::repeat_n('0', (scale - len) as usize));
                s.push_str(coeff);
            } else {
                let point = (len - scale) as usize;
                s.push_str(&coeff[..point]);
                s.push('.');
                s.push_str(&coeff[point..]);
            }
        } else {
            // Scientific notation: one digit before the point.
            s.push_str(&coeff[..1]);
            if coeff.len() > 1 {
                s.push('.');
                s.push_str(&coeff[1..]);
            }
            if adjusted != 0 {
                s.push('E');
                if adjusted > 0 {
                    s.push('+');
                }
                s.push_str(&adjusted.to_string());
            }
        }
        Self {
            canonical: s,
            scale,
        }
    }

    /// Java's `toString()` of this value (also what [`Display`](fmt::Display) prints).
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The scale: digits after the point, negative for a multiple of a power of ten
    /// (`"1E+3"` has scale -3).
    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// The unscaled value, as decimal digits with an optional leading `-` (`"-1234"` for
    /// `"-12.34"`).
    pub fn unscaled(&self) -> String {
        let (mantissa, _) = split_exponent(&self.canonical);
        let mut out: String = mantissa.chars().filter(|&c| c != '.').collect();
        // Plain notation below 1 has leading zeros ("0.05" → "005").
        let negative = out.starts_with('-');
        let digits = out.trim_start_matches('-').trim_start_matches('0');
        out = match (negative, digits.is_empty()) {
            (_, true) => "0".to_owned(),
            (true, false) => format!("-{digits}"),
            (false, false) => digits.to_owned(),
        };
        out
    }

    /// Whether this is zero (at any scale).
    pub fn is_zero(&self) -> bool {
        self.unscaled() == "0"
    }
}

/// The mantissa and the exponent part (without `E`) of a canonical string.
fn split_exponent(s: &str) -> (&str, Option<&str>) {
    match s.find('E') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

impl FromStr for BigDecimal {
    type Err = NumberError;

    /// Parses what Java's `new BigDecimal(String)` accepts.
    fn from_str(input: &str) -> Result<Self, NumberError> {
        let bad = || NumberError::new("not a BigDecimal", input);
        let (negative, rest) = match input.as_bytes().first() {
            Some(b'-') => (true, &input[1..]),
            Some(b'+') => (false, &input[1..]),
            _ => (false, input),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((int, frac)) => (int, frac),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return Err(bad());
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return Err(bad());
                }
                e.parse().map_err(|_| bad())?
            }
        };
        // Java: the scale is an int; out of range is a NumberFormatException.
        let scale = i32::try_from(frac.len() as i64 - exponent).map_err(|_| bad())?;
        let digits = format!("{int}{frac}");
        Ok(Self::layout(negative, &digits, scale))
    }
}

impl fmt::Display for BigDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

macro_rules! decimal_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for BigDecimal {
            fn from(v: $t) -> Self {
                let s = v.to_string();
                let (negative, digits) = match s.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, s.as_str()),
                };
                Self::layout(negative, digits, 0)
            }
        }
    )*};
}

decimal_from_int!(i32, i64, i128, u32, u64, u128);

impl From<&BigInteger> for BigDecimal {
    fn from(v: &BigInteger) -> Self {
        let digits = v.magnitude_digits();
        Self::layout(v.signum < 0, &digits, 0)
    }
}

/// hessian-lite's layout: `java.math.BigDecimal { value }`.
#[derive(Serialize, Deserialize)]
#[serde(rename = "java.math.BigDecimal")]
struct DecimalRepr<S> {
    value: S,
}

impl Serialize for BigDecimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DecimalRepr {
            value: self.canonical.as_str(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for BigDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = DecimalRepr::<Cow<'de, str>>::deserialize(d)?;
        repr.value.parse().map_err(serde::de::Error::custom)
    }
}

impl JavaType for BigDecimal {
    fn descriptor(out: &mut String) {
        class_descriptor(out, Self::CLASS)
    }

    fn array_type() -> Cow<'static, str> {
        Cow::Borrowed("[java.math.BigDecimal")
    }
}

impl JavaClass for BigDecimal {
    const CLASS: &'static str = "java.math.BigDecimal";
}

// -------------------------------------------------------------------------------------
// BigInteger

/// A `java.math.BigInteger`: an arbitrary-size integer, as its sign and big-endian 32-bit
/// magnitude (Java's own representation, which hessian-lite writes field by field).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct BigInteger {
    /// -1, 0 or 1; 0 exactly when `mag` is empty.
    signum: i32,
    /// Big-endian, no leading zero words.
    mag: Vec<u32>,
}

impl BigInteger {
    /// The integer of sign `signum` (-1, 0, 1) and big-endian 32-bit magnitude `mag`
    /// (leading zeros allowed): Java's `signum` and `mag` fields.
    pub fn from_signum_and_magnitude(signum: i32, mag: &[u32]) -> Result<Self, NumberError> {
        let first = mag.iter().position(|&w| w != 0).unwrap_or(mag.len());
        let mag = mag[first..].to_vec();
        match (signum, mag.is_empty()) {
            (0, true) | (-1 | 1, false) => Ok(Self { signum, mag }),
            (-1 | 1, true) => Ok(Self::default()),
            _ => Err(NumberError::new(
                "inconsistent BigInteger signum",
                signum.to_string(),
            )),
        }
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.signum
    }

    /// The magnitude, big-endian 32-bit words without leading zeros (empty for 0).
    pub fn magnitude(&self) -> &[u32] {
        &self.mag
    }

    /// The magnitude in decimal.
    fn magnitude_digits(&self) -> String {
        if self.mag.is_empty() {
            return "0".to_owned();
        }
        // Repeated division by 10^9, least significant chunk first.
        let mut words = self.mag.clone();
        let mut chunks = Vec::new();
        while !words.is_empty() {
            let mut rem = 0u64;
            for w in words.iter_mut() {
                let cur = (rem << 32) | u64::from(*w);
                *w = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            chunks.push(rem as u32);
            let first = words.iter().position(|&w| w != 0).unwrap_or(words.len());
            words.drain(..first);
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

impl FromStr for BigInteger {
    type Err = NumberError;

    /// Parses a decimal integer with an optional sign, as Java's `new BigInteger(String)`.
    fn from_str(input: &str) -> Result<Self, NumberError> {
        let (signum, digits) = match input.as_bytes().first() {
            Some(b'-') => (-1, &input[1..]),
            Some(b'+') => (1, &input[1..]),
            _ => (1, input),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::new("not a BigInteger", input));
        }
        // mag = mag * 10 + d, little-endian while building.
        let mut le: Vec<u32> = Vec::new();
        for d in digits.bytes() {
            let mut carry = u64::from(d - b'0');
            for w in le.iter_mut() {
                let cur = u64::from(*w) * 10 + carry;
                *w = cur as u32;
                carry = cur >> 32;
            }
            if carry != 0 {
                le.push(carry as u32);
            }
        }
        le.reverse();
        Self::from_signum_and_magnitude(signum, &le)
    }
}

impl fmt::Display for BigInteger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signum < 0 {
            f.write_str("-")?;
        }
        f.write_str(&self.magnitude_digits())
    }
}

impl From<i128> for BigInteger {
    fn from(v: i128) -> Self {
        let mut magnitude = v.unsigned_abs();
        let mut mag = Vec::new();
        while magnitude != 0 {
            mag.push(magnitude as u32);
            magnitude >>= 32;
        }
        mag.reverse();
        Self {
            signum: v.signum() as i32,
            mag,
        }
    }
}

impl From<u128> for BigInteger {
    fn from(v: u128) -> Self {
        let mut big = Self::from((v >> 1) as i128);
        // Shift left by one and add the low bit: u128 does not fit i128.
        let mut carry = (v & 1) as u32;
        for w in big.mag.iter_mut().rev() {
            let next = *w >> 31;
            *w = (*w << 1) | carry;
            carry = next;
        }
        if carry != 0 {
            big.mag.insert(0, carry);
        }
        if v != 0 {
            big.signum = 1;
        }
        big
    }
}

macro_rules! integer_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for BigInteger {
            fn from(v: $t) -> Self {
                Self::from(i128::from(v))
            }
        }
    )*};
}

integer_from_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl TryFrom<&BigInteger> for i128 {
    type Error = NumberError;

    fn try_from(v: &BigInteger) -> Result<i128, NumberError> {
        let too_big = || NumberError::new("BigInteger out of range of i128", v.to_string());
        if v.mag.len() > 4 {
            return Err(too_big());
        }
        let magnitude = v
            .mag
            .iter()
            .fold(0u128, |acc, &w| (acc << 32) | u128::from(w));
        if v.signum < 0 {
            0i128.checked_sub_unsigned(magnitude).ok_or_else(too_big)
        } else {
            i128::try_from(magnitude).map_err(|_| too_big())
        }
    }
}

impl TryFrom<&BigInteger> for i64 {
    type Error = NumberError;

    fn try_from(v: &BigInteger) -> Result<i64, NumberError> {
        i128::try_from(v)
            .ok()
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| NumberError::new("BigInteger out of range of i64", v.to_string()))
    }
}

/// hessian-lite's layout: the JVM fields `signum` and `mag` (`int[]`).
#[derive(Serialize, Deserialize)]
#[serde(rename = "java.math.BigInteger")]
struct IntegerRepr {
    signum: i32,
    mag: JavaArray<i32>,
}

impl Serialize for BigInteger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        IntegerRepr {
            signum: self.signum,
            // Java's int[] holds the words' bits.
            mag: JavaArray(self.mag.iter().map(|&w| w as i32).collect()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for BigInteger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = IntegerRepr::deserialize(d)?;
        let mag: Vec<u32> = repr.mag.0.iter().map(|&w| w as u32).collect();
        Self::from_signum_and_magnitude(repr.signum, &mag).map_err(serde::de::Error::custom)
    }
}

impl JavaType for BigInteger {
    fn descriptor(out: &mut String) {
        class_descriptor(out, Self::CLASS)
    }

    fn array_type() -> Cow<'static, str> {
        Cow::Borrowed("[java.math.BigInteger")
    }
}

impl JavaClass for BigInteger {
    const CLASS: &'static str = "java.math.BigInteger";
}

// -------------------------------------------------------------------------------------
// Optional conversions

#[cfg(feature = "rust_decimal")]
mod rust_decimal_impls {
    use rust_decimal::Decimal;

    use super::{BigDecimal, NumberError};

    /// Exact: the same unscaled value and scale.
    impl From<Decimal> for BigDecimal {
        fn from(d: Decimal) -> Self {
            let unscaled = d.mantissa().to_string();
            // A Decimal's scale is at most 28; its mantissa is digits with a sign.
            BigDecimal::from_parts(&unscaled, d.scale() as i32)
                .expect("a Decimal's mantissa is an integer")
        }
    }

    /// Exact, or an error: `Decimal` holds 96-bit unscaled values with scales 0 to 28 (a
    /// negative scale is multiplied out).
    impl TryFrom<&BigDecimal> for Decimal {
        type Error = NumberError;

        fn try_from(v: &BigDecimal) -> Result<Self, NumberError> {
            let too_big = || NumberError::new("BigDecimal out of range of Decimal", v.as_str());
            let mut unscaled: i128 = v.unscaled().parse().map_err(|_| too_big())?;
            let mut scale = v.scale();
            while scale < 0 {
                unscaled = unscaled.checked_mul(10).ok_or_else(too_big)?;
                scale += 1;
            }
            let scale = u32::try_from(scale).map_err(|_| too_big())?;
            Decimal::try_from_i128_with_scale(unscaled, scale).map_err(|_| too_big())
        }
    }
}

#[cfg(feature = "num-bigint")]
mod num_bigint_impls {
    use num_bigint::{BigInt, Sign};

    use super::{BigDecimal, BigInteger};

    impl From<&BigInt> for BigInteger {
        fn from(v: &BigInt) -> Self {
            let (sign, le) = v.to_u32_digits();
            let mut mag = le;
            mag.reverse();
            let signum = match sign {
                Sign::Minus => -1,
                Sign::NoSign => 0,
                Sign::Plus => 1,
            };
            BigInteger { signum, mag }
        }
    }

    impl From<BigInt> for BigInteger {
        fn from(v: BigInt) -> Self {
            Self::from(&v)
        }
    }

    impl From<&BigInteger> for BigInt {
        fn from(v: &BigInteger) -> Self {
            let sign = match v.signum {
                -1 => Sign::Minus,
                0 => Sign::NoSign,
                _ => Sign::Plus,
            };
            let mut le = v.mag.clone();
            le.reverse();
            BigInt::from_slice(sign, &le)
        }
    }

    impl From<BigInteger> for BigInt {
        fn from(v: BigInteger) -> Self {
            Self::from(&v)
        }
    }

    impl BigDecimal {
        /// `unscaled × 10^-scale`.
        pub fn from_bigint(unscaled: &BigInt, scale: i32) -> Self {
            Self::from_parts(&unscaled.to_string(), scale).expect("a BigInt prints as an integer")
        }

        /// The unscaled value as a `BigInt` (with [`scale`](Self::scale)).
        pub fn unscaled_bigint(&self) -> BigInt {
            self.unscaled()
                .parse()
                .expect("the unscaled value is an integer")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Value, from_slice, from_value, to_value, to_vec};

    #[test]
    fn decimals_print_as_java_s_to_string() {
        // new BigDecimal(input).toString() in Java.
        for (input, java, scale) in [
            ("-12345.678900", "-12345.678900", 6),
            ("0", "0", 0),
            ("-0", "0", 0),
            ("0.00", "0.00", 2),
            ("-0.00", "0.00", 2),
            ("1E+400", "1E+400", -400),
            ("1e400", "1E+400", -400),
            ("0.000000000000000000001", "1E-21", 21),
            ("1E-21", "1E-21", 21),
            ("0.000001", "0.000001", 6),
            ("0.0000001", "1E-7", 7),
            ("123.45E-10", "1.2345E-8", 12),
            ("1E2", "1E+2", -2),
            ("100", "100", 0),
            ("+7.5", "7.5", 1),
            ("00012.30", "12.30", 2),
            (".5", "0.5", 1),
            ("5.", "5", 0),
            ("0E+3", "0E+3", -3),
            ("12E1", "1.2E+2", -1),
            ("1.5E1", "15", 0),
        ] {
            let d: BigDecimal = input.parse().unwrap();
            assert_eq!((d.as_str(), d.scale()), (java, scale), "{input}");
            assert_eq!(d.to_string().parse::<BigDecimal>().unwrap(), d, "{input}");
        }
        for bad in [
            "",
            "-",
            ".",
            "1..2",
            "1e",
            "1e+",
            "abc",
            "1 ",
            "1E99999999999",
            "0x1",
        ] {
            assert!(bad.parse::<BigDecimal>().is_err(), "{bad:?}");
        }
        let d: BigDecimal = "-0.05".parse().unwrap();
        assert_eq!((d.unscaled(), d.scale()), ("-5".to_owned(), 2));
        assert_eq!(BigDecimal::from_parts("-5", 2).unwrap(), d);
        assert!(BigDecimal::from_parts("5.0", 2).is_err());
        assert!("0.00".parse::<BigDecimal>().unwrap().is_zero());
        assert!(!d.is_zero());
        assert_eq!(BigDecimal::from(-42i64).as_str(), "-42");
        assert_eq!(
            BigDecimal::from(&BigInteger::from(1u64 << 40)).as_str(),
            "1099511627776"
        );
    }

    #[test]
    fn decimals_travel_as_hessian_lite_writes_them() {
        let d: BigDecimal = "1.50".parse().unwrap();
        let value = to_value(&d).unwrap();
        assert_eq!(
            value,
            Value::object(
                "java.math.BigDecimal",
                vec![("value".into(), "1.50".into())]
            )
        );
        assert_eq!(from_value::<BigDecimal>(value).unwrap(), d);
        assert_eq!(from_slice::<BigDecimal>(&to_vec(&d).unwrap()).unwrap(), d);
        // A peer's non-canonical string is read as Java reads it.
        let other = Value::object("java.math.BigDecimal", vec![("value".into(), "1e2".into())]);
        assert_eq!(from_value::<BigDecimal>(other).unwrap().as_str(), "1E+2");
        let mut descriptor = String::new();
        BigDecimal::descriptor(&mut descriptor);
        assert_eq!(descriptor, "Ljava/math/BigDecimal;");
        assert_eq!(
            JavaArray::<BigDecimal>::element_type(),
            "[java.math.BigDecimal"
        );
    }

    #[test]
    fn integers_in_java_s_layout() {
        for v in [
            -123_456_789_012_345_678_901_234_567_890i128,
            0,
            1,
            -1,
            1 << 32,
            i128::MAX,
            i128::MIN,
        ] {
            let big = BigInteger::from(v);
            assert_eq!(big.to_string(), v.to_string());
            assert_eq!(v.to_string().parse::<BigInteger>().unwrap(), big);
            assert_eq!(i128::try_from(&big).unwrap(), v);
            assert_eq!(
                from_slice::<BigInteger>(&to_vec(&big).unwrap()).unwrap(),
                big
            );
        }
        // Java's fields for 2^32: signum 1, mag [1, 0].
        let value = to_value(&BigInteger::from(1u64 << 32)).unwrap();
        assert_eq!(value.get("signum"), Some(&Value::Int(1)));
        assert_eq!(
            value.get("mag"),
            Some(&Value::typed_list(
                "[int",
                vec![Value::Int(1), Value::Int(0)]
            ))
        );
        // Java's caches are skipped; a word with the top bit set is a negative int.
        let java = Value::object(
            "java.math.BigInteger",
            vec![
                ("signum".into(), Value::Int(-1)),
                (
                    "mag".into(),
                    Value::typed_list("[int", vec![Value::Int(-1)]),
                ),
                ("bitCount".into(), Value::Int(0)),
                ("bitLength".into(), Value::Int(0)),
            ],
        );
        let big = from_value::<BigInteger>(java).unwrap();
        assert_eq!(big.to_string(), "-4294967295");
        assert_eq!(
            BigInteger::from(u128::MAX).to_string(),
            u128::MAX.to_string()
        );
        assert_eq!(BigInteger::from(0u128), BigInteger::default());
        let huge: BigInteger = "340282366920938463463374607431768211456".parse().unwrap();
        assert_eq!(huge.magnitude(), [1, 0, 0, 0, 0]);
        assert!(i128::try_from(&huge).is_err());
        assert!(i64::try_from(&BigInteger::from(i128::from(i64::MAX) + 1)).is_err());
        assert_eq!(
            i64::try_from(&BigInteger::from(i64::MIN)).unwrap(),
            i64::MIN
        );
        assert_eq!("-0".parse::<BigInteger>().unwrap(), BigInteger::default());
        assert_eq!("007".parse::<BigInteger>().unwrap(), BigInteger::from(7));
        for bad in ["", "-", "1.0", "1e3", " 1"] {
            assert!(bad.parse::<BigInteger>().is_err(), "{bad:?}");
        }
        assert!(BigInteger::from_signum_and_magnitude(0, &[1]).is_err());
        assert!(BigInteger::from_signum_and_magnitude(2, &[1]).is_err());
        assert_eq!(
            BigInteger::from_signum_and_magnitude(1, &[0, 5]).unwrap(),
            BigInteger::from(5)
        );
    }

    #[cfg(feature = "rust_decimal")]
    #[test]
    fn rust_decimal_conversions() {
        use rust_decimal::Decimal;
        let d: Decimal = "-12345.678900".parse().unwrap();
        let big = BigDecimal::from(d);
        assert_eq!(big.as_str(), "-12345.678900");
        assert_eq!(Decimal::try_from(&big).unwrap(), d);
        assert_eq!(Decimal::try_from(&big).unwrap().scale(), 6);
        let e: BigDecimal = "1E+3".parse().unwrap();
        assert_eq!(Decimal::try_from(&e).unwrap(), Decimal::from(1000));
        for out_of_range in ["1E+400", "1E-29", "1E+29"] {
            let v: BigDecimal = out_of_range.parse().unwrap();
            assert!(Decimal::try_from(&v).is_err(), "{out_of_range}");
        }
        assert_eq!(BigDecimal::from(Decimal::ZERO).as_str(), "0");
    }

    #[cfg(feature = "num-bigint")]
    #[test]
    fn num_bigint_conversions() {
        use num_bigint::BigInt;
        for s in [
            "-123456789012345678901234567890123456789012345",
            "0",
            "4294967296",
        ] {
            let n: BigInt = s.parse().unwrap();
            let big = BigInteger::from(&n);
            assert_eq!(big.to_string(), s);
            assert_eq!(BigInt::from(&big), n);
        }
        let d = BigDecimal::from_bigint(&BigInt::from(-1234), 2);
        assert_eq!(d.as_str(), "-12.34");
        assert_eq!(d.unscaled_bigint(), BigInt::from(-1234));
    }
}
