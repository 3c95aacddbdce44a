//! `catalog` through the binary, and the page it writes in a real headless Chromium: cards,
//! versions and flags in the DOM after the script ran, the page with scripts off, the filter,
//! screenshots at desktop and phone width (light and dark), escaping of hostile values, and
//! no request to the network.

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;

use crate::browser::{Browser, CountingProxy, Pixels, file_url};
use crate::common::{Stream, Tag, TestRepo, commit_all, crate_path, stream};
use crate::snap;

const CORPUS: [&str; 4] = [
    "httpd-rhel.json",
    "nodejs-rhel.json",
    "postgresql-rhel.json",
    "ruby-rhel.json",
];

/// A copy of the example repository (definitions, policies, config).
fn example() -> TestRepo {
    let repo = TestRepo::new();
    for dir in ["definitions/demo", "policies"] {
        for entry in std::fs::read_dir(crate_path(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            repo.copy(format!("{dir}/{name}"), &format!("{dir}/{name}"));
        }
    }
    repo.copy("streamsync.toml", "streamsync.toml");
    repo
}

fn corpus() -> TestRepo {
    let repo = TestRepo::new();
    for f in CORPUS {
        repo.copy(
            format!("tests/fixtures/corpus/{f}"),
            &format!("definitions/openshift/{f}"),
        );
    }
    repo
}

/// Run `catalog` and return the page's path.
fn build(repo: &TestRepo) -> PathBuf {
    let out = repo.run(&["catalog"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let page = repo.path().join("catalog/index.html");
    assert!(page.is_file(), "{}", out.snapshot());
    page
}

static ARTICLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?s)<article ([^>]*)>(.*?)</article>"#).expect("valid regex"));
static SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)<section class="version[^"]*"([^>]*)>(.*?)</section>"#).expect("valid regex")
});
static OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<option value="(\d+)"[^>]*>([^<]*)</option>"#).expect("valid regex")
});
static ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"([a-z-]+)="([^"]*)""#).expect("valid regex"));
static TAGS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]+>").expect("valid regex"));
static DD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<dt>([^<]*)</dt><dd[^>]*>(.*?)</dd>").expect("valid regex"));
static FLAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?s)<p class="flag ([a-z]+)">(.*?)</p>"#).expect("valid regex"));

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    ATTR.captures_iter(attrs)
        .find(|c| &c[1] == name)
        .map(|c| c.get(2).unwrap().as_str())
}

fn text(html: &str) -> String {
    TAGS.replace_all(html, "")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_hidden(attrs: &str) -> bool {
    attrs.contains(" hidden") || attrs.starts_with("hidden")
}

/// A card of the rendered DOM.
#[derive(Debug)]
struct DomCard {
    stream: String,
    /// `data-in-console`.
    in_console: bool,
    /// `data-reason` of the card's "Not in the developer catalog" line.
    reason: Option<String>,
    name: String,
    hidden: bool,
    options: Vec<String>,
    /// The script's version drop-down is there.
    picker: bool,
    versions: Vec<DomVersion>,
}

#[derive(Debug)]
struct DomVersion {
    tag: String,
    hidden: bool,
    rows: Vec<(String, String)>,
    flags: Vec<(String, String)>,
}

impl DomVersion {
    fn row(&self, term: &str) -> Option<&str> {
        self.rows
            .iter()
            .find(|(t, _)| t == term)
            .map(|(_, v)| v.as_str())
    }
}

fn cards(dom: &str) -> Vec<DomCard> {
    ARTICLE
        .captures_iter(dom)
        .map(|c| {
            let attrs = c.get(1).unwrap().as_str();
            let body = c.get(2).unwrap().as_str();
            let name = Regex::new(r"(?s)<h2[^>]*>(.*?)</h2>")
                .unwrap()
                .captures(body)
                .map(|h| text(&h[1]))
                .unwrap_or_default();
            let stream = Regex::new(r#"<p class="key"><code>([^<]*)</code>"#)
                .unwrap()
                .captures(body)
                .map(|k| text(&k[1]))
                .unwrap_or_default();
            assert_eq!(
                attr(attrs, "data-stream").map(text),
                Some(stream.clone()),
                "{attrs}"
            );
            let in_console = attr(attrs, "data-in-console").expect("data-in-console") == "true";
            let reason = Regex::new(r#"<p class="reason" data-reason="([a-z-]+)">"#)
                .unwrap()
                .captures(body)
                .map(|r| r[1].to_owned());
            assert_eq!(in_console, reason.is_none(), "{attrs}");
            DomCard {
                stream,
                in_console,
                reason,
                name,
                hidden: is_hidden(attrs),
                options: OPTION.captures_iter(body).map(|o| text(&o[2])).collect(),
                picker: body.contains(r#"<div class="picker">"#),
                versions: SECTION
                    .captures_iter(body)
                    .map(|s| DomVersion {
                        tag: attr(&s[1], "data-tag").unwrap_or_default().to_owned(),
                        hidden: is_hidden(&s[1]),
                        rows: DD
                            .captures_iter(&s[2])
                            .map(|r| (text(&r[1]), text(&r[2])))
                            .collect(),
                        flags: FLAG
                            .captures_iter(&s[2])
                            .map(|f| (f[1].to_owned(), text(&f[2])))
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The DOM as a reviewable outline: cards, drop-down entries, versions with their facts.
fn outline(cards: &[DomCard]) -> String {
    let mut out = String::new();
    for c in cards {
        out.push_str(&format!(
            "card {} \"{}\"{}{}\n",
            c.stream,
            c.name,
            match &c.reason {
                None => " in the console".to_owned(),
                Some(r) => format!(" not in the console ({r})"),
            },
            if c.hidden { " (filtered out)" } else { "" }
        ));
        for (i, o) in c.options.iter().enumerate() {
            out.push_str(&format!("  option {i}: {o}\n"));
        }
        for v in &c.versions {
            out.push_str(&format!(
                "  version {}{}\n",
                v.tag,
                if v.hidden { " (not selected)" } else { "" }
            ));
            for (kind, text) in &v.flags {
                out.push_str(&format!("    flag {kind}: {text}\n"));
            }
            for (t, val) in &v.rows {
                out.push_str(&format!("    {t}: {val}\n"));
            }
        }
    }
    out
}

#[test]
fn example_repository_page_in_chromium() {
    let repo = example();
    let out = repo.run(&["catalog"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    snap!("catalog_example_run", out.snapshot());
    let page = repo.path().join("catalog/index.html");
    let dom = Browser::new().dom(&file_url(&page, ""));
    let cards = cards(&dom);
    // Three streams carry builder tags; `tools` has none and is listed as left out.
    let streams: Vec<&str> = cards.iter().map(|c| c.stream.as_str()).collect();
    assert_eq!(streams, ["demo/nodejs", "demo/python", "demo/ruby"]);
    assert!(dom.contains("<code>demo/tools</code>: no tag is marked builder</li>"));
    assert!(dom.contains("with no live state yet (nothing applied)"));
    for c in &cards {
        assert!(!c.hidden && c.picker, "{c:?}");
        assert_eq!(c.options.len(), c.versions.len(), "{c:?}");
        // The script shows exactly the selected (first) version.
        let shown: Vec<bool> = c.versions.iter().map(|v| !v.hidden).collect();
        assert_eq!(shown.iter().filter(|s| **s).count(), 1, "{c:?}");
        assert!(shown[0]);
    }
    // Namespace `demo`: the console would list none of them; nothing applied yet either.
    assert!(
        cards
            .iter()
            .all(|c| c.reason.as_deref() == Some("namespace"))
    );
    assert!(dom.contains(">Not in the developer catalog</h2>"));
    // python's `3.12-upstream` has no builder tag: not a version, counted in the footnote.
    // The console's order: by the tag name's version, `latest` (none) last.
    let python = &cards[1];
    let tags: Vec<&str> = python.versions.iter().map(|v| v.tag.as_str()).collect();
    assert_eq!(tags, ["3.12", "3.11", "latest"]);
    assert!(dom.contains("1 tag without <code>builder</code> not listed."));
    snap!("catalog_example_dom", outline(&cards));
}

#[test]
fn example_page_with_scripts_off_shows_every_card_and_version() {
    let repo = example();
    let page = build(&repo);
    let html = std::fs::read_to_string(&page).unwrap();
    let dom = Browser::new().scripts_off().dom(&file_url(&page, ""));
    let cards = cards(&dom);
    assert_eq!(cards.len(), 3);
    for c in &cards {
        assert!(!c.hidden, "{c:?}");
        // Without the script there is no drop-down (it needs the script) and every version
        // is written out, one after the other.
        assert!(!c.picker, "{c:?}");
        assert!(c.versions.iter().all(|v| !v.hidden), "{c:?}");
        assert!(c.versions.len() >= 2);
    }
    assert!(dom.contains(r#"<form class="filter" role="search" id="filter" hidden"#));
    assert!(
        dom.contains(r#"<html lang="en">"#),
        "the script did not run"
    );
    // And it paints.
    check_not_blank(
        &Browser::new()
            .scripts_off()
            .screenshot(&file_url(&page, ""), 1280, 900),
        1280,
        900,
    );
    // The same content the file holds: nothing was added by a script.
    assert_eq!(cards.len(), ARTICLE.captures_iter(&html).count());
}

#[test]
fn filter_by_name_language_and_category() {
    let repo = corpus();
    let page = build(&repo);
    let visible = |query: &str| -> Vec<String> {
        let dom = Browser::new().dom(&file_url(&page, query));
        cards(&dom)
            .into_iter()
            .filter(|c| !c.hidden)
            .map(|c| c.stream)
            .collect()
    };
    assert_eq!(
        visible(""),
        ["openshift/httpd", "openshift/nodejs", "openshift/ruby"]
    );
    // By display name, case-insensitively.
    assert_eq!(visible("?q=APACHE"), ["openshift/httpd"]);
    // By category (a `tags` value) from the category list.
    assert_eq!(visible("?category=nodejs"), ["openshift/nodejs"]);
    // Several words must all match.
    assert_eq!(visible("?q=ruby%20ubi9"), ["openshift/ruby"]);
    let none = Browser::new().dom(&file_url(&page, "?q=cobol"));
    assert!(cards(&none).iter().all(|c| c.hidden));
    assert!(none.contains(r#"<p id="count" role="status" aria-live="polite">0 of 3 cards</p>"#));
    assert!(none.contains(r#"<p id="none" class="empty">No card matches the filter.</p>"#));
}

#[test]
fn filter_by_language_in_supports() {
    let repo = example();
    let page = build(&repo);
    let dom = Browser::new().dom(&file_url(&page, "?q=python:3.11"));
    let shown: Vec<String> = cards(&dom)
        .into_iter()
        .filter(|c| !c.hidden)
        .map(|c| c.stream)
        .collect();
    assert_eq!(shown, ["demo/python"]);
}

/// Builder tags that are not hidden, per stream, read from the corpus files themselves.
fn corpus_builders() -> Vec<(String, Vec<serde_json::Value>)> {
    let mut out = Vec::new();
    for f in CORPUS {
        let text =
            std::fs::read_to_string(crate_path(format!("tests/fixtures/corpus/{f}"))).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let name = doc["metadata"]["name"].as_str().unwrap().to_owned();
        let tags: Vec<serde_json::Value> = doc["spec"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                let cats: Vec<&str> = t["annotations"]["tags"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .collect();
                cats.contains(&"builder") && !cats.contains(&"hidden")
            })
            .cloned()
            .collect();
        out.push((name, tags));
    }
    out
}

#[test]
fn corpus_page_has_a_card_per_builder_stream_and_every_builder_tag() {
    let repo = corpus();
    let out = repo.run(&["catalog"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    snap!("catalog_corpus_run", out.snapshot());
    let page = repo.path().join("catalog/index.html");
    let dom = Browser::new().dom(&file_url(&page, ""));
    let cards = cards(&dom);
    let expected = corpus_builders();
    for (name, tags) in &expected {
        let card = cards
            .iter()
            .find(|c| c.stream == format!("openshift/{name}"));
        if tags.is_empty() {
            assert!(card.is_none(), "{name} has no builder tag but a card");
            assert!(dom.contains(&format!("<code>openshift/{name}</code>")));
            continue;
        }
        let card = card.unwrap_or_else(|| panic!("no card for {name}"));
        let mut want: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let mut got: Vec<&str> = card.versions.iter().map(|v| v.tag.as_str()).collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "{name}");
        // Each entry carries the tag's own display name and version.
        for v in &card.versions {
            let t = tags.iter().find(|t| t["name"] == v.tag.as_str()).unwrap();
            let version = t["annotations"]["version"].as_str().unwrap();
            assert_eq!(v.row("Version"), Some(version), "{name}:{}", v.tag);
            let display = t["annotations"]["openshift.io/display-name"]
                .as_str()
                .unwrap();
            assert!(
                card.options.iter().any(|o| o.starts_with(display)),
                "{display}"
            );
            let source = v.row("Source").unwrap();
            let from = t["from"]["name"].as_str().unwrap();
            match t["from"]["kind"].as_str().unwrap() {
                "DockerImage" => assert!(source.starts_with(from), "{source}"),
                "ImageStreamTag" => assert_eq!(source, format!("tracks {from}")),
                other => panic!("{other}"),
            }
        }
        // The console's order: the tag names' coerced versions never go up.
        let versions: Vec<&str> = card.versions.iter().map(|v| v.tag.as_str()).collect();
        for w in versions.windows(2) {
            assert_ne!(
                streamsync::catalog::order::console_order(w[0], w[1]),
                std::cmp::Ordering::Greater,
                "{name}: {versions:?}"
            );
        }
    }
    assert_eq!(
        cards.len(),
        expected.iter().filter(|(_, t)| !t.is_empty()).count()
    );
    snap!("catalog_corpus_dom", outline(&cards));
}

/// A repository with a live state written as an apply would have written it: imported tags
/// with Images, a failed import, a tracking tag, a dated builder tag past the age limit with
/// history to prune, a tag not applied yet, and a hidden builder tag.
fn live_repo() -> TestRepo {
    let repo = TestRepo::new();
    let annotated = |tag: Tag, display: &str, tags: &str| {
        tag.annotation("openshift.io/display-name", display)
            .annotation("iconClass", "icon-ruby")
            .annotation("tags", tags)
    };
    let version = |tag: Tag, version: &str| tag.annotation("version", &format!("'{version}'"));
    let ruby = stream("ruby")
        .annotation("openshift.io/display-name", "Ruby")
        .tag(version(
            annotated(
                Tag::image("3.3", "quay.io/org/ruby:3.3"),
                "Ruby 3.3",
                "builder,ruby",
            )
            .annotation("supports", "ruby:3.3,ruby"),
            "3.3",
        ))
        .tag(version(
            annotated(
                Tag::image("3.2", "quay.io/org/ruby:3.2"),
                "Ruby 3.2",
                "builder,ruby",
            ),
            "3.2",
        ))
        .tag(version(
            annotated(
                Tag::image("3.4", "quay.io/org/ruby:3.4"),
                "Ruby 3.4",
                "builder,ruby",
            ),
            "3.4",
        ))
        .tag(annotated(
            Tag::tracking("latest", "'3.3'"),
            "Ruby (Latest)",
            "builder,ruby",
        ))
        .tag(version(
            annotated(
                Tag::image("3.1-20250101", "quay.io/org/ruby:3.1-20250101"),
                "Ruby 3.1 (January build)",
                "builder,ruby",
            ),
            "3.1",
        ))
        .tag(annotated(
            Tag::tracking("edge", "preview-7f3a"),
            "Ruby (edge)",
            "builder,ruby",
        ))
        .tag(
            Tag::image("preview-7f3a", "quay.io/org/secret-7f3a:1")
                .annotation("openshift.io/display-name", "SECRET-PREVIEW-7f3a")
                .annotation("description", "Internal preview SECRET-PREVIEW-7f3a.")
                .annotation("iconClass", "icon-ruby")
                .annotation("tags", "builder,hidden"),
        );
    repo.define("demo", &ruby);
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let c = "c".repeat(64);
    let item = |created: &str, image: &str| {
        format!(
            "    - created: '{created}'\n      dockerImageReference: quay.io/org/ruby@sha256:{image}\n      image: sha256:{image}\n      generation: 1\n"
        )
    };
    let mut history = String::new();
    for (i, day) in ["2025-12-20", "2025-11-01", "2025-10-01", "2025-09-01"]
        .iter()
        .enumerate()
    {
        let hex = format!("{i}").repeat(64);
        history.push_str(&item(&format!("{day}T10:00:00Z"), &hex));
    }
    repo.write(
        "state/streamsync.toml",
        "lineage = \"6f1c1d2e-0000-4000-8000-000000000001\"\nserial = 3\n",
    );
    // A literal: the live state as an apply writes it, with `status` history and conditions.
    repo.write(
        "state/demo/ruby.yaml",
        &format!(
            r#"apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ruby
  namespace: demo
spec:
  tags:
  - name: '3.3'
    from:
      kind: DockerImage
      name: quay.io/org/ruby:3.3
  - name: '3.2'
    from:
      kind: DockerImage
      name: quay.io/org/ruby:3.2
  - name: latest
    from:
      kind: ImageStreamTag
      name: '3.3'
  - name: 3.1-20250101
    from:
      kind: DockerImage
      name: quay.io/org/ruby:3.1-20250101
  - name: edge
    from:
      kind: ImageStreamTag
      name: preview-7f3a
  - name: preview-7f3a
    from:
      kind: DockerImage
      name: quay.io/org/secret-7f3a:1
status:
  dockerImageRepository: ''
  tags:
  - tag: 3.1-20250101
    items:
{}  - tag: '3.2'
    items:
{}    conditions:
    - type: ImportSuccess
      status: 'False'
      lastTransitionTime: '2025-12-31T08:00:00Z'
      reason: NotFound
      message: 'manifest unknown: quay.io/org/ruby:3.2'
      generation: 1
  - tag: '3.3'
    items:
{}{history}  - tag: edge
    items:
{}  - tag: latest
    items:
{}  - tag: preview-7f3a
    items:
{}"#,
            item("2025-01-02T10:00:00Z", &"d".repeat(64)),
            item("2025-06-01T09:00:00Z", &b),
            item("2025-12-24T12:30:00Z", &a),
            item("2025-12-20T12:30:00Z", &c),
            item("2025-12-24T12:30:00Z", &a),
            item("2025-12-20T12:30:00Z", &c),
        ),
    );
    repo.write(
        &format!("state/images/sha256/{a}.yaml"),
        &format!(
            r#"apiVersion: image.openshift.io/v1
kind: Image
metadata:
  name: sha256:{a}
dockerImageReference: quay.io/org/ruby@sha256:{a}
dockerImageManifestMediaType: application/vnd.oci.image.manifest.v1+json
dockerImageLayers:
- name: sha256:{b}
  size: 52428800
  mediaType: application/vnd.oci.image.layer.v1.tar+gzip
dockerImageMetadata:
  Architecture: arm64
  OS: linux
  Created: '2025-12-23T08:00:00Z'
  Size: 52428800
"#
        ),
    );
    repo
}

#[test]
fn live_state_digests_platforms_failures_and_prune_flags() {
    let repo = live_repo();
    let site = repo.path().join("site");
    let out = repo.run(&["catalog", "--out", site.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let page = site.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // A hidden tag is nowhere in the file: not its name, display name or description.
    assert!(!html.contains("7f3a"), "hidden tag leaked into the page");

    let dom = Browser::new().dom(&file_url(&page, ""));
    let cards = cards(&dom);
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    // Namespace `demo`: a card, but not one the console lists.
    assert!(!card.in_console);
    assert_eq!(card.reason.as_deref(), Some("namespace"));
    // The builder tags with a status tag, in the console's order: versions highest first,
    // the names without one last in `localeCompare` order; `3.4` has no status tag yet.
    let tags: Vec<&str> = card.versions.iter().map(|v| v.tag.as_str()).collect();
    assert_eq!(tags, ["3.3", "3.2", "3.1-20250101", "edge", "latest"]);
    assert!(dom.contains("Not listed until imported (no status tag yet): <code>3.4</code>."));
    let v = |t: &str| card.versions.iter().find(|v| v.tag == t).unwrap();
    // Imported: digest (12 hex digits at least), platform, size, build and import times.
    assert_eq!(v("3.3").row("Digest"), Some("sha256:aaaaaaaaaaaa"));
    assert_eq!(v("3.3").row("Platform"), Some("linux/arm64"));
    assert_eq!(v("3.3").row("Size"), Some("50.0 MiB"));
    assert_eq!(v("3.3").row("Last import"), Some("2025-12-24 12:30 UTC"));
    // The tracking tag has the image of the tag it follows.
    assert_eq!(v("latest").row("Digest"), Some("sha256:aaaaaaaaaaaa"));
    // A failed import shows the failure next to the last good image.
    let failed = v("3.2").row("Import failed").unwrap();
    assert!(failed.starts_with("NotFound: manifest unknown"), "{failed}");
    assert_eq!(v("3.2").row("Digest"), Some("sha256:bbbbbbbbbbbb"));
    assert!(
        card.options
            .iter()
            .any(|o| o == "Ruby 3.2 — 3.2 (import failed)")
    );
    // A shown tag that follows a hidden one shows its image without naming it.
    assert_eq!(
        v("edge").row("Source"),
        Some("tracks a hidden tag of this stream")
    );
    assert_eq!(v("edge").row("Digest"), Some("sha256:cccccccccccc"));
    // The stale dated tag is a prune candidate with prune's reason; history past the kept
    // revisions is flagged on its tag.
    let flags = |t: &str| -> Vec<String> { v(t).flags.iter().map(|(k, _)| k.clone()).collect() };
    assert_eq!(flags("3.1-20250101"), ["prune"]);
    assert!(
        v("3.1-20250101").flags[0]
            .1
            .contains("past the 90-day limit")
    );
    assert_eq!(flags("3.3"), ["history"]);
    assert!(
        v("3.3").flags[0]
            .1
            .contains(": 2 older revisions of this tag"),
        "{:?}",
        v("3.3").flags
    );
    assert!(flags("3.2").is_empty() && flags("latest").is_empty());
    snap!("catalog_live_dom", outline(&cards));
}

#[test]
fn hostile_values_are_text_and_nothing_is_requested_from_the_network() {
    let repo = TestRepo::new();
    // A literal: each hostile value needs its own YAML quoting.
    repo.write(
        "definitions/demo/evil.yaml",
        r#"apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: evil
  annotations:
    openshift.io/display-name: <script>alert("name")</script> & Co
spec:
  tags:
  - name: '1.0'
    annotations:
      openshift.io/display-name: <img src="http://img.example/x.png" onerror="alert(1)">
      description: 'Docs: https://docs.example/a?b=1&c=2. <iframe src="https://frame.example/"></iframe> <link rel="stylesheet" href="http://css.example/x.css"> javascript:alert(2)'
      iconClass: 'icon-nope" onload="alert(3)'
      sampleRepo: javascript:alert(4)
      tags: builder,<b>bold</b>
      supports: <svg onload=alert(5)>
      version: '1.0'
    from:
      kind: DockerImage
      name: quay.io/org/evil:1.0
"#,
    );
    let page = build(&repo);
    let html = std::fs::read_to_string(&page).unwrap();
    // No resource reference of any kind to the network in the file itself.
    // (Markup in values is escaped text, so only real elements are looked at.)
    let element = Regex::new(r"<[a-zA-Z][^>]*>").unwrap();
    let resource =
        Regex::new(r#"(?i)^<link\b|\s(src|srcset|poster|data|action|formaction|background)\s*="#)
            .unwrap();
    let values = Regex::new(r#""[^"]*""#).unwrap();
    for e in element.find_iter(&html) {
        let names = values.replace_all(e.as_str(), "\"\"");
        assert!(!resource.is_match(&names), "{}", e.as_str());
    }
    assert!(!html.contains("url("));
    assert!(html.contains(&format!(
        r#"<meta http-equiv="Content-Security-Policy" content="{}">"#,
        *streamsync::catalog::html::CSP
    )));

    let proxy = CountingProxy::start();
    let browser = Browser::new().with_flags(proxy.flags());
    let dom = browser.dom(&file_url(&page, ""));
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
    for element in ["<img", "<iframe", "<link", "<svg onload", "<b>"] {
        assert!(!dom.contains(element), "{element} became an element");
    }
    assert!(dom.contains(r#"<a href="https://docs.example/a?b=1&amp;c=2">"#));
    assert!(!dom.contains("href=\"javascript"));
    assert!(dom.contains("<code>javascript:alert(4)</code>"));
    let card = &cards(&dom)[0];
    assert_eq!(card.name, r#"<script>alert("name")</script> & Co"#);
    // The icon class is unknown: the generic icon, no attribute injected.
    assert!(dom.contains(r#"<svg class="icon generic""#));
    // A screenshot makes the browser lay out and paint everything, too.
    browser.screenshot(&file_url(&page, ""), 1280, 900);
    assert_eq!(proxy.requests(), Vec::<String>::new());

    // The proxy does see a page that loads from the network (so the empty list means
    // something).
    let control = repo.path().join("control.html");
    std::fs::write(
        &control,
        r#"<!DOCTYPE html><html><body><img src="http://control.example/x.png"></body></html>"#,
    )
    .unwrap();
    Browser::new()
        .with_flags(proxy.flags())
        .dom(&file_url(&control, ""));
    let seen = proxy.requests();
    assert!(
        seen.iter().any(|r| r.contains("control.example")),
        "{seen:?}"
    );
}

fn check_not_blank(png: &[u8], width: u32, height: u32) -> Pixels {
    let px = Pixels::decode(png);
    assert_eq!((px.width, px.height), (width, height));
    assert!(px.colours() > 50, "only {} colours", px.colours());
    let ink = px.ink();
    assert!(
        ink > 0.03,
        "{:.1}% of the picture differs from the background",
        ink * 100.0
    );
    px
}

#[test]
fn screenshots_at_desktop_and_phone_width_light_and_dark() {
    let repo = example();
    let page = build(&repo);
    let url = file_url(&page, "");
    let desktop = check_not_blank(&Browser::new().screenshot(&url, 1280, 900), 1280, 900);
    let phone = check_not_blank(&Browser::new().screenshot(&url, 390, 844), 390, 844);
    let dark = check_not_blank(
        &Browser::new()
            .flag("--force-dark-mode")
            .screenshot(&url, 1280, 900),
        1280,
        900,
    );
    // The colours follow the system setting.
    assert!(desktop.mean_luma() > 180.0, "{}", desktop.mean_luma());
    assert!(phone.mean_luma() > 180.0, "{}", phone.mean_luma());
    assert!(dark.mean_luma() < 80.0, "{}", dark.mean_luma());
}

#[test]
fn page_at_phone_width_has_no_sideways_scrolling() {
    let repo = corpus();
    let page = build(&repo);
    // One column below 600px, the viewport set for phones, and a page that paints there.
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("@media (max-width:600px)"));
    assert!(html.contains(".cards{grid-template-columns:1fr}"));
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    check_not_blank(
        &Browser::new().screenshot(&file_url(&page, ""), 360, 740),
        360,
        740,
    );
}

#[test]
fn accessible_labels_for_every_control() {
    let repo = example();
    let page = build(&repo);
    let dom = Browser::new().dom(&file_url(&page, ""));
    let ids = Regex::new(r#"<(?:select|input)[^>]*\bid="([^"]+)""#).unwrap();
    let mut controls = 0;
    for c in ids.captures_iter(&dom) {
        controls += 1;
        assert!(
            dom.contains(&format!("<label for=\"{}\">", &c[1])),
            "control {} has no label",
            &c[1]
        );
    }
    // The filter, the category list and one drop-down per card.
    assert_eq!(controls, 2 + 3);
    assert!(dom.contains("<html lang=\"en\""));
    assert!(dom.contains(r#"<p id="count" role="status" aria-live="polite">"#));
    // Icons are decorative; the name is text.
    for svg in Regex::new(r"<svg[^>]*>").unwrap().find_iter(&dom) {
        assert!(
            svg.as_str().contains(r#"aria-hidden="true""#),
            "{}",
            svg.as_str()
        );
    }
}

#[test]
fn rev_reads_definitions_from_git_and_out_names_the_folder() {
    let repo = example();
    let git = git2::Repository::init(repo.path()).unwrap();
    commit_all(&git, "example");
    // The working tree loses python; the revision still has it.
    std::fs::remove_file(repo.path().join("definitions/demo/python.yaml")).unwrap();
    let public = repo.path().join("public");
    let out = repo.run(&[
        "catalog",
        "--rev",
        "HEAD",
        "--out",
        public.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let html = std::fs::read_to_string(public.join("index.html")).unwrap();
    assert!(html.contains("<code>demo/python</code>"));
    assert!(html.contains("the definitions at revision `HEAD`"));
    let out = repo.run(&["catalog"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let html = std::fs::read_to_string(repo.path().join("catalog/index.html")).unwrap();
    assert!(!html.contains("<code>demo/python</code>"));
    // Same inputs, same bytes.
    let again = repo.path().join("again");
    repo.run(&["catalog", "--out", again.to_str().unwrap()]);
    assert_eq!(
        html,
        std::fs::read_to_string(again.join("index.html")).unwrap()
    );
}

#[test]
fn invalid_definitions_are_refused_and_nothing_is_written() {
    let repo = TestRepo::new();
    repo.write("definitions/demo/bad.yaml", &stream("Bad_Name").to_yaml());
    let out = repo.run(&["catalog"]);
    assert_eq!(out.code, 1);
    snap!("catalog_invalid", out.snapshot());
    assert!(!repo.path().join("catalog").exists());
    // No half document on stdout either.
    let out = repo.run(&["catalog", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("Bad_Name"), "{}", out.snapshot());
}

#[test]
fn unknown_icon_class_is_a_validate_warning() {
    let repo = TestRepo::new();
    // A literal: the snapshot locates each `iconClass` by line.
    repo.write(
        "definitions/demo/app.yaml",
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: app\nspec:\n  tags:\n  - name: '1'\n    annotations:\n      openshift.io/display-name: App 1\n      iconClass: icon-pyhton\n      tags: builder,python\n  - name: '2'\n    annotations:\n      openshift.io/display-name: App 2\n      iconClass: fa fa-code\n      tags: builder,python\n",
    );
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    snap!("catalog_unknown_icon_warning", out.snapshot());
    repo.write(
        "policies/lint.toml",
        "[lint]\nallow = [\"unknown-icon-class\"]\n",
    );
    let out = repo.run(&["validate"]);
    assert!(!out.stdout.contains("unknown-icon-class") && !out.stderr.contains("icon-pyhton"));
}

/// A builder tag of a definition: its name, `tags` annotation, icon and sample repository.
fn tag_yaml(name: &str, tags: &str, icon: &str, sample: &str) -> Tag {
    Tag::image(name, &format!("quay.io/org/go:{name}"))
        .annotation("openshift.io/display-name", &format!("Go {name}"))
        .annotation("description", &format!("Go {name} builder."))
        .annotation("iconClass", &format!("'{icon}'"))
        .annotation("sampleRepo", sample)
        .annotation("tags", &format!("'{tags}'"))
        .annotation("version", "'9.9'")
}

/// Stream `ns/name` with the annotations `meta` and `tags`, as a definition writes it (a
/// live state adds its `status` after it).
fn stream_yaml(ns: &str, name: &str, meta: &[(&str, &str)], tags: &[Tag]) -> String {
    let stream = meta
        .iter()
        .fold(stream(name).namespace(ns), |s, (k, v)| s.annotation(k, v));
    tags.iter().cloned().fold(stream, Stream::tag).to_yaml()
}

/// A status tag: an imported image, or (`failed`) only a failed import's condition.
fn status_tag(name: &str, failed: bool) -> String {
    if failed {
        format!(
            "  - tag: '{name}'\n    items: []\n    conditions:\n    - type: ImportSuccess\n      \
             status: 'False'\n      lastTransitionTime: '2025-12-31T08:00:00Z'\n      \
             reason: NotFound\n      message: 'manifest unknown'\n      generation: 1\n"
        )
    } else {
        format!(
            "  - tag: '{name}'\n    items:\n    - created: '2025-12-24T12:30:00Z'\n      \
             dockerImageReference: quay.io/org/go@sha256:{0}\n      image: sha256:{0}\n      \
             generation: 1\n",
            "a".repeat(64)
        )
    }
}

/// Streams written like OpenShift's sample library (`-el8`/`-ubi9` suffixes, `latest` and other
/// names without a version, a tag whose last import failed, one not imported yet), the
/// `tags` annotation's spacing, icons the console has and has not, other namespaces and a
/// stream not applied yet, with the live state an apply records.
fn console_rules_repo() -> TestRepo {
    let repo = TestRepo::new();
    let go = |n: &str| {
        tag_yaml(
            n,
            "builder,golang",
            "icon-go-gopher",
            &format!("https://example.com/{n}.git"),
        )
    };
    let golang_tags = vec![
        tag_yaml(
            "0-base",
            "golang",
            "icon-go-gopher",
            "https://example.com/first-by-name.git",
        ),
        go("1.22-ubi9"),
        go("1.23-el8"),
        go("1.24"),
        go("1.9"),
        go("01"),
        go("Edge"),
        go("latest"),
        go("stable"),
        tag_yaml(
            "spaced",
            " builder,golang",
            "icon-go-gopher",
            "https://example.com/x.git",
        ),
        tag_yaml(
            "hushed",
            "builder , hidden",
            "icon-go-gopher",
            "https://example.com/x.git",
        ),
        tag_yaml(
            "2.0",
            "builder ,golang",
            "icon-go-gopher",
            "https://example.com/2.0.git",
        ),
    ];
    let golang_meta = &[
        ("openshift.io/display-name", "\"Go \\u202Egnal\""),
        ("openshift.io/provider-display-name", "Example, Inc."),
    ];
    repo.write(
        "definitions/openshift/golang.yaml",
        &stream_yaml("openshift", "golang", golang_meta, &golang_tags),
    );
    repo.write(
        "definitions/demo/golang.yaml",
        &stream_yaml("demo", "golang", golang_meta, &golang_tags),
    );
    let icons = [
        ("rust", "icon-rust"),
        ("fonty", "font-icon icon-ruby"),
        ("serverless", "icon-serverless"),
    ];
    for (name, icon) in icons {
        repo.write(
            &format!("definitions/openshift/{name}.yaml"),
            &stream_yaml(
                "openshift",
                name,
                &[],
                &[tag_yaml(
                    "1.0",
                    "builder",
                    icon,
                    "https://example.com/r.git",
                )],
            ),
        );
    }
    repo.write(
        "definitions/openshift/pending.yaml",
        &stream_yaml(
            "openshift",
            "pending",
            &[],
            &[go("3.1-ubi9"), go("latest"), go("3.10-ubi9")],
        ),
    );
    repo.write(
        "definitions/openshift/tools.yaml",
        &stream_yaml(
            "openshift",
            "tools",
            &[],
            &[tag_yaml("1", "tools", "icon-go-gopher", "x")],
        ),
    );
    repo.write(
        "state/streamsync.toml",
        "lineage = \"6f1c1d2e-0000-4000-8000-000000000001\"\nserial = 3\n",
    );
    // Everything imported but `1.24`; `Edge` holds only a failed import.
    let mut golang_status = String::new();
    for t in [
        "0-base",
        "01",
        "1.22-ubi9",
        "1.23-el8",
        "1.9",
        "2.0",
        "Edge",
        "hushed",
        "latest",
        "spaced",
        "stable",
    ] {
        golang_status.push_str(&status_tag(t, t == "Edge"));
    }
    for ns in ["openshift", "demo"] {
        repo.write(
            &format!("state/{ns}/golang.yaml"),
            &format!(
                "{}status:\n  dockerImageRepository: ''\n  tags:\n{golang_status}",
                stream_yaml(ns, "golang", golang_meta, &golang_tags)
            ),
        );
    }
    for (name, icon) in icons {
        repo.write(
            &format!("state/openshift/{name}.yaml"),
            &format!(
                "{}status:\n  dockerImageRepository: ''\n  tags:\n{}",
                stream_yaml(
                    "openshift",
                    name,
                    &[],
                    &[tag_yaml(
                        "1.0",
                        "builder",
                        icon,
                        "https://example.com/r.git"
                    )]
                ),
                status_tag("1.0", false)
            ),
        );
    }
    repo
}

/// The console's rules card by card, in `--format json` (which writes nothing) and on the page.
#[test]
fn console_rules_in_json_and_on_the_page() {
    let repo = console_rules_repo();
    let out = repo.run(&["catalog", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        !repo.path().join("catalog").exists(),
        "--format json wrote the page"
    );
    // Direction controls are JSON escapes, never raw.
    assert!(!out.stdout.contains('\u{202e}') && out.stdout.contains("Go \\u202egnal"));
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["format_version"], "1.0");
    let jcards = doc["cards"].as_array().unwrap();
    let streams: Vec<String> = jcards
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["namespace"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    // By namespace then name; `tools` has no builder tag, so no card.
    assert_eq!(
        streams,
        [
            "demo/golang",
            "openshift/fonty",
            "openshift/golang",
            "openshift/pending",
            "openshift/rust",
            "openshift/serverless"
        ]
    );
    let card = |s: &str| &jcards[streams.iter().position(|x| x == s).unwrap()];
    let golang = card("openshift/golang");
    // Versions highest first (`2.0` counts although written `builder ,golang`); names that do
    // not coerce (`01` has a leading zero) last in localeCompare order, `Edge` with only a
    // failed import included; `1.24` (no status tag), `spaced` (" builder") and `hushed`
    // (hidden) are not builder tags; the `version` annotation plays no part.
    assert_eq!(
        golang["tags"],
        serde_json::json!([
            "2.0",
            "1.23-el8",
            "1.22-ubi9",
            "1.9",
            "01",
            "Edge",
            "latest",
            "stable"
        ])
    );
    assert_eq!(golang["default_tag"], "2.0");
    assert_eq!(golang["description"], "Go 2.0 builder.");
    assert_eq!(
        golang["sample_repo"],
        "https://example.com/first-by-name.git"
    );
    assert_eq!(golang["display_name"], "Go \u{202e}gnal");
    assert_eq!(golang["provider"], "Example, Inc.");
    assert_eq!(golang["in_console"], true);
    assert_eq!(golang["reason"], serde_json::Value::Null);
    assert_eq!(card("demo/golang")["reason"], "namespace");
    assert_eq!(card("demo/golang")["tags"], golang["tags"]);
    let pending = card("openshift/pending");
    assert_eq!(pending["reason"], "no-builder-status-tag");
    assert_eq!(
        pending["tags"],
        serde_json::json!(["3.10-ubi9", "3.1-ubi9", "latest"])
    );
    assert_eq!(pending["default_tag"], "3.10-ubi9");
    assert_eq!(pending["provider"], serde_json::Value::Null);
    for (s, logo) in [
        ("openshift/rust", true),
        ("openshift/fonty", false),
        ("openshift/serverless", false),
    ] {
        assert_eq!(card(s)["console_logo"], logo, "{s}");
    }
    assert_eq!(card("openshift/fonty")["icon_class"], "font-icon icon-ruby");
    snap!("catalog_console_rules_json", out.stdout);

    // The page: the same cards and order, the console's first, the others with the reason.
    let page = build(&repo);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains('\u{202e}') && html.contains("Go \\u{202e}gnal"));
    let dom = Browser::new().dom(&file_url(&page, ""));
    let dom_cards = cards(&dom);
    let listed: Vec<(&str, bool, Option<&str>)> = dom_cards
        .iter()
        .map(|c| (c.stream.as_str(), c.in_console, c.reason.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            ("openshift/fonty", true, None),
            // `Go \u{202e}gnal` sorts by display name among the console's cards.
            ("openshift/golang", true, None),
            ("openshift/rust", true, None),
            ("openshift/serverless", true, None),
            ("demo/golang", false, Some("namespace")),
            ("openshift/pending", false, Some("no-builder-status-tag")),
        ]
    );
    for c in &dom_cards {
        let json = card(&c.stream);
        let tags: Vec<&str> = c.versions.iter().map(|v| v.tag.as_str()).collect();
        assert_eq!(serde_json::json!(tags), json["tags"], "{}", c.stream);
        // The script ran under the page's policy: the drop-down is there.
        assert!(c.picker, "{}", c.stream);
    }
    assert!(dom.contains("Not listed until imported (no status tag yet): <code>1.24</code>."));
    // Icons: the console's logo for `icon-rust`, its generic icon for the others.
    assert!(html.contains(r#"<symbol id="i-icon-rust""#));
    let icon_of = |s: &str| {
        let at = html.find(&format!("data-stream=\"{s}\"")).unwrap();
        html[at..]
            .split("</article>")
            .next()
            .unwrap()
            .contains(r##"href="#i-generic""##)
    };
    assert!(!icon_of("openshift/rust"));
    assert!(icon_of("openshift/fonty") && icon_of("openshift/serverless"));
    assert!(html.contains("The console has no logo for <code>font-icon icon-ruby</code>"));
    // The policy allows the one script by its hash, nothing inline besides.
    let csp = Regex::new(r#"http-equiv="Content-Security-Policy" content="([^"]*)""#)
        .unwrap()
        .captures(&html)
        .unwrap()[1]
        .to_owned();
    assert!(
        Regex::new(r"script-src 'sha256-[A-Za-z0-9+/]{43}=';")
            .unwrap()
            .is_match(&csp),
        "{csp}"
    );
    assert!(
        csp.contains("base-uri 'none'") && csp.contains("form-action 'none'"),
        "{csp}"
    );

    // validate says which icons the console has no logo for.
    let out = repo.run(&["validate"]);
    assert!(
        out.stderr
            .contains("the console has no logo for iconClass `font-icon icon-ruby`")
            && out.stderr.contains("did you mean `icon-ruby`?")
            && out
                .stderr
                .contains("the console has no logo for iconClass `icon-serverless`")
            && !out.stderr.contains("`icon-rust`"),
        "{}",
        out.snapshot()
    );
}

/// The README's screenshot is the example repository's page as `scripts/catalog-screenshot.sh`
/// makes it: check it is there, a real picture, and that the script still runs the commands
/// it names.
#[test]
fn readme_screenshot_is_there() {
    let png = std::fs::read(crate_path("docs/catalog.png")).expect("docs/catalog.png");
    let px = Pixels::decode(&png);
    assert!(px.width >= 800 && px.colours() > 50);
    let script = std::fs::read_to_string(crate_path("scripts/catalog-screenshot.sh")).unwrap();
    assert!(script.contains("catalog --out"));
    let readme = std::fs::read_to_string(crate_path("README.md")).unwrap();
    assert!(readme.contains("](docs/catalog.png)"));
}

fn workflow(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(crate_path(".github/workflows").join(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// The step of `job` that runs `streamsync catalog`, with the step after it.
fn catalog_step<'a>(
    doc: &'a serde_json::Value,
    job: &str,
) -> (&'a serde_json::Value, &'a serde_json::Value) {
    let steps = doc["jobs"][job]["steps"].as_array().unwrap();
    let i = steps
        .iter()
        .position(|s| {
            s["with"]["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("catalog "))
        })
        .unwrap_or_else(|| panic!("no catalog step in job {job}"));
    (&steps[i], &steps[i + 1])
}

/// Run a workflow's catalog command as the action's shell would (its variables set).
fn run_catalog_command(
    repo: &TestRepo,
    command: &str,
    vars: &[(&str, &str)],
) -> crate::common::Output {
    let mut expanded = command.to_owned();
    for (k, v) in vars {
        expanded = expanded.replace(&format!("\"${k}"), &format!("\"{v}"));
    }
    let words: Vec<String> = expanded
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_owned())
        .collect();
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    repo.run(&args)
}

#[test]
fn plan_workflow_builds_the_head_page_and_links_the_artifact() {
    let doc = workflow("plan.yml");
    let (step, upload) = catalog_step(&doc, "plan");
    let command = step["with"]["command"].as_str().unwrap();
    assert_eq!(
        step["env"]["HEAD_SHA"],
        "${{ github.event.pull_request.head.sha }}"
    );
    assert!(
        upload["uses"]
            .as_str()
            .unwrap()
            .starts_with("actions/upload-artifact@")
    );
    assert_eq!(
        upload["with"]["path"],
        "${{ runner.temp }}/catalog/index.html"
    );
    let id = upload["id"].as_str().unwrap();
    let compose = doc["jobs"]["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Compose the comment")
        .unwrap();
    assert_eq!(
        compose["env"]["CATALOG_URL"],
        format!("${{{{ steps.{id}.outputs.artifact-url }}}}")
    );
    assert!(compose["run"].as_str().unwrap().contains("${CATALOG_URL}"));

    // The command itself, on a repository whose head differs from its working tree.
    let repo = example();
    let git = git2::Repository::init(repo.path()).unwrap();
    commit_all(&git, "head");
    let head = git
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    std::fs::remove_file(repo.path().join("definitions/demo/ruby.yaml")).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let out = run_catalog_command(
        &repo,
        command,
        &[
            ("HEAD_SHA", &head),
            ("RUNNER_TEMP", temp.path().to_str().unwrap()),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let html = std::fs::read_to_string(temp.path().join("catalog/index.html")).unwrap();
    assert!(
        html.contains("<code>demo/ruby</code>"),
        "the head's definitions"
    );
}

#[test]
fn sync_workflow_publishes_with_pages_and_least_privilege() {
    let doc = workflow("sync.yml");
    // Nothing at the top; each job asks for its own.
    assert_eq!(doc["permissions"], serde_json::json!({}));
    assert_eq!(
        doc["jobs"]["sync"]["permissions"],
        serde_json::json!({"contents": "write", "pull-requests": "write"})
    );
    let pages = &doc["jobs"]["pages"];
    assert_eq!(
        pages["permissions"],
        serde_json::json!({"contents": "read", "pages": "write", "id-token": "write"})
    );
    assert_eq!(pages["needs"], "sync");
    assert_eq!(pages["environment"]["name"], "github-pages");
    let (step, upload) = catalog_step(&doc, "pages");
    assert!(
        upload["uses"]
            .as_str()
            .unwrap()
            .starts_with("actions/upload-pages-artifact@")
    );
    assert_eq!(upload["with"]["path"], "${{ runner.temp }}/site");
    let steps = pages["steps"].as_array().unwrap();
    assert!(
        steps.last().unwrap()["uses"]
            .as_str()
            .unwrap()
            .starts_with("actions/deploy-pages@")
    );

    let repo = example();
    let temp = tempfile::tempdir().unwrap();
    let out = run_catalog_command(
        &repo,
        step["with"]["command"].as_str().unwrap(),
        &[("RUNNER_TEMP", temp.path().to_str().unwrap())],
    );
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(temp.path().join("site/index.html").is_file());
}

/// A stream left out of the catalog still says how many of its tags prune recommends.
#[test]
fn left_out_streams_count_their_prune_candidates() {
    let repo = example();
    let now = "--now=2026-11-29T00:00:00Z";
    let prune = repo.run(&[now, "prune", "--format", "json"]);
    assert_eq!(prune.code, 0, "{}", prune.snapshot());
    let v: serde_json::Value = serde_json::from_str(&prune.stdout).unwrap();
    let n = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "tag" && c["stream"] == "tools")
        .count();
    assert!(n > 0, "{}", prune.stdout);
    let out = repo.run(&[now, "catalog"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    let html = std::fs::read_to_string(repo.path().join("catalog/index.html")).unwrap();
    assert!(
        html.contains(&format!(
            "<code>demo/tools</code>: no tag is marked builder; {n} tags are candidates for <code>streamsync prune</code>"
        )),
        "{html}"
    );
}
