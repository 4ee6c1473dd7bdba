//! Panics in user code on the IO threads (a request handler, a continuation) are contained
//! to that event: the connection and its other calls carry on.

use std::sync::mpsc;
use std::time::Duration;

use tether_core::{
    CallError, CallOptions, Config, InboundRequest, RequestHandler, SharedConnection, Side, Status,
    TimeoutPhase,
};
use tether_threadpool::{Options, Server, connect};

struct PanicOrEcho;

impl RequestHandler for PanicOrEcho {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        assert!(&request.body[..] != b"panic", "a handler's own problem");
        // Answered later, so that continuations are registered before the answer comes.
        let conn = conn.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
        });
    }
}

#[test]
fn panics_in_handlers_and_continuations_are_contained() {
    let server = Server::bind("127.0.0.1:0", PanicOrEcho).unwrap();
    let client = connect(
        server.local_addr(),
        Config::new(Side::Consumer),
        Options::default(),
    )
    .unwrap();
    let conn = client.shared();
    let timeout = Duration::from_millis(300);
    // The handler panics: no answer, so the call times out; the provider goes on.
    let unanswered = conn
        .start_call(CallOptions::new(timeout), b"panic".to_vec())
        .unwrap();
    assert_eq!(
        unanswered.response.wait().unwrap_err(),
        CallError::Timeout {
            phase: TimeoutPhase::ServerSide,
            timeout
        }
    );
    // A continuation panics on the consumer's reader thread; the next one still runs.
    let (panicking_tx, panicking_rx) = mpsc::channel();
    let options = CallOptions::new(Duration::from_secs(10));
    conn.start_call(options, b"first".to_vec())
        .unwrap()
        .response
        .on_complete(move |_| {
            panicking_tx.send(()).unwrap();
            panic!("a continuation's own problem")
        });
    // "second" starts only once the panic is under way: its answer comes after it.
    panicking_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the panicking continuation ran");
    let (tx, rx) = mpsc::channel();
    conn.start_call(options, b"second".to_vec())
        .unwrap()
        .response
        .on_complete(move |result| tx.send(result.map(|r| r.body)).unwrap());
    let body = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(&body[..], b"second");
    assert_eq!(conn.close_reason(), None);
    assert_eq!(server.connections()[0].close_reason(), None);
}
