//! A Dubbo provider on tokio: serves `org.apache.dubbo.demo.DemoService` 1.0.0 until Enter
//! is pressed (or stdin closes), then shuts down gracefully (read-only event, drain, close).
//!
//! ```text
//! cargo run -p tether-tokio --example tokio-provider -- [ADDR]     # default 127.0.0.1:20880
//! cargo run -p tether-tokio --example tokio-consumer -- [ADDR]     # in another shell
//! ```
//! Any Dubbo consumer can call it too (Java, Go, Python: `dubbo://ADDR`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_tokio::prelude::*; // everything a program names: no other tether crate needed

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:20880".into());
    let provider = Provider::new(Dispatch::Direct, Arc::new(TokioSpawner::current())).export(
        Service::new("org.apache.dubbo.demo.DemoService")
            .version("1.0.0")
            .method("sayHello", |_, (name,): (String,)| {
                Ok(format!("Hello {name}"))
            })
            // An async handler: the answer is written when the future completes.
            .method_async("sleep", |_, (millis,): (i64,)| async move {
                let millis = u64::try_from(millis)
                    .map_err(|_| JavaException::runtime("a negative sleep"))?;
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(millis as i64)
            }),
    );
    let server = Server::bind(addr.as_str(), provider).await?;
    println!("serving on {}; Enter stops", server.local_addr());
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()))
        .await
        .map_err(std::io::Error::other)??;
    let drained = server
        .shutdown(Instant::now() + Duration::from_secs(10))
        .await;
    println!("shut down; every call answered: {drained}");
    Ok(())
}
