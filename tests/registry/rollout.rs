//! Roll-outs end to end through the binary: a real registry, a real Git repository, and
//! manifests of every kind the trigger controllers roll (`tests/fixtures/rollout/registry/
//! deploy`), rolled by `apply`, `sync` and `rollout` and compared byte for byte with the
//! expected files (`…/rolled`, where `{{REGISTRY}}` and `{{…}}` digests stand for what this
//! run's registry returned).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::{Out, run, run_at};
use crate::harness::{Pushed, Registry, Variant, app_registry};
use crate::support::{Tag, TestRepo, git, stream};

/// The manifests, by path under `deploy/`.
const FILES: [&str; 4] = ["app-list.json", "crlf.yaml", "list.yaml", "workloads.yaml"];

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rollout/registry")
        .join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The registry [`repository`] imports from: `demo/app` 1.0 and 2.0, and `openshift/mysql:8.0`.
fn registry() -> (Registry, Pushed, Pushed, Pushed) {
    let (reg, one, two) = app_registry();
    let mysql = reg
        .pusher()
        .image("openshift/mysql", "8.0", "amd64", "mysql");
    (reg, one, two, mysql)
}

/// A Git repository with `demo/app` (1.0 and a scheduled 2.0 by source, `local` by the
/// integrated registry) and `openshift/mysql` importing from `host`, and the fixture
/// manifests under `deploy/`, all committed.
fn repository(host: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "streamsync.toml",
        "default_namespace = \"demo\"\n\n[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n\n[cluster]\ninternal_registry = \"image-registry.openshift-image-registry.svc:5000\"\n",
    );
    let app = stream("app")
        .tag(Tag::image("1.0", &format!("{host}/demo/app:1.0")).insecure())
        .tag(
            Tag::image("2.0", &format!("{host}/demo/app:2.0"))
                .insecure()
                .scheduled(),
        )
        .tag(
            Tag::image("local", &format!("{host}/demo/app:2.0"))
                .insecure()
                .reference_policy("Local"),
        );
    let mysql = stream("mysql")
        .tag(Tag::image("8.0-el8", &format!("{host}/openshift/mysql:8.0")).insecure());
    repo.define("demo", &app).define("openshift", &mysql);
    for f in FILES {
        // Bytes, not text: CRLF must reach the repository as it is.
        repo.copy(
            format!("tests/fixtures/rollout/registry/deploy/{f}"),
            &format!("deploy/{f}"),
        );
    }
    repo.commit_with_git("definitions and manifests");
    repo
}

/// Every manifest equals its expected file with the placeholders of `values` filled in.
fn assert_rolled(root: &Path, values: &BTreeMap<&str, String>, context: &Out) {
    for f in FILES {
        let mut expected = read(&fixture(&format!("rolled/{f}")));
        for (name, value) in values {
            expected = expected.replace(&format!("{{{{{name}}}}}"), value);
        }
        assert!(
            !expected.contains("{{"),
            "rolled/{f} has a placeholder with no value"
        );
        let actual = read(&root.join("deploy").join(f));
        assert!(
            actual == expected,
            "deploy/{f} is not as expected\n--- actual\n{actual}\n--- expected\n{expected}\n{context}"
        );
    }
}

fn changed_files(root: &Path) -> Vec<String> {
    git(root, &["status", "--porcelain", "--", "deploy"])
        .lines()
        .map(|l| l[3..].to_owned())
        .collect()
}

#[test]
fn every_kind_rolls_byte_for_byte_after_apply_sync_and_import() {
    let (reg, one, two, mysql) = registry();
    let host = reg.host();
    let dir = repository(&host);
    let root = dir.path();

    // Valid: only the seed guide's form warns, at its annotation.
    let out = run(root, &["validate"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("deploy/workloads.yaml:54:100:")
            && out.stderr.contains("warning")
            && !out.stderr.contains("error:"),
        "{out}"
    );

    let out = run(root, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
    let mut settings = crate::support::snapshot_settings();
    settings.add_filter(&regex::escape(&host), "[registry]");
    settings.add_filter(r"in \d+\.\d s", "in [time] s");
    settings.bind(|| insta::assert_snapshot!("rollout_registry_apply", out.to_string()));
    assert!(
        out.stderr
            .contains("Rolled 12 containers in 4 files (2 paused, 1 waiting)."),
        "{out}"
    );
    let mut values = BTreeMap::from([
        ("REGISTRY", host.clone()),
        ("APP_1_0", one.digest.clone()),
        ("APP_2_0", two.digest.clone()),
        ("APP_LOCAL", two.digest.clone()),
        ("MYSQL", mysql.digest.clone()),
    ]);
    assert_rolled(root, &values, &out);
    assert_eq!(changed_files(root), FILES.map(|f| format!("deploy/{f}")));
    git(root, &["commit", "-qam", "rolled"]);

    // Nothing moved: nothing rolled, no file rewritten.
    let out = run(root, &["rollout"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains("Nothing to roll (2 paused, 1 waiting)."),
        "{out}"
    );
    assert!(changed_files(root).is_empty());
    let out = run(root, &["rollout", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let skipped: Vec<(&str, &str, &str)> = v["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
                s["from"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("site", "waiting", "demo/site:latest"),
            ("frozen", "paused", "demo/app:2.0"),
            ("debug", "paused", "demo/app:2.0")
        ],
        "{out}"
    );
    assert_eq!(v["rollouts"], serde_json::json!([]), "{out}");

    // 2.0 moves upstream: the scheduled sync imports it and rolls its followers only; `local`
    // was imported from the same tag but is not scheduled, so it stays.
    let moved = reg.pusher().image("demo/app", "2.0", "amd64", "two-moved");
    let out = run_at(root, "2026-01-01T00:15:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains("Rolled 6 containers in 3 files (2 paused, 1 waiting)."),
        "{out}"
    );
    values.insert("APP_2_0", moved.digest.clone());
    assert_rolled(root, &values, &out);
    assert_eq!(
        changed_files(root),
        [
            "deploy/app-list.json",
            "deploy/crlf.yaml",
            "deploy/workloads.yaml"
        ]
    );

    // An explicit import of `local` moves the Local followers, through the integrated registry.
    let out = run_at(root, "2026-01-01T00:20:00Z", &["import", "demo/app:local"]);
    assert_eq!(out.code, 0, "{out}");
    values.insert("APP_LOCAL", moved.digest.clone());
    assert_rolled(root, &values, &out);
    assert!(
        out.stdout.contains(&format!(
            "~ roll deploy/workloads.yaml Job demo/migrate container migrate: image-registry.openshift-image-registry.svc:5000/demo/app@{} → image-registry.openshift-image-registry.svc:5000/demo/app@{}",
            two.digest, moved.digest
        )),
        "{out}"
    );
}

#[test]
fn a_tag_whose_import_failed_waits_and_its_followers_keep_their_bytes() {
    let (reg, _, _, _) = registry();
    let host = reg.host();
    let dir = repository(&host);
    let root = dir.path();
    // `missing` names a tag the registry does not have.
    let defs = root.join("definitions/demo/app.yaml");
    let text = read(&defs)
        + &format!(
            "  - name: missing\n    from: {{kind: DockerImage, name: {host}/demo/app:nope}}\n    importPolicy: {{insecure: true}}\n"
        );
    std::fs::write(&defs, text).unwrap();
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: waiting\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:missing\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n";
    std::fs::write(root.join("deploy/waiting.yaml"), manifest).unwrap();
    assert_eq!(run(root, &["validate"]).code, 0);

    let out = run(root, &["apply", "--auto-approve"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains(
            "  waiting deploy/waiting.yaml Deployment demo/waiting container web (follows demo/app:missing)"
        ),
        "{out}"
    );
    assert_eq!(read(&root.join("deploy/waiting.yaml")), manifest);
    // The other imports succeeded, and their followers rolled.
    assert!(
        out.stderr
            .contains("Rolled 12 containers in 4 files (2 paused, 2 waiting)."),
        "{out}"
    );
    let out = run(root, &["rollout", "--dry-run"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("  waiting deploy/waiting.yaml"),
        "{out}"
    );
}

/// OpenShift's nodejs-postgresql-example template as `oc process -o json` prints it, rolled
/// against the sample library's own `openshift/postgresql` stream (its file as published,
/// pointed at this run's registry): the DeploymentConfig follows `postgresql:12-el8` by the
/// integrated registry (the stream's tags are `Local`), the Deployment waits for its build.
#[test]
fn a_processed_sample_template_rolls_against_the_sample_librarys_own_stream() {
    let reg = Registry::start(Variant::Plain);
    let host = reg.host();
    let p = reg.pusher();
    let corpus = read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/postgresql-rhel.json"),
    );
    // Every repository the stream imports from, pushed under its own path.
    let mut pushed = BTreeMap::new();
    for (at, _) in corpus.match_indices("registry.redhat.io/") {
        let rest = &corpus[at + "registry.redhat.io/".len()..];
        let spec = &rest[..rest.find('"').unwrap()];
        let (repo, tag) = spec.split_once(':').unwrap();
        pushed
            .entry(spec.to_owned())
            .or_insert_with(|| p.image(repo, tag, "amd64", spec).digest);
    }
    assert_eq!(pushed.len(), 7);
    let definition = corpus.replace("registry.redhat.io", &host).replacen(
        "\"openshift.io/display-name\": \"PostgreSQL\"",
        "\"openshift.io/display-name\": \"PostgreSQL\", \"openshift.io/image.insecureRepository\": \"true\"",
        1,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(
        root.join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n\n[cluster]\ninternal_registry = \"image-registry.openshift-image-registry.svc:5000\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("definitions/openshift")).unwrap();
    std::fs::write(
        root.join("definitions/openshift/postgresql.json"),
        definition,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    let template = read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rollout/nodejs-postgresql.json"),
    );
    std::fs::write(root.join("app/nodejs-postgresql.json"), &template).unwrap();

    let out = run(root, &["validate"]);
    assert_eq!(out.code, 0, "{out}");
    let out = run(root, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
    let digest = &pushed["rhel8/postgresql-12:latest"];
    let after =
        format!("image-registry.openshift-image-registry.svc:5000/openshift/postgresql@{digest}");
    assert!(
        out.stdout.contains(&format!(
            "~ roll app/nodejs-postgresql.json DeploymentConfig default/postgresql container postgresql: (no image) → {after}\n"
        )) && out.stdout.contains(
            "  waiting app/nodejs-postgresql.json Deployment default/nodejs-postgresql-example container nodejs-postgresql-example (follows default/nodejs-postgresql-example:latest)"
        ),
        "{out}"
    );
    // Only that value changed: added after the container's last key, in the file's layout.
    let ports = "                                        \"containerPort\": 5432\n                                    }\n                                ]\n";
    let expected = template.replacen(
        ports,
        &format!(
            "{}],\n                                \"image\": \"{after}\"\n",
            ports.trim_end_matches("]\n")
        ),
        1,
    );
    assert_eq!(read(&root.join("app/nodejs-postgresql.json")), expected);
    // Rolled: the next apply has nothing to do.
    let out = run(root, &["rollout"]);
    assert!(out.stderr.contains("Nothing to roll (1 waiting)."), "{out}");
}

/// A Deployment following `openshift/httpd:latest` and a DeploymentConfig following
/// `openshift/nodejs:22` (written without `kind`, as OpenShift defaults it), streams the
/// cluster's samples provide and no definition names.
const EXTERNAL: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: httpd
  namespace: demo
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"httpd:latest","namespace":"openshift"},"fieldPath":"spec.template.spec.containers[0].image"}]'
spec:
  template:
    spec:
      containers:
      - name: httpd
        image: image-registry.openshift-image-registry.svc:5000/openshift/httpd:latest
---
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: node
  namespace: demo
spec:
  triggers:
  - type: ImageChange
    imageChangeParams:
      automatic: true
      containerNames: [node]
      from: {name: "nodejs:22", namespace: openshift}
  template:
    spec:
      containers:
      - name: node
        image: " "
"#;

/// The first harm of issue 21: a trigger on a stream the repository does not manage is
/// skipped as external, and stops neither the import nor the other roll-outs.
#[test]
fn a_trigger_on_a_cluster_stream_is_external_and_the_import_lands() {
    let (reg, one, two, mysql) = registry();
    let host = reg.host();
    let dir = repository(&host);
    let root = dir.path();
    std::fs::write(root.join("deploy/external.yaml"), EXTERNAL).unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "cluster streams"]);

    let out = run(root, &["validate"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stderr.contains("deploy/external.yaml"), "{out}");

    let external = [
        "  external deploy/external.yaml Deployment demo/httpd container httpd (follows openshift/httpd:latest)\n",
        "  external deploy/external.yaml DeploymentConfig demo/node container node (follows openshift/nodejs:22)\n",
    ];
    // With `--refresh` the plan knows the images the imports bring, so it has roll-outs.
    let out = run(root, &["plan", "--refresh"]);
    assert_eq!(out.code, 0, "{out}");
    for line in external {
        assert!(out.stdout.contains(line), "{out}");
    }
    let out = run(root, &["plan", "--refresh", "--format", "markdown"]);
    assert_eq!(out.code, 0, "{out}");
    for line in external {
        assert!(out.stdout.contains(line), "{out}");
    }
    let out = run(root, &["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let v = out.json();
    let skipped: Vec<(&str, &str)> = v["rollouts_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"] == "external")
        .map(|s| (s["name"].as_str().unwrap(), s["from"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("httpd", "openshift/httpd:latest"),
            ("node", "openshift/nodejs:22")
        ],
        "{out}"
    );
    // `unmanaged` keeps its meaning: streams of the state no definition names.
    assert_eq!(v["unmanaged"], serde_json::json!([]), "{out}");

    let out = run(root, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains("Rolled 12 containers in 4 files (2 paused, 1 waiting, 2 external)."),
        "{out}"
    );
    let values = BTreeMap::from([
        ("REGISTRY", host.clone()),
        ("APP_1_0", one.digest.clone()),
        ("APP_2_0", two.digest.clone()),
        ("APP_LOCAL", two.digest.clone()),
        ("MYSQL", mysql.digest.clone()),
    ]);
    assert_rolled(root, &values, &out);
    assert!(read(&root.join("state/demo/app.yaml")).contains(&one.digest));
    assert_eq!(read(&root.join("deploy/external.yaml")), EXTERNAL);
}

/// The second harm of issue 21: a manifest that cannot be read and a trigger naming a tag
/// the definitions do not have stop no import. `apply`, `sync --commit` and `import` import,
/// roll every other manifest, then print the errors and exit 1.
#[test]
fn a_broken_manifest_stops_no_import_and_no_other_rollout() {
    let (reg, one, two, mysql) = registry();
    let host = reg.host();
    let broken = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  annotations:\n    image.openshift.io/triggers: '[]'\nspec: [unclosed\n";
    let typo = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typo\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:1.1\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: old\n";
    let values = BTreeMap::from([
        ("REGISTRY", host.clone()),
        ("APP_1_0", one.digest.clone()),
        ("APP_2_0", two.digest.clone()),
        ("APP_LOCAL", two.digest.clone()),
        ("MYSQL", mysql.digest.clone()),
    ]);
    let errors_shown = |out: &Out| {
        assert_eq!(out.code, 1, "{out}");
        assert!(
            out.stderr.contains("deploy/broken.yaml:7:")
                && out.stderr.contains("cannot read this manifest")
                && out.stderr.contains(
                    "deploy/typo.yaml:7:100: error: Deployment `typo` follows `demo/app:1.1`, but stream `demo/app` has no tag `1.1`"
                )
                && out.stderr.contains("hint: did you mean `app:1.0`?"),
            "{out}"
        );
    };
    let setup = || {
        let dir = repository(&host);
        std::fs::write(dir.path().join("deploy/broken.yaml"), broken).unwrap();
        std::fs::write(dir.path().join("deploy/typo.yaml"), typo).unwrap();
        git(dir.path(), &["add", "."]);
        git(dir.path(), &["commit", "-qm", "broken manifests"]);
        dir
    };

    // validate fails; plan still plans, and shows the errors.
    let dir = setup();
    let out = run(dir.path(), &["validate"]);
    errors_shown(&out);
    let out = run(dir.path(), &["plan", "--format", "markdown"]);
    errors_shown(&out);
    assert!(
        out.stdout.contains("4 to import")
            && out
                .stdout
                .contains("> [!CAUTION]\n> The workload manifests have 2 errors")
            && out
                .stdout
                .contains("> - `deploy/typo.yaml:7:100` error: Deployment"),
        "{out}"
    );

    for args in [
        &["apply", "--auto-approve"][..],
        &["sync", "--once", "--commit"],
    ] {
        let dir = setup();
        let root = dir.path();
        let out = run(root, args);
        errors_shown(&out);
        assert!(
            read(&root.join("state/demo/app.yaml")).contains(&one.digest),
            "{args:?}: {out}"
        );
        assert_rolled(root, &values, &out);
        assert_eq!(read(&root.join("deploy/typo.yaml")), typo);
        if args[0] == "sync" {
            // One commit holds the import and the roll-outs; nothing is left uncommitted.
            let files = git(root, &["show", "--name-only", "--format=", "HEAD"]);
            assert!(
                files.contains("state/demo/app.yaml") && files.contains("deploy/workloads.yaml"),
                "{files}\n{out}"
            );
            assert_eq!(git(root, &["status", "--porcelain"]), "", "{out}");
        }
    }

    let dir = setup();
    let root = dir.path();
    let out = run(root, &["import", "demo/app:1.0"]);
    errors_shown(&out);
    assert!(read(&root.join("state/demo/app.yaml")).contains(&one.digest));
    assert!(
        read(&root.join("deploy/workloads.yaml"))
            .contains(&format!("{host}/demo/app@{}", one.digest)),
        "{out}"
    );
}
