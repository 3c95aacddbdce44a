//! The release as users get it: `scripts/package.sh --image` builds the archive and the image
//! once per test run (a release build takes minutes), then the static binary, the image under
//! OpenShift's restricted SCC (an arbitrary UID, GID 0, a repository owned by another UID) and
//! `install.sh` (from a local HTTP server) are run against a real registry and repository.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::harness::{Registry, Variant};
use crate::support::{Tag, stream};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `scripts/package.sh --image` left in `dist/`.
struct Dist {
    dir: PathBuf,
    target: String,
}

impl Dist {
    fn archive_name(&self) -> String {
        format!("streamsync-{VERSION}-{}.tar.gz", self.target)
    }

    fn archive(&self) -> PathBuf {
        self.dir.join(self.archive_name())
    }

    fn oci(&self) -> PathBuf {
        self.dir.join(format!("streamsync-{VERSION}-oci.tar"))
    }
}

/// Build the release once for every test here.
fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("bash")
            .arg(root.join("scripts/package.sh"))
            .arg("--image")
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/package.sh");
        assert!(
            out.status.success(),
            "scripts/package.sh --image failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let host = Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("rustc -vV");
        let target = String::from_utf8_lossy(&host.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            .expect("rustc names its host");
        Dist {
            dir: root.join("dist"),
            target,
        }
    })
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sh(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}:\n{}", text(&out));
    out
}

// The image test's repository belongs to another UID: the shared `git` accepts it.
use crate::support::git;

/// Unpack the release archive into `into`; the names it holds, sorted.
fn unpack(dist: &Dist, into: &Path) -> Vec<String> {
    let list = sh(Command::new("tar").arg("-tzf").arg(dist.archive()));
    let mut names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    sh(Command::new("tar")
        .arg("-xzf")
        .arg(dist.archive())
        .arg("-C")
        .arg(into));
    names
}

/// A Git repository whose stream imports `app:1.0` from the registry at `host` (a name, not
/// an address, so it must be resolved), committed.
fn repository(dir: &Path, host: &str) {
    std::fs::write(
        dir.join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"localhost\", \"127.0.0.1\"]\n",
    )
    .unwrap();
    let app = stream("app").tag(Tag::image("1.0", &format!("{host}/demo/app:1.0")).insecure());
    std::fs::create_dir_all(dir.join("definitions/demo")).unwrap();
    std::fs::write(dir.join("definitions/demo/app.yaml"), app.to_yaml()).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "definitions"]);
}

/// `validate`, `plan --refresh --detailed-exitcode` (changes: 2), `sync --once --commit` (one
/// new commit, nothing left over), and the plan again (no changes: 0), each through `run`.
fn reconcile(repo: &Path, run: &dyn Fn(&[&str]) -> Output) {
    let out = run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "validate:\n{}", text(&out));
    let out = run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "plan:\n{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("demo/app"),
        "{}",
        text(&out)
    );
    let out = run(&["sync", "--once", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "sync:\n{}", text(&out));
    assert_eq!(git(repo, &["rev-list", "--count", "HEAD"]).trim(), "2");
    assert_eq!(
        git(repo, &["status", "--porcelain"]),
        "",
        "sync left changes"
    );
    let out = run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan after sync:\n{}",
        text(&out)
    );
}

#[test]
fn the_release_archive_holds_a_static_binary_that_works_with_no_environment() {
    let dist = dist();
    // The checksum file is what sha256sum writes, for the archive's own bytes.
    let sums = std::fs::read_to_string(dist.dir.join(format!("{}.sha256", dist.archive_name())))
        .expect("the .sha256 file");
    let bytes = std::fs::read(dist.archive()).expect("the archive");
    assert_eq!(
        sums,
        format!(
            "{}  {}\n",
            hex::encode(Sha256::digest(&bytes)),
            dist.archive_name()
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let names = unpack(dist, dir.path());
    assert_eq!(names, ["LICENSE", "README.md", "streamsync"]);
    let bin = dir.path().join("streamsync");
    assert_eq!(
        std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let license = std::fs::read_to_string(dir.path().join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));

    // Static: no program interpreter, no shared library.
    let file = sh(Command::new("file").arg("-b").arg(&bin));
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(
        file.contains("statically linked") || file.contains("static-pie linked"),
        "{file}"
    );
    let dynamic = sh(Command::new("readelf").arg("-lW").arg(&bin));
    assert!(!String::from_utf8_lossy(&dynamic.stdout).contains("INTERP"));

    // The version names the commit and the target.
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".to_owned(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        });
    let out = sh(Command::new(&bin).arg("--version").env_clear());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("streamsync {VERSION} (commit {commit}, {})\n", dist.target)
    );

    // No HOME, no PATH, nothing: against a registry named `localhost`, resolved in-process.
    let reg = Registry::start(Variant::Plain);
    reg.pusher().image("demo/app", "1.0", "amd64", "one");
    let repo = tempfile::tempdir().unwrap();
    repository(repo.path(), &format!("localhost:{}", reg.port));
    reconcile(repo.path(), &|args| {
        Command::new(&bin)
            .args(args)
            .current_dir(repo.path())
            .env_clear()
            .env("STREAMSYNC_NOW", "2026-01-01T00:00:00Z")
            .stdin(Stdio::null())
            .output()
            .expect("run the release binary")
    });
}

/// A buildah container from the release's OCI archive, removed on drop.
struct Container {
    name: String,
}

fn buildah() -> Command {
    let mut c = Command::new("buildah");
    c.env("STORAGE_DRIVER", "vfs")
        .env("BUILDAH_ISOLATION", "chroot")
        .stdin(Stdio::null());
    c
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = buildah().args(["rm", &self.name]).output();
    }
}

#[test]
fn the_image_runs_as_an_arbitrary_uid_in_group_0_on_a_repository_it_does_not_own() {
    let dist = dist();
    let name = format!("streamsync-release-test-{}", std::process::id());
    let _ = buildah().args(["rm", &name]).output();
    let oci = format!("oci-archive:{}", dist.oci().display());
    sh(buildah().args(["from", "--quiet", "--name", &name, &oci]));
    let container = Container { name };

    // What the image declares: the entrypoint, a non-root user in group 0.
    let inspect = sh(buildah().args(["inspect", "--type", "container", &container.name]));
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let config = &inspect["OCIv1"]["config"];
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/streamsync"])
    );
    let user = config["User"].as_str().unwrap_or_default();
    assert!(
        user.ends_with(":0") && !user.starts_with("0:") && !user.starts_with("root"),
        "{user}"
    );
    // FROM scratch: one layer, the files the Containerfile copies.
    assert_eq!(
        inspect["OCIv1"]["rootfs"]["diff_ids"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{}",
        inspect["OCIv1"]["rootfs"]
    );

    // The volume: owned by another UID, writable through group 0.
    let reg = Registry::start(Variant::Plain);
    reg.pusher().image("demo/app", "1.0", "amd64", "one");
    let volume = tempfile::tempdir().unwrap();
    let repo = volume.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    repository(&repo, &format!("localhost:{}", reg.port));
    sh(Command::new("chown")
        .args(["-R", "1000:0"])
        .arg(volume.path()));
    sh(Command::new("chmod")
        .args(["-R", "g+rwX"])
        .arg(volume.path()));
    assert_eq!(std::fs::metadata(&repo).unwrap().uid(), 1000);

    let mount = format!("{}:/workspace/repo", repo.display());
    reconcile(&repo, &|args| {
        buildah()
            .args(["run", "--isolation", "chroot", "--user", "1000770000:0"])
            .args(["--workingdir", "/workspace/repo", "--volume", &mount])
            .args(["--env", "STREAMSYNC_NOW=2026-01-01T00:00:00Z"])
            .args([&container.name, "--", "/usr/local/bin/streamsync"])
            .args(args)
            .output()
            .expect("buildah run")
    });
    // What the sync wrote belongs to the arbitrary UID, in group 0.
    let state = std::fs::read_dir(repo.join("state"))
        .expect("the state folder")
        .flatten()
        .next()
        .expect("a state entry");
    let meta = state.metadata().unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1_000_770_000, 0));
}

/// A local release server (Python's http.server) that answers the first request for each
/// file with 503, as a flaky CDN would: an installer that does not retry fails.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FLAKY_SERVER: &str = r#"
import functools, http.server, sys
seen = set()
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path not in seen:
            seen.add(self.path)
            self.send_error(503, "try again")
            return
        super().do_GET()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

fn serve(dir: &Path) -> Server {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(FLAKY_SERVER)
        .arg(dir)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the server's port");
    let port = line.trim().parse().expect("a port");
    Server { child, port }
}

/// A release folder `v<version>/` holding the archive (its bytes passed through `edit`) and
/// the original `.sha256`.
fn release_folder(dist: &Dist, edit: impl Fn(&mut Vec<u8>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join(format!("v{VERSION}"));
    std::fs::create_dir(&v).unwrap();
    let mut bytes = std::fs::read(dist.archive()).unwrap();
    edit(&mut bytes);
    std::fs::write(v.join(dist.archive_name()), bytes).unwrap();
    let sums = format!("{}.sha256", dist.archive_name());
    std::fs::copy(dist.dir.join(&sums), v.join(&sums)).unwrap();
    dir
}

fn install(server: &Server, version: &str, into: &Path, github: &Path) -> Output {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/actions/streamsync/install.sh");
    Command::new("bash")
        .arg(script)
        .env_remove("RUNNER_TOOL_CACHE")
        .env("STREAMSYNC_VERSION", version)
        .env(
            "STREAMSYNC_DOWNLOAD_BASE",
            format!("http://127.0.0.1:{}", server.port),
        )
        .env("STREAMSYNC_INSTALL_DIR", into)
        .env("GITHUB_PATH", github.join("path"))
        .env("GITHUB_OUTPUT", github.join("output"))
        .stdin(Stdio::null())
        .output()
        .expect("install.sh")
}

#[test]
fn install_sh_installs_a_release_by_version_and_refuses_a_corrupted_one() {
    let dist = dist();

    let good = release_folder(dist, |_| {});
    let server = serve(good.path());
    let into = tempfile::tempdir().unwrap();
    let bin_dir = into.path().join("tools/bin");
    let github = tempfile::tempdir().unwrap();
    let out = install(&server, &format!("v{VERSION}"), &bin_dir, github.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bin = bin_dir.join("streamsync");
    let version = sh(Command::new(&bin).arg("--version"));
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with(&format!("streamsync {VERSION} (")),
        "{}",
        text(&version)
    );
    assert_eq!(
        std::fs::read_to_string(github.path().join("path")).unwrap(),
        format!("{}\n", bin_dir.display())
    );
    assert_eq!(
        std::fs::read_to_string(github.path().join("output")).unwrap(),
        format!("bin={}\n", bin.display())
    );
    // Nothing else is left in the folder.
    let left: Vec<_> = std::fs::read_dir(&bin_dir).unwrap().flatten().collect();
    assert_eq!(left.len(), 1);

    // A version that is not released: a clear error.
    let out = install(&server, "9.9.9", &into.path().join("none"), github.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not download"),
        "{}",
        text(&out)
    );

    // One byte changed: refused, naming both checksums, and nothing installed.
    let bad = release_folder(dist, |bytes| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
    });
    let bad_server = serve(bad.path());
    let expected =
        std::fs::read_to_string(dist.dir.join(format!("{}.sha256", dist.archive_name())))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
    let bad_dir = into.path().join("bad/bin");
    let out = install(&bad_server, VERSION, &bad_dir, github.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("checksum mismatch for {}", dist.archive_name()))
            && stderr.contains(&expected),
        "{stderr}"
    );
    assert!(!bad_dir.exists(), "a corrupted release left {bad_dir:?}");
}

/// As root (as the tests run), a repository owned by another UID: libgit2 refuses it as git
/// does, except at the folder streamsync is pointed at (an OpenShift volume); one found by
/// walking up from a folder inside it is still refused, with the reason.
#[test]
fn a_repository_owned_by_another_uid_is_opened_only_at_its_top() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    repository(&repo, "127.0.0.1:9");
    sh(Command::new("chown").args(["-R", "4242:0"]).arg(dir.path()));

    let out = crate::cli::run(&repo, &["validate", "--rev", "HEAD"]);
    assert_eq!(out.code, 0, "{out}");

    let inside = repo.join("definitions");
    let out = crate::cli::run(&inside, &["validate", "--rev", "HEAD"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "the Git repository holding `{}` belongs to another user",
            inside.display()
        )) && out.stderr.contains("not owned by current user"),
        "{out}"
    );
}
