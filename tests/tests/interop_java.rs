//! Interop with real Apache Dubbo on the JVM (`tests/interop/java/`), both directions, on
//! each adapter: Java's consumer (`JavaConsumer`) against tether's suite provider, and
//! tether's consumer cases ([`consumer_cases`], [`mode_cases`]) against Java's provider
//! (`JavaProvider`), for each Dubbo line (3.3.x and 2.7.23).

use tether_tests::estate::{heartbeat_case, mode_cases, reference};
use tether_tests::exec::{Executor, Smol, ThreadPool, Tokio};
use tether_tests::interop::{consumer_cases, report};

/// The mode cases are known-good: they pass against tether's own suite provider.
fn mode_cases_against_the_suite_provider(exec: &dyn Executor) {
    let fixture = tether_tests::conformance::provider(exec);
    let reference = reference(exec, fixture.addr());
    let mut results = consumer_cases(&reference);
    results.extend(mode_cases(&reference, &[]));
    results.push(heartbeat_case(exec, fixture.addr()));
    assert_eq!(report(&results), 0, "on {}", exec.name());
}

#[test]
fn mode_cases_pass_against_the_suite_provider_on_tokio() {
    mode_cases_against_the_suite_provider(&Tokio::new());
}

#[test]
fn mode_cases_pass_against_the_suite_provider_on_smol() {
    mode_cases_against_the_suite_provider(&Smol::new());
}

#[test]
fn mode_cases_pass_against_the_suite_provider_on_threadpool() {
    mode_cases_against_the_suite_provider(&ThreadPool::new());
}
