//! `init --from`: adopting what a cluster holds. The export is shaped as `oc get is -A -o yaml`
//! prints it from a real cluster (server metadata, managedFields, defaulted fields, status with
//! history), over images pushed to the real registry, so a refresh asks it for real.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::Value;

use crate::cli::{self, bin};
use crate::harness::{Pusher, Registry, Variant};

use crate::support::{LOCAL_REGISTRY_CONFIG as CONFIG, Tag, TestRepo, stream};

/// The export: `team/app` (`1.0` scheduled with two history items, `latest` tracking it,
/// `old` by reference) and `tools/cli` (one tag, a failed-import condition kept).
fn export(host: &str, new: &str, old: &str, cli_digest: &str) -> String {
    // A literal: the test is about adopting this exact shape (server fields, status, a List).
    format!(
        r#"apiVersion: v1
items:
- apiVersion: image.openshift.io/v1
  kind: ImageStream
  metadata:
    annotations:
      openshift.io/display-name: App
      openshift.io/image.dockerRepositoryCheck: "2025-12-01T10:00:00Z"
      kubectl.kubernetes.io/last-applied-configuration: |
        {{"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{{"name":"app","namespace":"team"}}}}
    creationTimestamp: "2025-11-01T09:00:00Z"
    generation: 4
    labels:
      app: app
    managedFields:
    - apiVersion: image.openshift.io/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:annotations:
            .: {{}}
            f:openshift.io/display-name: {{}}
        f:spec:
          f:lookupPolicy:
            .: {{}}
            f:local: {{}}
      manager: oc
      operation: Update
      time: "2025-11-01T09:00:00Z"
    name: app
    namespace: team
    resourceVersion: "481516"
    uid: 7f0c2f4e-2b1d-4a43-9c6e-0f7e1d2c3b4a
  spec:
    lookupPolicy:
      local: false
    tags:
    - annotations:
        description: The 1.0 series
      from:
        kind: DockerImage
        name: {host}/team/app:1.0
      generation: 4
      importPolicy:
        importMode: Legacy
        insecure: true
        scheduled: true
      name: "1.0"
      referencePolicy:
        type: Source
    - annotations: null
      from:
        kind: ImageStreamTag
        name: "1.0"
      generation: 2
      importPolicy:
        importMode: Legacy
      name: latest
      referencePolicy:
        type: Local
    - annotations: null
      from:
        kind: DockerImage
        name: {host}/team/app:0.9
      generation: 3
      importPolicy:
        importMode: Legacy
      name: old
      reference: true
      referencePolicy:
        type: Source
  status:
    dockerImageRepository: image-registry.openshift-image-registry.svc:5000/team/app
    publicDockerImageRepository: default-route-openshift-image-registry.apps.example.com/team/app
    tags:
    - items:
      - created: "2025-12-01T10:00:00Z"
        dockerImageReference: {host}/team/app@{new}
        generation: 4
        image: {new}
      - created: "2025-11-01T09:00:00Z"
        dockerImageReference: {host}/team/app@{old}
        generation: 2
        image: {old}
      tag: "1.0"
    - items:
      - created: "2025-12-01T10:00:00Z"
        dockerImageReference: {host}/team/app@{new}
        generation: 2
        image: {new}
      tag: latest
    - items:
      - created: "2025-11-15T09:00:00Z"
        dockerImageReference: {host}/team/app:0.9
        generation: 3
        image: ""
      tag: old
- apiVersion: image.openshift.io/v1
  kind: ImageStream
  metadata:
    annotations:
      openshift.io/image.dockerRepositoryCheck: "2025-12-01T10:00:00Z"
    creationTimestamp: "2025-10-01T09:00:00Z"
    generation: 1
    name: cli
    namespace: tools
    resourceVersion: "2342"
    uid: 1a2b3c4d-0000-4000-8000-000000000001
  spec:
    lookupPolicy:
      local: true
    tags:
    - annotations: null
      from:
        kind: DockerImage
        name: {host}/tools/cli:2
      generation: 1
      importPolicy:
        importMode: Legacy
        insecure: true
      name: "2"
      referencePolicy:
        type: Source
  status:
    dockerImageRepository: image-registry.openshift-image-registry.svc:5000/tools/cli
    tags:
    - conditions:
      - generation: 1
        lastTransitionTime: "2025-12-02T10:00:00Z"
        message: "Internal error occurred: timed out"
        reason: InternalError
        status: "False"
        type: ImportSuccess
      items:
      - created: "2025-10-01T09:00:00Z"
        dockerImageReference: {host}/tools/cli@{cli_digest}
        generation: 1
        image: {cli_digest}
      tag: "2"
kind: List
metadata:
  resourceVersion: ""
"#
    )
}

fn history(root: &std::path::Path, stream: &str, tag: &str) -> Vec<String> {
    let s = cli::run(root, &["get", "stream", stream, "-o", "json"]).json();
    s["status"]["tags"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["tag"] == tag))
        .and_then(|t| t["items"].as_array())
        .map(|items| {
            items
                .iter()
                .map(|i| i["image"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A registry holding what the exported cluster imported: `team/app:1.0` twice (its older
/// image, then the one the tag holds now) and `tools/cli:2`; their digests.
fn cluster_images() -> (Registry, String, String, String) {
    let reg = Registry::start(Variant::Plain);
    let pusher = Pusher::plain(&reg.host());
    let old = pusher.image("team/app", "1.0", "amd64", "old").digest;
    let new = pusher.image("team/app", "1.0", "amd64", "new").digest;
    let cli_digest = pusher.image("tools/cli", "2", "amd64", "two").digest;
    (reg, old, new, cli_digest)
}

#[test]
fn adopting_an_export_plans_no_changes_and_reimports_nothing() {
    let (reg, old, new, cli_digest) = cluster_images();
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("streamsync.toml"), CONFIG).unwrap();
    let file = root.join("export.yaml");
    std::fs::write(&file, export(&host, &new, &old, &cli_digest)).unwrap();

    let file = file.to_str().unwrap();
    let out = cli::run(root, &["init", "--from", file]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("adopted team/app (4 history items)"),
        "{out}"
    );
    assert!(
        out.stderr.contains("adopted tools/cli (1 history item)"),
        "{out}"
    );
    // One clean file per stream: only what a person writes.
    let app = std::fs::read_to_string(root.join("definitions/team/app.yaml")).unwrap();
    for gone in [
        "status",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "dockerRepositoryCheck",
        "last-applied-configuration",
        "lookupPolicy",
        "importMode",
        "type: Source",
        "annotations: null",
        "dockerImageRepository",
    ] {
        assert!(!app.contains(gone), "{gone} in\n{app}");
    }
    for kept in [
        "openshift.io/display-name: App",
        "scheduled: true",
        "insecure: true",
        "type: Local",
        "reference: true",
        "app: app",
    ] {
        assert!(app.contains(kept), "{kept} missing in\n{app}");
    }
    let cli_def = std::fs::read_to_string(root.join("definitions/tools/cli.yaml")).unwrap();
    assert!(cli_def.contains("local: true"), "{cli_def}");
    assert!(!root.join("definitions/default/example.yaml").exists());
    let valid = cli::run(root, &["validate"]);
    assert_eq!(valid.code, 0, "{valid}");

    // The failed import of tools/cli:2 stays pending, as on the cluster; team/app is settled.
    let plan = cli::run(root, &["plan", "--detailed-exitcode", "--format", "json"]);
    let json = plan.json();
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{plan}");
    assert_eq!(changes[0]["stream"], "cli", "{plan}");
    assert!(
        changes[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("retry: InternalError"),
        "{plan}"
    );
    assert_eq!(history(root, "team/app", "1.0"), [new.clone(), old.clone()]);
    assert_eq!(
        history(root, "tools/cli", "2"),
        std::slice::from_ref(&cli_digest)
    );

    // Asked for real, the registry still holds what the cluster imported: no move.
    let refreshed = cli::run(root, &["plan", "--refresh", "--format", "json"]);
    assert_eq!(refreshed.code, 0, "{refreshed}");
    let refreshed_json = refreshed.json();
    let moved: Vec<&Value> = refreshed_json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["stream"] == "app")
        .collect();
    assert!(moved.is_empty(), "{refreshed}");

    // A sync keeps every history item; the scheduled re-import finds the same image.
    let sync = cli::run(root, &["sync", "--once"]);
    assert_eq!(sync.code, 0, "{sync}");
    assert_eq!(history(root, "team/app", "1.0"), [new.clone(), old.clone()]);
    // Quiet when nothing moved: one summary line; -v brings the detail back; -q only errors.
    let still = cli::run(root, &["sync", "--once"]);
    assert_eq!(still.code, 0, "{still}");
    assert_eq!(still.stdout, "", "{still}");
    assert_eq!(still.stderr.lines().count(), 1, "{still}");
    assert!(
        still
            .stderr
            .starts_with("sync: nothing moved; 1 tag checked, 1 request ("),
        "{still}"
    );
    let verbose = cli::run(root, &["sync", "--once", "-v"]);
    assert!(
        verbose.stdout.contains("import team/app:1.0: done"),
        "{verbose}"
    );
    assert!(verbose.stdout.contains("Apply complete"), "{verbose}");
    let quiet = cli::run(root, &["sync", "--once", "-q"]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", "")
    );
    let after = cli::run(root, &["plan", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{after}");
    assert!(after.stdout.contains("No changes"), "{after}");

    // Retargeting `latest` from `1.0` to another stream's tag shows the image it moves from
    // and to, in every format.
    let retargeted = stream("app")
        .label("app", "app")
        .annotation("openshift.io/display-name", "App")
        .tag(
            Tag::image("1.0", &format!("{host}/team/app:1.0"))
                .field("annotations", "{description: The 1.0 series}")
                .insecure()
                .scheduled(),
        )
        .tag(
            Tag::tracking("latest", "cli:2")
                .in_namespace("tools")
                .reference_policy("Local"),
        )
        .tag(Tag::image("old", &format!("{host}/team/app:0.9")).reference())
        .to_yaml();
    let app_path = root.join("definitions/team/app.yaml");
    let adopted_text = std::fs::read_to_string(&app_path).unwrap();
    std::fs::write(&app_path, retargeted).unwrap();
    let json = cli::run(root, &["plan", "--format", "json"]).json();
    assert_eq!(json["format_version"], "1.2");
    let change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tag"] == "latest")
        .cloned()
        .unwrap();
    assert_eq!(change["action"], "update_tag", "{change}");
    assert_eq!(change["image_before"], new.as_str(), "{change}");
    assert_eq!(change["image_after"], cli_digest.as_str(), "{change}");
    let short = |d: &str| format!("sha256:{}…", &d["sha256:".len().."sha256:".len() + 12]);
    let moved = format!("image: {} → {}", short(&new), short(&cli_digest));
    let text = cli::run(root, &["plan"]);
    assert!(text.stdout.contains(&moved), "{text}");
    // Each change once: the field list, and the unified diff only with --diff.
    assert!(
        text.stdout.contains("from.name: \"1.0\" → \"cli:2\""),
        "{text}"
    );
    assert!(!text.stdout.contains("+++ team/app (planned)"), "{text}");
    let diff = cli::run(root, &["plan", "--diff"]);
    assert!(diff.stdout.contains("+++ team/app (planned)"), "{diff}");
    let markdown = cli::run(root, &["plan", "--format", "markdown"]);
    assert!(markdown.stdout.contains(&moved), "{markdown}");
    std::fs::write(&app_path, adopted_text).unwrap();

    // Adopting again: the streams have definitions; nothing is written, both are named.
    let before = std::fs::read_to_string(root.join("state/team/app.yaml")).unwrap();
    let again = cli::run(root, &["init", "--from", file]);
    assert_eq!(again.code, 1, "{again}");
    assert!(again.stderr.contains("team/app, tools/cli"), "{again}");
    assert_eq!(
        std::fs::read_to_string(root.join("state/team/app.yaml")).unwrap(),
        before
    );
}

#[test]
fn adopting_json_from_standard_input_after_init() {
    let (reg, old, new, cli_digest) = cluster_images();
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = cli::run(root, &["init", "--namespace", "team"]);
    assert_eq!(out.code, 0, "{out}");
    // `init` wrote a config with every key commented; allow the test registry.
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join("streamsync.toml"))
        .unwrap();
    config.write_all(CONFIG.as_bytes()).unwrap();
    let yaml: Value = serde_saphyr::from_str(&export(&host, &new, &old, &cli_digest)).unwrap();
    let json = serde_json::to_string_pretty(&yaml).unwrap();
    let mut child = bin()
        .arg("-C")
        .arg(root)
        .args(["init", "--from", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Existing files are kept; the example stays beside the adopted streams.
    assert!(root.join("definitions/team/example.yaml").exists());
    assert!(root.join("definitions/team/app.yaml").exists());
    let plan = cli::run(root, &["plan", "--format", "json"]);
    let streams: Vec<String> = plan.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["namespace"].as_str().unwrap(),
                c["stream"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!streams.iter().any(|s| s == "team/app"), "{plan}");
    assert_eq!(history(root, "team/app", "1.0"), [new, old]);
}

/// `import NAME:TAG --from SPEC --confirm` writes the tag and imports it (`oc import-image
/// --confirm`); a hint repeats the user's own flags.
#[test]
fn import_from_confirm_writes_the_tag_and_imports_it() {
    let reg = Registry::start(Variant::Plain);
    let host = reg.host();
    let pusher = Pusher::plain(&host);
    let pushed = pusher.image("team/web", "1.0", "amd64", "one").digest;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("streamsync.toml"), CONFIG).unwrap();
    std::fs::create_dir_all(root.join("definitions")).unwrap();
    let spec = format!("{host}/team/web:1.0");

    // Without --confirm: exit 1, nothing written, and the hint keeps --insecure and --scheduled.
    let out = cli::run(
        root,
        &[
            "import",
            "team/web:1.0",
            "--from",
            &spec,
            "--insecure",
            "--scheduled",
        ],
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "hint: streamsync import team/web:1.0 --from {spec} --scheduled --insecure --confirm"
        )),
        "{out}"
    );
    assert!(!root.join("definitions/team/web.yaml").exists());

    // Pipes never get a prompt: written and imported at once.
    let out = cli::run(
        root,
        &[
            "import",
            "team/web:1.0",
            "--from",
            &spec,
            "--insecure",
            "--confirm",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let def = std::fs::read_to_string(root.join("definitions/team/web.yaml")).unwrap();
    assert!(def.contains(&format!("name: {spec}")), "{def}");
    assert!(out.stderr.contains("imported 1 tag (1 new image)"), "{out}");
    assert_eq!(
        history(root, "team/web", "1.0"),
        std::slice::from_ref(&pushed)
    );
    let plan = cli::run(root, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan}");

    // A second tag of the stream, with --auto-approve.
    pusher.image("team/web", "2.0", "amd64", "two");
    let out = cli::run(
        root,
        &[
            "import",
            "team/web:2.0",
            "--from",
            &format!("{host}/team/web:2.0"),
            "--insecure",
            "--auto-approve",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(history(root, "team/web", "2.0").len(), 1, "{out}");
    assert_eq!(history(root, "team/web", "1.0"), [pushed]);
}

/// HTTPS answered by a plain-HTTP registry says how to allow it, at once (no retries).
#[test]
fn https_to_a_plain_http_registry_hints_at_insecure() {
    let reg = Registry::start(Variant::Plain);
    let host = reg.host();
    Pusher::plain(&host).image("team/web", "1.0", "amd64", "one");
    let repo = TestRepo::new();
    repo.define(
        "team",
        &stream("web").tag(Tag::image("1.0", &format!("{host}/team/web:1.0"))),
    );
    let out = repo.run(&["apply", "--auto-approve"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stdout.contains("InvalidContentType"), "{out}");
    assert!(
        out.stdout.contains(&format!(
            "hint: {host} answers plain HTTP, not HTTPS: set `importPolicy.insecure: true` on the tag"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("[registry] insecure_allowed"), "{out}");
}
