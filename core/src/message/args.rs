//! Argument lists: tuples whose Java types give the parameter descriptor string of a method
//! (`docs/protocol.md` §2, field 5) and that write or read one value per parameter.

use serde::{Deserialize, Serialize};

use super::serialization::{ObjectInput, ObjectOutput};
use crate::hessian2::{DecodeError, EncodeError, JavaType, Value};

/// Arguments that can be written: one value each.
pub trait EncodeArgs {
    /// Number of arguments.
    fn count(&self) -> usize;

    /// Writes the arguments in order.
    fn encode<O: ObjectOutput>(&self, out: &mut O) -> Result<(), EncodeError>;
}

/// A statically typed argument list: a tuple of [`JavaType`] + `Serialize` values.
///
/// `<(String, i32, bool)>::descriptor_string()` is `"Ljava/lang/String;IZ"`.
pub trait Arguments: EncodeArgs {
    /// Number of arguments.
    const COUNT: usize;

    /// Appends the concatenated JVM descriptors.
    fn descriptor(out: &mut String);

    /// The parameter descriptor string.
    fn descriptor_string() -> String {
        let mut out = String::new();
        Self::descriptor(&mut out);
        out
    }
}

/// An argument list that can be read back: a tuple of `Deserialize` types.
pub trait DecodeArgs<'de>: Sized {
    /// Number of arguments.
    const COUNT: usize;

    /// Reads the arguments in order; an error names the (0-based) argument that failed.
    fn decode<In: ObjectInput<'de>>(input: &mut In) -> Result<Self, (usize, DecodeError)>;
}

/// Dynamic arguments (generic callers, proxies): their descriptor travels separately.
impl EncodeArgs for [Value] {
    fn count(&self) -> usize {
        self.len()
    }

    fn encode<O: ObjectOutput>(&self, out: &mut O) -> Result<(), EncodeError> {
        self.iter().try_for_each(|v| out.write_value(v))
    }
}

impl EncodeArgs for Vec<Value> {
    fn count(&self) -> usize {
        self.len()
    }

    fn encode<O: ObjectOutput>(&self, out: &mut O) -> Result<(), EncodeError> {
        self.as_slice().encode(out)
    }
}

macro_rules! tuples {
    ($(($n:literal: $($t:ident $i:tt),*))*) => {$(
        impl<$($t: JavaType + Serialize),*> EncodeArgs for ($($t,)*) {
            fn count(&self) -> usize {
                $n
            }

            #[allow(unused_variables)]
            fn encode<O: ObjectOutput>(&self, out: &mut O) -> Result<(), EncodeError> {
                $(out.write_object(&self.$i)?;)*
                Ok(())
            }
        }

        impl<$($t: JavaType + Serialize),*> Arguments for ($($t,)*) {
            const COUNT: usize = $n;

            #[allow(unused_variables)]
            fn descriptor(out: &mut String) {
                $($t::descriptor(out);)*
            }
        }

        impl<'de, $($t: Deserialize<'de>),*> DecodeArgs<'de> for ($($t,)*) {
            const COUNT: usize = $n;

            #[allow(unused_variables, clippy::unused_unit)]
            fn decode<In: ObjectInput<'de>>(input: &mut In) -> Result<Self, (usize, DecodeError)> {
                Ok(($(input.read_object::<$t>().map_err(|e| ($i, e))?,)*))
            }
        }
    )*};
}

tuples! {
    (0: )
    (1: A 0)
    (2: A 0, B 1)
    (3: A 0, B 1, C 2)
    (4: A 0, B 1, C 2, D 3)
    (5: A 0, B 1, C 2, D 3, E 4)
    (6: A 0, B 1, C 2, D 3, E 4, F 5)
    (7: A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (9: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (10: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (11: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (12: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::hessian2::{Binary, Date, JavaArray};

    #[derive(serde::Serialize)]
    #[serde(rename = "org.apache.dubbo.demo.User")]
    struct User {
        name: String,
        age: i32,
    }
    crate::java_class!(User => "org.apache.dubbo.demo.User");

    #[test]
    fn argument_tuples_yield_their_descriptor() {
        assert_eq!(
            <(String, i32, bool)>::descriptor_string(),
            "Ljava/lang/String;IZ"
        );
        assert_eq!(<(String, i32, bool) as Arguments>::COUNT, 3);
        assert_eq!(<()>::descriptor_string(), "");
        assert_eq!(
            <(i8, i16, i64, f32, f64, char)>::descriptor_string(),
            "BSJFDC"
        );
        assert_eq!(
            <(Binary, Vec<Value>, HashMap<String, Value>)>::descriptor_string(),
            "[BLjava/util/List;Ljava/util/Map;"
        );
        assert_eq!(
            <(
                Option<i32>,
                Option<String>,
                JavaArray<i32>,
                JavaArray<String>
            )>::descriptor_string(),
            "Ljava/lang/Integer;Ljava/lang/String;[I[Ljava/lang/String;"
        );
        assert_eq!(
            <(User, JavaArray<JavaArray<i64>>, Date, &str)>::descriptor_string(),
            "Lorg/apache/dubbo/demo/User;[[JLjava/util/Date;Ljava/lang/String;"
        );
        let _ = User {
            name: String::new(),
            age: 0,
        };
    }
}
