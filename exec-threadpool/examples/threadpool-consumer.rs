//! A Dubbo consumer on the thread-pool adapter (no async runtime) calling `org.apache.dubbo.demo.DemoService` 1.0.0 (the
//! `threadpool-provider` example, or any Dubbo provider of it) in each call mode.
//!
//! ```text
//! cargo run -p tether-threadpool --example threadpool-consumer -- [ADDR]     # default 127.0.0.1:20880
//! ```

use std::time::Duration;

use tether_threadpool::prelude::*; // everything a program names: no other tether crate needed

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:20880".into());
    let channels = reference_channels(addr.clone())?;
    let demo = Reference::builder("org.apache.dubbo.demo.DemoService")
        .version("1.0.0")
        .timeout(Duration::from_secs(3))
        .build(channels);
    let say_hello = demo.method::<(String,), String>("sayHello");

    // Blocking: `call_blocking` waits for the answer.
    println!("{}", say_hello.call_blocking(("threads".into(),))?);
    // Two at once, on one connection.
    let sleep = demo.method::<(i64,), i64>("sleep");
    let (a, b) = (sleep.call((200,)), sleep.call((300,)));
    println!("slept {} and {} ms, side by side", a.wait()?, b.wait()?);
    // With a per-call context: attachments there, the provider's attachments back.
    let ctx = CallContext::new().attachment("traceId", "4bf92f3577b34da6");
    let reply = say_hello.call_with_blocking(ctx, ("context".into(),))?;
    println!(
        "{} (attachments back: {:?})",
        reply.value, reply.attachments
    );
    // One-way: no answer is awaited.
    say_hello.oneway(("one-way".into(),))?;
    Ok(())
}
