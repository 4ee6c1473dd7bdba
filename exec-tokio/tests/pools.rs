//! The adapter's own executors: the bounded callback pool and the spawner.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tether_core::{ContinuationExecutor, Spawner};
use tether_tokio::{ContinuationPool, TokioSpawner};

#[test]
fn a_full_callback_pool_runs_tasks_on_the_caller() {
    let pool = ContinuationPool::new(NonZeroUsize::new(1).unwrap(), NonZeroUsize::new(1).unwrap())
        .unwrap();
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
            .all(|n| n.as_deref() != Some("tether-continue-0"))
    );
    drop(block_tx);
    drop(pool);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ran.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "queued task never ran");
        thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawner_runs_futures_from_any_thread() {
    let spawner = TokioSpawner::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread::spawn(move || {
        spawner.spawn(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = tx.send(42);
        }));
    });
    let got = tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .expect("took far too long");
    assert_eq!(got.unwrap(), 42);
}
