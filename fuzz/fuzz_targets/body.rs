//! Feeds arbitrary bytes to every body decoder: request, response (typed and dynamic),
//! error message and event. None may panic, hang or allocate beyond the input
//! (`cargo +nightly fuzz run body`). Single Hessian values: the `hessian2` target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_core::hessian2::Value;
use tether_core::message::{
    EventBody, RequestReader, decode_error_message, decode_request, decode_response,
    decode_result,
};

fuzz_target!(|data: &[u8]| {
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
});
