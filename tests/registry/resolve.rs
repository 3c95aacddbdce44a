//! Resolution and metadata against a plain local registry.

use streamsync::registry::{FailureReason, Resolver};

use crate::harness::{Registry, Variant};
use crate::{client, insecure_config, none_known, req};

#[test]
fn resolves_tag_and_records_metadata() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let pushed = p.image("team/app", "1.0", "amd64", "one");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let spec = format!("{}/team/app:1.0", reg.host());
    let out = c.resolve_all(&[req(&spec)], &none_known);
    let r = out[0].as_ref().expect("resolved");
    assert_eq!(r.digest, pushed.digest);
    assert_eq!(
        r.docker_image_reference,
        format!("{}/team/app@{}", reg.host(), pushed.digest)
    );
    let img = r.image.as_ref().expect("a new digest brings its image");
    assert_eq!(img.metadata.name, pushed.digest);
    assert_eq!(img.docker_image_reference, r.docker_image_reference);
    assert_eq!(
        img.docker_image_manifest_media_type,
        crate::harness::OCI_MANIFEST
    );
    assert_eq!(img.docker_image_layers.len(), 1);
    assert_eq!(img.docker_image_layers[0].name, pushed.layer_digest);
    assert_eq!(img.docker_image_layers[0].size, pushed.layer_len as i64);
    let m = img.docker_image_metadata.as_ref().expect("config metadata");
    assert_eq!(m.architecture, "amd64");
    assert_eq!(
        (m.kind.as_str(), m.api_version.as_str()),
        ("DockerImage", "1.0")
    );
    assert!(
        m.id.starts_with("sha256:"),
        "Id is the config digest: {}",
        m.id
    );
    assert_eq!(img.docker_image_metadata_version, "1.0");
    assert_eq!(m.created, "2026-01-01T00:00:00Z");
    assert_eq!(m.author, "streamsync tests");
    let m = &m.run_config();
    assert_eq!(m.user, "1001");
    assert_eq!(m.working_dir, "/opt/app");
    assert_eq!(
        m.env,
        vec!["PATH=/usr/bin".to_owned(), "LABEL=one".to_owned()]
    );
    assert_eq!(m.cmd, vec!["run".to_owned()]);
    assert_eq!(m.entrypoint, vec!["/entry".to_owned()]);
    assert_eq!(m.exposed_ports.keys().collect::<Vec<_>>(), ["8080/tcp"]);
    assert_eq!(m.labels.get("release").map(String::as_str), Some("one"));
    let size = img.docker_image_metadata.as_ref().map_or(0, |m| m.size);
    assert_eq!(size, (pushed.layer_len + pushed.config_len) as i64);
    // One HEAD, then the manifest and the config once each.
    let counts = c.request_counts();
    let n = counts.get(&reg.host()).expect("counted");
    assert_eq!((n.head, n.get), (1, 2));
}

#[test]
fn known_digest_and_resolve_only_cost_one_head() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("team/app", "1.0", "amd64", "one");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let spec = format!("{}/team/app:1.0", reg.host());
    let d = pushed.digest.clone();
    let known = move |x: &str| x == d;
    let out = c.resolve_all(&[req(&spec)], &known);
    let r = out[0].as_ref().expect("resolved");
    assert_eq!(r.digest, pushed.digest);
    assert!(r.image.is_none());
    let mut only = req(&spec);
    only.resolve_only = true;
    let out = c.resolve_all(&[only], &none_known);
    assert!(out[0].as_ref().expect("resolved").image.is_none());
    let n = c.request_counts()[&reg.host()];
    assert_eq!((n.head, n.get), (2, 0));
}

#[test]
fn shared_digest_is_fetched_once_per_run() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let a = p.image("team/app", "1.0", "amd64", "same");
    let b = p.image("team/app", "latest", "amd64", "same");
    assert_eq!(a.digest, b.digest);
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let reqs = [
        req(&format!("{}/team/app:1.0", reg.host())),
        req(&format!("{}/team/app", reg.host())),
    ];
    let out = c.resolve_all(&reqs, &none_known);
    assert!(
        out.iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.image.is_some()))
    );
    // `team/app` without a tag means `latest`.
    assert_eq!(out[1].as_ref().unwrap().digest, a.digest);
    let n = c.request_counts()[&reg.host()];
    assert_eq!((n.head, n.get), (2, 2));
}

#[test]
fn digest_moves_after_repush() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let first = p.image("team/app", "2.2", "amd64", "first");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let spec = format!("{}/team/app:2.2", reg.host());
    let one = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(one[0].as_ref().unwrap().digest, first.digest);
    let second = p.image("team/app", "2.2", "amd64", "second");
    assert_ne!(first.digest, second.digest);
    let two = c.resolve_all(&[req(&spec)], &none_known);
    let r = two[0].as_ref().unwrap();
    assert_eq!(r.digest, second.digest);
    assert_eq!(
        r.image
            .as_ref()
            .unwrap()
            .docker_image_metadata
            .as_ref()
            .unwrap()
            .run_config()
            .labels["release"],
        "second"
    );
}

#[test]
fn by_digest_pull_spec_and_mismatch() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("team/app", "1.0", "amd64", "one");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let spec = format!("{}/team/app@{}", reg.host(), pushed.digest);
    let out = c.resolve_all(&[req(&spec)], &none_known);
    let r = out[0].as_ref().expect("resolved");
    assert_eq!(r.docker_image_reference, spec);
    let missing = format!("{}/team/app@sha256:{}", reg.host(), "0".repeat(64));
    let out = c.resolve_all(&[req(&missing)], &none_known);
    assert_eq!(out[0].as_ref().unwrap_err().reason, FailureReason::NotFound);
}

#[test]
fn missing_tag_and_repository_are_not_found_and_others_complete() {
    let reg = Registry::start(Variant::Plain);
    reg.pusher().image("team/app", "1.0", "amd64", "one");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let reqs = [
        req(&format!("{}/team/app:nope", reg.host())),
        req(&format!("{}/team/none:1.0", reg.host())),
        req(&format!("{}/team/app:1.0", reg.host())),
        req("Bad//spec"),
    ];
    let out = c.resolve_all(&reqs, &none_known);
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.reason, FailureReason::NotFound, "{e:?}");
    assert!(e.message.contains("team/app"), "{}", e.message);
    assert_eq!(out[1].as_ref().unwrap_err().reason, FailureReason::NotFound);
    assert!(out[2].is_ok());
    assert_eq!(
        out[3].as_ref().unwrap_err().reason,
        FailureReason::InternalError
    );
}

#[test]
fn plain_http_registry_needs_insecure() {
    let reg = Registry::start(Variant::Plain);
    reg.pusher().image("team/app", "1.0", "amd64", "one");
    let root = crate::harness::root();
    let spec = format!("{}/team/app:1.0", reg.host());
    // Asked insecure, but the host is not in insecure_allowed: TLS is used, and fails.
    let c = client(
        &streamsync::policy::RegistryConfig::default(),
        root.path(),
        None,
    );
    let out = c.resolve_all(&[req(&spec)], &none_known);
    assert_eq!(
        out[0].as_ref().unwrap_err().reason,
        FailureReason::Unreachable
    );
    // Allowed, but the request does not ask for insecure transport.
    let c = client(&insecure_config(), root.path(), None);
    let mut secure = req(&spec);
    secure.insecure = false;
    let out = c.resolve_all(&[secure], &none_known);
    assert_eq!(
        out[0].as_ref().unwrap_err().reason,
        FailureReason::Unreachable
    );
}

#[test]
fn a_run_finding_only_new_digests_stops_spending_heads() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    for i in 0..40 {
        p.image("many/app", &format!("t{i}"), "amd64", &format!("l{i}"));
    }
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let reqs: Vec<_> = (0..40)
        .map(|i| req(&format!("{}/many/app:t{i}", reg.host())))
        .collect();
    let out = c.resolve_all(&reqs, &none_known);
    assert!(
        out.iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.image.is_some()))
    );
    // HEADs until 16 new digests in a row (plus the ones already started), then a GET of
    // each manifest by tag; always one manifest and one config GET per tag.
    let n = c.request_counts()[&reg.host()];
    assert!(n.head >= 16 && n.head <= 24, "{n:?}");
    assert_eq!(n.get, 80, "{n:?}");

    // A known digest switches back to HEADs: a second pass with everything known makes
    // HEADs, except the first one (a GET, the streak is still on).
    let known: std::collections::BTreeSet<String> = out
        .iter()
        .map(|r| r.as_ref().unwrap().digest.clone())
        .collect();
    let c2 = client(&insecure_config(), root.path(), None);
    let out = c2.resolve_all(&reqs[..20], &none_known);
    assert!(out.iter().all(Result::is_ok));
    let before = c2.request_counts()[&reg.host()];
    let is_known = |d: &str| known.contains(d);
    let out = c2.resolve_all(&reqs, &is_known);
    assert!(
        out.iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.image.is_none()))
    );
    let after = c2.request_counts()[&reg.host()];
    let (heads, gets) = (after.head - before.head, after.get - before.get);
    assert!(
        gets <= 8,
        "at most the resolutions already started by GET: {gets}"
    );
    assert_eq!(heads + gets, 40, "one request per tag");
}
