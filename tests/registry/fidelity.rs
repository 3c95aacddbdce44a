//! OpenShift fidelity end to end: the sample library's ImageStream files and the project's own
//! demo definitions, pointed at the real test registry, applied through the binary. Every
//! `DockerImage` tag must hold its digest, every tag that takes its image from another (short
//! and long `ImageStreamTag` and `ImageStreamImage` forms, in one stream or across streams)
//! its source's image, and every state object the openshift/api shape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::run;
use crate::harness::{Registry, Variant};

fn json(root: &Path, args: &[&str]) -> Value {
    let out = run(root, args);
    assert_eq!(out.code, 0, "{args:?}: {out}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn crate_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

use crate::support::{LOCAL_REGISTRY_CONFIG as CONFIG, Tag};

/// Push one small image for every distinct `host/...:tag` pull spec in `texts`.
fn push_all(reg: &Registry, texts: &[&str]) -> BTreeMap<String, String> {
    let host = reg.host();
    let re = regex::Regex::new(&format!(
        r"{}/([a-z0-9._/-]+):([A-Za-z0-9._-]+)",
        regex::escape(&host)
    ))
    .expect("regex");
    let specs: BTreeSet<(String, String)> = texts
        .iter()
        .flat_map(|t| {
            re.captures_iter(t)
                .map(|c| (c[1].to_owned(), c[2].to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let pusher = reg.pusher();
    specs
        .into_iter()
        .map(|(repo, tag)| {
            let pushed = pusher.image(&repo, &tag, "amd64", &format!("{repo}:{tag}"));
            (format!("{host}/{repo}:{tag}"), pushed.digest)
        })
        .collect()
}

/// The live stream `ns/name` as JSON.
fn stream(root: &Path, key: &str) -> Value {
    json(root, &["get", "stream", key, "-o", "json"])
}

fn head(stream: &Value, tag: &str) -> Option<(String, String)> {
    let list = stream["status"]["tags"].as_array()?;
    let item = &list.iter().find(|t| t["tag"] == tag)?["items"][0];
    Some((
        item["dockerImageReference"].as_str()?.to_owned(),
        item["image"].as_str()?.to_owned(),
    ))
}

/// Check every spec tag of `key` against its source: a DockerImage tag holds the pushed
/// digest, a tag from another tag or image holds that one's head. Returns the tags checked.
fn check_stream(root: &Path, key: &str, pushed: &BTreeMap<String, String>) -> usize {
    let (ns, name) = key.split_once('/').expect("ns/name");
    let s = stream(root, key);
    let tags = s["spec"]["tags"].as_array().cloned().unwrap_or_default();
    for t in &tags {
        let tname = t["name"].as_str().unwrap();
        let from = &t["from"];
        let (reference, image) =
            head(&s, tname).unwrap_or_else(|| panic!("{key}:{tname} has no image: {s}"));
        match from["kind"].as_str().unwrap() {
            "DockerImage" if t["reference"] == true => {
                assert_eq!(reference, from["name"].as_str().unwrap(), "{key}:{tname}");
            }
            "DockerImage" => {
                let digest = &pushed[from["name"].as_str().unwrap()];
                assert_eq!(&image, digest, "{key}:{tname}");
                assert!(reference.ends_with(&format!("@{digest}")), "{reference}");
            }
            "ImageStreamTag" => {
                let src = from["name"].as_str().unwrap();
                let (stream_name, src_tag) = src.split_once(':').unwrap_or((name, src));
                let src_ns = from["namespace"].as_str().unwrap_or(ns);
                let source = stream(root, &format!("{src_ns}/{stream_name}"));
                assert_eq!(
                    head(&source, src_tag),
                    Some((reference.clone(), image.clone())),
                    "{key}:{tname} follows {src}"
                );
            }
            "ImageStreamImage" => {
                let id = from["name"].as_str().unwrap();
                let id = id.split_once('@').map_or(id, |(_, i)| i);
                let hex = image.trim_start_matches("sha256:");
                assert!(
                    image.starts_with(id) || hex.starts_with(id),
                    "{key}:{tname} pins {id}, holds {image}"
                );
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    tags.len()
}

/// Every Image file: openshift/api `Image` with a docker10 `DockerImage`.
fn check_image_files(root: &Path) -> usize {
    let dir = root.join("state/images/sha256");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("images").flatten() {
        let text = std::fs::read_to_string(e.path()).expect("read");
        let v: Value = serde_saphyr::from_str(&text).expect("image YAML");
        assert_eq!(v["apiVersion"], "image.openshift.io/v1", "{text}");
        assert_eq!(v["kind"], "Image", "{text}");
        assert_eq!(v["dockerImageMetadataVersion"], "1.0", "{text}");
        let m = &v["dockerImageMetadata"];
        assert_eq!(
            (&m["kind"], &m["apiVersion"]),
            (&"DockerImage".into(), &"1.0".into())
        );
        assert!(
            m["Id"].as_str().is_some_and(|id| id.starts_with("sha256:")),
            "{text}"
        );
        assert_eq!(
            m["Config"]["ExposedPorts"]["8080/tcp"],
            serde_json::json!({}),
            "{text}"
        );
        assert_eq!(
            v["metadata"]["annotations"]["image.openshift.io/dockerLayersOrder"],
            "ascending"
        );
        let allowed = [
            "apiVersion",
            "kind",
            "metadata",
            "dockerImageReference",
            "dockerImageMetadata",
            "dockerImageMetadataVersion",
            "dockerImageLayers",
            "dockerImageManifestMediaType",
            "dockerImageManifests",
        ];
        for k in v.as_object().unwrap().keys() {
            assert!(
                allowed.contains(&k.as_str()),
                "field {k} is not openshift/api's"
            );
        }
        n += 1;
    }
    n
}

#[test]
fn the_sample_library_applies_with_every_tracking_tag_holding_its_source() {
    let reg = Registry::start(Variant::Plain);
    let host = reg.host();
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path();
    std::fs::write(root.join("streamsync.toml"), CONFIG).unwrap();
    let defs = root.join("definitions/openshift");
    std::fs::create_dir_all(&defs).unwrap();
    let mut texts = Vec::new();
    for f in ["httpd-rhel", "nodejs-rhel", "postgresql-rhel", "ruby-rhel"] {
        let text = std::fs::read_to_string(crate_path(&format!("tests/fixtures/corpus/{f}.json")))
            .expect("corpus file");
        let mut v: Value = serde_json::from_str(&text).expect("corpus JSON");
        // Plain HTTP to the test registry needs the stream to ask for it.
        v["metadata"]["annotations"]["openshift.io/image.insecureRepository"] = "true".into();
        let text = serde_json::to_string_pretty(&v)
            .unwrap()
            .replace("registry.redhat.io/", &format!("{host}/"));
        std::fs::write(defs.join(format!("{f}.json")), &text).unwrap();
        texts.push(text);
    }
    // Another stream whose tags come from the sample streams, in both long forms, sorting
    // before them (so it is applied first) and chaining through `ruby:latest` → `3.3-ubi9`.
    let extra = crate::support::stream("aaa-builders")
        .tag(Tag::tracking("ruby", "ruby:latest"))
        .tag(Tag::tracking("httpd", "httpd:2.4-ubi9").in_namespace("openshift"))
        .tag(Tag::tracking("current", "ruby"));
    std::fs::write(defs.join("aaa-builders.yaml"), extra.to_yaml()).unwrap();
    let pushed = push_all(&reg, &texts.iter().map(String::as_str).collect::<Vec<_>>());

    let validate = run(root, &["validate"]);
    assert_eq!(validate.code, 0, "{validate}");
    let apply = run(root, &["apply"]);
    assert_eq!(apply.code, 0, "{apply}");
    let mut checked = 0;
    for s in ["httpd", "nodejs", "postgresql", "ruby", "aaa-builders"] {
        checked += check_stream(root, &format!("openshift/{s}"), &pushed);
    }
    assert_eq!(checked, 5 + 10 + 8 + 8 + 3);
    assert_eq!(
        check_image_files(root),
        pushed.values().collect::<BTreeSet<_>>().len()
    );
    let plan = run(root, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "plan after apply is not empty:\n{plan}");

    // `latest` is Local; without [cluster] it resolves to the imported pull spec by digest.
    let ist = json(root, &["get", "tag", "openshift/ruby:latest", "-o", "json"]);
    let digest = &pushed[&format!("{host}/ubi9/ruby-33:latest")];
    assert_eq!(ist["kind"], "ImageStreamTag");
    assert_eq!(ist["image"]["metadata"]["name"], digest.as_str());
    assert_eq!(
        ist["image"]["dockerImageReference"],
        format!("{host}/ubi9/ruby-33@{digest}")
    );
    // With an integrated registry, into it.
    std::fs::write(
        root.join("streamsync.toml"),
        format!("{CONFIG}[cluster]\ninternal_registry = \"image-registry.openshift-image-registry.svc:5000\"\n"),
    )
    .unwrap();
    let ist = json(root, &["get", "tag", "openshift/ruby:latest", "-o", "json"]);
    assert_eq!(
        ist["image"]["dockerImageReference"],
        format!("image-registry.openshift-image-registry.svc:5000/openshift/ruby@{digest}")
    );

    // `import` follows `latest` to the tag it tracks and re-imports that.
    let import = run(root, &["import", "openshift/ruby:latest"]);
    assert_eq!(import.code, 0, "{import}");
    assert!(
        import.stderr.contains("3.3-ubi9") || import.stdout.contains("3.3-ubi9"),
        "{import}"
    );

    // Short and long ImageStreamImage forms pin an image of the stream.
    let hex = digest.trim_start_matches("sha256:");
    let pins = extra.tag(
        Tag::pinned("pinned-short", &format!("ruby@{}", &hex[..12])).in_namespace("openshift"),
    );
    std::fs::write(defs.join("aaa-builders.yaml"), pins.to_yaml()).unwrap();
    let ruby_path = defs.join("ruby-rhel.json");
    let mut ruby: Value =
        serde_json::from_str(&std::fs::read_to_string(&ruby_path).unwrap()).unwrap();
    ruby["spec"]["tags"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "pinned", "from": {"kind": "ImageStreamImage", "name": &hex[..10]}}));
    ruby["spec"]["tags"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "pinned-digest", "from": {"kind": "ImageStreamImage", "name": digest}}));
    std::fs::write(&ruby_path, serde_json::to_string_pretty(&ruby).unwrap()).unwrap();
    let apply = run(root, &["apply"]);
    assert_eq!(apply.code, 0, "{apply}");
    assert_eq!(check_stream(root, "openshift/ruby", &pushed), 10);
    assert_eq!(check_stream(root, "openshift/aaa-builders", &pushed), 4);
    let plan = run(root, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "plan after apply is not empty:\n{plan}");
}

#[test]
fn the_demo_definitions_apply_with_no_tag_left_without_an_image() {
    let reg = Registry::start(Variant::Plain);
    let host = reg.host();
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path();
    std::fs::write(root.join("streamsync.toml"), CONFIG).unwrap();
    let defs = root.join("definitions/demo");
    std::fs::create_dir_all(&defs).unwrap();
    let mut texts = Vec::new();
    for e in std::fs::read_dir(crate_path("definitions/demo"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let text = text
            .replace("registry.access.redhat.com/", &format!("{host}/"))
            .replace("quay.io/", &format!("{host}/"))
            .replace("'docker.io/", &format!("'{host}/"))
            .replacen(
                "\n  annotations:\n",
                "\n  annotations:\n    openshift.io/image.insecureRepository: \"true\"\n",
                1,
            );
        std::fs::write(defs.join(e.file_name()), &text).unwrap();
        texts.push(text);
    }
    let pushed = push_all(&reg, &texts.iter().map(String::as_str).collect::<Vec<_>>());
    let apply = run(root, &["apply"]);
    assert_eq!(apply.code, 0, "{apply}");
    for s in ["nodejs", "python", "ruby", "tools"] {
        check_stream(root, &format!("demo/{s}"), &pushed);
    }
    let plan = run(root, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "plan after apply is not empty:\n{plan}");
    // `get stream demo/ruby` shows `latest` with 2.0's image.
    let digest = &pushed[&format!("{host}/openshift/ruby-20-centos7:latest")];
    let out = run(root, &["get", "stream", "demo/ruby"]);
    assert_eq!(out.code, 0, "{out}");
    let latest = out
        .stdout
        .split("\nlatest\n")
        .nth(1)
        .expect("a latest section");
    assert!(latest.contains(digest.as_str()), "{}", out.stdout);
    assert!(!out.stdout.contains("no image yet"), "{}", out.stdout);
}
