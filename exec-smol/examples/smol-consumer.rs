//! A Dubbo consumer on smol calling `org.apache.dubbo.demo.DemoService` 1.0.0 (the
//! `smol-provider` example, or any Dubbo provider of it) in each call mode.
//!
//! ```text
//! cargo run -p tether-smol --example smol-consumer -- [ADDR]     # default 127.0.0.1:20880
//! ```

use std::time::Duration;

use tether_smol::prelude::*; // everything a program names: no other tether crate needed

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:20880".into());
    let channels = reference_channels(addr.clone()).await?;
    let demo = Reference::builder("org.apache.dubbo.demo.DemoService")
        .version("1.0.0")
        .timeout(Duration::from_secs(3))
        .build(channels);
    let say_hello = demo.method::<(String,), String>("sayHello");

    // Asynchronous: `call` returns a completion; await it.
    println!("{}", say_hello.call(("smol".into(),)).await?);
    // Two at once, on one connection.
    let sleep = demo.method::<(i64,), i64>("sleep");
    let (a, b) = (sleep.call((200,)), sleep.call((300,)));
    println!("slept {} and {} ms, side by side", a.await?, b.await?);
    // With a per-call context: attachments there, the provider's attachments back.
    let ctx = CallContext::new().attachment("traceId", "4bf92f3577b34da6");
    let reply = say_hello.call_with(ctx, ("context".into(),)).await?;
    println!(
        "{} (attachments back: {:?})",
        reply.value, reply.attachments
    );
    // One-way: no answer is awaited.
    say_hello.oneway(("one-way".into(),))?;
    Ok(())
}
