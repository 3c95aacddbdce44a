//! Faults from the proxy in front of the real registry: 429 with `Retry-After`, 503s, a
//! dropped connection, a slow answer, a registry that only says 429, `RateLimit-Remaining: 0`.

use std::time::{Duration, Instant};

use streamsync::policy::RegistryConfig;
use streamsync::registry::{FailureReason, Resolver};

use crate::harness::{Registry, Variant};
use crate::proxy::{Fault, Proxy};
use crate::{client, insecure_config, none_known, req};

fn h(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

fn setup() -> (Registry, Proxy, String, String) {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("f/app", "1.0", "amd64", "f");
    let proxy = Proxy::start(reg.port);
    let spec = format!("{}/f/app:1.0", proxy.host());
    (reg, proxy, spec, pushed.digest)
}

#[test]
fn retry_after_is_honoured() {
    let (_reg, proxy, spec, digest) = setup();
    proxy.push([Fault::Status(429, vec![h("Retry-After", "1")])]);
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let t = Instant::now();
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(out[0].as_ref().expect("after waiting").digest, digest);
    assert_eq!(c.request_counts()[&proxy.host()].head, 2);
}

#[test]
fn server_errors_and_dropped_connections_are_retried() {
    let (_reg, proxy, spec, digest) = setup();
    proxy.push([
        Fault::Status(503, vec![]),
        Fault::Drop,
        Fault::Status(502, vec![]),
    ]);
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(out[0].as_ref().expect("retried").digest, digest);
    let n = c.request_counts()[&proxy.host()];
    assert_eq!((n.head, n.get), (4, 2));

    // Four 503s in a row spend the three retries.
    proxy.push((0..4).map(|_| Fault::Status(503, vec![])));
    let c = client(&insecure_config(), root.path(), None);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.reason, FailureReason::InternalError);
    assert!(e.message.contains("503"), "{}", e.message);
}

#[test]
fn slow_answers_time_out_and_the_host_is_not_asked_again() {
    let (_reg, proxy, spec, _) = setup();
    proxy.set_default(Fault::Slow(Duration::from_secs(3)));
    let root = crate::harness::root();
    let config = RegistryConfig {
        request_timeout: "500ms".to_owned(),
        ..insecure_config()
    };
    let c = client(&config, root.path(), None);
    let t = Instant::now();
    let out = c.resolve_all(&[req(&spec), req(&spec.replace("1.0", "2.0"))], &none_known);
    let elapsed = t.elapsed();
    for r in &out {
        assert_eq!(r.as_ref().unwrap_err().reason, FailureReason::Unreachable);
    }
    // One request, cut at 0.5 s and not retried: the host is given up, the second tag is not
    // tried.
    assert_eq!(c.request_counts()[&proxy.host()].head, 1);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let e = out[0].as_ref().unwrap_err();
    assert!(e.message.contains("did not answer"), "{}", e.message);
    // The tag not asked names its own URL and why its host is given up.
    let e = out[1].as_ref().unwrap_err();
    assert!(
        e.message.contains(&format!(
            "not asked ({} was unreachable earlier in this run)",
            proxy.host()
        )) && e.message.contains("/manifests/2.0"),
        "{}",
        e.message
    );
}

#[test]
fn a_host_that_answered_and_then_stalls_is_given_up_too() {
    let (_reg, proxy, spec, digest) = setup();
    let root = crate::harness::root();
    let config = RegistryConfig {
        request_timeout: "1s".to_owned(),
        ..insecure_config()
    };
    let c = client(&config, root.path(), None);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(out[0].as_ref().expect("answered").digest, digest);
    let before = c.request_counts()[&proxy.host()];

    // Later in the same run the host stops answering.
    proxy.set_default(Fault::Slow(Duration::from_secs(20)));
    let later: Vec<_> = ["2.0", "3.0", "4.0"]
        .iter()
        .map(|t| {
            let mut r = req(&spec.replace("1.0", t));
            r.resolve_only = true;
            r
        })
        .collect();
    let t = Instant::now();
    let out = c.resolve_all(&later, &none_known);
    let elapsed = t.elapsed();
    for r in &out {
        assert_eq!(r.as_ref().unwrap_err().reason, FailureReason::Unreachable);
    }
    // Requests already in flight when it stalled time out together; nothing is retried and
    // nothing is sent after the first timeout.
    let after = c.request_counts()[&proxy.host()];
    assert!(after.head - before.head <= 3, "{after:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    let again = c.resolve_all(&later[..1], &none_known);
    assert!(
        again[0].as_ref().unwrap_err().message.contains("not asked"),
        "{:?}",
        again[0]
    );
    assert_eq!(c.request_counts()[&proxy.host()], after);
}

#[test]
fn a_registry_answering_only_429_gets_few_requests() {
    let (_reg, proxy, spec, _) = setup();
    proxy.set_default(Fault::Status(429, vec![h("Retry-After", "0")]));
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let reqs: Vec<_> = (0..20)
        .map(|i| req(&spec.replace("1.0", &format!("{i}.0"))))
        .collect();
    let out = c.resolve_all(&reqs, &none_known);
    for r in &out {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.reason, FailureReason::RateLimited, "{e:?}");
        assert!(e.is_unreachable());
    }
    let seen = proxy.requests();
    assert!(seen <= 10, "{seen} requests");
    assert_eq!(c.request_counts()[&proxy.host()].head as usize, seen);
}

#[test]
fn ratelimit_remaining_zero_stops_the_run() {
    let (_reg, proxy, spec, digest) = setup();
    proxy.push([Fault::AddHeader(
        "RateLimit-Remaining".to_owned(),
        "0;w=21600".to_owned(),
    )]);
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let reqs: Vec<_> = ["1.0", "2.0", "3.0"]
        .iter()
        .map(|t| {
            let mut r = req(&spec.replace("1.0", t));
            r.resolve_only = true;
            r
        })
        .collect();
    let out = c.resolve_all(&reqs, &none_known);
    assert_eq!(
        out[0].as_ref().expect("the answer that said stop").digest,
        digest
    );
    for r in &out[1..] {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.reason, FailureReason::RateLimited);
        assert!(e.message.contains("RateLimit-Remaining"), "{}", e.message);
    }
    assert_eq!(proxy.requests(), 1);
}

#[test]
fn a_429_without_retry_after_backs_off_and_succeeds() {
    let (_reg, proxy, spec, digest) = setup();
    proxy.push([Fault::Status(429, vec![])]);
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(out[0].as_ref().expect("second try").digest, digest);
}
