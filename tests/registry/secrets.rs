//! No password, token or base64 auth string in logs (at trace level, every crate), error
//! messages or `Debug` output.

use std::io::Write;
use std::sync::{Mutex, Once};

use base64::Engine;
use streamsync::registry::Resolver;

use crate::auth::{TOKEN, auth_json};
use crate::harness::{PASSWORD, Registry, USER, Variant};
use crate::proxy::{Proxy, TokenServer};
use crate::{client, insecure_config, none_known, req};

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_trace() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // RUST_LOG=trace for every crate, `log` records included (tracing-log bridge).
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_writer(|| Capture)
            .with_ansi(false)
            .try_init()
            .expect("the test binary installs one global subscriber");
    });
}

#[test]
fn no_secret_reaches_logs_errors_or_debug() {
    capture_trace();
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let wrong = "wrong-Secret-77";
    let wrong_b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{wrong}"));
    let root = crate::harness::root();

    // Basic auth, right and wrong password.
    let reg = Registry::start(Variant::Htpasswd);
    reg.pusher().image("s/app", "1.0", "amd64", "s");
    let spec = format!("{}/s/app:1.0", reg.host());
    let good = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&reg.host(), USER, PASSWORD)),
    );
    let mut texts = Vec::new();
    for r in good.resolve_all(&[req(&spec)], &none_known) {
        texts.push(format!("{:?}", r.expect("authorised")));
    }
    texts.push(format!(
        "{:?}",
        good.list_tags(&format!("{}/s/app", reg.host()), true)
    ));
    texts.push(format!("{good:?}"));
    let bad = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&reg.host(), USER, wrong)),
    );
    for r in bad.resolve_all(&[req(&spec)], &none_known) {
        let e = r.unwrap_err();
        texts.push(format!("{e:?} {e}"));
    }
    texts.push(format!("{bad:?}"));

    // Bearer tokens from a realm on another port.
    let plain = Registry::start(Variant::Plain);
    plain.pusher().image("t/app", "1.0", "amd64", "t");
    let tokens = TokenServer::start(USER, PASSWORD, TOKEN);
    let proxy = Proxy::start(plain.port);
    proxy.require_bearer(&tokens.realm(), TOKEN);
    let tc = client(
        &insecure_config(),
        root.path(),
        Some(&auth_json(&proxy.host(), USER, PASSWORD)),
    );
    for r in tc.resolve_all(&[req(&format!("{}/t/app:1.0", proxy.host()))], &none_known) {
        texts.push(format!("{:?}", r.expect("token")));
    }
    texts.push(format!("{tc:?}"));

    let logs = String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned();
    assert!(
        logs.contains("registry request"),
        "the capture must see the client's own events"
    );
    assert!(logs.contains("fetching a registry token"));
    assert!(
        logs.len() > 10_000,
        "trace output from the HTTP stack is captured too"
    );
    let all = format!("{logs}\n{}", texts.join("\n"));
    for secret in [PASSWORD, b64.as_str(), TOKEN, wrong, wrong_b64.as_str()] {
        assert!(!all.contains(secret), "a secret leaked: {}", &secret[..4]);
    }
}
