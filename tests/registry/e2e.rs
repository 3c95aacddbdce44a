//! End to end through the binary against the real registry: apply, sync, import and
//! `plan --refresh` on a repository whose definitions import from it (plain HTTP on 127.0.0.1,
//! so every stream is insecure and `127.0.0.1` is insecure-allowed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::{self, Out};
use crate::harness::{Registry, Variant, app_registry};
use crate::proxy::{Fault, Proxy};
use crate::support::{
    LOCAL_REGISTRY_CONFIG as CONFIG, Stream, Tag, TestRepo, git, local_app, regex_escape, stream,
};

/// A repository folder holding the config and one definition file.
struct Repo {
    repo: TestRepo,
}

impl Repo {
    fn new(definition: &Stream) -> Repo {
        Repo {
            repo: TestRepo::with_app(CONFIG, definition),
        }
    }

    fn path(&self) -> &Path {
        self.repo.path()
    }

    fn run_at(&self, now: &str, args: &[&str]) -> Out {
        cli::run_at(self.path(), now, args)
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_at("2026-01-01T00:00:00Z", args)
    }

    /// A tag's `history` and `conditions` (from its stream's status) and, when it has an image,
    /// `image`: what its ImageStreamTag shows (digest and resolved pull spec).
    fn tag(&self, tag: &str) -> Value {
        let (stream, name) = tag.split_once(':').expect("stream:tag");
        let s = self.run(&["get", "stream", stream, "-o", "json"]).json();
        let status = s["status"]["tags"]
            .as_array()
            .and_then(|l| l.iter().find(|t| t["tag"] == name))
            .cloned()
            .unwrap_or(Value::Null);
        let out = self.run(&["get", "tag", tag, "-o", "json"]);
        let image = if out.code == 0 {
            let istag = out.json();
            assert_eq!(istag["kind"], "ImageStreamTag", "{out}");
            serde_json::json!({
                "image": istag["image"]["metadata"]["name"],
                "dockerImageReference": istag["image"]["dockerImageReference"],
            })
        } else {
            Value::Null
        };
        serde_json::json!({
            "history": status["items"],
            "conditions": status["conditions"],
            "image": image,
        })
    }

    /// Every state file and its bytes.
    fn state_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).expect("read state").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.file_name().is_some_and(|n| n != ".lock") {
                    out.insert(p.clone(), std::fs::read(&p).expect("read"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.path().join("state"), &mut out);
        out
    }

    fn assert_converged(&self) {
        let plan = self.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "plan after apply is not empty:\n{plan}");
    }
}

/// `demo/app` with a permanent tag `1.0`, a scheduled tag `2.0` and `extra` tags.
fn app_definition(host: &str, extra: impl IntoIterator<Item = Tag>) -> Stream {
    extra.into_iter().fold(local_app(host), Stream::tag)
}

/// `demo/many`, importing every tag of `repository` insecurely.
fn many(repository: &str) -> Stream {
    stream("many")
        .annotation("openshift.io/image.insecureRepository", "\"true\"")
        .repository(repository)
}

/// The local registry with `demo/app:1.0` and `demo/app:2.0` pushed, and a repository whose
/// stream `demo/app` imports them (2.0 scheduled).
fn app_repo() -> (Registry, Repo) {
    let (reg, _, _) = app_registry();
    let repo = Repo::new(&app_definition(&reg.host(), []));
    (reg, repo)
}

fn history_images(tag: &Value) -> Vec<String> {
    tag["history"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["image"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

#[test]
fn apply_imports_with_images_then_a_second_apply_asks_nothing() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let one = p.image("demo/app", "1.0", "amd64", "one");
    let two = p.image("demo/app", "2.0", "arm64", "two");
    // The proxy counts every request that reaches the registry.
    let proxy = Proxy::start(reg.port);
    let repo = Repo::new(&app_definition(&proxy.host(), []));

    let out = repo.run(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let v = out.json();
    assert_eq!(v["format_version"], "1.2");
    assert_eq!(v["imports"]["imported"], 2, "{out}");
    assert_eq!(v["imports"]["new_images"], 2);
    let counts = &v["requests"][proxy.host()];
    let made = counts["head"].as_u64().unwrap_or(0) + counts["get"].as_u64().unwrap_or(0);
    assert!(made >= 2, "{out}");
    assert_eq!(proxy.requests(), made as usize, "{out}");
    assert!(
        out.stderr
            .contains("imported 2 tags (2 new images) from 1 registry in "),
        "{out}"
    );

    // Image files with the manifest and config metadata.
    for (pushed, arch, label) in [(&one, "amd64", "one"), (&two, "arm64", "two")] {
        let file = repo
            .path()
            .join(format!("state/images/sha256/{}.yaml", hex(&pushed.digest)));
        let text = std::fs::read_to_string(&file).expect("image file");
        assert!(text.contains(&pushed.layer_digest), "{text}");
        assert!(text.contains(arch), "{text}");
        assert!(text.contains(&format!("LABEL={label}")), "{text}");
        assert!(text.contains("/opt/app"), "{text}");
    }
    let t = repo.tag("app:1.0");
    assert_eq!(t["image"]["image"], one.digest);
    assert_eq!(
        t["image"]["dockerImageReference"],
        format!("{}/demo/app@{}", proxy.host(), one.digest)
    );
    repo.assert_converged();

    // Nothing changed: no registry request, no byte written.
    let before = repo.state_files();
    let seen = proxy.requests();
    let again = repo.run(&["apply"]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(proxy.requests(), seen, "a second apply asked the registry");
    assert!(!again.stderr.contains("imported"), "{again}");
    assert_eq!(repo.state_files(), before);
    repo.assert_converged();
}

#[test]
fn sync_follows_scheduled_tags_and_keeps_permanent_ones() {
    let (reg, one, two) = app_registry();
    let p = reg.pusher();
    let repo = Repo::new(&app_definition(&reg.host(), []));
    let out = repo.run(&["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    repo.assert_converged();

    // Upstream moves both tags; only the scheduled one follows.
    let one_moved = p.image("demo/app", "1.0", "amd64", "one-moved");
    let two_moved = p.image("demo/app", "2.0", "amd64", "two-moved");
    let out = repo.run_at("2026-01-01T00:15:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("imported 1 tag (1 new image)"), "{out}");
    assert_eq!(history_images(&repo.tag("app:1.0")), [one.digest.as_str()]);
    let t = repo.tag("app:2.0");
    assert_eq!(
        history_images(&t),
        [two_moved.digest.clone(), two.digest.clone()]
    );
    assert_eq!(t["history"][0]["created"], "2026-01-01T00:15:00Z");
    assert_eq!(t["history"][1]["created"], "2026-01-01T00:00:00Z");
    repo.assert_converged();

    // Nothing moved since: no new event, no byte written, one HEAD for the scheduled tag.
    let before = repo.state_files();
    let out = repo.run_at("2026-01-01T00:30:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains(&format!("1 request ({}: 1 HEAD, 0 GET)", reg.host())),
        "{out}"
    );
    assert_eq!(repo.state_files(), before);
    // The same pass as JSON carries the counts a scheduled job's wrapper would read.
    let out = repo.run_at(
        "2026-01-01T00:45:00Z",
        &["sync", "--once", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{out}");
    let v = out.json();
    assert_eq!(v["requests"][reg.host()]["head"], 1, "{v}");
    assert_eq!(v["requests"][reg.host()]["get"], 0, "{v}");
    assert_eq!(v["written"]["streams"], 0, "{v}");
    assert_eq!(v["imports"]["new_images"], 0, "{v}");
    assert_eq!(v["imports"]["unchanged"], 1, "{v}");
    assert_eq!(repo.state_files(), before);

    // An explicit import follows the permanent tag too (`oc import-image app:1.0`).
    let out = repo.run(&["import", "app:1.0"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        history_images(&repo.tag("app:1.0")),
        [one_moved.digest.clone(), one.digest.clone()]
    );
    let out = repo.run(&["import", "demo/app:9.9"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains(
            "the tag \"9.9\" does not exist on the image stream - choose an existing tag to import or use the 'tag' command to create a new tag"
        ),
        "{out}"
    );
    let out = repo.run(&["import", "nope"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr
            .contains("no image stream named \"nope\" exists, pass --confirm to create and import"),
        "{out}"
    );
    let out = repo.run(&["import", "app:1.0", "--all"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr
            .contains("cannot specify a tag \"1.0\" as well as --all"),
        "{out}"
    );
    // --all on a stream without a repository imports every DockerImage tag: nothing moved.
    let out = repo.run(&["import", "app", "--all"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("imported 0 tags (0 new images)")
            && out.stderr.contains("; 2 unchanged"),
        "{out}"
    );
    repo.assert_converged();
}

#[test]
fn import_all_caps_a_repository_in_openshift_order() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    for (tag, label) in [
        ("latest", "l"),
        ("1.0", "a"),
        ("1.1", "b"),
        ("2.0", "c"),
        ("nightly", "n"),
    ] {
        p.image("demo/many", tag, "amd64", label);
    }
    let definition = many(&format!("{}/demo/many", reg.host()));
    let repo = Repo::new(&definition);
    let out = repo.run(&["import", "many", "--all", "--max", "2"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains(
            "info: The remote repository contained 3 additional tags which were not imported: 1.1, 1.0, nightly"
        ),
        "{out}"
    );
    let stream = repo.run(&["get", "stream", "many", "-o", "json"]).json();
    let tags: Vec<&str> = stream["status"]["tags"]
        .as_array()
        .expect("status tags")
        .iter()
        .filter_map(|t| t["tag"].as_str())
        .collect();
    assert_eq!(tags, ["2.0", "latest"]);
    repo.assert_converged();
    // The import is recorded as OpenShift records it, so a sync does not import the
    // repository again: that happens when asked, or when the repository changes.
    let state = std::fs::read_to_string(repo.path().join("state/demo/many.yaml")).unwrap();
    assert!(
        state.contains("openshift.io/image.dockerRepositoryCheck: \"2026-01-01T00:00:00Z\""),
        "{state}"
    );
    let out = repo.run(&["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stderr.contains("imported"), "{out}");
    // Asked again, without the cap of 2, it imports the rest (under OpenShift's cap of 50).
    let out = repo.run(&["import", "many", "--all"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("imported 3 tags (3 new images)")
            && out.stderr.contains("; 2 unchanged"),
        "{out}"
    );
    repo.assert_converged();

    // A new stream with a repository imports its tags on apply.
    let fresh = Repo::new(&definition);
    let out = fresh.run(&["apply"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("imported 5 tags (5 new images)"),
        "{out}"
    );
    fresh.assert_converged();
    assert_eq!(fresh.run(&["apply"]).stderr, "");
    let out = fresh.run(&["sync", "--once"]);
    assert!(!out.stderr.contains("imported"), "{out}");
}

#[test]
fn a_missing_upstream_tag_is_a_not_found_condition() {
    let (reg, _, _) = app_registry();
    let p = reg.pusher();
    let gone = Tag::image("gone", &format!("{}/demo/app:missing", reg.host())).insecure();
    let repo = Repo::new(&app_definition(&reg.host(), [gone]));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("import demo/app:gone: failed: NotFound"),
        "{out}"
    );
    let t = repo.tag("app:gone");
    assert_eq!(t["conditions"][0]["type"], "ImportSuccess");
    assert_eq!(t["conditions"][0]["status"], "False");
    assert_eq!(t["conditions"][0]["reason"], "NotFound");
    // The other tags were imported; the failed one stays pending until an import succeeds.
    assert_eq!(history_images(&repo.tag("app:1.0")).len(), 1);
    let plan = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan}");
    assert!(
        plan.stdout
            .contains("<= import demo/app:gone  (retry: NotFound: "),
        "{plan}"
    );
    assert!(
        plan.stdout
            .ends_with("Plan: 0 to add, 0 to change, 0 to remove, 1 to import.\n"),
        "{plan}"
    );
    // Once the image exists upstream, the next apply imports it and clears the failure.
    let gone = p.image("demo/app", "missing", "amd64", "late");
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{out}");
    let t = repo.tag("app:gone");
    assert_eq!(history_images(&t), [gone.digest.as_str()]);
    assert!(t["conditions"].is_null(), "{t}");
    repo.assert_converged();
}

#[test]
fn a_rate_limited_registry_is_incomplete_and_keeps_the_last_good_import() {
    let (reg, _, two) = app_registry();
    let p = reg.pusher();
    let proxy = Proxy::start(reg.port);
    let repo = Repo::new(&app_definition(&proxy.host(), []));
    assert_eq!(repo.run(&["apply"]).code, 0);
    p.image("demo/app", "2.0", "amd64", "two-moved");
    proxy.set_default(Fault::Status(429, vec![]));
    let seen = proxy.requests();
    let out = repo.run(&["sync", "--once"]);
    assert_eq!(out.code, 3, "{out}");
    assert!(out.stdout.contains("RateLimited"), "{out}");
    assert!(proxy.requests() - seen <= 10, "{out}");
    let t = repo.tag("app:2.0");
    assert_eq!(history_images(&t), [two.digest.as_str()]);
    assert_eq!(t["conditions"][0]["reason"], "RateLimited");
    // The failed re-import stays pending: the next plan retries it, and the next sync
    // (the registry answering again) clears it.
    let plan = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan}");
    assert!(
        plan.stdout
            .contains("<= import demo/app:2.0  (retry: RateLimited: "),
        "{plan}"
    );
    proxy.set_default(Fault::Pass);
    let out = repo.run(&["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(repo.tag("app:2.0")["conditions"].is_null());
    repo.assert_converged();
}

fn insta_settings(host: &str) -> insta::Settings {
    let mut s = crate::support::snapshot_settings();
    s.add_filter(&regex_escape(host), "[registry]");
    s.add_filter(r"in \d+\.\d s", "in [time] s");
    s.add_filter(r"committed [0-9a-f]{12}", "committed [commit]");
    s
}

fn head_message(path: &Path) -> String {
    let repo = git2::Repository::open(path).expect("repo");
    let head = repo.head().expect("head").peel_to_commit().expect("commit");
    let author = head.author();
    format!(
        "author: {} <{}>\n{}",
        author.name().unwrap_or(""),
        author.email().unwrap_or(""),
        head.message().unwrap_or("")
    )
}

#[test]
fn sync_commit_records_every_import_in_git() {
    let (reg, repo) = app_repo();
    let p = reg.pusher();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    // Without --author the repository's Git config names the author.
    git(repo.path(), &["config", "user.name", "Repo Config"]);
    git(repo.path(), &["config", "user.email", "config@example.com"]);
    git(
        repo.path(),
        &["-c", "user.name=t", "-c", "user.email=t@e", "add", "."],
    );
    git(
        repo.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "definitions",
        ],
    );
    let settings = insta_settings(&reg.host());
    let out = repo.run(&[
        "sync",
        "--once",
        "--commit",
        "--author",
        "Sync Bot <sync@example.com>",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let first = head_message(repo.path());
    settings.bind(|| insta::assert_snapshot!("e2e_sync_commit_first", first));
    let status = git(repo.path(), &["status", "--porcelain"]);
    assert!(status.is_empty(), "state left uncommitted:\n{status}");

    // Nothing moved: no commit.
    let out = repo.run(&["sync", "--once", "--commit"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(head_message(repo.path()), first);

    p.image("demo/app", "2.0", "amd64", "two-moved");
    let out = repo.run_at("2026-01-01T00:15:00Z", &["sync", "--once", "--commit"]);
    assert_eq!(out.code, 0, "{out}");
    let second = head_message(repo.path());
    settings.bind(|| insta::assert_snapshot!("e2e_sync_commit_moved", second));
    let log = git(repo.path(), &["log", "--format=%s"]);
    assert_eq!(log.lines().count(), 3, "{log}");
}

#[test]
fn plan_refresh_shows_upstream_moves() {
    let (reg, repo) = app_repo();
    let p = reg.pusher();
    assert_eq!(repo.run(&["apply"]).code, 0);
    let settings = insta_settings(&reg.host());
    let out = repo.run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    p.image("demo/app", "2.0", "amd64", "two-moved");
    let out = repo.run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{out}");
    settings.bind(|| insta::assert_snapshot!("e2e_plan_refresh_moved", out.to_string()));
    // Offline the plan stays empty: scheduled moves belong to sync and --refresh.
    repo.assert_converged();
}

#[test]
fn sync_loop_stops_cleanly_on_sigterm() {
    let (_registry, repo) = app_repo();
    let mut cmd = crate::support::bin();
    let mut child = cmd
        .arg("-C")
        .arg(repo.path())
        .args(["sync", "--interval", "1h"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sync");
    // The first pass has finished once its state is written.
    let meta = repo.path().join("state/streamsync.toml");
    let start = Instant::now();
    while !meta.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no first pass");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to the child this test started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sync did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("sync stopped"), "{stderr}");
    assert!(history_images(&repo.tag("app:2.0")).len() == 1);
}

#[test]
fn unusable_auth_and_ca_files_are_errors() {
    let repo = Repo::new(&app_definition("127.0.0.1:1", []));
    let missing = repo.path().join("nope.json");
    let out = repo.run(&["apply", "--registry-config", &missing.display().to_string()]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("error: registry auth file `"), "{out}");
    let bad = repo.path().join("bad.json");
    std::fs::write(&bad, "{bad").expect("write");
    let out = repo.run(&[
        "sync",
        "--once",
        "--registry-config",
        &bad.display().to_string(),
    ]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("not valid JSON"), "{out}");
    std::fs::write(
        repo.path().join("streamsync.toml"),
        format!("{CONFIG}ca_files = [\"missing.pem\"]\n"),
    )
    .expect("config");
    let out = repo.run(&["plan", "--refresh"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("ca_files: `missing.pem`"), "{out}");
    // Nothing was applied.
    assert!(!repo.path().join("state").exists());
}

#[test]
fn an_unreachable_repository_is_incomplete_not_an_error() {
    let repo = Repo::new(&many("127.0.0.1:1/demo/many"));
    // No import succeeded, so every pass tries again.
    for _ in 0..2 {
        let out = repo.run(&["sync", "--once"]);
        assert_eq!(out.code, 3, "{out}");
        assert!(
            out.stdout
                .contains("cannot list the tags of `127.0.0.1:1/demo/many`: Unreachable"),
            "{out}"
        );
    }
    repo.assert_converged();
}

#[test]
fn import_applies_the_streams_a_tag_takes_images_from_first() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let two = p.image("demo/app", "2.0", "amd64", "two");
    let own = p.image("demo/web", "own", "amd64", "own");
    p.image("demo/app", "1.0", "amd64", "one");
    let repo = Repo::new(&app_definition(&reg.host(), []));
    let web = stream("web")
        .tag(Tag::tracking("stable", "app:2.0"))
        .tag(Tag::image("own", &format!("{}/demo/web:own", reg.host())).insecure());
    repo.repo.define("demo", &web);
    // Nothing applied yet: `web:stable` follows `app`, which is applied with it.
    let out = repo.run(&["import", "web:own"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("create stream demo/app: done"), "{out}");
    assert_eq!(history_images(&repo.tag("web:own")), [own.digest.as_str()]);
    assert_eq!(
        history_images(&repo.tag("web:stable")),
        [two.digest.as_str()]
    );
    repo.assert_converged();
}

#[test]
fn apply_records_an_index_and_its_platforms_with_preserve_original() {
    let reg = Registry::start(Variant::Plain);
    let (index, amd, arm) = reg.pusher().index("multi/app", "1.0");
    let multi = format!("{}/multi/app:1.0", reg.host());
    let extra = [
        Tag::image("multi", &multi)
            .insecure()
            .import_mode("PreserveOriginal"),
        Tag::image("legacy", &multi).insecure(),
    ];
    let p = reg.pusher();
    p.image("demo/app", "1.0", "amd64", "one");
    p.image("demo/app", "2.0", "amd64", "two");
    let repo = Repo::new(&app_definition(&reg.host(), extra));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(history_images(&repo.tag("app:multi")), [index.as_str()]);
    assert_eq!(
        history_images(&repo.tag("app:legacy")),
        [amd.digest.as_str()]
    );
    // The index and both platforms are Images in the state; amd64 once, shared with `legacy`.
    for digest in [&index, &amd.digest, &arm.digest] {
        let path = repo
            .path()
            .join("state/images/sha256")
            .join(format!("{}.yaml", hex(digest)));
        assert!(path.is_file(), "{} missing", path.display());
    }
    // The attestation the index lists is no image: 1.0, 2.0, the index and two platforms.
    let images = std::fs::read_dir(repo.path().join("state/images/sha256"))
        .expect("images")
        .count();
    assert_eq!(images, 5);
    let arm_file = repo
        .path()
        .join("state/images/sha256")
        .join(format!("{}.yaml", hex(&arm.digest)));
    let text = std::fs::read_to_string(arm_file).expect("arm64 image");
    assert!(text.contains("Architecture: arm64"), "{text}");
    repo.assert_converged();
}

#[test]
fn apply_and_sync_roll_the_manifests_after_their_imports() {
    let (reg, repo) = app_repo();
    let p = reg.pusher();
    let manifest = "# Rolled when demo/app:2.0 moves.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:2.0\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"  # set by streamsync\n";
    let path = repo.path().join("deploy/web.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, manifest).unwrap();
    let image = |repo: &Repo| {
        let out = repo.run(&["get", "tag", "demo/app:2.0", "-o", "json"]);
        out.json()["image"]["dockerImageReference"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let out = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
    let first = image(&repo);
    assert!(first.contains("@sha256:"), "{first}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        manifest.replace("\" \"  #", &format!("\"{first}\"  #")),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "~ roll deploy/web.yaml Deployment demo/web container web: \" \" → {first}"
        )),
        "{out}"
    );
    assert!(
        out.stderr.contains("Rolled 1 container in 1 file."),
        "{out}"
    );

    // The scheduled tag moves: the next sync imports it and rolls again.
    p.image("demo/app", "2.0", "amd64", "two-moved");
    let out = repo.run_at("2026-01-01T00:15:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    let second = image(&repo);
    assert_ne!(first, second);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        manifest.replace("\" \"  #", &format!("\"{second}\"  #")),
        "{out}"
    );

    // Nothing moved: nothing rolled, nothing rewritten.
    let out = repo.run_at("2026-01-01T00:30:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stderr.contains("Rolled"), "{out}");

    // `import` rolls after its import too.
    p.image("demo/app", "2.0", "amd64", "two-again");
    let out = repo.run_at("2026-01-01T00:45:00Z", &["import", "demo/app:2.0"]);
    assert_eq!(out.code, 0, "{out}");
    let third = image(&repo);
    assert_ne!(second, third);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        manifest.replace("\" \"  #", &format!("\"{third}\"  #")),
        "{out}"
    );
}

#[test]
fn sync_commit_commits_state_and_rolled_manifests_in_one_commit() {
    let (_registry, repo) = app_repo();
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:2.0\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n";
    let path = repo.path().join("deploy/web.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, manifest).unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    let commit = |args: &[&str]| {
        let mut all = vec!["-c", "user.name=t", "-c", "user.email=t@e"];
        all.extend_from_slice(args);
        git(repo.path(), &all)
    };
    commit(&["add", "."]);
    commit(&["commit", "-qm", "definitions and manifests"]);
    let out = repo.run(&[
        "sync",
        "--once",
        "--commit",
        "--author",
        "Sync Bot <sync@example.com>",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let status = git(repo.path(), &["status", "--porcelain"]);
    assert!(status.is_empty(), "left uncommitted:\n{status}");
    let log = git(repo.path(), &["log", "--format=%s"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    let files = git(repo.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert!(files.lines().any(|l| l == "deploy/web.yaml"), "{files}");
    assert!(files.lines().any(|l| l.starts_with("state/")), "{files}");
    let message = head_message(repo.path());
    let rolled = std::fs::read_to_string(&path).unwrap();
    let image = rolled
        .lines()
        .find_map(|l| l.strip_prefix("        image: \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_owned();
    assert!(message.contains("demo/app:2.0"), "{message}");
    assert!(
        message.contains(&format!(
            "\n- deploy/web.yaml Deployment demo/web container web: {image} (demo/app:2.0)\n"
        )),
        "{message}"
    );
}

/// A Deployment following `demo/<tag>` through its trigger, its image the placeholder `" "`.
fn follower(repo: &Repo, tag: &str) -> std::path::PathBuf {
    let path = repo.path().join("deploy/web.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, follower_text(tag)).unwrap();
    path
}

fn follower_text(tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{{\"from\":{{\"kind\":\"ImageStreamTag\",\"name\":\"{tag}\"}},\"fieldPath\":\"spec.template.spec.containers[0].image\"}}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n"
    )
}

#[test]
fn plan_refresh_shows_the_rollouts_the_imports_would_cause() {
    let (reg, repo) = app_repo();
    let p = reg.pusher();
    let path = follower(&repo, "app:2.0");
    let out = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
    let first = std::fs::read_to_string(&path).unwrap();
    // The applied stream is at rest with its definition (the plan may leave its state file
    // unparsed), yet a manifest that follows it still plans its roll-out.
    let rolled_back = path.with_file_name("again.yaml");
    std::fs::write(
        &rolled_back,
        follower_text("app:2.0").replace("name: web", "name: again"),
    )
    .unwrap();
    let out = repo.run(&["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["summary"]["rollout"], 1, "{out}");
    assert_eq!(
        out.json()["rollouts"][0]["file"],
        "deploy/again.yaml",
        "{out}"
    );
    std::fs::remove_file(&rolled_back).unwrap();

    // The scheduled tag moves in the registry. Offline, the plan cannot know it.
    let moved = p.image("demo/app", "2.0", "amd64", "two-moved");
    let out = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    let out = repo.run(&[
        "plan",
        "--refresh",
        "--format",
        "json",
        "--detailed-exitcode",
    ]);
    assert_eq!(out.code, 2, "{out}");
    let v = out.json();
    assert_eq!(v["summary"]["import"], 1, "{out}");
    assert_eq!(v["summary"]["rollout"], 1, "{out}");
    let expected = format!("{}/demo/app@{}", reg.host(), moved.digest);
    assert_eq!(v["rollouts"][0]["after"], expected.as_str(), "{out}");
    assert_eq!(v["rollouts"][0]["from"], "demo/app:2.0");
    // Planning wrote nothing.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);

    // The sync does what the plan said.
    let out = repo.run_at("2026-01-01T00:15:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains(&format!("image: \"{expected}\"")),
        "{out}"
    );
    let out = repo.run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn nothing_is_rolled_from_a_failed_import() {
    let (reg, _, _) = app_registry();
    let p = reg.pusher();
    let next = Tag::image("next", &format!("{}/demo/app:9.9", reg.host())).insecure();
    let repo = Repo::new(&app_definition(&reg.host(), [next]));
    let path = follower(&repo, "app:next");
    let manifest = std::fs::read_to_string(&path).unwrap();
    let out = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), manifest);
    assert!(
        out.stdout
            .contains("  waiting deploy/web.yaml Deployment demo/web container web (follows demo/app:next): its last import failed: NotFound"),
        "{out}"
    );

    // The tag gets an image: the retry imports it and only then rolls.
    let pushed = p.image("demo/app", "9.9", "amd64", "nine");
    let out = repo.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        std::fs::read_to_string(&path).unwrap().contains(&format!(
            "image: \"{}/demo/app@{}\"",
            reg.host(),
            pushed.digest
        )),
        "{out}"
    );
}

/// `[rollout] pull_request = true`: `sync --commit` commits the state alone to the branch
/// checked out and the rolled manifests as one commit on the roll-out branch, on top of it.
#[test]
fn sync_commit_in_pull_request_mode_puts_the_rollouts_on_their_own_branch() {
    let (reg, repo) = app_repo();
    let p = reg.pusher();
    let config = |extra: &str| {
        std::fs::write(
            repo.path().join("streamsync.toml"),
            format!("{CONFIG}\n[rollout]\npull_request = true\n{extra}"),
        )
        .unwrap();
    };
    config("");
    let web = "# Follows demo/app:2.0.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:2.0\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"  # set by streamsync\n";
    let worker = "apiVersion: apps/v1\r\nkind: Deployment\r\nmetadata:\r\n  name: worker\r\n  namespace: demo\r\n  annotations:\r\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:1.0\"},\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"work\\\")].image\"}]'\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - name: work\r\n        image: old\r\n";
    std::fs::create_dir_all(repo.path().join("deploy")).unwrap();
    std::fs::write(repo.path().join("deploy/web.yaml"), web).unwrap();
    std::fs::write(repo.path().join("deploy/worker.yaml"), worker).unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    let commit_all = |message: &str| {
        git(repo.path(), &["add", "."]);
        git(
            repo.path(),
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "commit",
                "-qm",
                message,
            ],
        );
    };
    commit_all("definitions and manifests");
    let rev = |what: &str| git(repo.path(), &["rev-parse", what]).trim().to_owned();
    let show = |what: &str| git(repo.path(), &["show", what]);
    let image = |tag: &str| {
        let out = repo.run(&["get", "tag", tag, "-o", "json"]);
        out.json()["image"]["dockerImageReference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let unrolled = || {
        assert_eq!(
            std::fs::read_to_string(repo.path().join("deploy/web.yaml")).unwrap(),
            web
        );
        assert_eq!(
            std::fs::read_to_string(repo.path().join("deploy/worker.yaml")).unwrap(),
            worker
        );
        let status = git(repo.path(), &["status", "--porcelain"]);
        assert!(status.is_empty(), "left uncommitted:\n{status}");
    };
    let sync = |now: &str| {
        let out = repo.run_at(
            now,
            &[
                "sync",
                "--once",
                "--commit",
                "--author",
                "Sync Bot <sync@example.com>",
                "--format",
                "json",
            ],
        );
        assert_eq!(out.code, 0, "{out}");
        out
    };

    // The first pass imports both tags: the state commit on main, the roll-outs on the branch.
    let start = rev("HEAD");
    let out = sync("2026-01-01T00:00:00Z");
    let head = rev("HEAD");
    assert_eq!(rev("HEAD^"), start, "one state commit");
    let state_files = git(repo.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        state_files.lines().all(|l| l.starts_with("state/")),
        "{state_files}"
    );
    assert!(!head_message(repo.path()).contains("Rolled"));
    unrolled();
    let branch = rev("refs/heads/streamsync/rollout");
    let mut shown = out.json()["rollout_branch"].clone();
    let body = shown
        .as_object_mut()
        .unwrap()
        .remove("body")
        .expect("the pull request's body");
    assert_eq!(
        shown,
        serde_json::json!({
            "branch": "streamsync/rollout",
            "commit": branch,
            "parent": head,
            "updated": true,
        }),
        "{out}"
    );
    assert!(
        body.as_str()
            .unwrap()
            .contains("- `deploy/web.yaml` `Deployment`"),
        "{body}"
    );
    assert!(
        out.stderr.contains(&format!(
            "committed 2 roll-outs to branch streamsync/rollout as {} on top of {} (the working tree is not rolled)",
            &branch[..12],
            &head[..12]
        )),
        "{out}"
    );
    assert_eq!(rev("streamsync/rollout^"), head);
    assert_eq!(
        git(
            repo.path(),
            &["diff", "--name-only", "HEAD", "streamsync/rollout"]
        ),
        "deploy/web.yaml\ndeploy/worker.yaml\n"
    );
    let (two, one) = (image("demo/app:2.0"), image("demo/app:1.0"));
    let web_rolled = |to: &str| web.replace("\" \"  #", &format!("\"{to}\"  #"));
    let worker_rolled = worker.replace("image: old", &format!("image: {one}"));
    assert_eq!(show("streamsync/rollout:deploy/web.yaml"), web_rolled(&two));
    assert_eq!(show("streamsync/rollout:deploy/worker.yaml"), worker_rolled);
    let message = git(
        repo.path(),
        &["log", "-1", "--format=%B", "streamsync/rollout"],
    );
    assert_eq!(
        message,
        format!(
            "streamsync: roll 2 containers in 2 files\n\nRolled:\n- deploy/web.yaml Deployment demo/web container web: {two} (demo/app:2.0)\n- deploy/worker.yaml Deployment demo/worker container work: {one} (demo/app:1.0)\n\n"
        )
    );

    // Nothing moved: neither main nor the branch changes.
    let out = sync("2026-01-01T00:15:00Z");
    assert_eq!(rev("HEAD"), head, "{out}");
    assert_eq!(rev("refs/heads/streamsync/rollout"), branch);
    assert_eq!(out.json()["rollout_branch"]["updated"], false, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "branch streamsync/rollout already holds the 2 roll-outs due, on top of {}",
            &head[..12]
        )),
        "{out}"
    );
    assert!(!out.stderr.contains("Rolled"), "{out}");
    assert_eq!(out.json()["rollout_branch"]["commit"], branch.as_str());
    unrolled();

    // The scheduled tag moves: a state commit, and the branch recreated on top of it.
    p.image("demo/app", "2.0", "amd64", "two-moved");
    sync("2026-01-01T00:30:00Z");
    let moved = rev("HEAD");
    assert_eq!(rev("HEAD^"), head);
    let two_moved = image("demo/app:2.0");
    assert_ne!(two, two_moved);
    assert_eq!(rev("streamsync/rollout^"), moved);
    assert_ne!(rev("refs/heads/streamsync/rollout"), branch);
    assert_eq!(
        show("streamsync/rollout:deploy/web.yaml"),
        web_rolled(&two_moved)
    );
    assert_eq!(show("streamsync/rollout:deploy/worker.yaml"), worker_rolled);
    unrolled();

    // A branch name of the team's choosing.
    config("branch = \"deploy/review\"\n");
    commit_all("roll-outs to deploy/review");
    let config_commit = rev("HEAD");
    let out = sync("2026-01-01T00:45:00Z");
    assert_eq!(rev("HEAD"), config_commit, "no state change");
    assert_eq!(rev("deploy/review^"), config_commit, "{out}");
    assert_eq!(
        out.json()["rollout_branch"]["branch"],
        "deploy/review",
        "{out}"
    );
    assert_eq!(
        show("deploy/review:deploy/web.yaml"),
        web_rolled(&two_moved)
    );
    unrolled();

    // A manifest with changes not committed: the branch would carry them, so it is refused.
    let review = rev("refs/heads/deploy/review");
    std::fs::write(
        repo.path().join("deploy/web.yaml"),
        format!("{web}# local note\n"),
    )
    .unwrap();
    let out = repo.run_at("2026-01-01T00:50:00Z", &["sync", "--once", "--commit"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains(
            "`deploy/web.yaml` differs from HEAD (changes not committed), so its roll-outs cannot go to the roll-out branch"
        ),
        "{out}"
    );
    assert!(out.stderr.contains("hint: commit or discard"), "{out}");
    assert_eq!(rev("refs/heads/deploy/review"), review);
    std::fs::write(repo.path().join("deploy/web.yaml"), web).unwrap();

    // The branch checked out is refused, with a hint; the state is still committed.
    config("branch = \"main\"\n");
    commit_all("roll-outs to main");
    let out = repo.run_at("2026-01-01T01:00:00Z", &["sync", "--once", "--commit"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr
            .contains("`[rollout] branch` in streamsync.toml is `main`, the branch checked out"),
        "{out}"
    );
    assert!(out.stderr.contains("hint: set `[rollout] branch`"), "{out}");
    unrolled();

    // Without --commit there is no branch to commit to: the working tree is rolled.
    let out = repo.run_at("2026-01-01T01:15:00Z", &["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("deploy/web.yaml")).unwrap(),
        web_rolled(&two_moved)
    );
}

/// The `run` script of step `name` of the sync workflow's `sync` job.
fn sync_workflow_step(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/sync.yml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["jobs"]["sync"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("no step {name:?}"))
        .to_owned()
}

/// Run a workflow script in `dir` with `env`, as the runner's bash does.
fn run_step(dir: &Path, script: &str, env: &[(&str, &str)]) -> Out {
    let out = Command::new("bash")
        .arg("-e")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A scheduled sync's checkout in pull-request mode: a repository whose `main` is pushed to
/// a bare `origin`, another clone that pushes meanwhile, and the registry `demo/app` comes
/// from.
struct WorkflowRig {
    _reg: Registry,
    repo: Repo,
    origin: tempfile::TempDir,
    other: tempfile::TempDir,
    temp: tempfile::TempDir,
}

const WORKFLOW_WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:2.0\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n";

const GIT_ID: [&str; 4] = ["-c", "user.name=t", "-c", "user.email=t@e"];

impl WorkflowRig {
    fn new() -> WorkflowRig {
        let reg = Registry::start(Variant::Plain);
        reg.pusher().image("demo/app", "2.0", "amd64", "two");
        reg.pusher().image("demo/app", "1.0", "amd64", "one");
        let repo = Repo::new(&app_definition(&reg.host(), []));
        std::fs::write(
            repo.path().join("streamsync.toml"),
            format!("{CONFIG}\n[rollout]\npull_request = true\n"),
        )
        .unwrap();
        std::fs::create_dir_all(repo.path().join("deploy")).unwrap();
        std::fs::write(repo.path().join("deploy/web.yaml"), WORKFLOW_WEB).unwrap();
        let rig = WorkflowRig {
            _reg: reg,
            repo,
            origin: tempfile::tempdir().unwrap(),
            other: tempfile::tempdir().unwrap(),
            temp: tempfile::tempdir().unwrap(),
        };
        let ci = rig.repo.path();
        git(rig.origin.path(), &["init", "-q", "--bare", "-b", "main"]);
        git(ci, &["init", "-q", "-b", "main"]);
        git(ci, &["add", "."]);
        git(ci, &[&GIT_ID[..], &["commit", "-qm", "base"]].concat());
        let url = rig.origin.path().to_str().unwrap();
        git(ci, &["remote", "add", "origin", url]);
        git(ci, &["push", "-q", "origin", "main"]);
        git(ci, &["fetch", "-q", "origin"]);
        git(rig.other.path(), &["clone", "-q", url, "."]);
        rig
    }

    /// Someone pushes `text` to `file` on main while the sync runs.
    fn push_meanwhile(&self, file: &str, text: &str) {
        let other = self.other.path();
        std::fs::write(other.join(file), text).unwrap();
        git(other, &["add", file]);
        git(
            other,
            &[&GIT_ID[..], &["commit", "-qm", "meanwhile"]].concat(),
        );
        git(other, &["push", "-q", "origin", "main"]);
    }

    /// `sync --once --commit --format json`, its report where the workflow keeps it.
    fn sync(&self, now: &str) -> Value {
        let out = self
            .repo
            .run_at(now, &["sync", "--once", "--commit", "--format", "json"]);
        assert_eq!(out.code, 0, "{out}");
        std::fs::write(self.temp.path().join("sync.json"), &out.stdout).unwrap();
        out.json()
    }

    /// Run the sync workflow's step `name` in the checkout.
    fn step(&self, name: &str) -> Out {
        let report = self.temp.path().join("sync.json");
        let outputs = self.temp.path().join("outputs");
        let env = [
            ("BRANCH", "main"),
            ("BASE", "main"),
            ("REPORT", report.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ];
        run_step(self.repo.path(), &sync_workflow_step(name), &env)
    }

    fn push_state(&self) -> Out {
        self.step("Push the state commit (fetch, rebase, retry; never force)")
    }

    fn push_branch(&self) -> Out {
        self.step("Push the roll-out branch")
    }

    /// The step outputs written so far, and forget them.
    fn take_outputs(&self) -> String {
        let path = self.temp.path().join("outputs");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        text
    }

    fn remote(&self, what: &str) -> String {
        git(self.origin.path(), &["rev-parse", what])
            .trim()
            .to_owned()
    }
}

/// The sync workflow's git steps on real repositories: the state commit is pushed (rebased on
/// a commit pushed meanwhile), the roll-out commit is put on what was pushed and pushed to
/// the roll-out branch, and a second run with nothing moved pushes nothing.
#[test]
fn sync_workflow_pushes_the_rollout_branch_on_the_pushed_state() {
    let rig = WorkflowRig::new();
    let ci = rig.repo.path();
    rig.push_meanwhile("NOTES", "meanwhile\n");

    let json = rig.sync("2026-01-01T00:00:00Z");
    assert_eq!(json["rollout_branch"]["parent"], head_of(ci));
    let shown = rig.step("Show what the sync did");
    assert_eq!(shown.code, 0, "{shown}");
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["rollout_branch"], json["rollout_branch"]);
    assert_eq!(shown["failed"], serde_json::json!([]));
    assert_eq!(shown["summary"], json["summary"]);
    let out = rig.push_state();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("rebasing on the new main"), "{out}");
    let out = rig.push_branch();
    assert_eq!(out.code, 0, "{out}");
    // On the pushed main (state commit rebased on the other push), one commit of roll-outs.
    let main = rig.remote("refs/heads/main");
    assert_eq!(main, head_of(ci));
    assert_eq!(rig.remote("refs/heads/streamsync/rollout^"), main);
    assert_eq!(
        git(
            rig.origin.path(),
            &["diff", "--name-only", "main", "streamsync/rollout"]
        ),
        "deploy/web.yaml\n"
    );
    let rolled = git(
        rig.origin.path(),
        &["show", "streamsync/rollout:deploy/web.yaml"],
    );
    let image = rig
        .repo
        .run(&["get", "tag", "demo/app:2.0", "-o", "json"])
        .json()["image"]["dockerImageReference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        rolled,
        WORKFLOW_WEB.replace("\" \"", &format!("\"{image}\""))
    );
    let pushed = rig.remote("refs/heads/streamsync/rollout");
    assert_eq!(
        rig.take_outputs(),
        format!("branch=streamsync/rollout\ncommit={pushed}\n")
    );
    assert_eq!(git(ci, &["status", "--porcelain"]), "");
    assert_eq!(git(ci, &["rev-parse", "--abbrev-ref", "HEAD"]), "main\n");

    // The next run, from a fresh fetch, with nothing moved: nothing pushed anywhere.
    git(ci, &["fetch", "-q", "origin"]);
    let json = rig.sync("2026-01-01T00:15:00Z");
    assert_eq!(json["rollout_branch"]["parent"], main.as_str());
    let out = rig.push_state();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("no state change to push"), "{out}");
    let out = rig.push_branch();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("streamsync/rollout already proposes these roll-outs"),
        "{out}"
    );
    assert_eq!(rig.remote("refs/heads/main"), main);
    assert_eq!(rig.remote("refs/heads/streamsync/rollout"), pushed);
    assert_eq!(
        rig.take_outputs(),
        format!("branch=streamsync/rollout\ncommit={pushed}\n")
    );
}

/// A manifest changed on main meanwhile, in the very line the roll-out changes: the roll-out
/// cannot be put on the pushed state, so the step warns, pushes no branch, names none for the
/// pull-request step, and leaves the checkout clean on main.
#[test]
fn sync_workflow_skips_a_rollout_that_conflicts_with_the_pushed_state() {
    let rig = WorkflowRig::new();
    let ci = rig.repo.path();
    rig.push_meanwhile(
        "deploy/web.yaml",
        &WORKFLOW_WEB.replace("\" \"", "quay.io/team/web:pinned"),
    );
    rig.sync("2026-01-01T00:00:00Z");
    let out = rig.push_state();
    assert_eq!(out.code, 0, "{out}");
    let out = rig.push_branch();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains(
            "::warning::the roll-outs conflict with the new main; the next sync recreates the branch"
        ),
        "{out}"
    );
    assert_eq!(rig.take_outputs(), "");
    assert!(
        git(
            rig.origin.path(),
            &["branch", "--list", "streamsync/rollout"]
        )
        .is_empty(),
        "no roll-out branch pushed"
    );
    assert_eq!(git(ci, &["status", "--porcelain"]), "");
    assert_eq!(git(ci, &["rev-parse", "--abbrev-ref", "HEAD"]), "main\n");
    assert_eq!(head_of(ci), rig.remote("refs/heads/main"));
}

fn head_of(repo: &Path) -> String {
    git(repo, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// A broken workload manifest stops no import: the sync exits 1 with its state commit made,
/// the workflow pushes that commit, and only then its last step fails the job.
#[test]
fn sync_workflow_pushes_the_state_commit_then_fails_on_a_manifest_error() {
    let rig = WorkflowRig::new();
    let ci = rig.repo.path();
    std::fs::write(
        ci.join("deploy/broken.yaml"),
        "kind: Deployment\nmetadata:\n  name: broken\n  annotations:\n    image.openshift.io/triggers: '[{'\nspec: {}\n",
    )
    .unwrap();
    git(ci, &["add", "."]);
    git(
        ci,
        &[&GIT_ID[..], &["commit", "-qm", "broken manifest"]].concat(),
    );
    git(ci, &["push", "-q", "origin", "main"]);
    let before = head_of(ci);

    let out = rig.repo.run_at(
        "2026-01-01T00:00:00Z",
        &["sync", "--once", "--commit", "--format", "json"],
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("deploy/broken.yaml:5:"), "{out}");
    std::fs::write(rig.temp.path().join("sync.json"), &out.stdout).unwrap();
    // The import was committed.
    assert_ne!(head_of(ci), before);
    assert!(
        git(ci, &["show", "--name-only", "--format=", "HEAD"]).contains("state/demo/app.yaml"),
        "{out}"
    );

    let pushed = rig.push_state();
    assert_eq!(pushed.code, 0, "{pushed}");
    assert_eq!(rig.remote("refs/heads/main"), head_of(ci));

    let fail = sync_workflow_step("Fail when the sync failed");
    let temp = rig.temp.path();
    let out = run_step(temp, &fail, &[("EXIT_CODE", "1")]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("::error::streamsync sync exited with 1"),
        "{out}"
    );
    for ok in ["0", "3"] {
        let out = run_step(temp, &fail, &[("EXIT_CODE", ok)]);
        assert_eq!(out.code, 0, "{ok}: {out}");
    }
    let out = run_step(temp, &fail, &[("EXIT_CODE", "")]);
    assert_eq!(out.code, 1, "{out}");
}

/// The roll-out pull request's body comes from the sync report, escaped: a manifest's file
/// name, object and container names cannot hide lines, mention people or show images in it.
#[test]
fn sync_workflow_pull_request_body_escapes_markdown() {
    let rig = WorkflowRig::new();
    let ci = rig.repo.path();
    let hostile = "deploy/@admin <!-- ![i](https:e.example).yaml";
    std::fs::write(
        ci.join(hostile),
        WORKFLOW_WEB
            .replace("name: web\n  namespace", "name: '@owner'\n  namespace")
            .replace(
                "- name: web",
                "- name: '<img src=x> [l](https://e.example) -->'",
            ),
    )
    .unwrap();
    git(ci, &["add", "."]);
    git(
        ci,
        &[&GIT_ID[..], &["commit", "-qm", "hostile names"]].concat(),
    );
    git(ci, &["push", "-q", "origin", "main"]);
    git(ci, &["fetch", "-q", "origin"]);
    rig.sync("2026-01-01T00:00:00Z");
    assert_eq!(rig.push_state().code, 0);
    let out = rig.push_branch();
    assert_eq!(out.code, 0, "{out}");
    let outputs = rig.take_outputs();
    let commit = outputs
        .lines()
        .find_map(|l| l.strip_prefix("commit="))
        .unwrap()
        .to_owned();
    // `gh`: no pull request open yet; `pr create` keeps the body file it is given.
    let bin = rig.temp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kept = rig.temp.path().join("posted-body.md");
    std::fs::write(
        bin.join("gh"),
        format!(
            "#!/bin/bash\nset -eu\ncase \"$1 $2\" in\n  'pr list') exit 0 ;;\n  'pr create') while [ $# -gt 0 ]; do if [ \"$1\" = --body-file ]; then cp \"$2\" {kept:?}; fi; shift; done ;;\n  *) echo \"unexpected gh $*\" >&2; exit 2 ;;\nesac\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(bin.join("gh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = rig.temp.path().join("sync.json");
    let body = rig.temp.path().join("rollout-body.md");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = run_step(
        ci,
        &sync_workflow_step("Open or update the roll-out pull request"),
        &[
            ("BASE", "main"),
            ("BRANCH", "streamsync/rollout"),
            ("COMMIT", &commit),
            ("GH_TOKEN", "t"),
            ("GH_REPO", "o/r"),
            ("REPORT", report.to_str().unwrap()),
            ("BODY", body.to_str().unwrap()),
            ("PATH", &path),
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let posted = std::fs::read_to_string(&kept).unwrap();
    assert!(
        posted.contains(
            "- `deploy/@admin <!-- ![i](https:e.example).yaml` `Deployment` `demo/@owner` container `<img src=x> [l](https://e.example) -->`: "
        ),
        "{posted}"
    );
    // Outside code spans, nothing Markdown or HTML acts on.
    for (i, part) in posted.split('`').enumerate() {
        if i % 2 == 0 {
            for c in ["@", "<", "](", "![", "-->"] {
                assert!(!part.contains(c), "{c:?} outside a code span: {posted}");
            }
        }
    }
    assert_eq!(
        posted.lines().filter(|l| l.starts_with("- ")).count(),
        2,
        "{posted}"
    );
}
