//! What a provider reads from a request's attachments before it runs the handler (which
//! service, the token, the caller's timeout), borrowed from the body; and the handler's view
//! of the whole map, decoded only if the handler asks for it.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;

use super::callback::{CALLBACK_ARG_PREFIX, CALLBACK_INSTANCE};
use crate::hessian2::{DecodeError, Decoder, Value, tag};
use crate::message::{Attachments, BodyError, RequestReader};

/// The attachments that route a request (`docs/protocol.md` §2.3), each as
/// [`Attachments::get_str`] would give it: a later value of a key replaces an earlier one,
/// and a value that is not a string counts as absent.
#[derive(Debug, Default)]
pub(super) struct Routing<'a> {
    pub(super) path: Option<Cow<'a, str>>,
    pub(super) version: Option<Cow<'a, str>>,
    pub(super) group: Option<Cow<'a, str>>,
    pub(super) token: Option<Cow<'a, str>>,
    /// The mode a generic call asks for (`docs/protocol.md` §2.4).
    pub(super) generic: Option<Cow<'a, str>>,
    /// `_TO`, `_to` and `timeout`, in milliseconds when numeric.
    timeouts: [Option<u64>; 3],
    /// A key that only the whole map answers: callback arguments and instances (§6).
    callbacks: bool,
    /// A value other than a string, number, boolean or null: decoding it could still fail
    /// (on the decoder's limits), so the map is decoded before the request is accepted.
    complex: bool,
}

impl<'a> Routing<'a> {
    /// Reads the routing attachments of `reader`'s request, skipping its arguments and every
    /// other value; fails as decoding the whole map would on a malformed one.
    pub(super) fn scan(reader: RequestReader<'a>) -> Result<Self, BodyError> {
        let mut routing = Self::default();
        reader.visit_attachments(|key, input| {
            routing.complex |= !tag::is_scalar(input.peek()?);
            match &*key {
                "path" => routing.path = string(input)?,
                "version" => routing.version = string(input)?,
                "group" => routing.group = string(input)?,
                "token" => routing.token = string(input)?,
                "generic" => routing.generic = string(input)?,
                "_TO" => routing.timeouts[0] = millis(input)?,
                "_to" => routing.timeouts[1] = millis(input)?,
                "timeout" => routing.timeouts[2] = millis(input)?,
                key => {
                    routing.callbacks |=
                        key.starts_with(CALLBACK_ARG_PREFIX) || key == CALLBACK_INSTANCE;
                    input.skip_value()?;
                }
            }
            Ok(())
        })?;
        Ok(routing)
    }

    /// Whether the request needs its attachments decoded before it runs.
    pub(super) fn needs_map(&self) -> bool {
        self.callbacks || self.complex
    }

    /// The caller's timeout: `_TO` (int, with timeout countdown), `_to`, or `timeout`
    /// (string of milliseconds, Java 3.x, dubbo-go), the first that is a positive number.
    pub(super) fn caller_timeout(&self) -> Option<Duration> {
        self.timeouts
            .iter()
            .flatten()
            .copied()
            .find(|&ms| ms > 0)
            .map(Duration::from_millis)
    }
}

/// A string value, or `None` for null and any other value (skipped).
fn string<'de>(input: &mut Decoder<'de>) -> Result<Option<Cow<'de, str>>, DecodeError> {
    if tag::is_string(input.peek()?) {
        input.read_str_or_null()
    } else {
        input.skip_value().map(|()| None)
    }
}

/// Milliseconds from an int, a long or a numeric string; `None` for anything else.
fn millis(input: &mut Decoder<'_>) -> Result<Option<u64>, DecodeError> {
    if tag::is_string(input.peek()?) {
        let s = input.read_str_or_null()?.unwrap_or_default();
        return Ok(s.trim().parse::<u64>().ok());
    }
    Ok(match input.read_value()? {
        Value::Int(i) => u64::try_from(i).ok(),
        Value::Long(l) => u64::try_from(l).ok(),
        _ => None,
    })
}

/// A request's attachments as its handler sees them: decoded from the body on first use.
#[derive(Clone, Debug)]
pub(super) struct RequestAttachments {
    decoded: OnceLock<Attachments>,
    /// The request body, until decoded.
    body: Bytes,
}

impl RequestAttachments {
    /// Attachments decoded already.
    pub(super) fn decoded(attachments: Attachments) -> Self {
        Self {
            decoded: OnceLock::from(attachments),
            body: Bytes::new(),
        }
    }

    /// The attachments of the request `body`, whose routing scan succeeded with only plain
    /// values (so decoding them cannot fail).
    pub(super) fn lazy(body: Bytes) -> Self {
        Self {
            decoded: OnceLock::new(),
            body,
        }
    }

    pub(super) fn get(&self) -> &Attachments {
        self.decoded.get_or_init(|| {
            let decoded = RequestReader::new(&self.body).and_then(RequestReader::attachments);
            debug_assert!(decoded.is_ok(), "plain attachments failed: {decoded:?}");
            decoded.unwrap_or_default()
        })
    }

    pub(super) fn get_mut(&mut self) -> &mut Attachments {
        self.get();
        self.decoded.get_mut().expect("decoded just above")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::message::{Arguments, DUBBO_VERSION, RequestBody};

    /// The routing answers as computed from fully decoded attachments.
    fn expected(a: &Attachments) -> (Vec<Option<String>>, Option<Duration>) {
        let strings = ["path", "version", "group", "token", "generic"]
            .iter()
            .map(|k| a.get_str(k).map(str::to_owned))
            .collect();
        let millis = |v: &Value| match v {
            Value::String(s) => s.trim().parse::<u64>().ok(),
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Long(l) => u64::try_from(*l).ok(),
            _ => None,
        };
        let timeout = ["_TO", "_to", "timeout"]
            .iter()
            .filter_map(|k| a.get(k).and_then(millis))
            .find(|&ms| ms > 0)
            .map(Duration::from_millis);
        (strings, timeout)
    }

    /// A request body whose attachment map holds `entries` as given, repeated keys too.
    fn body(entries: &[(String, Value)]) -> Vec<u8> {
        let descriptor = <(i32, Vec<String>)>::descriptor_string();
        let mut out = Vec::new();
        RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: "p",
            version: None,
            method: "m",
            parameter_types: &descriptor,
            args: &(7, vec!["x".to_owned()]),
            attachments: &Attachments::new(),
        }
        .encode(&mut out)
        .unwrap();
        // Replace the empty map at the end ("H" "Z") with one holding every entry in order.
        assert_eq!(out.split_off(out.len() - 2), b"HZ");
        let mut encoder = crate::hessian2::Encoder::new(&mut out);
        encoder.begin_map(None).unwrap();
        for (k, v) in entries {
            encoder.write_str(k);
            encoder.write_value(v).unwrap();
        }
        encoder.write_end();
        out
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "path",
            "version",
            "group",
            "token",
            "generic",
            "_TO",
            "_to",
            "timeout",
            "interface",
            "sys_callback_arg-1",
            "callback.service.instid",
            "x",
        ])
        .prop_map(str::to_owned)
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::Int),
            any::<i64>().prop_map(Value::Long),
            (0u64..100_000).prop_map(|n| Value::String(format!(" {n}"))),
            "[a-z0-9.]{0,12}".prop_map(Value::String),
            Just(Value::list(vec![Value::Int(1)])),
            Just(Value::Binary(vec![1, 2])),
        ]
    }

    proptest! {
        #[test]
        fn the_scan_agrees_with_the_decoded_map(
            entries in prop::collection::vec((key(), value()), 0..12)
        ) {
            let body = body(&entries);
            let decoded = RequestReader::new(&body).unwrap().attachments().unwrap();
            let routing = Routing::scan(RequestReader::new(&body).unwrap()).unwrap();
            let (strings, timeout) = expected(&decoded);
            let got: Vec<_> = [
                &routing.path,
                &routing.version,
                &routing.group,
                &routing.token,
                &routing.generic,
            ]
                .iter()
                .map(|s| s.as_deref().map(str::to_owned))
                .collect();
            prop_assert_eq!(got, strings);
            prop_assert_eq!(routing.caller_timeout(), timeout);
            let callbacks = entries
                .iter()
                .any(|(k, _)| k.starts_with(CALLBACK_ARG_PREFIX) || k == CALLBACK_INSTANCE);
            let complex = entries
                .iter()
                .any(|(_, v)| matches!(v, Value::List { .. } | Value::Binary(_)));
            prop_assert_eq!(routing.needs_map(), callbacks || complex);
            if !routing.needs_map() {
                let lazy = RequestAttachments::lazy(Bytes::from(body.clone()));
                prop_assert_eq!(lazy.get(), &decoded);
            }
        }
    }

    #[test]
    fn a_malformed_map_fails_the_scan_like_the_decode() {
        let mut body = body(&[("path".to_owned(), Value::from("p"))]);
        // A key that is not a string.
        let at = body.len() - 1;
        body.splice(at..at, [0x91, b'N']);
        let scan = Routing::scan(RequestReader::new(&body).unwrap()).unwrap_err();
        let decode = RequestReader::new(&body)
            .unwrap()
            .attachments()
            .unwrap_err();
        assert_eq!(scan.to_string(), decode.to_string());
        // Cut short.
        body.truncate(body.len() - 3);
        assert!(Routing::scan(RequestReader::new(&body).unwrap()).is_err());
        assert!(RequestReader::new(&body).unwrap().attachments().is_err());
    }
}
