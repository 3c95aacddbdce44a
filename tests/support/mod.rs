//! Test support shared by the CLI tests (`tests/cli`) and the registry tests
//! (`tests/registry`): one way to run the built binary in a hermetic environment, builders for
//! repositories, definitions and state manifests, one way to run `git`, the set-up the
//! registry tests share (the config that allows the local registries, `demo/app`), and one
//! snapshot helper. A test keeps an ImageStream literal only where its exact text is the
//! point (a located diagnostic, a malformed file, formatting an edit must keep), and says so.
//!
//! Every run gets its own sandbox folder: `HOME`, the `XDG_*` folders, `DOCKER_CONFIG` and
//! `REGISTRY_AUTH_FILE` (an empty auth file) all point inside it, so no test reads the
//! developer's own configuration or registry credentials. A test that wants credentials sets
//! `REGISTRY_AUTH_FILE` (or passes `--registry-config`) after [`bin`].

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The "now" a run has unless a test names another.
pub const NOW: &str = "2026-01-01T00:00:00Z";

/// A path inside the crate.
pub fn crate_path(rel: impl AsRef<Path>) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A run's own folder for everything a user's environment would otherwise supply.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("streamsync-test-home")
            .tempdir()
            .expect("sandbox tempdir");
        for sub in [
            ".config",
            ".cache",
            ".local/share",
            ".local/state",
            ".docker",
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("sandbox folder");
        }
        std::fs::write(dir.path().join("auth.json"), "{\"auths\":{}}\n").expect("auth file");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Point `cmd`'s environment at this sandbox (and fix the rest of what a run depends on).
    pub fn apply(&self, cmd: &mut Command) {
        let home = self.path();
        cmd.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_RUNTIME_DIR", home)
            .env("DOCKER_CONFIG", home.join(".docker"))
            .env("REGISTRY_AUTH_FILE", home.join("auth.json"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // A test never leaves this machine: a request for any host but the loopback ones
            // goes through a proxy at a closed local port and fails at once, without even a
            // DNS look-up of the outside name.
            .env("HTTPS_PROXY", DEAD_PROXY)
            .env("https_proxy", DEAD_PROXY)
            .env("HTTP_PROXY", DEAD_PROXY)
            .env("http_proxy", DEAD_PROXY)
            .env("ALL_PROXY", DEAD_PROXY)
            .env("all_proxy", DEAD_PROXY)
            .env("NO_PROXY", LOOPBACK)
            .env("no_proxy", LOOPBACK)
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("RUST_LOG")
            .env("STREAMSYNC_NOW", NOW);
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

/// A proxy nobody listens on (the discard port of this machine).
const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// The hosts the tests' own registries and servers listen on, reached without the proxy.
const LOOPBACK: &str = "127.0.0.1,localhost,::1";

/// The binary with a hermetic environment; derefs to [`Command`]. Keep it alive while a
/// spawned child runs (its sandbox goes with it).
pub struct TestCommand {
    cmd: Command,
    sandbox: Sandbox,
}

impl TestCommand {
    pub fn sandbox(&self) -> &Path {
        self.sandbox.path()
    }

    /// Run to completion and collect what it printed.
    pub fn run(&mut self) -> Output {
        Output::from(self.cmd.output().expect("run streamsync"))
    }
}

impl Deref for TestCommand {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl DerefMut for TestCommand {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

/// The built binary with the hermetic environment, at [`NOW`].
pub fn bin() -> TestCommand {
    let sandbox = Sandbox::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_streamsync"));
    sandbox.apply(&mut cmd);
    TestCommand { cmd, sandbox }
}

/// Run `args` with `-C root` at time `now`.
pub fn run_at(root: &Path, now: &str, args: &[impl AsRef<OsStr>]) -> Output {
    let mut cmd = bin();
    cmd.arg("-C")
        .arg(root)
        .args(args)
        .env("STREAMSYNC_NOW", now);
    cmd.run()
}

/// What one run printed and how it exited.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    /// Stdout as JSON (the test fails when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// insta settings that keep snapshots in the crate's `snapshots/` folder, named as given, with
/// no filter (a test adds its own: a registry's port, a commit id).
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(crate_path("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// insta settings that keep snapshots in the crate's `snapshots/` folder, with the filters
/// every snapshot needs (wall-clock times and retry-dependent request counts).
pub fn insta_settings() -> insta::Settings {
    let mut s = snapshot_settings();
    s.add_filter(
        r"in \d+\.\d s, \d+ requests?( \([^)]*\))?",
        "in [time] s, [requests]",
    );
    s
}

/// A temporary repository folder.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
}

impl Default for TestRepo {
    fn default() -> Self {
        TestRepo::new()
    }
}

impl TestRepo {
    pub fn new() -> Self {
        TestRepo {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` to `rel` (creating folders).
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Copy a file from the crate into the repository.
    pub fn copy(&self, from: impl AsRef<Path>, rel: &str) -> &Self {
        let text = std::fs::read(crate_path(from)).unwrap();
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Write `stream` as the definition `definitions/<namespace>/<name>.yaml`.
    pub fn define(&self, namespace: &str, stream: &Stream) -> &Self {
        self.write(
            &format!("definitions/{namespace}/{}.yaml", stream.name),
            &stream.to_yaml(),
        )
    }

    /// Run streamsync with `-C <repo>` and the given arguments.
    pub fn run(&self, args: &[&str]) -> Output {
        run_at(self.path(), NOW, args)
    }

    /// A repository with `config` as `streamsync.toml` and `stream` as
    /// `definitions/demo/app.yaml` (the registry tests' one stream, whatever its name).
    pub fn with_app(config: &str, stream: &Stream) -> TestRepo {
        let repo = TestRepo::new();
        repo.write("streamsync.toml", config)
            .write("definitions/demo/app.yaml", &stream.to_yaml());
        repo
    }

    /// Run the `git` command line in the repository (see [`git`]).
    pub fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    /// `git init` on `main`, then commit everything with `message`.
    pub fn commit_with_git(&self, message: &str) -> &Self {
        self.git(&["init", "-q", "-b", "main"]);
        self.git(&["add", "."]);
        self.git(&["commit", "-qm", message]);
        self
    }
}

/// The config of a repository whose streams import from the tests' own registries (plain
/// HTTP on 127.0.0.1).
pub const LOCAL_REGISTRY_CONFIG: &str = "[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n";

/// `demo/app` as the registry tests define it: `1.0`, and `2.0` scheduled, both imported
/// insecurely from `host`'s `demo/app`.
pub fn local_app(host: &str) -> Stream {
    stream("app")
        .tag(Tag::image("1.0", &format!("{host}/demo/app:1.0")).insecure())
        .tag(
            Tag::image("2.0", &format!("{host}/demo/app:2.0"))
                .insecure()
                .scheduled(),
        )
}

/// Run the `git` command line in `dir` without the machine's or the user's Git config, with
/// a committer identity of its own (a later `-c user.name=…` in `args` wins), in a folder
/// another UID may own; its stdout (the test fails when git does).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "safe.directory=*",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `text` as a regular expression that matches it literally (for a snapshot filter).
pub fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// Stage everything in the work tree (deletions too) and commit it on HEAD.
pub fn commit_all(repo: &git2::Repository, message: &str) {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Test", "test@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap();
}

/// One spec tag of a [`Stream`].
#[derive(Clone)]
pub struct Tag {
    name: String,
    kind: &'static str,
    from: String,
    from_namespace: Option<String>,
    annotations: Vec<(String, String)>,
    policy: Vec<(&'static str, String)>,
    extra: Vec<(String, String)>,
}

impl Tag {
    /// A tag importing the external image `pullspec`.
    pub fn image(name: &str, pullspec: &str) -> Tag {
        Tag {
            name: name.to_owned(),
            kind: "DockerImage",
            from: pullspec.to_owned(),
            from_namespace: None,
            annotations: Vec::new(),
            policy: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// A tag following `stream:tag` in the same namespace.
    pub fn tracking(name: &str, source: &str) -> Tag {
        Tag {
            name: name.to_owned(),
            kind: "ImageStreamTag",
            from: source.to_owned(),
            from_namespace: None,
            annotations: Vec::new(),
            policy: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Another field of the tag (`key: value`, written as given, in order).
    pub fn field(mut self, key: &str, value: &str) -> Tag {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A tag taking the image `stream@digest` (an ImageStreamImage).
    pub fn pinned(name: &str, image: &str) -> Tag {
        Tag {
            kind: "ImageStreamImage",
            ..Tag::tracking(name, image)
        }
    }

    /// The namespace of an ImageStreamTag or ImageStreamImage source (`from.namespace`).
    pub fn in_namespace(mut self, namespace: &str) -> Tag {
        self.from_namespace = Some(namespace.to_owned());
        self
    }

    /// An annotation of the tag, `key: value` with the value written as given.
    pub fn annotation(mut self, key: &str, value: &str) -> Tag {
        self.annotations.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `importPolicy.scheduled: true`.
    pub fn scheduled(mut self) -> Tag {
        self.policy.push(("scheduled", "true".to_owned()));
        self
    }

    /// `importPolicy.insecure: true`.
    pub fn insecure(mut self) -> Tag {
        self.policy.push(("insecure", "true".to_owned()));
        self
    }

    /// `importPolicy.importMode` (`Legacy`, `PreserveOriginal`).
    pub fn import_mode(mut self, mode: &str) -> Tag {
        self.policy.push(("importMode", mode.to_owned()));
        self
    }

    /// `referencePolicy.type` (`Source`, `Local`).
    pub fn reference_policy(self, kind: &str) -> Tag {
        self.field("referencePolicy", &format!("{{type: {kind}}}"))
    }

    pub fn reference(self) -> Tag {
        self.field("reference", "true")
    }
}

/// An ImageStream definition or state manifest, written as YAML by [`Stream::to_yaml`].
#[derive(Clone)]
pub struct Stream {
    name: String,
    namespace: Option<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    repository: Option<String>,
    tags: Vec<Tag>,
}

/// A stream named `name` with no tags.
pub fn stream(name: &str) -> Stream {
    Stream {
        name: name.to_owned(),
        namespace: None,
        labels: Vec::new(),
        annotations: Vec::new(),
        repository: None,
        tags: Vec::new(),
    }
}

impl Stream {
    pub fn namespace(mut self, namespace: &str) -> Stream {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// An annotation, `key: value` with the value written as given (quote it when YAML
    /// would read another type).
    pub fn annotation(mut self, key: &str, value: &str) -> Stream {
        self.annotations.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Stream {
        self.labels.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `spec.dockerImageRepository`: import every tag of `repository`.
    pub fn repository(mut self, repository: &str) -> Stream {
        self.repository = Some(repository.to_owned());
        self
    }

    pub fn tag(mut self, tag: Tag) -> Stream {
        self.tags.push(tag);
        self
    }

    /// The manifest as the files in `definitions/` spell it.
    pub fn to_yaml(&self) -> String {
        let mut y =
            String::from("apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n");
        let _ = writeln!(y, "  name: {}", self.name);
        if let Some(ns) = &self.namespace {
            let _ = writeln!(y, "  namespace: {ns}");
        }
        for (key, list) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            if !list.is_empty() {
                let _ = writeln!(y, "  {key}:");
                for (k, v) in list {
                    let _ = writeln!(y, "    {k}: {v}");
                }
            }
        }
        y.push_str("spec:\n");
        if let Some(repository) = &self.repository {
            let _ = writeln!(y, "  dockerImageRepository: {repository}");
            if self.tags.is_empty() {
                return y;
            }
        }
        if self.tags.is_empty() {
            y.push_str("  tags: []\n");
            return y;
        }
        y.push_str("  tags:\n");
        for t in &self.tags {
            let _ = writeln!(y, "  - name: {:?}", t.name);
            if !t.annotations.is_empty() {
                y.push_str("    annotations:\n");
                for (k, v) in &t.annotations {
                    let _ = writeln!(y, "      {k}: {v}");
                }
            }
            let _ = writeln!(
                y,
                "    from:\n      kind: {}\n      name: {}",
                t.kind, t.from
            );
            if let Some(ns) = &t.from_namespace {
                let _ = writeln!(y, "      namespace: {ns}");
            }
            if !t.policy.is_empty() {
                let flags: Vec<String> =
                    t.policy.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let _ = writeln!(y, "    importPolicy: {{{}}}", flags.join(", "));
            }
            for (k, v) in &t.extra {
                let _ = writeln!(y, "    {k}: {v}");
            }
        }
        y
    }
}

impl Output {
    /// `exit: N`, stdout and stderr in one snapshot-friendly text (the CLI tests' form).
    pub fn snapshot(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `exit N`, stdout and stderr (the registry tests' form, kept so their snapshots stay).
impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Assert a snapshot stored under `snapshots/` with [`insta_settings`].
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {{
        let settings = $crate::support::insta_settings();
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}
