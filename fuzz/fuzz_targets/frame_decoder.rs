//! Arbitrary bytes, cut at arbitrary points, into the frame decoder: no panic, and never more
//! than one header plus one in-limit body held.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_core::frame::{FrameDecoder, HEADER_LEN, PayloadLimit};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    // A small limit makes the oversized path reachable.
    let limit = 64u32;
    let mut dec = FrameDecoder::new(PayloadLimit::new(limit));
    let step = usize::from(cut).max(1);
    for chunk in rest.chunks(step) {
        let mut input = chunk;
        while let Ok(Some(_)) = dec.decode(&mut input) {}
        assert!(dec.buffered() <= HEADER_LEN + limit as usize);
    }
});
