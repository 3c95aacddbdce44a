//! `mirror` against real registries: a source and a mirror (`docker-registry` each, the
//! mirror with its access log on, which is what counts uploads), one with htpasswd auth, and
//! the fault proxy for a connection dropped half way through a layer.

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::run;
use crate::harness::{OCI_INDEX, OCI_MANIFEST, PASSWORD, Pusher, Registry, USER, Variant, sha256};
use crate::proxy::{Fault, Proxy};
use crate::support::{Stream, Tag, git, stream};

const SHARED: &[u8] = b"a layer both images have";

/// An image config that import reads (labelled, so each gives its own digest).
fn cfg(label: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"test": label}},
        "rootfs": {"type": "layers", "diff_ids": []}
    }))
    .unwrap()
}

/// Write a repository importing `tags` (`(stream tag, pull spec, import mode)`) into stream
/// `team/app`, mirroring to `mirror`.
fn repository(root: &Path, tags: &[(&str, String, &str)], mirror: &str, extra: &str) {
    let app = tags
        .iter()
        .map(|(name, from, mode)| Tag::image(name, from).insecure().import_mode(mode))
        .fold(stream("app").namespace("team"), Stream::tag);
    std::fs::create_dir_all(root.join("definitions/team")).unwrap();
    std::fs::write(root.join("definitions/team/app.yaml"), app.to_yaml()).unwrap();
    std::fs::write(
        root.join("streamsync.toml"),
        format!(
            "[registry]\ninsecure_allowed = [\"127.0.0.1\", \"quay.io\", \"docker.io\"]\n\n[mirror]\nregistry = \"{mirror}\"\n{extra}"
        ),
    )
    .unwrap();
}

fn apply(root: &Path) {
    let out = run(root, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
}

/// Upload requests (blob uploads, manifest pushes) in an access log.
fn writes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("\"PUT ") || l.contains("\"POST ") || l.contains("\"PATCH "))
        .map(str::to_owned)
        .collect()
}

fn by_source<'a>(report: &'a Value, repo: &str) -> &'a Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"].as_str().unwrap().contains(&format!("/{repo}@")))
        .unwrap_or_else(|| panic!("no image of {repo} in {report:#}"))
}

/// A source with a single image (with a cosign signature and an OCI referrer found by the
/// tag schema), a second image sharing a layer with it, and an index.
struct Source {
    reg: Registry,
    app: String,
    other: String,
    index: String,
    sig: String,
    referrer: String,
}

fn source() -> Source {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let app = p.manifest_of(
        "team/app",
        "1.0",
        &cfg("app config"),
        &[SHARED, b"app layer"],
        json!({}),
    );
    let other = p.manifest_of(
        "team/other",
        "2.0",
        &cfg("other config"),
        &[SHARED, b"other layer"],
        json!({}),
    );
    let (index, _, _) = p.index("team/multi", "3.0");
    let hex = app.trim_start_matches("sha256:");
    let sig = p.manifest_of(
        "team/app",
        &format!("sha256-{hex}.sig"),
        b"{}",
        &[b"cosign signature payload"],
        json!({}),
    );
    let app_size = p.manifest_raw("team/app", &app).unwrap().len();
    let referrer = p.manifest_of(
        "team/app",
        "sbom-artifact",
        b"{}",
        &[b"an SPDX document"],
        json!({"artifactType": "application/spdx+json",
               "subject": {"mediaType": OCI_MANIFEST, "digest": app, "size": app_size}}),
    );
    let referrer_size = p.manifest_raw("team/app", &referrer).unwrap().len();
    // docker-registry 2.8 has no referrers API: the tag schema's index names the referrer.
    let fallback = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": referrer, "size": referrer_size,
                       "artifactType": "application/spdx+json"}]
    });
    p.manifest(
        "team/app",
        &format!("sha256-{hex}"),
        OCI_INDEX,
        &serde_json::to_vec(&fallback).unwrap(),
    );
    Source {
        reg,
        app,
        other,
        index,
        sig,
        referrer,
    }
}

fn standard_tags(src: &Source) -> Vec<(&'static str, String, &'static str)> {
    let h = src.reg.host();
    vec![
        ("1.0", format!("{h}/team/app:1.0"), "Legacy"),
        ("other", format!("{h}/team/other:2.0"), "Legacy"),
        ("multi", format!("{h}/team/multi:3.0"), "PreserveOriginal"),
    ]
}

#[test]
fn copies_by_digest_with_tags_signatures_referrers_and_mounts_then_nothing_twice() {
    let src = source();
    let mirror = Registry::start_logged(Variant::Plain);
    let root = crate::harness::root();
    let mirror_spec = format!("{}/mirror", mirror.host());
    repository(
        root.path(),
        &standard_tags(&src),
        &mirror_spec,
        "mirror_sets = \"cluster/mirror-sets.yaml\"\n",
    );
    apply(root.path());

    // A dry run asks the mirror and copies nothing.
    let dry = run(root.path(), &["mirror", "--dry-run", "--format", "json"]);
    assert_eq!(dry.code, 0, "{dry}");
    let report = dry.json();
    assert_eq!(report["dry_run"], true);
    for i in report["images"].as_array().unwrap() {
        assert_eq!(i["status"], "copy", "{i:#}");
    }
    assert!(writes(&mirror.access_log()).is_empty(), "a dry run wrote");
    assert!(!root.path().join("cluster/mirror-sets.yaml").exists());

    let out = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let report = out.json();
    assert_eq!(report["format_version"], "1.0");
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["copied"], 3);
    let app = by_source(&report, "team/app");
    assert_eq!(
        app["mirror"],
        format!("{mirror_spec}/team/app@{}", src.app).as_str()
    );
    assert_eq!(app["tags"], json!(["1.0"]));
    assert_eq!(app["status"], "copied");
    let hex = src.app.trim_start_matches("sha256:");
    assert_eq!(app["signatures"], json!([format!("sha256-{hex}.sig")]));
    assert_eq!(app["referrers"], json!([src.referrer]));
    assert!(app["error"].is_null());
    // The shared layer went up once and was mounted into the other repository.
    assert_eq!(report["summary"]["blobs_mounted"], 1, "{report:#}");
    let shared = sha256(SHARED);
    let log = mirror.access_log();
    let shared_uploads = writes(&log)
        .iter()
        .filter(|l| {
            l.contains("PUT ") && l.contains(&shared.replace(':', "%3A"))
                || l.contains("PUT ") && l.contains(&shared)
        })
        .count();
    assert_eq!(shared_uploads, 1, "{log}");

    // Byte for byte, by digest and by the source's tag name.
    let m = mirror.pusher();
    let s = src.reg.pusher();
    for (repo, digest, tag) in [
        ("team/app", &src.app, "1.0"),
        ("team/other", &src.other, "2.0"),
        ("team/multi", &src.index, "3.0"),
    ] {
        let want = s.manifest_raw(repo, digest).unwrap();
        let got = m
            .manifest_raw(&format!("mirror/{repo}"), digest)
            .unwrap_or_else(|| panic!("{repo}@{digest} missing on the mirror"));
        assert_eq!(got, want, "{repo}");
        assert_eq!(sha256(&got), *digest);
        let tagged = m.manifest_raw(&format!("mirror/{repo}"), tag).unwrap();
        assert_eq!(sha256(&tagged), *digest, "{repo}:{tag}");
    }
    // Every child of the index, the signature and the referrer with its tag-schema index.
    let index: Value =
        serde_json::from_slice(&s.manifest_raw("team/multi", &src.index).unwrap()).unwrap();
    for child in index["manifests"].as_array().unwrap() {
        let d = child["digest"].as_str().unwrap();
        assert!(
            m.manifest_raw("mirror/team/multi", d).is_some(),
            "child {d}"
        );
    }
    let sig = m
        .manifest_raw("mirror/team/app", &format!("sha256-{hex}.sig"))
        .unwrap();
    assert_eq!(sha256(&sig), src.sig);
    assert!(m.manifest_raw("mirror/team/app", &src.referrer).is_some());
    let fallback = m
        .manifest_raw("mirror/team/app", &format!("sha256-{hex}"))
        .unwrap();
    assert_eq!(
        fallback,
        s.manifest_raw("team/app", &format!("sha256-{hex}"))
            .unwrap()
    );

    // The mirror sets: one entry per source repository, sorted.
    let sets = std::fs::read_to_string(root.path().join("cluster/mirror-sets.yaml")).unwrap();
    let h = src.reg.host();
    let mut entries = String::new();
    for repo in ["team/app", "team/multi", "team/other"] {
        entries.push_str(&format!(
            "  - source: {h}/{repo}\n    mirrors:\n    - {mirror_spec}/{repo}\n"
        ));
    }
    assert_eq!(
        sets,
        format!(
            "# Written by `streamsync mirror`: the repositories it copies to the mirror.\n\
             ---\napiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: streamsync-mirror\nspec:\n  imageDigestMirrors:\n{entries}\
             ---\napiVersion: config.openshift.io/v1\nkind: ImageTagMirrorSet\nmetadata:\n  name: streamsync-mirror\nspec:\n  imageTagMirrors:\n{entries}"
        )
    );
    assert_eq!(report["mirror_sets"]["written"], true);

    // A second run trusts the record of what the first one verified: it asks the mirror
    // nothing (its own log says so) and copies nothing; the mirror sets are not rewritten.
    let record = std::fs::read_to_string(root.path().join("state/mirror.toml")).unwrap();
    assert!(
        record.contains(&format!("registry = \"{mirror_spec}\"")),
        "{record}"
    );
    let requests_before = mirror.access_log().lines().count();
    let quiet = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(quiet.code, 0, "{quiet}");
    assert_eq!(
        mirror.access_log().lines().count(),
        requests_before,
        "a second run within the interval asked the mirror"
    );
    let report = quiet.json();
    assert_eq!(report["summary"]["present"], 3, "{report:#}");
    assert_eq!(report["summary"]["recorded"], 3, "{report:#}");
    let app = by_source(&report, "team/app");
    assert_eq!(app["verified"], false);
    assert_eq!(app["signatures"], json!([format!("sha256-{hex}.sig")]));
    assert_eq!(app["referrers"], json!([src.referrer]));
    assert!(
        report["summary"]["requests"].get(mirror.host()).is_none(),
        "{report:#}"
    );

    // `--verify` asks the mirror about everything again; it still finds everything and
    // uploads nothing.
    let before = writes(&mirror.access_log()).len();
    let modified = std::fs::metadata(root.path().join("cluster/mirror-sets.yaml"))
        .unwrap()
        .modified()
        .unwrap();
    let again = run(root.path(), &["mirror", "--verify"]);
    assert_eq!(again.code, 0, "{again}");
    let after = writes(&mirror.access_log());
    assert_eq!(
        after.len(),
        before,
        "second run wrote: {:#?}",
        &after[before..]
    );
    assert!(
        again.stdout.lines().all(|l| l.starts_with("present ")),
        "{again}"
    );
    assert!(
        again.stderr.contains("0 copied, 3 present, 0 failed"),
        "{again}"
    );
    assert!(again.stderr.contains("up to date"), "{again}");
    assert_eq!(
        std::fs::metadata(root.path().join("cluster/mirror-sets.yaml"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    assert!(
        again.stderr.contains(&format!("{}: ", mirror.host())),
        "{again}"
    );
    assert!(
        mirror.access_log().lines().count() > requests_before,
        "--verify did not ask"
    );
}

/// Empty a registry's storage while it runs (no cache in front of it): every repository,
/// manifest and tag is gone.
fn wipe(reg: &Registry) {
    let repos = reg
        .dir
        .path()
        .join("storage/docker/registry/v2/repositories");
    std::fs::remove_dir_all(&repos).unwrap();
    assert!(reg.pusher().manifest_raw("team/app", "1.0").is_none());
}

/// The record is only trusted for its own mirror and within `[mirror] verify_interval`: a
/// record written for another mirror is ignored, and a mirror wiped between runs is repaired
/// by `--verify` and, without it, once the interval has passed.
#[test]
fn the_record_of_what_the_mirror_holds_is_trusted_only_for_its_mirror_and_interval() {
    let src = source();
    let first = Registry::start_logged(Variant::Plain);
    let second = Registry::start_logged(Variant::Plain);
    let root = crate::harness::root();
    let tags = standard_tags(&src);
    let interval = "verify_interval = \"1h\"\n";
    repository(root.path(), &tags, &first.host(), interval);
    apply(root.path());
    let out = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["summary"]["copied"], 3);

    // Another mirror: the record (of the first) is not trusted, everything is copied there.
    repository(root.path(), &tags, &second.host(), interval);
    let out = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["summary"]["copied"], 3, "{out}");
    assert_eq!(out.json()["summary"]["recorded"], 0, "{out}");
    // And back: the record is now the second's, so the first is asked (and holds all).
    repository(root.path(), &tags, &first.host(), interval);
    let asked = first.access_log().lines().count();
    let out = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["summary"]["present"], 3, "{out}");
    assert_eq!(out.json()["summary"]["recorded"], 0, "{out}");
    assert!(first.access_log().lines().count() > asked);

    // The first mirror is wiped. Within the interval a run trusts the record (and says so);
    // `--verify` finds the loss and copies everything again.
    wipe(&first);
    let out = run(root.path(), &["mirror"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("3 of them from the record"), "{out}");
    let out = run(root.path(), &["mirror", "--verify", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["summary"]["copied"], 3, "{out}");
    let got = first.pusher().manifest_raw("team/app", "1.0").unwrap();
    assert_eq!(sha256(&got), src.app);

    // Wiped again: once the interval has passed, a plain run asks and repairs it.
    wipe(&first);
    let in_59m = "2026-01-01T00:59:00Z";
    let out = crate::cli::run_at(root.path(), in_59m, &["mirror", "--format", "json"]);
    assert_eq!(out.json()["summary"]["recorded"], 3, "{out}");
    let in_2h = "2026-01-01T02:00:00Z";
    let out = crate::cli::run_at(root.path(), in_2h, &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["summary"]["copied"], 3, "{out}");
    assert_eq!(out.json()["summary"]["recorded"], 0, "{out}");
    for (repo, digest, tag) in [
        ("team/app", &src.app, "1.0"),
        ("team/other", &src.other, "2.0"),
        ("team/multi", &src.index, "3.0"),
    ] {
        let got = first.pusher().manifest_raw(repo, tag).unwrap();
        assert_eq!(sha256(&got), *digest, "{repo}");
    }

    // `verify_interval = "0"` asks every run.
    repository(
        root.path(),
        &tags,
        &first.host(),
        "verify_interval = \"0\"\n",
    );
    let asked = first.access_log().lines().count();
    let out = crate::cli::run_at(root.path(), in_2h, &["mirror", "--format", "json"]);
    assert_eq!(out.json()["summary"]["recorded"], 0, "{out}");
    assert_eq!(out.json()["summary"]["present"], 3, "{out}");
    assert!(first.access_log().lines().count() > asked);
}

#[test]
fn text_output_lists_what_was_copied_with_requests_per_registry() {
    let src = source();
    let mirror = Registry::start(Variant::Plain);
    let root = crate::harness::root();
    let tags = vec![("1.0", format!("{}/team/app:1.0", src.reg.host()), "Legacy")];
    repository(root.path(), &tags, &mirror.host(), "");
    apply(root.path());
    let out = run(root.path(), &["mirror"]);
    assert_eq!(out.code, 0, "{out}");
    let short = &src.app[..19];
    assert_eq!(
        out.stdout,
        format!(
            "copied   {}/team/app@{short} -> {}/team/app (tags: 1.0): 6 blobs copied, 0 mounted, 1 skipped, 7 manifests, {} B; signatures: sig; referrers: 1\n",
            src.reg.host(),
            mirror.host(),
            cfg("app config").len()
                + SHARED.len()
                + b"app layer".len()
                + 2
                + b"cosign signature payload".len()
                + b"an SPDX document".len()
        )
    );
    assert!(out.stderr.contains("Mirrored 1 images to"), "{out}");
    assert!(
        out.stderr.contains(&format!("{}: ", src.reg.host())),
        "{out}"
    );
}

#[test]
fn a_mirror_that_needs_credentials() {
    let src = source();
    let mirror = Registry::start(Variant::Htpasswd);
    let root = crate::harness::root();
    let tags = vec![("1.0", format!("{}/team/app:1.0", src.reg.host()), "Legacy")];
    repository(root.path(), &tags, &mirror.host(), "");
    apply(root.path());

    let refused = run(root.path(), &["mirror"]);
    assert_eq!(refused.code, 3, "{refused}");
    assert!(refused.stdout.starts_with("failed "), "{refused}");
    assert!(refused.stdout.contains("no credentials"), "{refused}");

    std::fs::write(
        root.path().join("auth.json"),
        crate::auth::auth_json(&mirror.host(), USER, PASSWORD),
    )
    .unwrap();
    let auth = root.path().join("auth.json");
    let out = run(
        root.path(),
        &[
            "mirror",
            "--registry-config",
            auth.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    assert_eq!(out.json()["images"][0]["status"], "copied");
    let got = mirror.pusher().manifest_raw("team/app", &src.app).unwrap();
    assert_eq!(sha256(&got), src.app);
}

/// A source whose connections drop part way through each blob: a layer is read on from where
/// it stopped (`Range`); when it keeps dropping, that image fails (exit 3) while the others
/// are copied, and the next run sends only what had not arrived.
#[test]
fn a_failure_half_way_and_the_resume() {
    let reg = Registry::start(Variant::Plain);
    let p: Pusher = reg.pusher();
    // 3 MiB of bytes that do not compress into a pattern a proxy could cut evenly.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big_digest = sha256(&big);
    let app = p.manifest_of("team/big", "1.0", &cfg("big config"), &[&big], json!({}));
    let small = p.manifest_of(
        "team/small",
        "1.0",
        &cfg("small config"),
        &[b"small"],
        json!({}),
    );
    let proxy = Proxy::start(reg.port);
    let mirror = Registry::start_logged(Variant::Plain);
    let root = crate::harness::root();
    let tags = vec![
        ("big", format!("{}/team/big:1.0", proxy.host()), "Legacy"),
        (
            "small",
            format!("{}/team/small:1.0", proxy.host()),
            "Legacy",
        ),
    ];
    repository(root.path(), &tags, &mirror.host(), "");
    apply(root.path());

    // Each answer to a blob GET stops after 1 MiB: the layer arrives in pieces.
    proxy.set_default(Fault::TruncateBlobs(1024 * 1024));
    let out = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(by_source(&out.json(), "team/big")["status"], "copied");
    let got = mirror.pusher().manifest_raw("team/big", &app).unwrap();
    assert_eq!(sha256(&got), app);

    // Now a fresh mirror, and a source that gives 100 KiB per connection: the layer cannot
    // arrive; the small image does.
    let mirror = Registry::start_logged(Variant::Plain);
    repository(root.path(), &tags, &mirror.host(), "");
    proxy.set_default(Fault::TruncateBlobs(100 * 1024));
    let failed = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(failed.code, 3, "{failed}");
    let report = failed.json();
    assert_eq!(by_source(&report, "team/small")["status"], "copied");
    let big_report = by_source(&report, "team/big");
    assert_eq!(big_report["status"], "failed");
    assert!(
        big_report["error"].as_str().unwrap().contains(&big_digest),
        "{big_report:#}"
    );
    assert!(mirror.pusher().manifest_raw("team/big", &app).is_none());
    let config_digest = sha256(&cfg("big config"));
    let uploaded_config = |log: &str| {
        writes(log)
            .iter()
            .filter(|l| {
                l.contains("PUT ") && l.contains(config_digest.trim_start_matches("sha256:"))
            })
            .count()
    };
    assert_eq!(uploaded_config(&mirror.access_log()), 1);

    // The source recovers: the next run sends the layer and the manifest, not the config
    // again, and nothing of the small image.
    proxy.set_default(Fault::Pass);
    let before = writes(&mirror.access_log()).len();
    let resumed = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(resumed.code, 0, "{resumed}");
    let report = resumed.json();
    let big_report = by_source(&report, "team/big");
    assert_eq!(big_report["blobs_copied"], 1, "{big_report:#}");
    assert_eq!(big_report["blobs_skipped"], 1, "{big_report:#}");
    assert_eq!(by_source(&report, "team/small")["status"], "present");
    assert_eq!(uploaded_config(&mirror.access_log()), 1);
    let log = mirror.access_log();
    let all = writes(&log);
    let new = &all[before..];
    assert!(
        new.iter().all(|l| l.contains("/team/big/")),
        "the resume wrote outside the failed image: {new:#?}"
    );
    assert_eq!(
        sha256(&mirror.pusher().manifest_raw("team/big", &app).unwrap()),
        app
    );
    assert_eq!(
        sha256(&mirror.pusher().manifest_raw("team/small", &small).unwrap()),
        small
    );
}

#[test]
fn two_sources_sharing_a_mirror_repository_are_refused() {
    let root = crate::harness::root();
    let tags = vec![
        ("a", "quay.io/team/app:1".to_owned(), "Legacy"),
        ("b", "docker.io/team/app:1".to_owned(), "Legacy"),
    ];
    repository(root.path(), &tags, "mirror.example.com/m", "");
    let out = run(root.path(), &["validate"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("mirror.example.com/m/team/app")
            || out.stderr.contains("mirror.example.com/m/team/app"),
        "{out}"
    );
    let out = run(root.path(), &["mirror"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains("would share the mirror repository"),
        "{out}"
    );
}

/// `sync` mirrors after its imports; `--commit` commits the mirror sets with the state; a
/// later sync with a new image upstream copies only that.
#[test]
fn sync_mirrors_after_its_imports_and_commits_the_mirror_sets() {
    let src = source();
    let mirror = Registry::start_logged(Variant::Plain);
    let root = crate::harness::root();
    let tags = vec![("1.0", format!("{}/team/app:1.0", src.reg.host()), "Legacy")];
    repository(
        root.path(),
        &tags,
        &mirror.host(),
        "mirror_sets = \"cluster/mirror-sets.yaml\"\n",
    );
    git(root.path(), &["init", "-q", "-b", "main"]);
    git(root.path(), &["add", "."]);
    git(root.path(), &["commit", "-qm", "definitions"]);

    let out = run(root.path(), &["sync", "--once", "--commit"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("copied   "), "{out}");
    assert!(out.stderr.contains("Mirrored 1 images"), "{out}");
    let got = mirror.pusher().manifest_raw("team/app", "1.0").unwrap();
    assert_eq!(sha256(&got), src.app);
    let committed = git(root.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        committed.contains("cluster/mirror-sets.yaml"),
        "{committed}"
    );
    assert!(committed.contains("state/"), "{committed}");
    let status = git(root.path(), &["status", "--porcelain"]);
    assert!(status.is_empty(), "left uncommitted:\n{status}");

    // Upstream moves: the next pass imports the new image and copies it (its new blobs only).
    let before = writes(&mirror.access_log()).len();
    let moved = src.reg.pusher().manifest_of(
        "team/app",
        "1.0",
        &cfg("app config moved"),
        &[SHARED, b"app layer"],
        json!({}),
    );
    std::fs::write(
        root.path().join("definitions/team/app.yaml"),
        std::fs::read_to_string(root.path().join("definitions/team/app.yaml"))
            .unwrap()
            .replace("{insecure: true, ", "{insecure: true, scheduled: true, "),
    )
    .unwrap();
    let out = crate::cli::run_at(
        root.path(),
        "2026-01-01T00:30:00Z",
        &["sync", "--once", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{out}");
    let got = mirror.pusher().manifest_raw("team/app", "1.0").unwrap();
    assert_eq!(sha256(&got), moved);
    let log = mirror.access_log();
    let all = writes(&log);
    let blob_puts: Vec<&String> = all[before..]
        .iter()
        .filter(|l| l.contains("\"PUT ") && l.contains("/blobs/uploads/"))
        .collect();
    assert_eq!(blob_puts.len(), 1, "only the new config: {blob_puts:#?}");

    // The next pass, nothing moved: the record of the pass before vouches for the image, and
    // the mirror is asked nothing.
    let asked = mirror.access_log().lines().count();
    let out = crate::cli::run_at(root.path(), "2026-01-01T00:45:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("1 of them from the record"), "{out}");
    assert_eq!(mirror.access_log().lines().count(), asked);

    // Without `[mirror]`, sync drops the record: a mirror set up again is asked about all.
    let record = root.path().join("state/mirror.toml");
    assert!(record.exists());
    std::fs::write(
        root.path().join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n",
    )
    .unwrap();
    let out = crate::cli::run_at(root.path(), "2026-01-01T00:46:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!record.exists(), "{out}");
}

/// Upload `len` bytes to `repo` in 16 MiB PATCHes, generated as they go (never whole in
/// memory): block `i` is a fixed pseudo-random MiB with `i` written into its first bytes.
fn push_generated_blob(reg: &Registry, repo: &str, len: u64) -> String {
    use sha2::{Digest as _, Sha256};
    const MIB: usize = 1024 * 1024;
    let base: Vec<u8> = (0..MIB as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let client = reqwest::Client::new();
    let url = reg.base_url();
    let p = reg.pusher();
    p.block_on(async {
        let resp = client
            .post(format!("{url}/v2/{repo}/blobs/uploads/"))
            .header("content-length", "0")
            .send()
            .await
            .expect("start upload");
        assert_eq!(resp.status(), 202);
        let mut location = resp.headers()["location"].to_str().unwrap().to_owned();
        let mut hasher = Sha256::new();
        let mut offset = 0u64;
        let mut block = 0u64;
        while offset < len {
            let mut chunk = Vec::with_capacity(16 * MIB);
            while chunk.len() < 16 * MIB && offset + (chunk.len() as u64) < len {
                let mut b = base.clone();
                b[..8].copy_from_slice(&block.to_le_bytes());
                block += 1;
                let room = (len - offset - chunk.len() as u64).min(MIB as u64) as usize;
                chunk.extend_from_slice(&b[..room]);
            }
            hasher.update(&chunk);
            let end = offset + chunk.len() as u64 - 1;
            let n = chunk.len() as u64;
            let resp = client
                .patch(&location)
                .header("content-type", "application/octet-stream")
                .header("content-range", format!("{offset}-{end}"))
                .body(chunk)
                .send()
                .await
                .expect("patch");
            assert_eq!(resp.status(), 202, "patch at {offset}");
            location = resp.headers()["location"].to_str().unwrap().to_owned();
            offset += n;
        }
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        let sep = if location.contains('?') { '&' } else { '?' };
        let resp = client
            .put(format!("{location}{sep}digest={digest}"))
            .header("content-length", "0")
            .send()
            .await
            .expect("finish upload");
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
        digest
    })
}

/// A 1 GiB layer streams through: the mirror run's peak RSS (its own `getrusage`, read with
/// `wait4`) stays under 150 MiB.
#[test]
fn a_one_gib_layer_copies_in_bounded_memory() {
    const GIB: u64 = 1024 * 1024 * 1024;
    let src = Registry::start(Variant::Plain);
    let layer = push_generated_blob(&src, "big/huge", GIB);
    let p = src.pusher();
    let config = cfg("huge");
    let config_digest = p.blob("big/huge", &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": crate::harness::OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": crate::harness::OCI_LAYER, "digest": layer, "size": GIB}]
    }))
    .unwrap();
    let digest = p.manifest("big/huge", "1.0", OCI_MANIFEST, &manifest);
    let mirror = Registry::start(Variant::Plain);
    let root = crate::harness::root();
    let tags = vec![("1.0", format!("{}/big/huge:1.0", src.host()), "Legacy")];
    repository(root.path(), &tags, &mirror.host(), "");
    apply(root.path());

    // The command keeps its sandbox (home, auth file) alive while the child runs.
    let mut cmd = crate::cli::bin();
    // Reaped by `wait4` below, which is what gives its own resource usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .arg("-C")
        .arg(root.path())
        .args(["mirror", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mirror");
    let pid = i32::try_from(child.id()).unwrap();
    // The output is small (one image): it fits the pipes until the child is reaped.
    let mut status = 0;
    // SAFETY: plain structs filled by the kernel; `pid` is this test's own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` outlive the call, and `pid` is this test's own child.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.unwrap(), &mut stdout).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.unwrap(), &mut stderr).unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{stdout}{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["images"][0]["status"], "copied", "{report:#}");
    assert_eq!(report["images"][0]["bytes"], GIB + config.len() as u64);
    let peak_mib = usage.ru_maxrss / 1024;
    eprintln!("mirror of a 1 GiB layer: peak RSS {peak_mib} MiB");
    assert!(peak_mib < 150, "peak RSS {peak_mib} MiB");
    let got = mirror.pusher().manifest_raw("big/huge", &digest).unwrap();
    assert_eq!(sha256(&got), digest);
    let m = mirror.pusher();
    assert!(m.block_on(async {
        reqwest::Client::new()
            .head(format!("{}/v2/big/huge/blobs/{layer}", mirror.base_url()))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    }));
}

/// A source with the referrers API (the proxy answers it, as a registry that has it does):
/// the referrers it lists are copied by digest, and the mirror, which has no API
/// (docker-registry 2.8), gets the tag schema's `sha256-<hex>` index naming them.
#[test]
fn referrers_from_the_api_reach_a_mirror_without_it_by_the_tag_schema() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let app = p.manifest_of(
        "team/app",
        "1.0",
        &cfg("api app"),
        &[b"api layer"],
        json!({}),
    );
    let app_size = p.manifest_raw("team/app", &app).unwrap().len();
    let referrer = p.manifest_of(
        "team/app",
        "attestation",
        b"{}",
        &[b"an in-toto statement"],
        json!({"artifactType": "application/vnd.in-toto+json",
               "subject": {"mediaType": OCI_MANIFEST, "digest": app, "size": app_size}}),
    );
    let referrer_size = p.manifest_raw("team/app", &referrer).unwrap().len();
    let listed = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": referrer, "size": referrer_size,
                       "artifactType": "application/vnd.in-toto+json"}]
    });
    let proxy = Proxy::start(reg.port);
    proxy.set_default(Fault::Referrers(listed.to_string()));
    let mirror = Registry::start(Variant::Plain);
    let root = crate::harness::root();
    let tags = vec![("1.0", format!("{}/team/app:1.0", proxy.host()), "Legacy")];
    repository(root.path(), &tags, &mirror.host(), "");
    apply(root.path());

    let out = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let report = out.json();
    assert_eq!(
        report["images"][0]["referrers"],
        json!([referrer]),
        "{report:#}"
    );
    let m = mirror.pusher();
    let got = m.manifest_raw("team/app", &referrer).unwrap();
    assert_eq!(sha256(&got), referrer);
    let hex = app.trim_start_matches("sha256:");
    let index: Value = serde_json::from_slice(
        &m.manifest_raw("team/app", &format!("sha256-{hex}"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(index["manifests"][0]["digest"], referrer.as_str());
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/vnd.in-toto+json"
    );

    // Again: nothing to push.
    let again = run(root.path(), &["mirror", "--format", "json"]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.json()["images"][0]["status"], "present", "{again}");
}

#[test]
fn a_bad_mirror_section_is_an_error_at_its_line_and_no_section_says_how_to_add_one() {
    let root = crate::harness::root();
    let tags = vec![("a", "quay.io/team/app:1".to_owned(), "Legacy")];
    repository(root.path(), &tags, "https://mirror.example.com", "");
    let out = run(root.path(), &["validate"]);
    assert_eq!(out.code, 1, "{out}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("streamsync.toml:5"), "{out}");
    assert!(all.contains("has a scheme"), "{out}");

    std::fs::write(
        root.path().join("streamsync.toml"),
        "[mirror]\nmirror_sets = \"../outside.yaml\"\n",
    )
    .unwrap();
    let out = run(root.path(), &["validate"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("must be a path inside the repository"),
        "{out}"
    );

    std::fs::write(
        root.path().join("streamsync.toml"),
        "[mirror]\nregistry = \"mirror.example.com\"\nverify_interval = \"daily\"\n",
    )
    .unwrap();
    let out = run(root.path(), &["validate"]);
    assert_eq!(out.code, 1, "{out}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("streamsync.toml:3"), "{out}");
    assert!(all.contains("`daily` is not a duration"), "{out}");

    std::fs::write(
        root.path().join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"quay.io\"]\n",
    )
    .unwrap();
    let out = run(root.path(), &["mirror"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains("error: no mirror is configured"),
        "{out}"
    );
    assert!(out.stderr.contains("hint: set `[mirror] registry"), "{out}");
}

/// A mirror that answers every request with 429: pushes go through the one request loop
/// pulls use, so the mirror is given up for the rest of the run after a few answers, as a
/// registry an import asks is, and the other images are not sent to it at all.
#[test]
fn a_mirror_that_keeps_answering_429_is_given_up_for_the_run() {
    let src = source();
    let mirror = Registry::start(Variant::Plain);
    let proxy = Proxy::start(mirror.port);
    proxy.set_default(Fault::Status(
        429,
        vec![("Retry-After".to_owned(), "0".to_owned())],
    ));
    let root = crate::harness::root();
    let tags = vec![
        ("1.0", format!("{}/team/app:1.0", src.reg.host()), "Legacy"),
        (
            "2.0",
            format!("{}/team/other:2.0", src.reg.host()),
            "Legacy",
        ),
    ];
    repository(root.path(), &tags, &proxy.host(), "");
    apply(root.path());
    let out = run(root.path(), &["mirror"]);
    assert_eq!(out.code, 3, "{out}");
    assert!(
        out.stdout.contains(
            "not asked (rate limited earlier in this run: the registry kept answering 429 Too Many Requests)"
        ),
        "{out}"
    );
    assert!(
        proxy.requests() <= 8,
        "{} requests reached the mirror\n{out}",
        proxy.requests()
    );
}
