//! The 16-byte `dubbo://` exchange header and an incremental frame decoder (`docs/protocol.md` §1).
//!
//! The body stays opaque bytes at this layer. The decoder yields the same frames for any
//! chunking of the byte stream, checks the payload limit from the header before buffering a
//! body, and never buffers more than one header plus one in-limit body.

use std::fmt;

use bytes::{Bytes, BytesMut};

/// The two magic bytes that open every frame (`0xDABB`).
pub const MAGIC: [u8; 2] = [0xDA, 0xBB];

/// Length of the exchange header in bytes.
pub const HEADER_LEN: usize = 16;

/// Dubbo's default payload limit: 8 MiB of body (`docs/protocol.md` §1.4).
pub const DEFAULT_PAYLOAD_LIMIT: u32 = 8 * 1024 * 1024;

const FLAG_REQUEST: u8 = 0x80;
const FLAG_TWO_WAY: u8 = 0x40;
const FLAG_EVENT: u8 = 0x20;
const SERIALIZATION_MASK: u8 = 0x1F;

/// The id that correlates a response with its request.
///
/// On the wire it is a signed 64-bit big-endian integer; tether treats it as an opaque 64-bit
/// value (a response echoes the bits unchanged).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Print the wire (signed) view: that is what Java peers log.
        write!(f, "{}", self.0 as i64)
    }
}

/// The 5-bit serialization id carried in the flag byte (`docs/protocol.md` §12).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SerializationId(u8);

impl SerializationId {
    /// Hessian 2 (Dubbo's hessian-lite), id 2: the default and the only one tether speaks.
    pub const HESSIAN2: Self = Self(2);

    /// The id for `value`, or `None` if it does not fit in 5 bits.
    pub const fn new(value: u8) -> Option<Self> {
        if value <= SERIALIZATION_MASK {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The numeric id.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for SerializationId {
    fn default() -> Self {
        Self::HESSIAN2
    }
}

/// The status byte of a response (`docs/protocol.md` §1.2).
///
/// Any byte value can arrive from a peer, so this is an open newtype with named constants
/// rather than a closed enum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Status(pub u8);

impl Status {
    /// 20: the call produced a result (value, null or exception).
    pub const OK: Self = Self(20);
    /// 25: the response (or, locally, the request) could not be serialized.
    pub const SERIALIZATION_ERROR: Self = Self(25);
    /// 30: local only; the request was never written within the timeout.
    pub const CLIENT_TIMEOUT: Self = Self(30);
    /// 31: local only; the request was written but no response came within the timeout.
    pub const SERVER_TIMEOUT: Self = Self(31);
    /// 35: local only; the connection closed while the call was pending.
    pub const CHANNEL_INACTIVE: Self = Self(35);
    /// 40: the provider could not decode the request.
    pub const BAD_REQUEST: Self = Self(40);
    /// 50: the provider could not encode its response.
    pub const BAD_RESPONSE: Self = Self(50);
    /// 60: defined by Dubbo but not emitted by current Java providers.
    pub const SERVICE_NOT_FOUND: Self = Self(60);
    /// 70: the provider's handling of the request failed (no exporter, token, filters...).
    pub const SERVICE_ERROR: Self = Self(70);
    /// 80: the provider failed to dispatch the request to its executor.
    pub const SERVER_ERROR: Self = Self(80);
    /// 90: local only; the response could not be decoded, was too large, or was cancelled.
    pub const CLIENT_ERROR: Self = Self(90);
    /// 100: the provider's worker pool rejected the request.
    pub const SERVER_THREADPOOL_EXHAUSTED: Self = Self(100);

    /// Whether this is the OK status.
    pub const fn is_ok(self) -> bool {
        self.0 == Self::OK.0
    }
}

/// What a frame is: a request (two-way or one-way) or a response with its status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FrameKind {
    /// A request; `two_way` says whether the sender expects a response.
    Request {
        /// The TWOWAY flag bit.
        two_way: bool,
    },
    /// A response to the request with the same id.
    Response {
        /// The status byte.
        status: Status,
    },
}

/// A decoded exchange header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// Request or response, and the bits that go with each.
    pub kind: FrameKind,
    /// The EVENT bit: heartbeat, read-only and writeable events (`docs/protocol.md` §4).
    pub event: bool,
    /// How the body is serialized.
    pub serialization: SerializationId,
    /// The request id (echoed by responses).
    pub id: RequestId,
    /// Number of body bytes that follow the header.
    pub body_len: u32,
}

impl Header {
    /// Parses a header, checking the magic and the sign of the length field.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        if bytes[..2] != MAGIC {
            return Err(FrameError::BadMagic([bytes[0], bytes[1]]));
        }
        let flag = bytes[2];
        let kind = if flag & FLAG_REQUEST != 0 {
            // The status byte of a request carries nothing; Java ignores it and so do we.
            FrameKind::Request {
                two_way: flag & FLAG_TWO_WAY != 0,
            }
        } else {
            // dubbo-js sets TWOWAY on heartbeat responses: ignored on responses (§1.1).
            FrameKind::Response {
                status: Status(bytes[3]),
            }
        };
        let id = u64::from_be_bytes(bytes[4..12].try_into().expect("8-byte slice"));
        let len = i32::from_be_bytes(bytes[12..16].try_into().expect("4-byte slice"));
        let body_len = u32::try_from(len).map_err(|_| FrameError::NegativeLength(len))?;
        Ok(Self {
            kind,
            event: flag & FLAG_EVENT != 0,
            serialization: SerializationId(flag & SERIALIZATION_MASK),
            id: RequestId(id),
            body_len,
        })
    }

    /// Writes the 16 header bytes.
    ///
    /// `body_len` must not exceed `i32::MAX`; the encoders in this crate enforce a payload
    /// limit well below that before calling this.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..2].copy_from_slice(&MAGIC);
        let mut flag = self.serialization.0;
        if self.event {
            flag |= FLAG_EVENT;
        }
        match self.kind {
            FrameKind::Request { two_way } => {
                flag |= FLAG_REQUEST;
                if two_way {
                    flag |= FLAG_TWO_WAY;
                }
            }
            FrameKind::Response { status } => out[3] = status.0,
        }
        out[2] = flag;
        out[4..12].copy_from_slice(&self.id.0.to_be_bytes());
        out[12..16].copy_from_slice(&self.body_len.to_be_bytes());
        out
    }

    /// Whether this is a request frame.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, FrameKind::Request { .. })
    }
}

/// The payload limit: the largest body accepted or sent, in bytes (`docs/protocol.md` §1.4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PayloadLimit(Option<u32>);

impl PayloadLimit {
    /// A limit of `bytes` body bytes (a body of exactly `bytes` is allowed).
    pub const fn new(bytes: u32) -> Self {
        Self(Some(bytes))
    }

    /// No limit beyond the wire's own (`i32::MAX`), Dubbo's `payload <= 0`.
    ///
    /// The decoder still only buffers bytes that actually arrived, never what a length field
    /// announces.
    pub const fn unlimited() -> Self {
        Self(None)
    }

    /// The limit in bytes, or `None` if unlimited.
    pub const fn get(self) -> Option<u32> {
        self.0
    }

    /// Whether a body of `len` bytes exceeds the limit.
    pub fn is_exceeded_by(self, len: usize) -> bool {
        len > i32::MAX as usize || self.0.is_some_and(|limit| len > limit as usize)
    }
}

impl Default for PayloadLimit {
    fn default() -> Self {
        Self::new(DEFAULT_PAYLOAD_LIMIT)
    }
}

impl fmt::Display for PayloadLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(limit) => write!(f, "{limit}"),
            None => f.write_str("unlimited"),
        }
    }
}

/// Bytes that cannot be framed: the stream cannot be resynchronised after these.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame did not start with `0xDABB` (tether does not speak Dubbo's telnet console).
    #[error("bad magic {:#04x} {:#04x}, expected 0xda 0xbb", .0[0], .0[1])]
    BadMagic([u8; 2]),
    /// The body length field was negative.
    #[error("negative body length {0}")]
    NegativeLength(i32),
}

/// A whole frame: header and body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    /// The header.
    pub header: Header,
    /// Exactly `header.body_len` bytes. Bodies may carry trailing bytes after their content
    /// (dubbo-go appends `'N'`): body decoders ignore them.
    pub body: Bytes,
}

/// What the decoder produced.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Decoded {
    /// A complete frame within the payload limit.
    Frame(Frame),
    /// A header whose body exceeds the payload limit. It is reported as soon as the header is
    /// read; its body bytes are then discarded as they arrive, keeping the stream in sync.
    Oversized(Header),
}

/// Minimum spare capacity reserved for bodies, so small frames share one allocation.
const MIN_BODY_RESERVE: usize = 4096;

#[derive(Debug)]
enum State {
    /// Filling `head[..filled]`.
    Header { filled: usize },
    /// Filling the body of `header` into `body`.
    Body { header: Header },
    /// Discarding `remaining` body bytes of an oversized frame.
    Skip { remaining: u32 },
    /// The stream was malformed; the error is sticky.
    Failed(FrameError),
}

/// An incremental frame decoder.
///
/// Feed it any slices of the byte stream with [`decode`](Self::decode); it consumes bytes from
/// the front of the slice and returns at most one item per call. Memory held is at most one
/// header plus the body bytes of the current in-limit frame that have arrived.
#[derive(Debug)]
pub struct FrameDecoder {
    limit: PayloadLimit,
    head: [u8; HEADER_LEN],
    body: BytesMut,
    state: State,
}

impl FrameDecoder {
    /// A decoder that reports bodies larger than `limit` as [`Decoded::Oversized`].
    pub fn new(limit: PayloadLimit) -> Self {
        Self {
            limit,
            head: [0; HEADER_LEN],
            body: BytesMut::new(),
            state: State::Header { filled: 0 },
        }
    }

    /// Consumes bytes from the front of `input` until one item is complete or `input` is
    /// empty. Returns `Ok(None)` when more input is needed.
    ///
    /// After an error every later call returns the same error.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Decoded>, FrameError> {
        loop {
            match self.state {
                State::Failed(err) => return Err(err),
                State::Header { filled } => {
                    let take = (HEADER_LEN - filled).min(input.len());
                    self.head[filled..filled + take].copy_from_slice(&input[..take]);
                    *input = &input[take..];
                    let filled = filled + take;
                    // Reject a bad magic with its first byte: garbage shorter than a header
                    // must not wait for more bytes that may never come.
                    let magic_seen = filled.min(MAGIC.len());
                    if self.head[..magic_seen] != MAGIC[..magic_seen] {
                        let err = FrameError::BadMagic([self.head[0], self.head[1]]);
                        self.state = State::Failed(err);
                        return Err(err);
                    }
                    if filled < HEADER_LEN {
                        self.state = State::Header { filled };
                        return Ok(None);
                    }
                    let header = match Header::decode(&self.head) {
                        Ok(header) => header,
                        Err(err) => {
                            self.state = State::Failed(err);
                            return Err(err);
                        }
                    };
                    if self.limit.is_exceeded_by(header.body_len as usize) {
                        self.state = if header.body_len == 0 {
                            State::Header { filled: 0 }
                        } else {
                            State::Skip {
                                remaining: header.body_len,
                            }
                        };
                        return Ok(Some(Decoded::Oversized(header)));
                    }
                    self.state = State::Body { header };
                }
                State::Body { header } => {
                    let want = header.body_len as usize - self.body.len();
                    let take = want.min(input.len());
                    if take > 0 {
                        if self.body.capacity() - self.body.len() < take {
                            // Reserve for what arrived (never for what the length field
                            // announces): this body, and up to a floor of the bytes behind it,
                            // so that the small frames of one read share one allocation.
                            self.body
                                .reserve(take.max(MIN_BODY_RESERVE.min(input.len())));
                        }
                        self.body.extend_from_slice(&input[..take]);
                        *input = &input[take..];
                    }
                    if take < want {
                        return Ok(None);
                    }
                    let body = self.body.split().freeze();
                    self.state = State::Header { filled: 0 };
                    return Ok(Some(Decoded::Frame(Frame { header, body })));
                }
                State::Skip { remaining } => {
                    let take = (remaining as usize).min(input.len());
                    *input = &input[take..];
                    let remaining = remaining - take as u32;
                    if remaining > 0 {
                        self.state = State::Skip { remaining };
                        return Ok(None);
                    }
                    self.state = State::Header { filled: 0 };
                }
            }
        }
    }

    /// Bytes of an unfinished frame currently held (header bytes plus body bytes).
    pub fn buffered(&self) -> usize {
        match self.state {
            State::Header { filled } => filled,
            State::Body { .. } => HEADER_LEN + self.body.len(),
            State::Skip { .. } | State::Failed(_) => 0,
        }
    }

    /// Whether the decoder sits exactly between two frames.
    pub fn is_at_boundary(&self) -> bool {
        matches!(self.state, State::Header { filled: 0 })
    }
}

/// Appends a frame with `header` (whose `body_len` is overwritten) and `body` to `out`.
///
/// Fails, leaving `out` unchanged, if the body exceeds `limit`.
pub fn encode_frame(
    out: &mut Vec<u8>,
    mut header: Header,
    body: &[u8],
    limit: PayloadLimit,
) -> Result<(), PayloadTooLarge> {
    if limit.is_exceeded_by(body.len()) {
        return Err(PayloadTooLarge {
            len: body.len(),
            limit,
        });
    }
    header.body_len = body.len() as u32;
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(body);
    Ok(())
}

/// A body larger than the payload limit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("Data length too large: {len}, max payload: {limit}")]
pub struct PayloadTooLarge {
    /// The body length.
    pub len: usize,
    /// The limit it exceeded.
    pub limit: PayloadLimit,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    fn decode_all(dec: &mut FrameDecoder, mut input: &[u8]) -> Vec<Decoded> {
        let mut out = Vec::new();
        while let Some(item) = dec.decode(&mut input).unwrap() {
            out.push(item);
        }
        assert!(input.is_empty());
        out
    }

    #[test]
    fn heartbeat_golden_frames() {
        // docs/protocol.md §13.3
        let req = hex("da bb e2 00 00 00 00 00 00 00 00 02 00 00 00 01 4e");
        let resp = hex("da bb 22 14 00 00 00 00 00 00 00 02 00 00 00 01 4e");
        let mut dec = FrameDecoder::new(PayloadLimit::default());
        let items = decode_all(&mut dec, &[req.clone(), resp.clone()].concat());
        let [Decoded::Frame(a), Decoded::Frame(b)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(a.header.kind, FrameKind::Request { two_way: true });
        assert!(a.header.event);
        assert_eq!(a.header.id, RequestId(2));
        assert_eq!(&a.body[..], b"N");
        assert_eq!(b.header.kind, FrameKind::Response { status: Status::OK });
        assert!(b.header.event);
        assert_eq!(a.header.encode()[..], req[..16]);
        assert_eq!(b.header.encode()[..], resp[..16]);
    }

    #[test]
    fn flag_values_match_dubbo() {
        let h = |kind, event| Header {
            kind,
            event,
            serialization: SerializationId::HESSIAN2,
            id: RequestId(1),
            body_len: 0,
        };
        let ok = FrameKind::Response { status: Status::OK };
        assert_eq!(
            h(FrameKind::Request { two_way: true }, false).encode()[2],
            0xC2
        );
        assert_eq!(
            h(FrameKind::Request { two_way: false }, false).encode()[2],
            0x82
        );
        assert_eq!(
            h(FrameKind::Request { two_way: true }, true).encode()[2],
            0xE2
        );
        assert_eq!(
            h(FrameKind::Request { two_way: false }, true).encode()[2],
            0xA2
        );
        assert_eq!(h(ok, false).encode()[2..4], [0x02, 20]);
        assert_eq!(h(ok, true).encode()[2..4], [0x22, 20]);
    }

    #[test]
    fn negative_ids_round_trip() {
        let mut bytes = hex("da bb c2 00 ff ff ff ff ff ff ff fe 00 00 00 00");
        let header = Header::decode(bytes[..16].try_into().unwrap()).unwrap();
        assert_eq!(header.id.0 as i64, -2);
        assert_eq!(header.id.to_string(), "-2");
        assert_eq!(header.encode()[..], bytes[..]);
        // A request's status byte is ignored on read.
        bytes[3] = 0x14;
        assert_eq!(Header::decode(bytes[..16].try_into().unwrap()), Ok(header));
    }

    #[test]
    fn twoway_bit_is_ignored_on_responses() {
        let bytes = hex("da bb 62 14 00 00 00 00 00 00 00 00 00 00 00 01");
        let header = Header::decode(bytes[..16].try_into().unwrap()).unwrap();
        assert_eq!(header.kind, FrameKind::Response { status: Status::OK });
    }

    #[test]
    fn bad_magic_and_negative_length_are_sticky_errors() {
        let mut dec = FrameDecoder::new(PayloadLimit::default());
        let mut input = &b"ls -l\r\n and more bytes"[..];
        assert_eq!(
            dec.decode(&mut input),
            Err(FrameError::BadMagic([b'l', b's']))
        );
        assert_eq!(
            dec.decode(&mut &[0xDA, 0xBB][..]),
            Err(FrameError::BadMagic([b'l', b's']))
        );

        let mut dec = FrameDecoder::new(PayloadLimit::default());
        let bytes = hex("da bb c2 00 00 00 00 00 00 00 00 01 ff ff ff ff");
        assert_eq!(
            dec.decode(&mut &bytes[..]),
            Err(FrameError::NegativeLength(-1))
        );
    }

    #[test]
    fn bad_magic_is_detected_from_the_first_byte() {
        let mut dec = FrameDecoder::new(PayloadLimit::default());
        assert_eq!(dec.decode(&mut &[0xDA][..]), Ok(None));
        let mut dec = FrameDecoder::new(PayloadLimit::default());
        assert_eq!(
            dec.decode(&mut &b"l"[..]),
            Err(FrameError::BadMagic([b'l', 0]))
        );
    }

    #[test]
    fn oversized_body_is_reported_then_skipped() {
        let limit = PayloadLimit::new(4);
        let mut stream = Vec::new();
        let mut header = Header {
            kind: FrameKind::Request { two_way: true },
            event: false,
            serialization: SerializationId::HESSIAN2,
            id: RequestId(7),
            body_len: 0,
        };
        encode_frame(&mut stream, header, b"12345", PayloadLimit::unlimited()).unwrap();
        header.id = RequestId(8);
        encode_frame(&mut stream, header, b"1234", limit).unwrap();
        let mut dec = FrameDecoder::new(limit);
        let items = decode_all(&mut dec, &stream);
        assert!(
            matches!(&items[0], Decoded::Oversized(h) if h.id == RequestId(7) && h.body_len == 5)
        );
        assert!(
            matches!(&items[1], Decoded::Frame(f) if f.header.id == RequestId(8) && &f.body[..] == b"1234")
        );
        assert!(dec.is_at_boundary());
    }

    #[test]
    fn encode_refuses_over_limit_and_leaves_output_untouched() {
        let mut out = vec![1, 2, 3];
        let header = Header {
            kind: FrameKind::Request { two_way: false },
            event: false,
            serialization: SerializationId::HESSIAN2,
            id: RequestId(1),
            body_len: 0,
        };
        let err = encode_frame(&mut out, header, &[0; 9], PayloadLimit::new(8)).unwrap_err();
        assert_eq!(err.len, 9);
        assert_eq!(err.to_string(), "Data length too large: 9, max payload: 8");
        assert_eq!(out, [1, 2, 3]);
        encode_frame(&mut out, header, &[0; 8], PayloadLimit::new(8)).unwrap();
        assert_eq!(out.len(), 3 + 16 + 8);
    }

    #[test]
    fn length_field_does_not_reserve_memory() {
        // A header that announces 2 GiB with the limit disabled: only arrived bytes are held.
        let mut dec = FrameDecoder::new(PayloadLimit::unlimited());
        let bytes = hex("da bb c2 00 00 00 00 00 00 00 00 01 7f ff ff ff 01 02 03");
        assert_eq!(dec.decode(&mut &bytes[..]), Ok(None));
        assert_eq!(dec.buffered(), HEADER_LEN + 3);
        assert!(dec.body.capacity() <= MIN_BODY_RESERVE);
    }

    fn hex16(s: &str) -> [u8; HEADER_LEN] {
        hex(s).try_into().unwrap()
    }

    #[test]
    fn small_frames_of_one_read_share_one_allocation() {
        let mut stream = Vec::new();
        for i in 0..20u8 {
            let mut header =
                Header::decode(&hex16("da bb c2 00 00 00 00 00 00 00 00 00 00 00 00 00")).unwrap();
            header.id = RequestId(u64::from(i));
            encode_frame(&mut stream, header, &[i; 100], PayloadLimit::default()).unwrap();
        }
        let mut dec = FrameDecoder::new(PayloadLimit::default());
        let bodies: Vec<Bytes> = decode_all(&mut dec, &stream)
            .into_iter()
            .map(|item| match item {
                Decoded::Frame(frame) => frame.body,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(bodies.len(), 20);
        let shared = bodies
            .windows(2)
            .filter(|w| w[0].as_ptr().wrapping_add(100) == w[1].as_ptr())
            .count();
        assert!(
            shared >= 15,
            "{shared} of 19 bodies follow the previous one in memory"
        );
    }

    #[test]
    fn zero_length_body() {
        let mut dec = FrameDecoder::new(PayloadLimit::new(0));
        let bytes = hex("da bb 82 00 00 00 00 00 00 00 00 01 00 00 00 00");
        let items = decode_all(&mut dec, &bytes);
        assert!(matches!(&items[..], [Decoded::Frame(f)] if f.body.is_empty()));
    }
}
