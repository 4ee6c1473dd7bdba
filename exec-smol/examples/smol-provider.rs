//! A Dubbo provider on smol: serves `org.apache.dubbo.demo.DemoService` 1.0.0 until Enter
//! is pressed (or stdin closes), then shuts down gracefully (read-only event, drain, close).
//!
//! ```text
//! cargo run -p tether-smol --example smol-provider -- [ADDR]     # default 127.0.0.1:20880
//! cargo run -p tether-smol --example smol-consumer -- [ADDR]     # in another shell
//! ```
//! Any Dubbo consumer can call it too (Java, Go, Python: `dubbo://ADDR`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_smol::prelude::*; // everything a program names: no other tether crate needed

fn main() -> std::io::Result<()> {
    smol::block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:20880".into());
    let provider = Provider::new(Dispatch::Direct, Arc::new(SmolSpawner::global())).export(
        Service::new("org.apache.dubbo.demo.DemoService")
            .version("1.0.0")
            .method("sayHello", |_, (name,): (String,)| {
                Ok(format!("Hello {name}"))
            })
            // An async handler: the answer is written when the future completes.
            .method_async("sleep", |_, (millis,): (i64,)| async move {
                let millis = u64::try_from(millis)
                    .map_err(|_| JavaException::runtime("a negative sleep"))?;
                smol::Timer::after(Duration::from_millis(millis)).await;
                Ok(millis as i64)
            }),
    );
    let server = Server::bind(addr.as_str(), provider).await?;
    println!("serving on {}; Enter stops", server.local_addr());
    smol::unblock(|| std::io::stdin().read_line(&mut String::new())).await?;
    let drained = server
        .shutdown(Instant::now() + Duration::from_secs(10))
        .await;
    println!("shut down; every call answered: {drained}");
    Ok(())
}
