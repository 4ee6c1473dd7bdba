//! Java types: the JVM descriptors of Rust types ([`JavaType`], from which an RPC layer
//! builds a method's parameter descriptor), the parser of descriptor strings (to count and
//! name a method's parameters, `docs/protocol.md` §2.1), and wrappers for Java types that serde
//! cannot tell apart (`int[]` vs `List<Integer>`, `byte[]`, `Date`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use super::error::EncodeError;
use super::token::{self, ListRepr};
use super::value::Value;

/// A Rust type with a Java counterpart: its JVM field descriptor (`docs/protocol.md` §2.1) and
/// the Hessian type of Java arrays of it (`docs/protocol.md` §11.8).
///
/// Implement it for your own structs with [`java_class!`](crate::java_class).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Java type",
    label = "the Java type of this is unknown",
    note = "for a struct or enum standing for a Java class, add \
            `#[tether_core::java(\"org.acme.ClassName\")]` above its `#[derive]` \
            (it sets the serde name too), or `tether_core::java_class!({Self} => \
            \"org.acme.ClassName\");` with the class of its serde rename",
    note = "a method's arguments are a tuple: one argument is `(value,)`"
)]
pub trait JavaType {
    /// Appends the JVM field descriptor, e.g. `I` or `Ljava/lang/String;`.
    fn descriptor(out: &mut String);

    /// Appends the descriptor where Java needs a reference type (`Option<T>`): the boxed
    /// class for primitives (`Ljava/lang/Integer;`), the plain descriptor otherwise.
    fn boxed_descriptor(out: &mut String) {
        Self::descriptor(out)
    }

    /// The Hessian list type Java writes for an array of this type: `"[int"`,
    /// `"[string"`, `"[object"`, `"[org.acme.User"`.
    fn array_type() -> Cow<'static, str>;

    /// The array type for the boxed form (`"[java.lang.Integer"` for `Integer[]`).
    fn boxed_array_type() -> Cow<'static, str> {
        Self::array_type()
    }
}

/// A Rust type standing for one Java class (a POJO, an enum or an exception), whose serde
/// name is that class: implemented by [`java_class!`](crate::java_class).
///
/// Where tether needs a class name without a value (to tell a received exception's class,
/// or to check that a serde name did not drift from it), it reads [`CLASS`](Self::CLASS).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name a Java class",
    label = "no Java class for this type",
    note = "add `#[tether_core::java(\"org.acme.ClassName\")]` above its `#[derive]` \
            (it sets the serde name too), or `tether_core::java_class!({Self} => \
            \"org.acme.ClassName\");` with the class of its serde rename"
)]
pub trait JavaClass: JavaType {
    /// The fully qualified Java class name, e.g. `org.acme.User`.
    const CLASS: &'static str;
}

/// Appends the descriptor `L<name with / for .>;` of a Java class.
pub fn class_descriptor(out: &mut String, class: &str) {
    out.reserve(class.len() + 2);
    out.push('L');
    out.extend(class.chars().map(|c| if c == '.' { '/' } else { c }));
    out.push(';');
}

macro_rules! primitive {
    ($($ty:ty => $desc:literal, $boxed:literal, $array:literal, $boxed_array:literal;)*) => {$(
        impl JavaType for $ty {
            fn descriptor(out: &mut String) {
                out.push_str($desc);
            }
            fn boxed_descriptor(out: &mut String) {
                out.push_str($boxed);
            }
            fn array_type() -> Cow<'static, str> {
                Cow::Borrowed($array)
            }
            fn boxed_array_type() -> Cow<'static, str> {
                Cow::Borrowed($boxed_array)
            }
        }
    )*};
}

primitive! {
    bool => "Z", "Ljava/lang/Boolean;", "[boolean", "[java.lang.Boolean";
    i8 => "B", "Ljava/lang/Byte;", "[byte", "[java.lang.Byte";
    i16 => "S", "Ljava/lang/Short;", "[short", "[java.lang.Short";
    i32 => "I", "Ljava/lang/Integer;", "[int", "[java.lang.Integer";
    i64 => "J", "Ljava/lang/Long;", "[long", "[java.lang.Long";
    f32 => "F", "Ljava/lang/Float;", "[float", "[java.lang.Float";
    f64 => "D", "Ljava/lang/Double;", "[double", "[java.lang.Double";
    char => "C", "Ljava/lang/Character;", "[char", "[java.lang.Character";
}

macro_rules! reference {
    ($($ty:ty => $desc:literal, $array:literal;)*) => {$(
        impl JavaType for $ty {
            fn descriptor(out: &mut String) {
                out.push_str($desc);
            }
            fn array_type() -> Cow<'static, str> {
                Cow::Borrowed($array)
            }
        }
    )*};
}

// hessian-lite's `ArraySerializer` names an array type `'[' + component`, recursively, with
// primitive components spelled out: `byte[][]` is `"[[byte"` (`byte[]` itself is a binary).
reference! {
    String => "Ljava/lang/String;", "[string";
    str => "Ljava/lang/String;", "[string";
    Value => "Ljava/lang/Object;", "[object";
    Binary => "[B", "[[byte";
    bytes::Bytes => "[B", "[[byte";
    Date => "Ljava/util/Date;", "[date";
}

impl<T: JavaType> JavaType for Option<T> {
    fn descriptor(out: &mut String) {
        T::boxed_descriptor(out)
    }

    fn array_type() -> Cow<'static, str> {
        T::boxed_array_type()
    }
}

impl<T: JavaType + ?Sized> JavaType for &T {
    fn descriptor(out: &mut String) {
        T::descriptor(out)
    }

    fn boxed_descriptor(out: &mut String) {
        T::boxed_descriptor(out)
    }

    fn array_type() -> Cow<'static, str> {
        T::array_type()
    }

    fn boxed_array_type() -> Cow<'static, str> {
        T::boxed_array_type()
    }
}

impl<T: JavaType + ?Sized> JavaType for Box<T> {
    fn descriptor(out: &mut String) {
        T::descriptor(out)
    }

    fn boxed_descriptor(out: &mut String) {
        T::boxed_descriptor(out)
    }

    fn array_type() -> Cow<'static, str> {
        T::array_type()
    }

    fn boxed_array_type() -> Cow<'static, str> {
        T::boxed_array_type()
    }
}

/// `Vec<T>` is a `java.util.List` (serde writes it as an untyped list, like Java's
/// `ArrayList`); use [`JavaArray`] for Java arrays and [`Binary`] for `byte[]`.
impl<T> JavaType for Vec<T> {
    fn descriptor(out: &mut String) {
        out.push_str("Ljava/util/List;");
    }

    fn array_type() -> Cow<'static, str> {
        Cow::Borrowed("[java.util.List")
    }
}

impl<K, V, S> JavaType for HashMap<K, V, S> {
    fn descriptor(out: &mut String) {
        out.push_str("Ljava/util/Map;");
    }

    fn array_type() -> Cow<'static, str> {
        Cow::Borrowed("[java.util.Map")
    }
}

impl<K, V> JavaType for BTreeMap<K, V> {
    fn descriptor(out: &mut String) {
        out.push_str("Ljava/util/Map;");
    }

    fn array_type() -> Cow<'static, str> {
        Cow::Borrowed("[java.util.Map")
    }
}

impl<T: JavaType> JavaType for JavaArray<T> {
    fn descriptor(out: &mut String) {
        out.push('[');
        T::descriptor(out);
    }

    fn array_type() -> Cow<'static, str> {
        Cow::Owned(format!("[{}", Self::element_type()))
    }
}

/// Implements [`JavaType`] and [`JavaClass`] for a struct or enum that stands for a Java
/// class.
///
/// The class name must match the type's serde name, which is the class written on the
/// wire: `#[serde(rename = "org.apache.dubbo.demo.User")]`.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// #[serde(rename = "org.apache.dubbo.demo.User")]
/// struct User {
///     name: String,
///     age: i32,
/// }
/// tether_hessian2::java_class!(User => "org.apache.dubbo.demo.User");
///
/// use tether_hessian2::{JavaArray, JavaType};
/// let mut descriptor = String::new();
/// User::descriptor(&mut descriptor);
/// assert_eq!(descriptor, "Lorg/apache/dubbo/demo/User;");
/// assert_eq!(JavaArray::<User>::element_type(), "[org.apache.dubbo.demo.User");
/// assert_eq!(<User as tether_hessian2::JavaClass>::CLASS, "org.apache.dubbo.demo.User");
/// ```
#[macro_export]
macro_rules! java_class {
    ($ty:ty => $class:literal) => {
        impl $crate::JavaType for $ty {
            fn descriptor(out: &mut ::std::string::String) {
                $crate::class_descriptor(out, $class)
            }

            fn array_type() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(concat!("[", $class))
            }
        }

        impl $crate::JavaClass for $ty {
            const CLASS: &'static str = $class;
        }
    };
}

// -------------------------------------------------------------------------------------
// Wrappers

/// A Java array `T[]`: a typed list whose type Java derives from the element type
/// (`int[]` → `"[int"`, `String[]` → `"[string"`, `Object[]` → `"[object"`,
/// `User[]` → `"[org.acme.User"`, `docs/protocol.md` §11.8). Reads any list.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct JavaArray<T>(pub Vec<T>);

impl<T: JavaType> JavaArray<T> {
    /// The Hessian type of this array (`"[int"`...).
    pub fn element_type() -> Cow<'static, str> {
        T::array_type()
    }
}

impl<T> std::ops::Deref for JavaArray<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> From<Vec<T>> for JavaArray<T> {
    fn from(v: Vec<T>) -> Self {
        Self(v)
    }
}

impl<T: JavaType + Serialize> Serialize for JavaArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_array(&self.0, s)
    }
}

/// A Java array: a typed list, except `char[]`, which hessian-lite writes as a string.
fn serialize_array<T: JavaType + Serialize, S: Serializer>(
    items: &[T],
    s: S,
) -> Result<S::Ok, S::Error> {
    let ty = T::array_type();
    if ty == CHAR_ARRAY {
        let mut chars = String::with_capacity(items.len());
        for item in items {
            item.serialize(super::ser::Capture(&mut chars))
                .map_err(serde::ser::Error::custom)?;
        }
        if let Some(c) = chars.chars().find(|c| u32::from(*c) > 0xFFFF) {
            return Err(serde::ser::Error::custom(EncodeError::CharOutsideBmp(c)));
        }
        return s.serialize_str(&chars);
    }
    s.serialize_newtype_struct(token::LIST, &ListRepr(&ty, items))
}

/// The Java type of `char[]`.
const CHAR_ARRAY: &str = "[char";

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JavaArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrayVisitor(std::marker::PhantomData))
            .map(Self)
    }
}

/// Reads a list, or a string as the chars of a `char[]` (as hessian-lite writes it).
struct ArrayVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrayVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list, or a string of chars")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Vec<T>, A::Error> {
        Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<T>, E> {
        use de::IntoDeserializer;
        s.chars()
            .map(|c| T::deserialize(c.into_deserializer()))
            .collect()
    }
}

/// A borrowed Java array `T[]` (see [`JavaArray`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct JavaArrayRef<'a, T>(pub &'a [T]);

impl<T: JavaType + Serialize> Serialize for JavaArrayRef<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_array(self.0, s)
    }
}

impl<T: JavaType> JavaType for JavaArrayRef<'_, T> {
    fn descriptor(out: &mut String) {
        JavaArray::<T>::descriptor(out)
    }

    fn array_type() -> Cow<'static, str> {
        JavaArray::<T>::array_type()
    }
}

/// A list with an explicit Java type, e.g. `java.util.HashSet` or
/// `java.util.LinkedList` (`docs/protocol.md` §11.8). Decode such lists as `Vec<T>` or
/// [`Value`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TypedList<T> {
    /// The list type.
    pub type_name: Cow<'static, str>,
    /// The items.
    pub items: Vec<T>,
}

impl<T: Serialize> Serialize for TypedList<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(token::LIST, &ListRepr(&self.type_name, &self.items))
    }
}

/// A Java `byte[]`: Hessian binary (`docs/protocol.md` §11.7). (`Vec<u8>` is a list of
/// numbers to serde; `bytes::Bytes` is binary too.)
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Binary(pub Vec<u8>);

impl std::ops::Deref for Binary {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Binary {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Binary;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte array")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Binary, E> {
                Ok(Binary(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Binary, E> {
                Ok(Binary(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element::<i16>()? {
                    // Java bytes are signed; accept both views.
                    out.push(b as u8);
                }
                Ok(Binary(out))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// A `java.util.Date`: milliseconds since the Unix epoch, UTC (`docs/protocol.md` §11.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Date(pub i64);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(token::DATE, &self.0)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Date, E> {
                Ok(Date(v))
            }
            fn visit_i32<E>(self, v: i32) -> Result<Date, E> {
                Ok(Date(i64::from(v)))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Date, D::Error> {
                i64::deserialize(d).map(Date)
            }
        }
        d.deserialize_newtype_struct(token::DATE, V)
    }
}

// -------------------------------------------------------------------------------------
// Descriptor parsing (`docs/protocol.md` §2.1)

/// A parameter descriptor string that does not follow the grammar of `docs/protocol.md` §2.1.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("bad parameter descriptor at byte {offset}: expected {expected}, found {}", found.map_or("end".to_owned(), |b| format!("{:?}", b as char)))]
pub struct DescriptorError {
    /// Byte offset in the descriptor string.
    pub offset: usize,
    /// What the grammar allows there.
    pub expected: &'static str,
    /// The byte found, `None` at the end of the string.
    pub found: Option<u8>,
}

/// Iterates over the parameter descriptors of a descriptor string
/// (`"Ljava/lang/String;[II"` → `Ljava/lang/String;`, `[I`, `I`).
#[derive(Clone, Debug)]
pub struct Descriptors<'a> {
    s: &'a str,
    pos: usize,
}

/// The parameter descriptors of `descriptor`, each checked against `docs/protocol.md` §2.1.
pub fn descriptors(descriptor: &str) -> Descriptors<'_> {
    Descriptors {
        s: descriptor,
        pos: 0,
    }
}

/// The number of parameters in `descriptor`: how many arguments a request carries.
pub fn count_parameters(descriptor: &str) -> Result<usize, DescriptorError> {
    let mut n = 0;
    for d in descriptors(descriptor) {
        d?;
        n += 1;
    }
    Ok(n)
}

impl<'a> Descriptors<'a> {
    fn error(&mut self, offset: usize, expected: &'static str) -> DescriptorError {
        let found = self.s.as_bytes().get(offset).copied();
        // Stop iterating after an error.
        self.pos = self.s.len();
        DescriptorError {
            offset,
            expected,
            found,
        }
    }
}

impl<'a> Iterator for Descriptors<'a> {
    type Item = Result<&'a str, DescriptorError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.s.as_bytes();
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        let mut i = start;
        while bytes.get(i) == Some(&b'[') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'Z' | b'B' | b'C' | b'S' | b'I' | b'J' | b'F' | b'D' | b'V') => i += 1,
            Some(b'L') => {
                i += 1;
                loop {
                    // ident := [_$A-Za-z][_$A-Za-z0-9]*
                    match bytes.get(i) {
                        Some(b) if b.is_ascii_alphabetic() || *b == b'_' || *b == b'$' => i += 1,
                        _ => return Some(Err(self.error(i, "a Java identifier"))),
                    }
                    while bytes
                        .get(i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$')
                    {
                        i += 1;
                    }
                    match bytes.get(i) {
                        Some(b'/') => i += 1,
                        Some(b';') => {
                            i += 1;
                            break;
                        }
                        _ => return Some(Err(self.error(i, "'/' or ';'"))),
                    }
                }
            }
            _ => return Some(Err(self.error(i, "a type descriptor"))),
        }
        self.pos = i;
        Some(Ok(&self.s[start..i]))
    }
}

/// The Java type name of one descriptor, as generic calls name parameter types
/// (`docs/protocol.md` §2.4): `I` → `int`, `Ljava/lang/String;` → `java.lang.String`,
/// `[I` → `int[]`.
pub fn java_type_name(descriptor: &str) -> String {
    let dims = descriptor.bytes().take_while(|&b| b == b'[').count();
    let base = &descriptor[dims..];
    let mut out = match base {
        "Z" => "boolean".to_owned(),
        "B" => "byte".to_owned(),
        "C" => "char".to_owned(),
        "S" => "short".to_owned(),
        "I" => "int".to_owned(),
        "J" => "long".to_owned(),
        "F" => "float".to_owned(),
        "D" => "double".to_owned(),
        "V" => "void".to_owned(),
        _ => base
            .trim_start_matches('L')
            .trim_end_matches(';')
            .replace('/', "."),
    };
    for _ in 0..dims {
        out.push_str("[]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct User;
    crate::java_class!(User => "org.apache.dubbo.demo.User");

    #[test]
    fn array_types_follow_java() {
        assert_eq!(JavaArray::<i32>::element_type(), "[int");
        assert_eq!(JavaArray::<String>::element_type(), "[string");
        assert_eq!(JavaArray::<Value>::element_type(), "[object");
        assert_eq!(
            JavaArray::<User>::element_type(),
            "[org.apache.dubbo.demo.User"
        );
        assert_eq!(
            JavaArray::<Option<i32>>::element_type(),
            "[java.lang.Integer"
        );
        assert_eq!(JavaArray::<JavaArray<i32>>::element_type(), "[[int");
        assert_eq!(JavaArray::<Date>::element_type(), "[date");
        // Review: byte[][] is "[[byte" (ArraySerializer spells primitives out), not "[[B".
        assert_eq!(JavaArray::<Binary>::element_type(), "[[byte");
        assert_eq!(JavaArray::<bytes::Bytes>::element_type(), "[[byte");
        assert_eq!(JavaArray::<Option<Binary>>::element_type(), "[[byte");
        assert_eq!(JavaArray::<JavaArray<Binary>>::element_type(), "[[[byte");
        let mut descriptor = String::new();
        JavaArray::<Binary>::descriptor(&mut descriptor);
        assert_eq!(descriptor, "[[B");
        // On the wire: a typed list of binaries.
        let two = JavaArray(vec![Binary(vec![1]), Binary(vec![])]);
        assert_eq!(
            super::super::to_vec(&two).unwrap(),
            crate::test_util::hex("72 06 5b 5b 62 79 74 65 21 01 20")
        );
    }

    #[test]
    fn descriptor_parser_counts_and_splits() {
        for (d, n) in [
            ("", 0),
            ("Ljava/lang/String;", 1),
            ("II", 2),
            ("Ljava/lang/String;Ljava/util/Map;[B", 3),
            (
                "Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;",
                3,
            ),
            ("[[JZLcom/foo/Outer$Inner;", 3),
            ("L_a/$b;", 1),
        ] {
            assert_eq!(count_parameters(d), Ok(n), "{d}");
        }
        let parts: Vec<_> = descriptors("Ljava/lang/String;[II")
            .map(Result::unwrap)
            .collect();
        assert_eq!(parts, ["Ljava/lang/String;", "[I", "I"]);
    }

    #[test]
    fn descriptor_parser_rejects_bad_grammar() {
        for (d, offset) in [
            ("X", 0),
            ("Ljava/lang/String", 17),
            ("L;", 1),
            ("Ljava//String;", 6),
            ("L1abc;", 1),
            ("[", 1),
            ("I[", 2),
            ("Ljava.lang.String;", 5),
        ] {
            let err = count_parameters(d).unwrap_err();
            assert_eq!(err.offset, offset, "{d}: {err}");
        }
        assert_eq!(
            count_parameters("IQ").unwrap_err().to_string(),
            "bad parameter descriptor at byte 1: expected a type descriptor, found 'Q'"
        );
    }

    #[test]
    fn java_type_names() {
        assert_eq!(java_type_name("I"), "int");
        assert_eq!(java_type_name("Ljava/lang/String;"), "java.lang.String");
        assert_eq!(
            java_type_name("[[Lcom/foo/Outer$Inner;"),
            "com.foo.Outer$Inner[][]"
        );
    }
}
