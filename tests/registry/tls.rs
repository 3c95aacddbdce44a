//! TLS with a test-made CA: trusted through `ca_files`, refused without, and insecure only
//! when asked and allowed.

use streamsync::policy::RegistryConfig;
use streamsync::registry::{FailureReason, RegistryClient, Resolver};

use crate::harness::{Registry, Variant};
use crate::{client, none_known, req};

#[test]
fn tls_registry_trusted_through_ca_files_only() {
    let reg = Registry::start(Variant::Tls);
    let pushed = reg.pusher().image("secure/app", "1.0", "amd64", "s");
    let root = crate::harness::root();
    reg.write_ca(root.path(), "ca.pem");
    let spec = format!("{}/secure/app:1.0", reg.host());
    let mut secure = req(&spec);
    secure.insecure = false;

    let trusted = RegistryConfig {
        ca_files: vec!["ca.pem".to_owned()],
        ..RegistryConfig::default()
    };
    let c = client(&trusted, root.path(), None);
    let out = c.resolve_all(std::slice::from_ref(&secure), &none_known);
    assert_eq!(out[0].as_ref().expect("trusted").digest, pushed.digest);

    let c = client(&RegistryConfig::default(), root.path(), None);
    let out = c.resolve_all(&[secure.clone(), secure.clone()], &none_known);
    for r in &out {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.reason, FailureReason::Unreachable);
        // The hint travels as data beside the message, and the text shown and recorded
        // carries it.
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("ca_files")),
            "{e:?}"
        );
        assert!(
            e.text().contains("(hint: add the registry's CA"),
            "{}",
            e.text()
        );
    }
    // The host is not tried again in this run, and a handshake that failed sent no request,
    // so none is counted.
    let second = out[1].as_ref().unwrap_err();
    assert!(
        second.message.starts_with("not asked ("),
        "{}",
        second.message
    );
    assert!(
        second.message.contains("/v2/secure/app/manifests/1.0"),
        "{}",
        second.message
    );
    assert!(!c.request_counts().contains_key(&reg.host()));

    // Insecure asked and allowed: the certificate is not verified.
    let allowed = RegistryConfig {
        insecure_allowed: vec![reg.host()],
        ..RegistryConfig::default()
    };
    let c = client(&allowed, root.path(), None);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(
        out[0].as_ref().expect("insecure allowed").digest,
        pushed.digest
    );

    // Insecure asked but not allowed: verified TLS, which fails.
    let c = client(&RegistryConfig::default(), root.path(), None);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(
        out[0].as_ref().unwrap_err().reason,
        FailureReason::Unreachable
    );
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let root = crate::harness::root();
    let missing = RegistryConfig {
        ca_files: vec!["nope.pem".to_owned()],
        ..RegistryConfig::default()
    };
    let e = RegistryClient::new(&missing, root.path(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ca_files") && e.contains("nope.pem"), "{e}");
    std::fs::write(root.path().join("junk.pem"), "not a certificate").unwrap();
    let junk = RegistryConfig {
        ca_files: vec!["junk.pem".to_owned()],
        ..RegistryConfig::default()
    };
    let e = RegistryClient::new(&junk, root.path(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("junk.pem"), "{e}");
    let timeout = RegistryConfig {
        request_timeout: "soon".to_owned(),
        ..RegistryConfig::default()
    };
    let e = RegistryClient::new(&timeout, root.path(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("request_timeout"), "{e}");
    let e = RegistryClient::new(
        &RegistryConfig::default(),
        root.path(),
        Some(&root.path().join("absent.json")),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("absent.json"), "{e}");
}

#[test]
fn a_failure_on_one_transport_does_not_poison_the_other() {
    // A plain-HTTP registry: verified TLS to it fails, plain HTTP (asked and allowed) works.
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("demo/app", "1.0", "amd64", "p");
    let root = crate::harness::root();
    let spec = format!("{}/demo/app:1.0", reg.host());
    let mut secure = req(&spec);
    secure.insecure = false;
    let c = client(&crate::insecure_config(), root.path(), None);
    let out = c.resolve_all(std::slice::from_ref(&secure), &none_known);
    assert_eq!(
        out[0].as_ref().unwrap_err().reason,
        FailureReason::Unreachable
    );
    // Same client, same host, later in the run: the tag that asked for plain HTTP is asked.
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(
        out[0].as_ref().expect("plain HTTP is not poisoned").digest,
        pushed.digest
    );
    // And in one batch, both orders.
    let c = client(&crate::insecure_config(), root.path(), None);
    let out = c.resolve_all(&[secure.clone(), req(&spec), secure], &none_known);
    assert!(out[0].is_err() && out[2].is_err());
    assert_eq!(out[1].as_ref().expect("plain HTTP").digest, pushed.digest);
}
