//! Feeds arbitrary bytes to every body decoder: request, response (typed and dynamic),
//! error message, event and single Hessian values. None may panic, hang or allocate beyond
//! the input (`cargo +nightly fuzz run body`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_core::hessian2::{self, Decoder, Value};
use tether_core::message::{
    EventBody, RequestReader, decode_error_message, decode_request, decode_response,
    decode_result,
};

fuzz_target!(|data: &[u8]| {
    let _ = Decoder::new(data).read_value();
    let _ = Decoder::new(data).skip_value();
    let _ = hessian2::from_slice::<Value>(data);
    let _ = hessian2::from_slice::<Vec<(String, i64, Option<f64>)>>(data);
    let _ = decode_request(data);
    if let Ok(mut reader) = RequestReader::new(data) {
        let _ = reader.next_arg::<Value>();
        let _ = reader.attachments();
    }
    let _ = decode_response::<Value>(data);
    let _ = decode_response::<String>(data);
    let _ = decode_result::<Value>(data);
    let _ = decode_result::<bytes::Bytes>(data);
    let _ = decode_error_message(data);
    let _ = EventBody::decode(data);
    // Whatever decodes must encode again.
    if let Ok(value) = Decoder::new(data).read_value() {
        let _ = hessian2::to_vec(&value);
    }
});
