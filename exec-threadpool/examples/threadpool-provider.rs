//! A Dubbo provider on the thread-pool adapter (no async runtime): serves `org.apache.dubbo.demo.DemoService` 1.0.0 until Enter
//! is pressed (or stdin closes), then shuts down gracefully (read-only event, drain, close).
//!
//! ```text
//! cargo run -p tether-threadpool --example threadpool-provider -- [ADDR]     # default 127.0.0.1:20880
//! cargo run -p tether-threadpool --example threadpool-consumer -- [ADDR]     # in another shell
//! ```
//! Any Dubbo consumer can call it too (Java, Go, Python: `dubbo://ADDR`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_threadpool::prelude::*; // everything a program names: no other tether crate needed

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:20880".into());
    // Handlers and async handlers run on a bounded pool of 4 threads.
    let workers = Arc::new(WorkerPool::new(
        std::num::NonZeroUsize::new(4).unwrap(),
        std::num::NonZeroUsize::new(1024).unwrap(),
    )?);
    let provider = Provider::new(Dispatch::Pool(workers.clone()), workers).export(
        Service::new("org.apache.dubbo.demo.DemoService")
            .version("1.0.0")
            .method("sayHello", |_, (name,): (String,)| {
                Ok(format!("Hello {name}"))
            })
            // An async handler: the answer is written when the future completes.
            .method_async("sleep", |_, (millis,): (i64,)| async move {
                let millis = u64::try_from(millis)
                    .map_err(|_| JavaException::runtime("a negative sleep"))?;
                tether_threadpool::sleep(Duration::from_millis(millis)).await;
                Ok(millis as i64)
            }),
    );
    let server = Server::bind(addr.as_str(), provider)?;
    println!("serving on {}; Enter stops", server.local_addr());
    std::io::stdin().read_line(&mut String::new())?;
    let drained = server.shutdown(Instant::now() + Duration::from_secs(10));
    println!("shut down; every call answered: {drained}");
    Ok(())
}
