//! [`RequestTemplate`]: the parts of a request body that every call of a method repeats,
//! encoded once.

use super::args::EncodeArgs;
use super::attachments::Attachments;
use super::encode_or_restore;
use super::request::{check_arg_count, write_head};
use super::serialization::ObjectOutput;
use crate::hessian2::{EncodeError, Encoder, Value, count_parameters};

/// A method's request body with the arguments left out: fields 1–5 and the attachments,
/// encoded once in Hessian 2 so that a call only encodes its arguments
/// (`docs/protocol.md` §2).
///
/// Splicing is exact: strings never create Hessian back-references, so the head encodes
/// the same wherever it stands, and attachments are kept pre-encoded only when every value
/// is a string, number, boolean or null (no containers, classes or `byte[]`, whose bytes
/// could depend on what the arguments wrote before them). Other attachments are encoded
/// per call, as [`RequestBody`](super::RequestBody) does.
///
/// ```
/// use tether_core::message::{Arguments, Attachments, DUBBO_VERSION, RequestBody, RequestTemplate};
///
/// let mut attachments = Attachments::new();
/// attachments.insert("path", "org.apache.dubbo.demo.DemoService");
/// let descriptor = <(&str,)>::descriptor_string();
/// let template = RequestTemplate::new(
///     DUBBO_VERSION,
///     "org.apache.dubbo.demo.DemoService",
///     Some("0.0.0"),
///     "sayHello",
///     &descriptor,
///     attachments.clone(),
/// );
/// let mut spliced = Vec::new();
/// template.encode(&("world",), None, &mut spliced).unwrap();
///
/// let body = RequestBody {
///     dubbo_version: DUBBO_VERSION,
///     path: "org.apache.dubbo.demo.DemoService",
///     version: Some("0.0.0"),
///     method: "sayHello",
///     parameter_types: &descriptor,
///     args: &("world",),
///     attachments: &attachments,
/// };
/// let mut whole = Vec::new();
/// body.encode(&mut whole).unwrap();
/// assert_eq!(spliced, whole);
/// ```
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    /// Fields 1–5, encoded.
    head: Box<[u8]>,
    /// The attachment map, encoded, when its bytes cannot depend on what precedes them.
    tail: Option<Box<[u8]>>,
    attachments: Attachments,
    parameter_types: Box<str>,
    /// How many parameters `parameter_types` names, or why it names none.
    parameters: Result<usize, String>,
}

impl RequestTemplate {
    /// Encodes fields 1–5 and, when they allow it, the attachments. A `parameter_types` that
    /// is not a sequence of JVM descriptors fails every [`encode`](Self::encode).
    pub fn new(
        dubbo_version: &str,
        path: &str,
        version: Option<&str>,
        method: &str,
        parameter_types: &str,
        attachments: Attachments,
    ) -> Self {
        let parameters = count_parameters(parameter_types).map_err(|e| e.to_string());
        let mut head = Vec::new();
        write_head(
            &mut Encoder::new(&mut head),
            dubbo_version,
            path,
            version,
            method,
            parameter_types,
        );
        let mut tail = Vec::new();
        let tail = (attachments.iter().all(|(_, v)| position_independent(v))
            && Encoder::new(&mut tail)
                .write_attachments(&attachments, &[])
                .is_ok())
        .then(|| tail.into_boxed_slice());
        Self {
            head: head.into_boxed_slice(),
            tail,
            attachments,
            parameter_types: parameter_types.into(),
            parameters,
        }
    }

    /// The attachments every call sends.
    pub fn attachments(&self) -> &Attachments {
        &self.attachments
    }

    /// Appends a request body with `args` to `out`: the template's attachments, or
    /// `attachments` in their place. On error `out` is left as it was.
    pub fn encode<A: EncodeArgs + ?Sized>(
        &self,
        args: &A,
        attachments: Option<&Attachments>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let expected = self.parameters.clone().map_err(EncodeError::Custom)?;
        check_arg_count(&self.parameter_types, expected, args.count())?;
        encode_or_restore(out, |out| self.write(args, attachments, out))
    }

    fn write<A: EncodeArgs + ?Sized>(
        &self,
        args: &A,
        attachments: Option<&Attachments>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        // One encoder from the body's start, as for a whole body: `byte[]` chunking counts
        // from there.
        let mut o = Encoder::new(out);
        o.write_raw(&self.head);
        args.encode(&mut o)?;
        match (attachments, &self.tail) {
            (Some(attachments), _) => o.write_attachments(attachments, &[]),
            (None, Some(tail)) => {
                o.write_raw(tail);
                Ok(())
            }
            (None, None) => o.write_attachments(&self.attachments, &[]),
        }
    }

    /// The body of one call, to hand to the connection.
    pub fn body<'a, A: EncodeArgs + ?Sized>(
        &'a self,
        args: &'a A,
        attachments: Option<&'a Attachments>,
    ) -> TemplateBody<'a, A> {
        TemplateBody {
            template: self,
            args,
            attachments,
        }
    }
}

/// Values whose encoding does not depend on what the body held before them.
fn position_independent(value: &Value) -> bool {
    matches!(
        value,
        Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Long(_)
            | Value::Double(_)
            | Value::String(_)
    )
}

/// One call's body from a [`RequestTemplate`]: a [`Payload`](crate::Payload) that encodes
/// straight into the outbound buffer.
#[derive(Debug)]
pub struct TemplateBody<'a, A: ?Sized> {
    template: &'a RequestTemplate,
    args: &'a A,
    attachments: Option<&'a Attachments>,
}

impl<A: EncodeArgs + ?Sized> crate::Payload for TemplateBody<'_, A> {
    type Error = EncodeError;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.template.encode(self.args, self.attachments, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hessian2::{Binary, JavaArray};
    use crate::message::{Arguments, DUBBO_VERSION, RequestBody};

    fn whole<A: EncodeArgs>(
        version: Option<&str>,
        descriptor: &str,
        args: &A,
        attachments: &Attachments,
    ) -> Vec<u8> {
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: "demo.Svc",
            version,
            method: "m",
            parameter_types: descriptor,
            args,
            attachments,
        };
        let mut out = b"prefix".to_vec();
        body.encode(&mut out).unwrap();
        out
    }

    fn spliced<A: EncodeArgs>(
        version: Option<&str>,
        descriptor: &str,
        args: &A,
        attachments: &Attachments,
        per_call: Option<&Attachments>,
    ) -> Vec<u8> {
        let template = RequestTemplate::new(
            DUBBO_VERSION,
            "demo.Svc",
            version,
            "m",
            descriptor,
            attachments.clone(),
        );
        let mut out = b"prefix".to_vec();
        template.encode(args, per_call, &mut out).unwrap();
        out
    }

    #[test]
    fn splicing_encodes_exactly_as_a_whole_body() {
        let mut plain = Attachments::new();
        plain.insert("path", "demo.Svc");
        plain.insert("timeout", "1000");
        plain.insert("_TO", Value::Int(1000));
        plain.insert("group", Value::Null);
        let mut nested = plain.clone();
        nested.insert("tags", Value::list(vec![Value::from("a")]));
        nested.insert("blob", Value::Binary(vec![1; 40]));

        type Args = (String, Binary, Vec<i32>, JavaArray<String>);
        let descriptor = <Args as Arguments>::descriptor_string();
        for size in [0, 15, 1000, 8 * 1024, 20_000] {
            let args: Args = (
                "x".repeat(size % 300),
                Binary(vec![7; size]),
                vec![1, 2, 3],
                JavaArray(vec!["s".into()]),
            );
            for attachments in [&plain, &nested, &Attachments::new()] {
                for version in [Some("1.0"), None] {
                    assert_eq!(
                        spliced(version, &descriptor, &args, attachments, None),
                        whole(version, &descriptor, &args, attachments),
                        "size {size}"
                    );
                    assert_eq!(
                        spliced(version, &descriptor, &args, &plain, Some(attachments)),
                        whole(version, &descriptor, &args, attachments),
                        "size {size}, per-call attachments"
                    );
                }
            }
        }
    }

    #[test]
    fn attachments_with_containers_are_encoded_per_call() {
        let mut attachments = Attachments::new();
        attachments.insert("k", "v");
        let template = RequestTemplate::new("2.0.2", "p", None, "m", "I", attachments.clone());
        assert!(template.tail.is_some());
        attachments.insert("list", Value::list(vec![]));
        let template = RequestTemplate::new("2.0.2", "p", None, "m", "I", attachments);
        assert!(template.tail.is_none());
    }

    #[test]
    fn argument_count_mismatch_is_refused_and_leaves_the_buffer() {
        let template = RequestTemplate::new("2.0.2", "p", None, "m", "II", Attachments::new());
        let mut out = b"keep".to_vec();
        let err = template.encode(&(1i32,), None, &mut out).unwrap_err();
        assert!(err.to_string().contains("1 arguments"), "{err}");
        assert_eq!(out, b"keep");
        let bad = RequestTemplate::new("2.0.2", "p", None, "m", "Q", Attachments::new());
        assert!(bad.encode(&(1i32,), None, &mut out).is_err());
        assert_eq!(out, b"keep");
    }
}
