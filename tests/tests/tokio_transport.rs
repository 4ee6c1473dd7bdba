//! The tokio adapter over loopback TCP: opaque byte bodies, an echo provider, and the faults
//! a real transport brings (a provider that dies, a silent peer, garbage on the wire).
//!
//! Timing assertions are one-sided and generous ("well under the call timeout"), so that the
//! suite holds on a loaded 2-core CI machine.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tether_core::{
    CallError, CallOptions, CallResult, Config, ConnectionError, InboundRequest, Keepalive,
    RequestHandler, SerializationId, SharedConnection, Side, Status,
};
use tether_tokio::{CallbackPool, ClientConnection, Options, Server, connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Generous: a call that should succeed never comes near it.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The provider used throughout: echoes bodies, with a few special ones.
#[derive(Default)]
struct Echo {
    one_way: AtomicUsize,
    /// Requests deliberately left unanswered (`hang`), kept so they stay in flight.
    hung: Mutex<Vec<InboundRequest>>,
}

impl RequestHandler for Echo {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        if !request.two_way {
            self.one_way.fetch_add(1, Ordering::SeqCst);
            return;
        }
        match &request.body[..] {
            b"hang" => self.hung.lock().push(request),
            // Answered 300 ms later from another task: in flight during a shutdown.
            b"slow" => {
                let conn = conn.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let _ =
                        conn.respond(request.id, Status::OK, request.serialization, request.body);
                });
            }
            // Calls the consumer back over the same connection and answers with the status
            // of that reverse call.
            b"call me back" => {
                let call = conn
                    .start_call(CallOptions::new(CALL_TIMEOUT), b"reverse".to_vec())
                    .unwrap();
                let conn = conn.clone();
                tokio::spawn(async move {
                    let status = match call.response.await {
                        Ok(response) => response.status,
                        Err(e) => e.status(),
                    };
                    let _ = conn.respond(
                        request.id,
                        Status::OK,
                        request.serialization,
                        vec![status.0],
                    );
                });
            }
            _ => {
                let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
            }
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fails the test instead of hanging it.
async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("took far too long")
}

async fn server_with(config: Config, echo: Arc<Echo>, options: Options) -> Server {
    Server::bind("127.0.0.1:0", config, echo, options)
        .await
        .unwrap()
}

async fn echo_server() -> (Server, Arc<Echo>) {
    let echo = Arc::new(Echo::default());
    let server = server_with(
        Config::new(Side::Provider),
        echo.clone(),
        Options::default(),
    )
    .await;
    (server, echo)
}

async fn client(server: &Server) -> ClientConnection {
    connect(
        server.local_addr(),
        Config::new(Side::Consumer),
        Options::default(),
    )
    .await
    .unwrap()
}

async fn call(conn: &SharedConnection, body: Vec<u8>) -> CallResult {
    conn.start_call(CallOptions::new(CALL_TIMEOUT), body)
        .unwrap()
        .response
        .await
}

/// Polls `condition` every few milliseconds until it holds.
async fn eventually(mut condition: impl FnMut() -> bool) {
    within(Duration::from_secs(20), async {
        while !condition() {
            tokio::time::sleep(ms(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_calls_in_flight_on_one_connection() {
    let (server, _) = echo_server().await;
    let client = client(&server).await;
    let conn = client.shared();
    let calls: Vec<_> = (0..10_000u32)
        .map(|i| {
            conn.start_call(CallOptions::new(CALL_TIMEOUT), i.to_le_bytes().to_vec())
                .unwrap()
        })
        .collect();
    assert!(conn.with(|c, _| c.in_flight()) > 0);
    within(Duration::from_secs(60), async {
        for (i, call) in calls.into_iter().enumerate() {
            let response = call.response.await.unwrap();
            assert_eq!(response.status, Status::OK);
            assert_eq!(&response.body[..], &(i as u32).to_le_bytes());
        }
    })
    .await;
    assert_eq!(conn.with(|c, _| c.in_flight()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_many_tasks_concurrently() {
    let (server, _) = echo_server().await;
    let client = client(&server).await;
    let tasks: Vec<_> = (0..64u32)
        .map(|t| {
            let conn = client.shared().clone();
            tokio::spawn(async move {
                for i in 0..200u32 {
                    let body = format!("{t}/{i}").into_bytes();
                    let response = call(&conn, body.clone()).await.unwrap();
                    assert_eq!(&response.body[..], &body[..]);
                }
            })
        })
        .collect();
    within(Duration::from_secs(60), async {
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_wait_from_a_plain_thread() {
    let (server, _) = echo_server().await;
    let client = client(&server).await;
    let conn = client.shared().clone();
    let waiter = thread::spawn(move || {
        for i in 0..500u32 {
            let call = conn
                .start_call(CallOptions::new(CALL_TIMEOUT), i.to_be_bytes().to_vec())
                .unwrap();
            let response = call.response.wait().unwrap();
            assert_eq!(&response.body[..], &i.to_be_bytes());
        }
    });
    within(Duration::from_secs(60), async {
        while !waiter.is_finished() {
            tokio::time::sleep(ms(5)).await;
        }
    })
    .await;
    waiter.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_notification_for_calls_and_one_way_requests() {
    let (server, echo) = echo_server().await;
    let client = client(&server).await;
    let conn = client.shared();
    let call = conn
        .start_call(
            CallOptions::new(CALL_TIMEOUT).notify_sent(true),
            b"sent?".to_vec(),
        )
        .unwrap();
    let sent = call.sent.expect("asked for");
    within(Duration::from_secs(20), sent).await.unwrap();
    assert_eq!(&call.response.await.unwrap().body[..], b"sent?");

    let oneway = conn
        .send_oneway(SerializationId::HESSIAN2, true, b"fire".to_vec())
        .unwrap();
    within(Duration::from_secs(20), oneway.sent.expect("asked for"))
        .await
        .unwrap();
    eventually(|| echo.one_way.load(Ordering::SeqCst) == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_requests_get_no_answer() {
    let (server, echo) = echo_server().await;
    let client = client(&server).await;
    let conn = client.shared();
    for _ in 0..100 {
        conn.send_oneway(SerializationId::HESSIAN2, false, b"one way".to_vec())
            .unwrap();
    }
    eventually(|| echo.one_way.load(Ordering::SeqCst) == 100).await;
    // Nothing came back for them: the next call's answer is its own, and nothing is late.
    let response = within(Duration::from_secs(20), call(conn, b"two way".to_vec()))
        .await
        .unwrap();
    assert_eq!(&response.body[..], b"two way");
    assert_eq!(conn.with(|c, _| c.stats().late_responses), 0);
    assert_eq!(
        server.connections()[0].with(|c, _| c.inbound_in_flight()),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_mib_body_both_ways() {
    let (server, _) = echo_server().await;
    let client = client(&server).await;
    let body: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let response = within(Duration::from_secs(60), call(client.shared(), body.clone()))
        .await
        .unwrap();
    assert_eq!(response.body.len(), body.len());
    assert!(response.body[..] == body[..]);
    // The connection carries small calls afterwards as before.
    let response = call(client.shared(), b"small".to_vec()).await.unwrap();
    assert_eq!(&response.body[..], b"small");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_killed_mid_call_fails_pending_calls_at_once() {
    let (server, echo) = echo_server().await;
    let mut client = client(&server).await;
    let calls: Vec<_> = (0..100)
        .map(|_| {
            client
                .shared()
                .start_call(CallOptions::new(CALL_TIMEOUT), b"hang".to_vec())
                .unwrap()
        })
        .collect();
    eventually(|| echo.hung.lock().len() == 100).await;

    let killed = Instant::now();
    drop(server);
    for call in calls {
        let outcome = within(Duration::from_secs(20), call.response).await;
        assert_eq!(
            outcome.unwrap_err(),
            CallError::ConnectionLost(ConnectionError::TransportClosed)
        );
    }
    let elapsed = killed.elapsed();
    assert!(elapsed < CALL_TIMEOUT / 4, "failed after {elapsed:?}");
    assert_eq!(client.closed().await, ConnectionError::TransportClosed);
    // Later calls are refused at their start.
    assert!(
        client
            .shared()
            .start_call(CallOptions::default(), b"late".to_vec())
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_closing_the_connection_fails_pending_calls_at_once() {
    let (server, echo) = echo_server().await;
    let client = client(&server).await;
    let call = client
        .shared()
        .start_call(CallOptions::new(CALL_TIMEOUT), b"hang".to_vec())
        .unwrap();
    eventually(|| echo.hung.lock().len() == 1).await;
    let started = Instant::now();
    server.connections()[0].close();
    let outcome = within(Duration::from_secs(20), call.response).await;
    assert_eq!(
        outcome.unwrap_err(),
        CallError::ConnectionLost(ConnectionError::TransportClosed)
    );
    assert!(started.elapsed() < CALL_TIMEOUT / 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_is_seen_by_the_server() {
    let (server, _) = echo_server().await;
    let mut client = client(&server).await;
    call(client.shared(), b"hello".to_vec()).await.unwrap();
    let server_side = server.connections();
    assert_eq!(server_side.len(), 1);

    client.shared().close();
    assert_eq!(
        within(Duration::from_secs(20), client.closed()).await,
        ConnectionError::LocallyClosed
    );
    eventually(|| server_side[0].close_reason() == Some(ConnectionError::TransportClosed)).await;
    eventually(|| server.connections().is_empty()).await;
}

fn keepalive(heartbeat_ms: Option<u64>, idle_ms: u64) -> Keepalive {
    Keepalive::new(heartbeat_ms.map(ms), Some(ms(idle_ms))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_an_idle_connection_alive() {
    let echo = Arc::new(Echo::default());
    let mut server_config = Config::new(Side::Provider);
    // The provider sends no heartbeats and closes after 300 ms without reads.
    server_config.keepalive(keepalive(None, 300));
    let server = server_with(server_config, echo, Options::default()).await;
    let mut client_config = Config::new(Side::Consumer);
    client_config.keepalive(keepalive(Some(100), 300));
    let client = connect(server.local_addr(), client_config, Options::default())
        .await
        .unwrap();

    // Idle for four idle timeouts: only heartbeats cross the wire.
    tokio::time::sleep(ms(1_200)).await;
    assert_eq!(client.shared().close_reason(), None);
    let server_side = server.connections();
    assert_eq!(server_side.len(), 1);
    assert_eq!(server_side[0].close_reason(), None);
    assert!(client.shared().with(|c, _| c.stats().heartbeats_sent) >= 3);
    assert!(server_side[0].with(|c, _| c.stats().heartbeats_answered) >= 3);
    let response = call(client.shared(), b"still there".to_vec())
        .await
        .unwrap();
    assert_eq!(&response.body[..], b"still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_closed_after_three_intervals() {
    // A raw listener that accepts and then never reads nor answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let mut config = Config::new(Side::Consumer);
    config.keepalive(keepalive(Some(100), 300));
    let started = Instant::now();
    let mut client = connect(addr, config, Options::default()).await.unwrap();
    let call = client
        .shared()
        .start_call(CallOptions::new(CALL_TIMEOUT), b"anyone?".to_vec())
        .unwrap();

    let reason = within(Duration::from_secs(20), client.closed()).await;
    assert_eq!(reason, ConnectionError::IdleTimeout { idle: ms(300) });
    assert!(started.elapsed() >= ms(300));
    assert_eq!(
        call.response.await.unwrap_err(),
        CallError::ConnectionLost(ConnectionError::IdleTimeout { idle: ms(300) })
    );
    assert!(client.shared().with(|c, _| c.stats().heartbeats_sent) >= 1);
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_answers_requests_in_flight_before_closing() {
    let (server, _) = echo_server().await;
    let addr = server.local_addr();
    let mut client = client(&server).await;
    let calls: Vec<_> = (0..10)
        .map(|_| {
            client
                .shared()
                .start_call(CallOptions::new(CALL_TIMEOUT), b"slow".to_vec())
                .unwrap()
        })
        .collect();
    eventually(|| server.connections().len() == 1).await;
    let server_side = server.connections();
    eventually(|| server_side[0].with(|c, _| c.inbound_in_flight()) == 10).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let shutdown = tokio::spawn(server.shutdown(deadline));
    for call in calls {
        let response = within(Duration::from_secs(20), call.response)
            .await
            .unwrap();
        assert_eq!(&response.body[..], b"slow");
    }
    assert!(within(Duration::from_secs(30), shutdown).await.unwrap());
    // The provider announced read-only before it closed, then closed.
    assert!(client.shared().with(|c, _| c.is_peer_read_only()));
    assert_eq!(
        within(Duration::from_secs(20), client.closed()).await,
        ConnectionError::TransportClosed
    );
    // And it accepts no new connections.
    assert!(
        connect(addr, Config::new(Side::Consumer), Options::default())
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_up_at_its_deadline() {
    let (server, echo) = echo_server().await;
    let client = client(&server).await;
    let call = client
        .shared()
        .start_call(CallOptions::new(CALL_TIMEOUT), b"hang".to_vec())
        .unwrap();
    eventually(|| echo.hung.lock().len() == 1).await;
    let drained = within(
        Duration::from_secs(20),
        server.shutdown(Instant::now() + ms(200)),
    )
    .await;
    assert!(!drained);
    assert_eq!(
        within(Duration::from_secs(20), call.response)
            .await
            .unwrap_err(),
        CallError::ConnectionLost(ConnectionError::TransportClosed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_garbage_is_disconnected_and_others_are_unaffected() {
    let (server, _) = echo_server().await;
    let good = client(&server).await;
    call(good.shared(), b"before".to_vec()).await.unwrap();

    let mut bad = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    eventually(|| server.connections().len() == 2).await;
    bad.write_all(&[0xFF; 64]).await.unwrap();
    // The server drops the connection: end of stream (or a reset) on the bad socket.
    let mut buf = [0u8; 64];
    let read = within(Duration::from_secs(20), bad.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "got {read:?}");
    eventually(|| server.connections().len() == 1).await;

    let response = call(good.shared(), b"after".to_vec()).await.unwrap();
    assert_eq!(&response.body[..], b"after");
    assert_eq!(good.shared().close_reason(), None);
}

/// Runs one call whose continuation reports the name of the thread it ran on.
async fn continuation_thread(options: Options) -> String {
    let (server, _) = echo_server().await;
    let client = connect(server.local_addr(), Config::new(Side::Consumer), options)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // `slow`: the continuation is registered long before the answer, so it runs where the
    // answer is delivered (a continuation registered after would run right here).
    client
        .shared()
        .start_call(CallOptions::new(CALL_TIMEOUT), b"slow".to_vec())
        .unwrap()
        .response
        .on_complete(move |outcome| {
            assert!(outcome.is_ok());
            let name = thread::current().name().unwrap_or("unnamed").to_owned();
            let _ = tx.send(name);
        });
    within(Duration::from_secs(20), rx).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_run_on_the_callback_pool() {
    let pool = CallbackPool::new(
        NonZeroUsize::new(2).unwrap(),
        NonZeroUsize::new(64).unwrap(),
    )
    .unwrap();
    let options = Options::default().callback_executor(Arc::new(pool));
    let name = continuation_thread(options).await;
    assert!(name.starts_with("tether-callback-"), "ran on {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_run_inline_on_the_io_task_by_default() {
    let name = continuation_thread(Options::default()).await;
    // A tokio worker thread: the one that ran the connection's IO task.
    assert!(name.starts_with("tokio-"), "ran on {name}");
}

#[test]
fn a_full_callback_pool_runs_tasks_on_the_caller() {
    use tether_core::CallbackExecutor;
    let pool =
        CallbackPool::new(NonZeroUsize::new(1).unwrap(), NonZeroUsize::new(1).unwrap()).unwrap();
    let (block_tx, block_rx) = std::sync::mpsc::channel::<()>();
    let (name_tx, name_rx) = std::sync::mpsc::channel();
    // Occupy the only thread, then fill the queue.
    pool.execute(Box::new(move || {
        let _ = block_rx.recv();
    }));
    let ran = Arc::new(AtomicUsize::new(0));
    let mut names = Vec::new();
    for _ in 0..3 {
        let name_tx = name_tx.clone();
        let ran = ran.clone();
        pool.execute(Box::new(move || {
            ran.fetch_add(1, Ordering::SeqCst);
            let _ = name_tx.send(thread::current().name().map(str::to_owned));
        }));
    }
    // At most one waits in the queue; the others ran here, at once.
    while let Ok(name) = name_rx.try_recv() {
        names.push(name);
    }
    assert!(names.len() >= 2);
    assert!(
        names
            .iter()
            .all(|n| n.as_deref() != Some("tether-callback-0"))
    );
    drop(block_tx);
    drop(pool);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ran.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "queued task never ran");
        thread::sleep(ms(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_calls_back_and_a_client_without_handler_answers_not_found() {
    let (server, _) = echo_server().await;
    let client = client(&server).await;
    let response = within(
        Duration::from_secs(20),
        call(client.shared(), b"call me back".to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(&response.body[..], &[Status::SERVICE_ERROR.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_closed_port_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let options = Options::default().connect_timeout(Duration::from_secs(5));
    assert!(
        connect(addr, Config::new(Side::Consumer), options)
            .await
            .is_err()
    );
}

/// A raw two-way request frame with a Hessian2 serialization id (`PROTOCOL.md` §1).
fn request_frame(id: u64, body: &[u8]) -> Vec<u8> {
    let mut frame = vec![0xDA, 0xBB, 0xC2, 0];
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_is_pushed_back() {
    const REQUESTS: u64 = 20_000;
    const BODY: usize = 1024;
    let echo = Arc::new(Echo::default());
    let mut config = Config::new(Side::Provider);
    config.send_buffer_high_water(NonZeroUsize::new(64 * 1024).unwrap());
    let server = server_with(config, echo, Options::default()).await;

    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // 20 MiB of requests, written without reading a single answer.
    let writing = tokio::spawn(async move {
        for id in 0..REQUESTS {
            writer
                .write_all(&request_frame(id, &[b'x'; BODY]))
                .await
                .unwrap();
        }
        writer
    });
    eventually(|| server.connections().len() == 1).await;
    let server_side = server.connections().remove(0);
    // The server stops reading once its send buffer is at the high-water mark: what it
    // holds stays bounded by that plus one read's worth of answers.
    let mut most = 0;
    for _ in 0..100 {
        most = most.max(server_side.with(|c, _| c.unwritten_bytes()));
        tokio::time::sleep(ms(5)).await;
    }
    assert!(most < 1024 * 1024, "server buffered {most} bytes");
    assert!(!writing.is_finished(), "TCP should push back on the writer");
    assert_eq!(server_side.close_reason(), None);

    // Reading again drains everything: every request gets its answer.
    let frame_len = 16 + BODY;
    let mut buf = vec![0u8; frame_len];
    within(Duration::from_secs(60), async {
        for _ in 0..REQUESTS {
            reader.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf[3], Status::OK.0);
        }
    })
    .await;
    let _writer = writing.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawner_runs_futures_from_any_thread() {
    use tether_core::Spawner;
    let spawner = tether_tokio::TokioSpawner::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread::spawn(move || {
        spawner.spawn(Box::pin(async move {
            tokio::time::sleep(ms(1)).await;
            let _ = tx.send(42);
        }));
    });
    assert_eq!(within(Duration::from_secs(20), rx).await.unwrap(), 42);
}
