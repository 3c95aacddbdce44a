//! htpasswd (Basic) auth on the real registry, and bearer tokens from a token service on
//! another port in front of it.

use base64::Engine;
use streamsync::registry::{FailureReason, Resolver};

use crate::harness::{PASSWORD, Registry, USER, Variant};
use crate::proxy::{Proxy, TokenServer};
use crate::{client, insecure_config, none_known, req};

pub fn auth_json(key: &str, user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!(r#"{{"auths": {{"{key}": {{"auth": "{b64}"}}}}}}"#)
}

#[test]
fn htpasswd_accepts_right_password_and_refuses_wrong() {
    let reg = Registry::start(Variant::Htpasswd);
    let pushed = reg.pusher().image("private/app", "1.0", "amd64", "p");
    let root = crate::harness::root();
    let spec = format!("{}/private/app:1.0", reg.host());

    let good = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&reg.host(), USER, PASSWORD)),
    );
    let out = good.resolve_all(&[req(&spec), req(&spec)], &none_known);
    assert_eq!(out[0].as_ref().expect("authorised").digest, pushed.digest);
    assert!(out[1].is_ok());
    // The challenge is learnt once: one 401, then credentials go with every request.
    let n = good.request_counts()[&reg.host()];
    assert_eq!((n.head, n.get), (3, 2), "{n:?}");

    let bad = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&reg.host(), USER, "wrong-password")),
    );
    let out = bad.resolve_all(&[req(&spec), req(&spec)], &none_known);
    for r in &out {
        // The refusal is reported, not the 401 of the anonymous retry after it.
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.reason, FailureReason::Unauthorized);
        assert!(
            e.message.contains("credentials were refused"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("wrong-password"));
    }
    // The first 401 was anonymous already, so no anonymous retry follows the refusal, and a
    // refused password is not sent again in the same run.
    let n = bad.request_counts()[&reg.host()];
    assert!(n.head <= 4, "{n:?}");

    let none = client(&insecure_config(), root.path(), None);
    let out = none.resolve_all(&[req(&spec), req(&spec)], &none_known);
    for r in &out {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.reason, FailureReason::Unauthorized);
        assert!(e.message.contains("no credentials"), "{}", e.message);
    }
    // Without credentials a Basic challenge is not asked twice.
    assert_eq!(none.request_counts()[&reg.host()].head, 2);

    // A key for another port does not match (§8.3: the port must be identical).
    let other_port = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json("127.0.0.1:1", USER, PASSWORD)),
    );
    let out = other_port.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(
        out[0].as_ref().unwrap_err().reason,
        FailureReason::Unauthorized
    );
}

pub const TOKEN: &str = "tok-4f9a-bearer-not-in-logs";

#[test]
fn bearer_token_from_a_realm_on_another_host() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("tok/app", "1.0", "amd64", "t");
    let tokens = TokenServer::start(USER, PASSWORD, TOKEN);
    let proxy = Proxy::start(reg.port);
    proxy.require_bearer(&tokens.realm(), TOKEN);
    let root = crate::harness::root();
    let spec = format!("{}/tok/app:1.0", proxy.host());
    // Credentials are stored for the registry; the realm (another port) gets them because it
    // is the registry's realm and plain HTTP to 127.0.0.1 is allowed.
    let c = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&proxy.host(), USER, PASSWORD)),
    );
    let out = c.resolve_all(&[req(&spec), req(&spec)], &none_known);
    assert_eq!(out[0].as_ref().expect("token auth").digest, pushed.digest);
    assert!(out[1].is_ok());
    assert_eq!(
        tokens.seen.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one token per scope and run"
    );
    let q = tokens.last_query.lock().unwrap().clone();
    assert!(
        q.contains("service=proxy-test") && q.contains("scope=repository%3Atok%2Fapp%3Apull"),
        "{q}"
    );
    let counts = c.request_counts();
    assert_eq!(counts[&format!("127.0.0.1:{}", tokens.port)].get, 1);
}

#[test]
fn refused_credentials_are_retried_anonymously_as_openshift_does() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("public/app", "1.0", "amd64", "pub");
    let tokens = TokenServer::start_public(USER, PASSWORD, TOKEN);
    let proxy = Proxy::start(reg.port);
    proxy.require_bearer(&tokens.realm(), TOKEN);
    let root = crate::harness::root();
    let spec = format!("{}/public/app:1.0", proxy.host());
    let c = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&proxy.host(), USER, "expired-password")),
    );
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(
        out[0].as_ref().expect("anonymous retry").digest,
        pushed.digest
    );
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(tokens.seen.load(SeqCst), 2, "refused, then anonymous");
    assert_eq!(tokens.anonymous.load(SeqCst), 1);

    // A private repository: the anonymous retry is refused too, and the failure names the
    // refusal of the credentials, not the anonymous attempt.
    let private = TokenServer::start(USER, PASSWORD, TOKEN);
    let proxy = Proxy::start(reg.port);
    proxy.require_bearer(&private.realm(), TOKEN);
    let c = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&proxy.host(), USER, "expired-password")),
    );
    let out = c.resolve_all(
        &[req(&format!("{}/public/app:1.0", proxy.host()))],
        &none_known,
    );
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.reason, FailureReason::Unauthorized, "{e:?}");
    assert!(e.message.contains("refused access"), "{}", e.message);
    assert!(!e.message.contains("expired-password"));
    assert_eq!(private.seen.load(SeqCst), 2);
    assert_eq!(private.anonymous.load(SeqCst), 1);
}

#[test]
fn no_credentials_over_plain_http_to_a_realm_not_allowed() {
    let reg = Registry::start(Variant::Plain);
    reg.pusher().image("tok/app", "1.0", "amd64", "t");
    let tokens = TokenServer::start(USER, PASSWORD, TOKEN);
    let proxy = Proxy::start(reg.port);
    proxy.require_bearer(&tokens.realm(), TOKEN);
    let root = crate::harness::root();
    // Only the registry's own port may be used insecurely; the realm is plain HTTP elsewhere.
    let config = streamsync::policy::RegistryConfig {
        insecure_allowed: vec![proxy.host()],
        ..Default::default()
    };
    let c = client(
        &config,
        root.path(),
        Some(&auth_json(&proxy.host(), USER, PASSWORD)),
    );
    let out = c.resolve_all(
        &[req(&format!("{}/tok/app:1.0", proxy.host()))],
        &none_known,
    );
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.reason, FailureReason::Unauthorized, "{e:?}");
    // The token service was asked anonymously (and refused).
    assert_eq!(tokens.seen.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn explicit_auth_file_is_read_by_the_constructor() {
    let reg = Registry::start(Variant::Htpasswd);
    let pushed = reg.pusher().image("private/app", "1.0", "amd64", "p");
    let root = crate::harness::root();
    let file = root.path().join("auth.json");
    // `http://` and a `/v2/` path in the key normalise to the host.
    std::fs::write(
        &file,
        auth_json(&format!("http://{}/v2/", reg.host()), USER, PASSWORD),
    )
    .unwrap();
    let c = streamsync::registry::RegistryClient::new(&insecure_config(), root.path(), Some(&file))
        .expect("client");
    let out = c.resolve_all(
        &[req(&format!("{}/private/app:1.0", reg.host()))],
        &none_known,
    );
    assert_eq!(out[0].as_ref().expect("authorised").digest, pushed.digest);

    std::fs::write(&file, "{\"auths\": {\"x\": {\"auth\": \"%%%\"}}}").unwrap();
    let e = streamsync::registry::RegistryClient::new(&insecure_config(), root.path(), Some(&file))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("auth.json") && e.contains("base64(username:password)"),
        "{e}"
    );
}
