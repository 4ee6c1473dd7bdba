//! The conformance suite's RPC scenarios across adapters: the consumer on one, the provider
//! on another.

/// A tokio consumer calling a thread-pool provider.
mod tokio_consumer_threadpool_provider {
    tether_tests::rpc_scenarios!(
        tether_tests::exec::ThreadPool::new(),
        tether_tests::exec::Tokio::new()
    );
}

/// A thread-pool consumer calling a smol provider.
mod threadpool_consumer_smol_provider {
    tether_tests::rpc_scenarios!(
        tether_tests::exec::Smol::new(),
        tether_tests::exec::ThreadPool::new()
    );
}

/// A smol consumer calling a tokio provider.
mod smol_consumer_tokio_provider {
    tether_tests::rpc_scenarios!(
        tether_tests::exec::Tokio::new(),
        tether_tests::exec::Smol::new()
    );
}
