//! Every started two-way call ends in exactly one outcome, under randomized schedules:
//! latency and chunking, response delays around the deadlines, unanswered requests, explicit
//! cancels, dropped completions, one-way traffic, and disconnects at random instants.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use rand::Rng;
use tether_core::{
    CallError, CallOptions, Config, ConnectionError, RequestId, SerializationId, Side, Status,
    TimeoutPhase,
};
use tether_tests::{LinkConfig, Pair, SeedGuard};

const SEEDS: u64 = 1_000;

enum Action {
    Start { timeout: Duration },
    Oneway,
    Cancel(usize),
    Drop(usize),
    Reset,
}

#[test]
fn every_call_ends_exactly_once_under_random_schedules() {
    let mut totals = HashMap::<&'static str, u64>::new();
    for seed in 0..SEEDS {
        let _guard = SeedGuard(seed);
        run(seed, &mut totals);
    }
    eprintln!("outcome totals: {totals:?}");
    // The schedules must actually exercise every outcome, or the test proves little.
    for kind in [
        "ok",
        "server-timeout",
        "cancelled",
        "connection-lost",
        "dropped",
    ] {
        assert!(
            totals.get(kind).copied().unwrap_or(0) > 100,
            "{kind}: {totals:?}"
        );
    }
}

fn run(seed: u64, totals: &mut HashMap<&'static str, u64>) {
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(seed);
    let link = LinkConfig {
        latency: (
            Duration::from_micros(rng.gen_range(0..500)),
            Duration::from_micros(rng.gen_range(500..5_000)),
        ),
        max_chunk: rng.gen_range(1..400),
    };
    let mut pair = Pair::with(
        seed,
        Config::new(Side::Consumer),
        Config::new(Side::Provider),
        link,
    );

    // The provider answers most requests after a delay that straddles the deadlines, and
    // leaves some unanswered. Remember which ids it answered.
    let answered: Rc<RefCell<HashSet<RequestId>>> = Rc::default();
    let answered_by_handler = answered.clone();
    let mut handler_rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(!seed);
    pair.provider.handler = Some(Box::new(move |req| {
        if !req.two_way || handler_rng.gen_ratio(1, 10) {
            return None;
        }
        answered_by_handler.borrow_mut().insert(req.id);
        let delay = Duration::from_micros(handler_rng.gen_range(0..40_000));
        Some((delay, Status::OK, req.body.to_vec()))
    }));

    // A script of actions at random instants over 60 ms.
    let n_actions = rng.gen_range(20..120);
    let mut script: Vec<(Duration, Action)> = (0..n_actions)
        .map(|_| {
            let at = Duration::from_micros(rng.gen_range(0..60_000));
            let action = match rng.gen_range(0..100) {
                0..=64 => Action::Start {
                    timeout: Duration::from_micros(rng.gen_range(1_000..30_000)),
                },
                65..=74 => Action::Oneway,
                75..=84 => Action::Cancel(rng.gen_range(0..64)),
                85..=94 => Action::Drop(rng.gen_range(0..64)),
                _ => Action::Reset,
            };
            (at, action)
        })
        .collect();
    script.sort_by_key(|(at, _)| *at);
    // At most one reset per run, so that most runs also see calls finish normally.
    let mut reset_seen = false;
    script.retain(|(_, a)| match a {
        Action::Reset if reset_seen || !rng.gen_ratio(1, 3) => false,
        Action::Reset => {
            reset_seen = true;
            true
        }
        _ => true,
    });

    let mut calls = Vec::new(); // (id, completion or None if dropped, cancelled explicitly)
    let mut cancelled = HashSet::new();
    let mut dropped = HashSet::new();
    let mut reset_at = None;
    let start = pair.now;
    for (at, action) in script {
        pair.run_until(start + at);
        let now = pair.now;
        match action {
            Action::Start { timeout } => {
                let options = CallOptions::new(timeout);
                match pair.consumer.conn.start_call(now, options, vec![1, 2, 3]) {
                    Ok(call) => calls.push((call.id, Some(call.response))),
                    Err(err) => assert!(
                        reset_at.is_some(),
                        "only a closed connection refuses here: {err}"
                    ),
                }
            }
            Action::Oneway => {
                let sent =
                    pair.consumer
                        .conn
                        .send_oneway(now, SerializationId::HESSIAN2, false, vec![9]);
                if let Err(err) = sent {
                    assert!(
                        reset_at.is_some(),
                        "only a closed connection refuses here: {err}"
                    );
                }
            }
            Action::Cancel(i) => {
                if let Some((id, _)) = calls.get(i)
                    && pair.consumer.conn.cancel(now, *id)
                {
                    cancelled.insert(*id);
                }
            }
            Action::Drop(i) => {
                if let Some((id, completion)) = calls.get_mut(i)
                    && completion.as_ref().is_some_and(|c| !c.is_ready())
                {
                    completion.take();
                    dropped.insert(*id);
                }
            }
            Action::Reset => {
                pair.reset();
                reset_at = Some(pair.now);
            }
        }
    }
    // Past every deadline and every scheduled answer.
    pair.run_for(Duration::from_millis(100));

    let answered = answered.borrow();
    for (id, completion) in &mut calls {
        let deliveries = pair.consumer.call_deliveries.get(id).copied().unwrap_or(0);
        let Some(completion) = completion else {
            // Dropped before it resolved: no outcome is delivered to anyone.
            assert!(dropped.contains(id));
            assert_eq!(deliveries, 0, "call {id} was dropped yet delivered");
            *totals.entry("dropped").or_default() += 1;
            continue;
        };
        assert_eq!(deliveries, 1, "call {id} delivered {deliveries} times");
        let outcome = completion
            .try_take()
            .unwrap_or_else(|| panic!("call {id} never completed"));
        let kind = match outcome {
            Ok(response) => {
                assert!(
                    answered.contains(id),
                    "call {id} got a response nobody sent"
                );
                assert!(!cancelled.contains(id));
                assert_eq!(&response.body[..], [1, 2, 3]);
                "ok"
            }
            Err(CallError::Timeout {
                phase: TimeoutPhase::ServerSide,
                ..
            }) => "server-timeout",
            Err(CallError::Cancelled) => {
                assert!(cancelled.contains(id));
                "cancelled"
            }
            Err(CallError::ConnectionLost(ConnectionError::TransportClosed)) => {
                assert!(reset_at.is_some());
                "connection-lost"
            }
            other => panic!("call {id}: unexpected outcome {other:?}"),
        };
        *totals.entry(kind).or_default() += 1;
    }
    assert_eq!(pair.consumer.conn.in_flight(), 0);
    // Every delivery belongs to a started call.
    let started: HashSet<_> = calls.iter().map(|(id, _)| *id).collect();
    assert!(
        pair.consumer
            .call_deliveries
            .keys()
            .all(|id| started.contains(id))
    );
}
