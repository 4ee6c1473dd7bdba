//! Embedding tether-core in your own event loop: no async runtime, no tether adapter.
//!
//! A provider and a consumer, each a `Connection` driven by a hand-written loop over a
//! non-blocking `std::net::TcpStream`. Bodies are opaque bytes at this layer (the provider
//! reverses them). The consumer makes calls in parallel, one of which the provider ignores so
//! that it times out, and sends a one-way request.
//!
//! Run with `cargo run -p tether-core --example custom_loop`.
//!
//! A production loop would wait in epoll/kqueue (for example through `mio`) for readability,
//! writability or `poll_timeout`, whichever comes first. This one sleeps briefly when idle to
//! stay dependency-free.
#![allow(clippy::disallowed_methods)] // an embedding loop owns the clock and the threads

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use tether_core::{CallOptions, Config, Connection, Event, Inline, SerializationId, Side, Status};

/// One non-blocking socket and the connection it feeds.
struct Driver {
    conn: Connection,
    stream: TcpStream,
    /// Bytes taken from `poll_transmit` that the socket has not accepted yet.
    out: Vec<u8>,
    read_buf: Vec<u8>,
}

impl Driver {
    fn new(stream: TcpStream, side: Side) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            conn: Connection::new(Config::new(side), Instant::now()),
            stream,
            out: Vec::new(),
            read_buf: vec![0; 64 * 1024],
        })
    }

    /// One turn of the loop: write what is queued, read what arrived, fire due timers.
    /// Returns whether anything happened.
    fn turn(&mut self) -> bool {
        let now = Instant::now();
        let mut progressed = false;

        self.conn.poll_transmit(now, &mut self.out);
        if !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                    self.conn.handle_written(now, n);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => self.conn.handle_closed(now),
            }
        }

        // Read only while the connection wants input: that is how it pushes back on a peer
        // that sends without reading what it is owed.
        let read = if self.conn.wants_input() {
            self.stream.read(&mut self.read_buf)
        } else {
            Err(ErrorKind::WouldBlock.into())
        };
        match read {
            Ok(0) => {
                self.conn.handle_closed(now);
                progressed = true;
            }
            Ok(n) => {
                self.conn.handle_input(now, &self.read_buf[..n]);
                progressed = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => self.conn.handle_closed(now),
        }

        if self.conn.poll_timeout().is_some_and(|at| at <= now) {
            self.conn.handle_timeout(now);
            progressed = true;
        }
        progressed
    }

    /// Sleeps a little when idle, never past the connection's next deadline.
    fn idle(&self) {
        let now = Instant::now();
        let nap = Duration::from_millis(1);
        let until = self
            .conn
            .poll_timeout()
            .map_or(nap, |at| at.saturating_duration_since(now));
        thread::sleep(until.min(nap));
    }
}

fn provider(listener: TcpListener) -> io::Result<()> {
    let (stream, _) = listener.accept()?;
    let mut driver = Driver::new(stream, Side::Provider)?;
    loop {
        let progressed = driver.turn();
        while let Some(event) = driver.conn.poll_event() {
            match event {
                Event::RequestReceived(request) if request.two_way => {
                    if &request.body[..] == b"ignore me" {
                        continue; // let the consumer's timeout fire
                    }
                    let mut reply = request.body.to_vec();
                    reply.reverse();
                    let now = Instant::now();
                    driver
                        .conn
                        .respond(now, request.id, Status::OK, request.serialization, reply)
                        .expect("the request awaits its answer");
                }
                Event::RequestReceived(request) => {
                    println!(
                        "provider: one-way request {:?}",
                        String::from_utf8_lossy(&request.body)
                    );
                }
                Event::Closed(reason) => {
                    println!("provider: connection ended: {reason}");
                    return Ok(());
                }
                _ => {}
            }
        }
        if !progressed {
            driver.idle();
        }
    }
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let provider = thread::spawn(move || provider(listener));

    let mut driver = Driver::new(TcpStream::connect(addr)?, Side::Consumer)?;
    let now = Instant::now();
    let options = CallOptions::new(Duration::from_millis(300));
    let mut calls = Vec::new();
    for body in ["hello", "tether", "ignore me"] {
        let call = driver
            .conn
            .start_call(now, options, body.as_bytes().to_vec())
            .map_err(|e| io::Error::other(e.to_string()))?;
        calls.push((body, call.response));
    }
    driver
        .conn
        .send_oneway(
            now,
            SerializationId::HESSIAN2,
            false,
            b"fire and forget".to_vec(),
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
    println!("consumer: 3 calls in flight on one connection, plus one one-way request");

    // Run until every call has its outcome.
    let mut done = 0;
    while done < calls.len() {
        let progressed = driver.turn();
        while let Some(event) = driver.conn.poll_event() {
            if let Event::CallCompleted(delivery) = event {
                done += 1;
                // No lock to release in this single-threaded loop: deliver right here.
                delivery.deliver(&Inline);
            }
        }
        if !progressed {
            driver.idle();
        }
    }
    for (body, mut response) in calls {
        match response.try_take().expect("delivered above") {
            Ok(response) => println!(
                "consumer: {body:?} -> {:?} (status {})",
                String::from_utf8_lossy(&response.body),
                response.status.0
            ),
            Err(error) => println!("consumer: {body:?} -> {error}"),
        }
    }

    driver.conn.close(Instant::now());
    drop(driver); // closes the socket: the provider sees the end of the stream
    provider.join().expect("provider thread")?;
    Ok(())
}
