//! Registry tests against the real `docker-registry` (started per test by `harness`), with a
//! fault-injecting proxy (`proxy`) for what a real server will not do on request.

#![allow(clippy::print_stdout, clippy::print_stderr)] // diagnostics for a failing test
#![allow(unsafe_code)] // signals sent to the children a test started

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod harness;
mod proxy;

mod adopt;
mod auth;
mod catalog;
mod e2e;
mod faults;
mod fidelity;
mod hardening;
mod hostile;
mod identity;
mod index;
mod library;
mod mirror;
mod release;
mod resolve;
mod rollout;
mod secrets;
mod staging;
mod tags;
mod tls;

use std::path::Path;
use std::time::Duration;

use streamsync::policy::RegistryConfig;
use streamsync::registry::{AuthStore, ImportRequest, RegistryClient, Timing};

/// A config allowing insecure transport to every port of 127.0.0.1.
pub fn insecure_config() -> RegistryConfig {
    RegistryConfig {
        insecure_allowed: vec!["127.0.0.1".to_owned()],
        ..RegistryConfig::default()
    }
}

/// Short backoff so retry tests stay quick.
pub fn fast() -> Timing {
    Timing {
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
    }
}

pub fn client(config: &RegistryConfig, root: &Path, auth_json: Option<&str>) -> RegistryClient {
    let auth = match auth_json {
        Some(j) => AuthStore::parse(j, None).expect("auth json"),
        None => AuthStore::default(),
    };
    RegistryClient::with_auth(config, root, auth, fast()).expect("client")
}

/// A Legacy, insecure (plain HTTP test registry) request.
pub fn req(pullspec: &str) -> ImportRequest {
    ImportRequest {
        pullspec: pullspec.to_owned(),
        insecure: true,
        import_mode: "Legacy".to_owned(),
        prefer_arch: None,
        prefer_os: None,
        resolve_only: false,
    }
}

pub fn none_known(_: &str) -> bool {
    false
}
