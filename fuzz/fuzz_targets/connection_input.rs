//! Arbitrary bytes into a provider and a consumer connection: no panic, and the connection
//! stays consistent (answers go out, events drain, timers work).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tether_core::{CallOptions, Config, Connection, Event, Inline, Side, Status};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    for side in [Side::Consumer, Side::Provider] {
        let mut conn = Connection::new(Config::new(side), now);
        // A few calls so that responses in the input can match pending ids 0..4.
        let calls: Vec<_> = (0..4)
            .filter_map(|_| conn.start_call(now, CallOptions::new(Duration::from_secs(1)), [1u8]).ok())
            .collect();
        let mut out = Vec::new();
        for chunk in data.chunks(37) {
            conn.handle_input(now, chunk);
            conn.poll_transmit(now, &mut out);
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::RequestReceived(req) if req.two_way => {
                        let _ = conn.respond(now, req.id, Status::OK, req.serialization, [0x4e]);
                    }
                    Event::CallCompleted(delivery) => delivery.deliver(&Inline),
                    _ => {}
                }
            }
        }
        conn.handle_timeout(now + Duration::from_secs(2));
        while conn.poll_event().is_some() {}
        assert_eq!(conn.in_flight(), 0, "every call ended by now");
        drop(calls);
    }
});
