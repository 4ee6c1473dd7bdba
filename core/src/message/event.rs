//! Event bodies (`docs/protocol.md` §4): heartbeats (`'N'`) and the read-only / writeable
//! notices (`"R"` / `"W"`).

use super::encode_or_restore;
use super::error::{BodyError, Field};
use super::serialization::{Hessian2, Serialization};
use crate::hessian2::{Decoder, Value};

/// The body of an event frame (EVENT bit set).
#[derive(Clone, PartialEq, Debug)]
#[non_exhaustive]
pub enum EventBody {
    /// A heartbeat request or response: serialized null.
    Heartbeat,
    /// The provider is going away: stop sending new calls on this connection (`"R"`).
    ReadOnly,
    /// The provider accepts calls again (`"W"`, 3.x).
    Writeable,
    /// Any other event payload.
    Other(Value),
}

impl EventBody {
    /// Appends the event body in Hessian 2.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut o = Hessian2::output(out);
        match self {
            Self::Heartbeat => o.write_null(),
            Self::ReadOnly => o.write_str("R"),
            Self::Writeable => o.write_str("W"),
            Self::Other(v) => {
                // Writing a value only fails for a dangling `Value::Ref`: write null then.
                if encode_or_restore(out, |out| Hessian2::output(out).write_value(v)).is_err() {
                    out.push(b'N');
                }
            }
        }
    }

    /// Decodes a Hessian 2 event body; trailing bytes are ignored.
    pub fn decode(body: &[u8]) -> Result<Self, BodyError> {
        let value = Decoder::new(body)
            .read_value()
            .map_err(BodyError::at(Field::Event))?;
        Ok(match value {
            Value::Null => Self::Heartbeat,
            Value::String(s) if s == "R" => Self::ReadOnly,
            Value::String(s) if s == "W" => Self::Writeable,
            other => Self::Other(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bodies_match_protocol_13_3() {
        for (event, body) in [
            (EventBody::Heartbeat, &b"N"[..]),
            (EventBody::ReadOnly, b"\x01R"),
            (EventBody::Writeable, b"\x01W"),
            (EventBody::Other(Value::Int(1)), b"\x91"),
        ] {
            let mut out = Vec::new();
            event.encode(&mut out);
            assert_eq!(out, body);
            assert_eq!(EventBody::decode(body).unwrap(), event);
        }
        assert!(EventBody::decode(b"").is_err());
        let mut out = Vec::new();
        EventBody::Other(Value::Ref(3)).encode(&mut out);
        assert_eq!(out, b"N");
        // Review reproducer: `Ref(usize::MAX)` overflowed inside the encoder.
        out.clear();
        EventBody::Other(Value::Ref(usize::MAX)).encode(&mut out);
        assert_eq!(out, b"N");
    }
}
