//! `catalog` after a real import from the real registry: the page shows what the apply
//! recorded (digest, platform, size, import time) and the failure of an import that could
//! not succeed, read from the state files as the importer wrote them.

use crate::harness::{Registry, Variant};
use crate::support::{LOCAL_REGISTRY_CONFIG, Tag, TestRepo, stream};

fn streamsync(root: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut cmd = crate::support::bin();
    let out = cmd
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .expect("run streamsync");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn catalog_shows_what_the_import_recorded() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("demo/app", "1.0", "arm64", "one");
    let host = reg.host();
    let tag = |version: &str| {
        Tag::image(version, &format!("{host}/demo/app:{version}"))
            .annotation("openshift.io/display-name", &format!("App {version}"))
            .annotation("iconClass", "icon-python")
            .annotation("tags", "builder,python")
            .annotation("version", &format!("'{version}'"))
            .insecure()
    };
    let app = stream("app")
        .annotation("openshift.io/display-name", "App")
        .tag(tag("1.0"))
        .tag(tag("2.0"));
    let repo = TestRepo::with_app(LOCAL_REGISTRY_CONFIG, &app);
    let root = repo.path();
    // 2.0 was never pushed: its import fails.
    let (_, out) = streamsync(root, &["apply"]);
    assert!(out.contains("import demo/app:1.0: done"), "{out}");
    assert!(
        out.contains("import demo/app:2.0: failed: NotFound"),
        "{out}"
    );
    let (code, out) = streamsync(root, &["catalog"]);
    assert_eq!(code, 0, "{out}");
    let html = std::fs::read_to_string(root.join("catalog/index.html")).unwrap();
    let hex = pushed.digest.strip_prefix("sha256:").unwrap();
    assert!(
        html.contains(&format!(
            "<dt>Digest</dt><dd><code>sha256:{}</code>",
            &hex[..12]
        )),
        "{html}"
    );
    assert!(
        html.contains("<dt>Platform</dt><dd>linux/arm64</dd>"),
        "{html}"
    );
    // The size the state recorded for the image.
    let text =
        std::fs::read_to_string(root.join(format!("state/images/sha256/{hex}.yaml"))).unwrap();
    let image: streamsync::model::Image = serde_saphyr::from_str(&text).unwrap();
    let size = streamsync::catalog::image::size(&image).expect("a recorded size");
    assert!(size >= pushed.layer_len as u64, "{size}");
    assert!(
        html.contains(&format!(
            "<dt>Size</dt><dd>{}</dd>",
            streamsync::catalog::html::human_size(size)
        )),
        "{html}"
    );
    assert!(
        html.contains("<dt>Last import</dt><dd>2026-01-01 00:00 UTC</dd>"),
        "{html}"
    );
    let failed = html
        .split("<dt>Import failed</dt>")
        .nth(1)
        .expect("the failed import of 2.0 is shown");
    assert!(failed.contains("NotFound"), "{failed}");
}

/// The cards of `catalog --format json` as `(stream, in_console, reason, tags)`.
fn summary(doc: &serde_json::Value) -> Vec<(String, bool, Option<String>, Vec<String>)> {
    doc["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c["namespace"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                ),
                c["in_console"].as_bool().unwrap(),
                c["reason"].as_str().map(str::to_owned),
                c["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Every file under `root` with its bytes.
fn tree(root: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// OpenShift's own sample-library streams (the corpus: httpd, nodejs, postgresql, ruby, as
/// published), imported from the real registry, through the console's rules: a card per
/// builder stream of `openshift`; tags by the name's `semver.coerce`, highest first, equal
/// versions in name order, `latest` (no version) last; the default tag's description and icon;
/// `sampleRepo` of the first tag by name. A tag whose import failed still has a status tag,
/// so it is still listed. The same streams in `demo` are a card the console does not list, and
/// a stream not applied yet has no status tag. `--format json` writes nothing.
#[test]
fn sample_library_cards_follow_the_consoles_rules() {
    use crate::cli::run;
    let reg = Registry::start(Variant::Plain);
    let host = reg.host();
    let p = reg.pusher();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(
        root.join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n",
    )
    .unwrap();
    let mut corpus = std::collections::BTreeMap::new();
    let mut pushed = std::collections::BTreeSet::new();
    for f in ["httpd", "nodejs", "postgresql", "ruby"] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/fixtures/corpus/{f}-rhel.json")),
        )
        .unwrap();
        for (at, _) in text.match_indices("registry.redhat.io/") {
            let rest = &text[at + "registry.redhat.io/".len()..];
            let spec = &rest[..rest.find('"').unwrap()];
            // Ruby 2.5 on UBI 8 is not there: its import fails.
            if spec != "ubi8/ruby-25:latest" && pushed.insert(spec.to_owned()) {
                let (repo, tag) = spec.split_once(':').unwrap();
                p.image(repo, tag, "amd64", spec);
            }
        }
        let mut v: serde_json::Value =
            serde_json::from_str(&text.replace("registry.redhat.io", &host)).unwrap();
        v["metadata"]["annotations"]["openshift.io/image.insecureRepository"] = "true".into();
        corpus.insert(f, v);
    }
    for dir in ["definitions/openshift", "definitions/demo"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for (f, v) in &corpus {
        std::fs::write(
            root.join(format!("definitions/openshift/{f}.json")),
            serde_json::to_string_pretty(v).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(
        root.join("definitions/demo/ruby.json"),
        serde_json::to_string_pretty(&corpus["ruby"]).unwrap(),
    )
    .unwrap();
    let out = run(root, &["apply", "--auto-approve"]);
    assert!(
        out.stdout
            .contains("import openshift/ruby:2.5-ubi8: failed: NotFound"),
        "{out}"
    );
    assert!(
        out.stdout.contains("import openshift/ruby:3.3-ubi9: done"),
        "{out}"
    );
    // Added after the apply: in the definitions, not in the live state.
    let mut perl = corpus["ruby"].clone();
    perl["metadata"]["name"] = "perl".into();
    std::fs::write(
        root.join("definitions/openshift/perl.json"),
        serde_json::to_string_pretty(&perl).unwrap(),
    )
    .unwrap();

    let before = tree(root);
    let out = run(root, &["catalog", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(tree(root), before, "catalog --format json wrote something");
    let doc = out.json();
    assert_eq!(doc["format_version"], "1.0");
    let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    let ruby = s(&[
        "4.0-ubi10",
        "4.0-ubi9",
        "3.3-ubi10",
        "3.3-ubi8",
        "3.3-ubi9",
        "3.0-ubi9",
        "2.5-ubi8",
        "latest",
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "demo/ruby".to_owned(),
                false,
                Some("namespace".to_owned()),
                ruby.clone()
            ),
            (
                "openshift/httpd".to_owned(),
                true,
                None,
                s(&["2.4-el8", "2.4-ubi10", "2.4-ubi8", "2.4-ubi9", "latest"])
            ),
            (
                "openshift/nodejs".to_owned(),
                true,
                None,
                s(&[
                    "22-minimal-ubi10",
                    "22-minimal-ubi8",
                    "22-minimal-ubi9",
                    "22-ubi10",
                    "22-ubi10-minimal",
                    "22-ubi8",
                    "22-ubi8-minimal",
                    "22-ubi9",
                    "22-ubi9-minimal",
                    "latest"
                ])
            ),
            (
                "openshift/perl".to_owned(),
                false,
                Some("no-builder-status-tag".to_owned()),
                ruby.clone()
            ),
            ("openshift/ruby".to_owned(), true, None, ruby.clone()),
        ],
        "{}",
        out.stdout
    );
    // postgresql has no builder tag: no card. The default tag's fields, the first tag's
    // sample repository, the stream's display name.
    let tag = |f: &str, name: &str| -> serde_json::Value {
        corpus[f]["spec"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["annotations"]
            .clone()
    };
    for card in doc["cards"].as_array().unwrap() {
        let name = card["name"].as_str().unwrap();
        let f = if name == "perl" { "ruby" } else { name };
        let default = card["default_tag"].as_str().unwrap();
        assert_eq!(card["tags"][0], default);
        let want = tag(f, default);
        assert_eq!(card["description"], want["description"], "{name}");
        assert_eq!(card["icon_class"], want["iconClass"], "{name}");
        assert_eq!(card["console_logo"], true, "{name}");
        let first = card["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .min()
            .unwrap();
        assert_eq!(card["sample_repo"], tag(f, first)["sampleRepo"], "{name}");
        assert_eq!(
            card["display_name"],
            corpus[f]["metadata"]["annotations"]["openshift.io/display-name"]
        );
        assert_eq!(card["provider"], serde_json::Value::Null);
    }

    // The page says the same: each card's stream and whether the console lists it, and its
    // versions in the same order.
    let out = run(root, &["catalog"]);
    assert_eq!(out.code, 0, "{out}");
    let html = std::fs::read_to_string(root.join("catalog/index.html")).unwrap();
    let article = regex::Regex::new(
        r#"(?s)<article class="card" data-stream="([^"]+)" data-in-console="(true|false)">(.*?)</article>"#,
    )
    .unwrap();
    let section = regex::Regex::new(r#"<section class="version[^"]*" data-tag="([^"]+)""#).unwrap();
    let mut page: Vec<(String, bool, Vec<String>)> = article
        .captures_iter(&html)
        .map(|c| {
            (
                c[1].to_owned(),
                &c[2] == "true",
                section
                    .captures_iter(&c[3])
                    .map(|s| s[1].to_owned())
                    .collect(),
            )
        })
        .collect();
    page.sort();
    let json: Vec<(String, bool, Vec<String>)> = summary(&doc)
        .into_iter()
        .map(|(s, c, _, t)| (s, c, t))
        .collect();
    assert_eq!(page, json);
}
