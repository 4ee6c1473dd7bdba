//! Bodies to send: anything that can encode itself straight into the outbound buffer.

use std::convert::Infallible;

use bytes::Bytes;

/// A frame body that encodes itself into the connection's outbound buffer, so a body is
/// written once, in place, and never copied after encoding.
///
/// `encode` appends to `out` and must leave what was there before untouched. On error the
/// connection truncates `out` back, so partial output is harmless.
pub trait Payload {
    /// Why encoding can fail.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends the encoded body to `out`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Self::Error>;
}

impl Payload for [u8] {
    type Error = Infallible;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Infallible> {
        out.extend_from_slice(self);
        Ok(())
    }
}

impl<P: Payload + ?Sized> Payload for &P {
    type Error = P::Error;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Self::Error> {
        (**self).encode(out)
    }
}

impl Payload for Vec<u8> {
    type Error = Infallible;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Infallible> {
        out.extend_from_slice(self);
        Ok(())
    }
}

impl Payload for Bytes {
    type Error = Infallible;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Infallible> {
        out.extend_from_slice(self);
        Ok(())
    }
}

impl<const N: usize> Payload for [u8; N] {
    type Error = Infallible;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Infallible> {
        out.extend_from_slice(self);
        Ok(())
    }
}
