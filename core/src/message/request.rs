//! Request bodies (`docs/protocol.md` §2): dubbo version, service path, service version, method,
//! parameter descriptor, one value per parameter, attachments.

use std::borrow::Cow;

use super::args::{DecodeArgs, EncodeArgs};
use super::attachments::Attachments;
use super::encode_or_restore;
use super::error::{BodyError, Field};
use super::serialization::{Hessian2, ObjectInput, ObjectOutput, Serialization, visit_attachments};
use crate::hessian2::{Decoder, EncodeError, JavaArrayRef, Value, count_parameters, descriptors};

/// The dubbo protocol version Java ≥ 2.6.3, 2.7, 3.x and dubbo-go send (body field 1).
pub const DUBBO_VERSION: &str = "2.0.2";

/// Method name of generic calls (`docs/protocol.md` §2.4).
pub const GENERIC_METHOD: &str = "$invoke";
/// Method name of asynchronous generic calls.
pub const GENERIC_ASYNC_METHOD: &str = "$invokeAsync";
/// The exact descriptor of generic calls: `(String, String[], Object[])`.
pub const GENERIC_DESCRIPTOR: &str = "Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;";
/// Method name of echo calls.
pub const ECHO_METHOD: &str = "$echo";
/// Descriptor of echo calls: one `Object`.
pub const ECHO_DESCRIPTOR: &str = "Ljava/lang/Object;";

/// The most parameters a descriptor may name: a Java method has at most 255 (JVM
/// specification §4.3.3), so a longer descriptor cannot come from a real peer.
pub(crate) const MAX_PARAMETERS: usize = 255;

/// Arguments reserved ahead by [`RequestReader::arg_values`]; more grow as they are read.
const ARGS_GUESS: usize = 16;

/// A request body to encode.
///
/// ```
/// use tether_core::message::{Arguments, Attachments, DUBBO_VERSION, RequestBody};
///
/// let mut attachments = Attachments::new();
/// attachments.insert("path", "org.apache.dubbo.demo.DemoService");
/// let descriptor = <(&str,)>::descriptor_string();
/// let body = RequestBody {
///     dubbo_version: DUBBO_VERSION,
///     path: "org.apache.dubbo.demo.DemoService",
///     version: Some("0.0.0"),
///     method: "sayHello",
///     parameter_types: &descriptor,
///     args: &("world",),
///     attachments: &attachments,
/// };
/// let mut out = Vec::new();
/// body.encode(&mut out).unwrap();
/// assert_eq!(out[0], 0x05); // "2.0.2"
/// ```
#[derive(Debug)]
pub struct RequestBody<'a, A: ?Sized> {
    /// Field 1: normally [`DUBBO_VERSION`].
    pub dubbo_version: &'a str,
    /// Field 2: the service path (interface name).
    pub path: &'a str,
    /// Field 3: the service version; `None` (null) for callback invocations (§6.3).
    pub version: Option<&'a str>,
    /// Field 4: the method name.
    pub method: &'a str,
    /// Field 5: the concatenated JVM descriptors of the parameters
    /// (e.g. from [`Arguments::descriptor_string`](super::Arguments::descriptor_string)).
    pub parameter_types: &'a str,
    /// The arguments, one per descriptor.
    pub args: &'a A,
    /// The attachments (`path`, `interface`, `version`... §2.3).
    pub attachments: &'a Attachments,
}

impl<A: EncodeArgs + ?Sized> RequestBody<'_, A> {
    /// Appends the body to `out` in Hessian 2. On error `out` is left as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_with::<Hessian2>(out)
    }

    /// Appends the body to `out` with serialization `S`. On error `out` is left as it was.
    pub fn encode_with<S: Serialization>(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_or_restore(out, |out| self.write::<S>(out))
    }

    fn write<S: Serialization>(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let expected = count_parameters(self.parameter_types)
            .map_err(|e| EncodeError::Custom(e.to_string()))?;
        check_arg_count(self.parameter_types, expected, self.args.count())?;
        let mut o = S::output(out);
        write_head(
            &mut o,
            self.dubbo_version,
            self.path,
            self.version,
            self.method,
            self.parameter_types,
        );
        self.args.encode(&mut o)?;
        o.write_attachments(self.attachments, &[])
    }
}

/// Writes fields 1–5 of a request body (`docs/protocol.md` §2): the version is null for callback
/// invocations (§6.3).
pub(super) fn write_head<O: ObjectOutput>(
    out: &mut O,
    dubbo_version: &str,
    path: &str,
    version: Option<&str>,
    method: &str,
    parameter_types: &str,
) {
    out.write_str(dubbo_version);
    out.write_str(path);
    match version {
        Some(v) => out.write_str(v),
        None => out.write_null(),
    }
    out.write_str(method);
    out.write_str(parameter_types);
}

/// Refuses to send `found` arguments for a descriptor naming `expected` parameters: the
/// provider reads exactly as many arguments as the descriptor names (§2.1), so a mismatch
/// would desynchronise it.
pub(super) fn check_arg_count(
    descriptor: &str,
    expected: usize,
    found: usize,
) -> Result<(), EncodeError> {
    if expected == found {
        return Ok(());
    }
    Err(EncodeError::Custom(format!(
        "{found} arguments for descriptor {descriptor:?} of {expected} parameters"
    )))
}

/// The arguments of a generic call `$invoke(method, parameterTypes, args)`
/// (`docs/protocol.md` §2.4): send them with [`GENERIC_METHOD`] and [`GENERIC_DESCRIPTOR`].
#[derive(Clone, Copy, Debug)]
pub struct GenericArgs<'a> {
    /// The real method.
    pub method: &'a str,
    /// Java type names of its parameters (`"java.lang.String"`, `"int"`...).
    pub parameter_types: &'a [&'a str],
    /// The argument values.
    pub args: &'a [Value],
}

impl EncodeArgs for GenericArgs<'_> {
    fn count(&self) -> usize {
        3
    }

    fn encode<O: ObjectOutput>(&self, out: &mut O) -> Result<(), EncodeError> {
        // `String[]` and `Object[]` are typed lists "[string" and "[object" (§13.5).
        out.write_str(self.method);
        out.write_object(&JavaArrayRef(self.parameter_types))?;
        out.write_object(&JavaArrayRef(self.args))
    }
}

/// Fields 1–5 of a decoded request. Null strings read as empty, except the service
/// version, which callback invocations send as null.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RequestHead<'de> {
    /// Field 1.
    pub dubbo_version: Cow<'de, str>,
    /// Field 2.
    pub path: Cow<'de, str>,
    /// Field 3.
    pub version: Option<Cow<'de, str>>,
    /// Field 4.
    pub method: Cow<'de, str>,
    /// Field 5.
    pub parameter_types: Cow<'de, str>,
}

impl RequestHead<'_> {
    /// Whether this is a generic call (method and descriptor both match, §2.4).
    pub fn is_generic(&self) -> bool {
        (self.method == GENERIC_METHOD || self.method == GENERIC_ASYNC_METHOD)
            && self.parameter_types == GENERIC_DESCRIPTOR
    }

    /// Whether this is an echo call.
    pub fn is_echo(&self) -> bool {
        self.method == ECHO_METHOD && self.parameter_types == ECHO_DESCRIPTOR
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> RequestHead<'static> {
        RequestHead {
            dubbo_version: Cow::Owned(self.dubbo_version.into_owned()),
            path: Cow::Owned(self.path.into_owned()),
            version: self.version.map(|v| Cow::Owned(v.into_owned())),
            method: Cow::Owned(self.method.into_owned()),
            parameter_types: Cow::Owned(self.parameter_types.into_owned()),
        }
    }
}

/// Reads a request body step by step: the head first (so a provider can find the method and
/// its argument types), then the arguments, then the attachments.
#[derive(Debug)]
pub struct RequestReader<'de, I = Decoder<'de>> {
    input: I,
    head: RequestHead<'de>,
    args: usize,
    read: usize,
}

impl<'de> RequestReader<'de> {
    /// Reads the head of a Hessian 2 request body.
    pub fn new(body: &'de [u8]) -> Result<Self, BodyError> {
        Self::from_input(Decoder::new(body))
    }
}

fn string_field<'de, I: ObjectInput<'de>>(
    input: &mut I,
    field: Field,
) -> Result<Cow<'de, str>, BodyError> {
    // §2: a null in fields 1–5 reads as empty.
    Ok(input
        .read_str_or_null()
        .map_err(BodyError::at(field))?
        .unwrap_or_default())
}

impl<'de, I: ObjectInput<'de>> RequestReader<'de, I> {
    /// Reads the head from `input` and counts the parameters of its descriptor.
    pub fn from_input(mut input: I) -> Result<Self, BodyError> {
        let dubbo_version = string_field(&mut input, Field::DubboVersion)?;
        let path = string_field(&mut input, Field::Path)?;
        let version = input
            .read_str_or_null()
            .map_err(BodyError::at(Field::Version))?;
        let method = string_field(&mut input, Field::Method)?;
        let parameter_types = string_field(&mut input, Field::ParameterTypes)?;
        let args = count_parameters_at_most(&parameter_types, MAX_PARAMETERS)?;
        Ok(Self {
            input,
            head: RequestHead {
                dubbo_version,
                path,
                version,
                method,
                parameter_types,
            },
            args,
            read: 0,
        })
    }

    /// Fields 1–5.
    pub fn head(&self) -> &RequestHead<'de> {
        &self.head
    }

    /// Number of arguments (from the descriptor).
    pub fn arg_count(&self) -> usize {
        self.args
    }

    /// Number of arguments not read yet.
    pub fn args_left(&self) -> usize {
        self.args - self.read
    }

    /// Reads the next argument as a `T`.
    pub fn next_arg<T: serde::Deserialize<'de>>(&mut self) -> Result<T, BodyError> {
        if self.read >= self.args {
            return Err(BodyError::ArgumentCount {
                expected: self.read + 1,
                found: self.args,
            });
        }
        let index = self.read;
        self.read += 1;
        self.input
            .read_object()
            .map_err(BodyError::at(Field::Argument(index)))
    }

    /// Reads all remaining arguments as the tuple `A`, whose length must match.
    pub fn args<A: DecodeArgs<'de>>(&mut self) -> Result<A, BodyError> {
        let (first, left) = (self.read, self.args_left());
        self.read = self.args;
        read_args(&mut self.input, first, left)
    }

    /// Reads all remaining arguments as [`Value`]s.
    pub fn arg_values(&mut self) -> Result<Vec<Value>, BodyError> {
        // Never more than a few ahead: the count comes from the peer's descriptor.
        let mut out = Vec::with_capacity(self.args_left().min(ARGS_GUESS));
        while self.read < self.args {
            let index = self.read;
            self.read += 1;
            out.push(
                self.input
                    .read_value()
                    .map_err(BodyError::at(Field::Argument(index)))?,
            );
        }
        Ok(out)
    }

    /// Reads the arguments of a generic call (check [`RequestHead::is_generic`] first). A
    /// null type or argument array reads as empty, as Java's generic filter takes it.
    pub fn generic_args(&mut self) -> Result<GenericCall, BodyError> {
        let (method, parameter_types, args): (String, Option<Vec<String>>, Option<Vec<Value>>) =
            self.args()?;
        Ok(GenericCall {
            method,
            parameter_types: parameter_types.unwrap_or_default(),
            args: args.unwrap_or_default(),
        })
    }

    /// Skips the arguments not read and reads the attachments. Bytes after them are ignored
    /// (`docs/protocol.md` §1.5).
    pub fn attachments(mut self) -> Result<Attachments, BodyError> {
        self.skip_args()?;
        self.input
            .read_attachments()
            .map_err(BodyError::at(Field::Attachments))
    }

    /// Skips the arguments not read yet.
    fn skip_args(&mut self) -> Result<(), BodyError> {
        while self.read < self.args {
            let index = self.read;
            self.read += 1;
            self.input
                .skip()
                .map_err(BodyError::at(Field::Argument(index)))?;
        }
        Ok(())
    }
}

/// The number of parameters `descriptor` names, stopping at the first beyond `max`: the
/// count decides how many arguments are read (and reserved for), so a huge descriptor must
/// fail before it costs anything.
fn count_parameters_at_most(descriptor: &str, max: usize) -> Result<usize, BodyError> {
    let mut n = 0;
    for d in descriptors(descriptor) {
        d?;
        n += 1;
        if n > max {
            return Err(BodyError::TooManyParameters);
        }
    }
    Ok(n)
}

/// Reads `left` arguments, the first being argument `first`, as the tuple `A`.
fn read_args<'de, A: DecodeArgs<'de>, I: ObjectInput<'de>>(
    input: &mut I,
    first: usize,
    left: usize,
) -> Result<A, BodyError> {
    if A::COUNT != left {
        return Err(BodyError::ArgumentCount {
            expected: A::COUNT,
            found: left,
        });
    }
    A::decode(input).map_err(|(i, source)| BodyError::Decode {
        field: Field::Argument(first + i),
        source,
    })
}

impl<'de> RequestReader<'de> {
    /// Skips the arguments not read, then reads the attachments entry by entry without
    /// building them: `visit` gets each key (borrowed from the body where possible) and must
    /// read or skip exactly its value. How a provider routes a request from a few keys
    /// without building the map.
    ///
    /// ```
    /// use tether_core::message::{Attachments, DUBBO_VERSION, RequestBody, RequestReader};
    ///
    /// let mut attachments = Attachments::new();
    /// attachments.insert("path", "demo.Svc");
    /// attachments.insert("traceId", "t-1");
    /// let request = RequestBody {
    ///     dubbo_version: DUBBO_VERSION,
    ///     path: "demo.Svc",
    ///     version: None,
    ///     method: "ping",
    ///     parameter_types: "",
    ///     args: &(),
    ///     attachments: &attachments,
    /// };
    /// let mut body = Vec::new();
    /// request.encode(&mut body).unwrap();
    ///
    /// let mut trace = None;
    /// RequestReader::new(&body)
    ///     .unwrap()
    ///     .visit_attachments(|key, input| match &*key {
    ///         "traceId" => Ok(trace = input.read_value()?.as_str().map(str::to_owned)),
    ///         _ => input.skip_value(),
    ///     })
    ///     .unwrap();
    /// assert_eq!(trace.as_deref(), Some("t-1"));
    /// ```
    pub fn visit_attachments(
        mut self,
        visit: impl FnMut(Cow<'de, str>, &mut Decoder<'de>) -> Result<(), crate::hessian2::DecodeError>,
    ) -> Result<(), BodyError> {
        self.skip_args()?;
        visit_attachments(&mut self.input, visit).map_err(BodyError::at(Field::Attachments))
    }

    /// Where the arguments start, to read them later with [`ArgsStart::args`] without
    /// reading the head again. Meaningful before any argument is read.
    pub fn args_start(&self) -> ArgsStart {
        debug_assert_eq!(self.read, 0, "arguments already read");
        ArgsStart {
            offset: self.input.position(),
            count: self.args,
        }
    }
}

/// Where the arguments of a Hessian 2 request body start, and how many its descriptor
/// names: what a provider keeps from the head to decode the arguments once it has found
/// the method.
///
/// ```
/// use tether_core::message::{Attachments, DUBBO_VERSION, RequestBody, RequestReader};
///
/// let request = RequestBody {
///     dubbo_version: DUBBO_VERSION,
///     path: "demo.Svc",
///     version: None,
///     method: "add",
///     parameter_types: "II",
///     args: &(2, 3),
///     attachments: &Attachments::new(),
/// };
/// let mut body = Vec::new();
/// request.encode(&mut body).unwrap();
///
/// // Route on the head first; decode the arguments once the method is known.
/// let reader = RequestReader::new(&body).unwrap();
/// assert_eq!(reader.head().method, "add");
/// let start = reader.args_start();
/// let (a, b): (i32, i32) = start.args(&body).unwrap();
/// assert_eq!(a + b, 5);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ArgsStart {
    offset: usize,
    count: usize,
}

impl ArgsStart {
    /// Reads the arguments of `body` (the body this came from) as the tuple `A`, exactly as
    /// [`RequestReader::args`] after [`RequestReader::new`] would: the head holds only
    /// strings and nulls, which leave no class definition, type name or reference behind
    /// (`docs/protocol.md` §11.1), so a decoder over the whole body placed where the arguments
    /// start is in the state the head left it in, and error offsets stay body offsets.
    pub fn args<'de, A: DecodeArgs<'de>>(self, body: &'de [u8]) -> Result<A, BodyError> {
        let mut input = Decoder::new(body);
        input.seek(self.offset);
        read_args(&mut input, 0, self.count)
    }
}

/// The arguments of a decoded generic call.
#[derive(Clone, PartialEq, Debug)]
pub struct GenericCall {
    /// The real method.
    pub method: String,
    /// Java type names of its parameters.
    pub parameter_types: Vec<String>,
    /// The argument values.
    pub args: Vec<Value>,
}

/// A whole request body decoded with dynamic arguments.
#[derive(Clone, PartialEq, Debug)]
pub struct DecodedRequest {
    /// Fields 1–5.
    pub head: RequestHead<'static>,
    /// The arguments.
    pub args: Vec<Value>,
    /// The attachments.
    pub attachments: Attachments,
}

/// Decodes a Hessian 2 request body with every argument as a [`Value`].
pub fn decode_request(body: &[u8]) -> Result<DecodedRequest, BodyError> {
    let mut reader = RequestReader::new(body)?;
    let args = reader.arg_values()?;
    let head = reader.head.clone().into_owned();
    let attachments = reader.attachments()?;
    Ok(DecodedRequest {
        head,
        args,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Arguments;
    use crate::test_util::hex;

    /// docs/protocol.md §13.1: the body of sayHello("world") with Java's four attachments.
    const SAY_HELLO: &str = "05 32 2e 30 2e 32 30 21 6f 72 67 2e 61 70 61 63
        68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f 2e 44 65
        6d 6f 53 65 72 76 69 63 65 05 30 2e 30 2e 30 08
        73 61 79 48 65 6c 6c 6f 12 4c 6a 61 76 61 2f 6c
        61 6e 67 2f 53 74 72 69 6e 67 3b 05 77 6f 72 6c
        64 48 04 70 61 74 68 30 21 6f 72 67 2e 61 70 61
        63 68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f 2e 44
        65 6d 6f 53 65 72 76 69 63 65 09 69 6e 74 65 72
        66 61 63 65 30 21 6f 72 67 2e 61 70 61 63 68 65
        2e 64 75 62 62 6f 2e 64 65 6d 6f 2e 44 65 6d 6f
        53 65 72 76 69 63 65 07 76 65 72 73 69 6f 6e 05
        30 2e 30 2e 30 07 74 69 6d 65 6f 75 74 04 33 30
        30 30 5a";

    const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

    fn standard_attachments() -> Attachments {
        [
            ("path", SERVICE),
            ("interface", SERVICE),
            ("version", "0.0.0"),
            ("timeout", "3000"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn say_hello_matches_protocol_13_1() {
        let attachments = standard_attachments();
        let descriptor = <(&str,)>::descriptor_string();
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: Some("0.0.0"),
            method: "sayHello",
            parameter_types: &descriptor,
            args: &("world",),
            attachments: &attachments,
        };
        let mut out = vec![0xAA];
        body.encode(&mut out).unwrap();
        assert_eq!(out[1..], hex(SAY_HELLO)[..]);
        assert_eq!(out.len() - 1, 195);

        let mut reader = RequestReader::new(&out[1..]).unwrap();
        assert_eq!(reader.head().method, "sayHello");
        assert!(matches!(reader.head().path, Cow::Borrowed(SERVICE)));
        let (name,): (&str,) = reader.args().unwrap();
        assert_eq!(name, "world");
        assert_eq!(reader.attachments().unwrap(), attachments);
    }

    #[test]
    fn encode_refuses_a_descriptor_mismatch_and_leaves_out_untouched() {
        let attachments = Attachments::new();
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: None,
            method: "m",
            parameter_types: "II",
            args: &(1,),
            attachments: &attachments,
        };
        let mut out = vec![1, 2];
        assert!(body.encode(&mut out).is_err());
        assert_eq!(out, [1, 2]);
        let bad = RequestBody {
            parameter_types: "Q",
            ..body
        };
        assert!(bad.encode(&mut out).is_err());
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn callback_requests_have_a_null_version() {
        let attachments: Attachments = [
            ("path", "com.foo.Listener"),
            ("callback.service.instid", "42"),
        ]
        .into_iter()
        .collect();
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: "com.foo.Listener",
            version: None,
            method: "changed",
            parameter_types: "Ljava/lang/String;",
            args: &("x",),
            attachments: &attachments,
        };
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        assert_eq!(out[6 + 17], b'N');
        let decoded = decode_request(&out).unwrap();
        assert_eq!(decoded.head.version, None);
        assert_eq!(decoded.args, [Value::from("x")]);
        assert_eq!(
            decoded.attachments.get_str("callback.service.instid"),
            Some("42")
        );
    }

    #[test]
    fn generic_call_matches_protocol_13_5() {
        let attachments: Attachments = [("generic", "true")].into_iter().collect();
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: Some("0.0.0"),
            method: GENERIC_METHOD,
            parameter_types: GENERIC_DESCRIPTOR,
            args: &GenericArgs {
                method: "sayHello",
                parameter_types: &["java.lang.String"],
                args: &[Value::from("world")],
            },
            attachments: &attachments,
        };
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        let args = hex("08 73 61 79 48 65 6c 6c 6f \
                        71 07 5b 73 74 72 69 6e 67 10 6a 61 76 61 2e 6c 61 6e 67 2e 53 74 72 69 6e 67 \
                        71 07 5b 6f 62 6a 65 63 74 05 77 6f 72 6c 64");
        assert!(
            out.windows(args.len()).any(|w| w == args),
            "§13.5 bytes present"
        );
        let mut reader = RequestReader::new(&out).unwrap();
        assert!(reader.head().is_generic());
        let call = reader.generic_args().unwrap();
        assert_eq!(call.method, "sayHello");
        assert_eq!(call.parameter_types, ["java.lang.String"]);
        assert_eq!(call.args, [Value::from("world")]);
        assert_eq!(
            reader.attachments().unwrap().get_str("generic"),
            Some("true")
        );
    }

    #[test]
    fn generic_calls_may_send_null_types_and_args() {
        // Review: Java accepts $invoke("m", null, null) (no-argument methods); null arrays
        // were a type error here.
        let attachments = Attachments::new();
        for (types, args, expected_types, expected_args) in [
            (Value::Null, Value::Null, vec![], vec![]),
            (
                Value::typed_list("[string", vec![Value::from("int")]),
                Value::Null,
                vec!["int".to_owned()],
                vec![],
            ),
            (
                Value::Null,
                Value::typed_list("[object", vec![Value::Int(1)]),
                vec![],
                vec![Value::Int(1)],
            ),
        ] {
            let body = RequestBody {
                dubbo_version: DUBBO_VERSION,
                path: SERVICE,
                version: Some("0.0.0"),
                method: GENERIC_METHOD,
                parameter_types: GENERIC_DESCRIPTOR,
                args: &vec![Value::from("ping"), types, args],
                attachments: &attachments,
            };
            let mut out = Vec::new();
            body.encode(&mut out).unwrap();
            let mut reader = RequestReader::new(&out).unwrap();
            assert!(reader.head().is_generic());
            assert_eq!(
                reader.generic_args().unwrap(),
                GenericCall {
                    method: "ping".into(),
                    parameter_types: expected_types,
                    args: expected_args,
                }
            );
            assert!(reader.attachments().unwrap().is_empty());
        }
    }

    #[test]
    fn echo_and_dynamic_args() {
        let attachments = Attachments::new();
        let args = vec![Value::Long(7)];
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: Some("1.0.0"),
            method: ECHO_METHOD,
            parameter_types: ECHO_DESCRIPTOR,
            args: &args,
            attachments: &attachments,
        };
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        let mut reader = RequestReader::new(&out).unwrap();
        assert!(reader.head().is_echo());
        assert_eq!(reader.next_arg::<Value>().unwrap(), Value::Long(7));
        assert!(matches!(
            reader.next_arg::<Value>(),
            Err(BodyError::ArgumentCount { .. })
        ));
        assert!(reader.attachments().unwrap().is_empty());
    }

    #[test]
    fn unread_arguments_are_skipped_and_trailing_bytes_ignored() {
        let attachments: Attachments = [("k", "v")].into_iter().collect();
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: Some("1.0.0"),
            method: "join",
            parameter_types: "Ljava/lang/String;IZ",
            args: &("x", 5, true),
            attachments: &attachments,
        };
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        out.push(b'N');
        let mut reader = RequestReader::new(&out).unwrap();
        assert_eq!(reader.arg_count(), 3);
        assert_eq!(reader.next_arg::<String>().unwrap(), "x");
        assert_eq!(reader.attachments().unwrap().get_str("k"), Some("v"));
        let mut reader = RequestReader::new(&out).unwrap();
        assert!(matches!(
            reader.args::<(String, i32)>(),
            Err(BodyError::ArgumentCount {
                expected: 2,
                found: 3
            })
        ));
        let err = RequestReader::new(&out)
            .unwrap()
            .args::<(i32, i32, bool)>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument 0: expected a number, found string (tag 0x01) at offset 73"
        );
        let err = RequestReader::new(&out)
            .unwrap()
            .args::<(String, String, bool)>()
            .unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::Decode {
                    field: Field::Argument(1),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn args_from_their_start_read_as_after_the_head() {
        let attachments: Attachments = [("k", "v")].into_iter().collect();
        // Two objects of one class (the second uses the class definition the first wrote,
        // §11.10) and a list holding a reference to itself (§11.11): the tables the
        // arguments build and use, which the head leaves empty.
        let object = Value::object("com.foo.Bar", vec![("a".into(), Value::Int(1))]);
        let cycle = Value::list(vec![Value::Ref(0)]);
        let args = vec![object.clone(), object, cycle];
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: None,
            method: "m",
            parameter_types: "Lcom/foo/Bar;Lcom/foo/Bar;Ljava/util/List;",
            args: &args,
            attachments: &attachments,
        };
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        let start = RequestReader::new(&out).unwrap().args_start();
        type Values = (Value, Value, Value);
        let read: Values = RequestReader::new(&out).unwrap().args().unwrap();
        assert_eq!(start.args::<Values>(&out).unwrap(), read);
        assert_eq!((&read.1, &read.2), (&args[1], &args[2]));
        // Errors name the same argument at the same body offset.
        type Wrong = (Value, Value, i32);
        let after_head = RequestReader::new(&out).unwrap().args::<Wrong>();
        let from_start = start.args::<Wrong>(&out);
        assert_eq!(
            from_start.unwrap_err().to_string(),
            after_head.unwrap_err().to_string()
        );
        assert!(matches!(
            start.args::<(Value,)>(&out),
            Err(BodyError::ArgumentCount {
                expected: 1,
                found: 3
            })
        ));
    }

    #[test]
    fn descriptors_of_more_than_255_parameters_are_refused_before_any_argument() {
        fn body(descriptor: &str, args: usize) -> Vec<u8> {
            let mut body = Vec::new();
            for field in [DUBBO_VERSION, SERVICE, "0.0.0", "m", descriptor] {
                crate::hessian2::write_string(&mut body, field);
            }
            body.extend(std::iter::repeat_n(0x90, args)); // int 0
            body.push(b'N'); // no attachments
            body
        }
        // The JVM's limit reads.
        let at_limit = body(&"I".repeat(MAX_PARAMETERS), MAX_PARAMETERS);
        let decoded = decode_request(&at_limit).unwrap();
        assert_eq!(decoded.args, vec![Value::Int(0); MAX_PARAMETERS]);
        // One more is refused when the head is read, whatever follows.
        let over = body(&"I".repeat(MAX_PARAMETERS + 1), MAX_PARAMETERS + 1);
        let err = RequestReader::new(&over).unwrap_err();
        assert_eq!(err, BodyError::TooManyParameters);
        assert_eq!(
            err.to_string(),
            "parameter types: more than 255 parameters, the JVM's limit"
        );
        assert!(!err.is_malformed());
        // Review reproducer, scaled down: an 8 MiB descriptor and no arguments made
        // `arg_values` reserve a `Value` per descriptor byte (~384 MiB; 48 MiB for this
        // 1 MiB one) before failing at the end of input. Now the head is refused, and not
        // for want of argument bytes.
        let huge = body(&"I".repeat(1 << 20), 0);
        assert_eq!(
            decode_request(&huge).unwrap_err(),
            BodyError::TooManyParameters
        );
    }

    #[test]
    fn null_head_fields_read_as_empty_and_bad_descriptors_are_errors() {
        let body = hex("4e 4e 4e 4e 4e 48 5a");
        let decoded = decode_request(&body).unwrap();
        assert_eq!(decoded.head.path, "");
        assert_eq!(decoded.head.parameter_types, "");
        assert!(decoded.args.is_empty());
        let body = hex("4e 4e 4e 4e 01 51 48 5a");
        assert!(matches!(
            decode_request(&body),
            Err(BodyError::Descriptor(_))
        ));
        let body = hex("4e 4e 4e 4e 01 49");
        let err = decode_request(&body).unwrap_err();
        assert!(err.is_malformed());
        assert_eq!(
            err.to_string(),
            "argument 0: unexpected end of input at offset 6, 1 more bytes needed"
        );
    }
}
