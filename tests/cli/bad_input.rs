//! Bad input never hurts: every malformed definition ends with exit 1 and a located error,
//! without a panic, in under a second and under 100 MiB of memory (measured on the child).

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Tag, TestRepo, stream};

const MAX_RSS_KIB: i64 = 100 * 1024;
const MAX_TIME: Duration = Duration::from_secs(1);

struct Measured {
    code: i32,
    stderr: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

/// Run `streamsync -C repo validate` and measure the child's peak RSS with `wait4`.
// The child is reaped by `wait4` (which std's `wait` cannot replace: it gives no rusage).
#[allow(clippy::zombie_processes)]
fn validate_measured(repo: &TestRepo) -> Measured {
    let start = Instant::now();
    let mut cmd = crate::support::bin();
    let mut child = cmd
        .arg("-C")
        .arg(repo.path())
        .arg("validate")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn streamsync");
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value for it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped; the pointers are valid for the call.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4 failed");
    let elapsed = start.elapsed();
    let stderr = reader.join().expect("reader thread");
    assert!(
        libc::WIFEXITED(status),
        "streamsync did not exit normally (signal?): status {status}\n{stderr}"
    );
    Measured {
        code: libc::WEXITSTATUS(status),
        stderr,
        elapsed,
        // ru_maxrss is in KiB on Linux. It may include the test process's own pages copied
        // at fork, before exec, so it is an upper bound on streamsync's peak: safe to assert.
        max_rss_kib: usage.ru_maxrss,
    }
}

/// Write `name` under definitions/ and check the run: exit 1, an error located in that file
/// (with `line:column` when `located_line` says so), no panic, fast and small.
fn assert_refused(name: &str, bytes: &[u8], needle: &str) -> Measured {
    let repo = TestRepo::new();
    let path = repo.path().join("definitions/demo").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let m = validate_measured(&repo);
    eprintln!(
        "{name}: exit {} in {:?}, peak RSS {} KiB",
        m.code, m.elapsed, m.max_rss_kib
    );
    assert_eq!(m.code, 1, "{name}: exit code\n{}", m.stderr);
    assert!(
        !m.stderr.contains("panicked"),
        "{name}: panic\n{}",
        m.stderr
    );
    let prefix = format!("definitions/demo/{name}:");
    assert!(
        m.stderr
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(": error: ")),
        "{name}: no located error\n{}",
        m.stderr
    );
    assert!(
        m.stderr.contains(needle),
        "{name}: expected `{needle}` in\n{}",
        m.stderr
    );
    assert!(
        m.elapsed < MAX_TIME,
        "{name}: took {:?}\n{}",
        m.elapsed,
        m.stderr
    );
    assert!(
        m.max_rss_kib < MAX_RSS_KIB,
        "{name}: peak RSS {} KiB",
        m.max_rss_kib
    );
    m
}

/// The error line starts `path:line:column:` with a real line.
fn assert_line(m: &Measured, name: &str, line: u32) {
    let want = format!("definitions/demo/{name}:{line}:");
    assert!(m.stderr.contains(&want), "want {want} in\n{}", m.stderr);
}

#[test]
fn yaml_syntax_error() {
    // Literals here and below: malformed on purpose, located by line.
    let text = "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags: [unclosed\n";
    let m = assert_refused("syntax.yaml", text.as_bytes(), "invalid YAML");
    assert!(m.stderr.contains("definitions/demo/syntax.yaml:"));
}

#[test]
fn tab_indentation() {
    // A literal: the tab is the point.
    let text = "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n\tname: ruby\n";
    let m = assert_refused("tabs.yaml", text.as_bytes(), "tabs");
    assert_line(&m, "tabs.yaml", 4);
}

#[test]
fn wrong_types() {
    // A literal: the wrong types are the point, located by line.
    let text = "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n  - name: latest\n    reference: maybe\n    annotations:\n      version: 2.0\n";
    let m = assert_refused("types.yaml", text.as_bytes(), "must be true or false");
    assert_line(&m, "types.yaml", 8);
    assert!(
        m.stderr.contains(
            "types.yaml:10:16: error: tag annotation `version` must be a string, found a number"
        ),
        "{}",
        m.stderr
    );
}

#[test]
fn trailing_comma_in_json() {
    let text = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"ImageStream\",\n\t\"metadata\": {\"name\": \"ruby\"},\n}\n";
    let m = assert_refused(
        "comma.json",
        text.as_bytes(),
        "invalid JSON: trailing comma",
    );
    assert!(
        m.stderr
            .contains("comma.json:4:30: error: invalid JSON: trailing comma"),
        "{}",
        m.stderr
    );
}

#[test]
fn binary_junk() {
    // A deterministic byte soup: NULs, invalid UTF-8 and control characters.
    let mut bytes = b"kind: ImageStream\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x.to_le_bytes()[0]);
    }
    assert_refused("junk.yaml", &bytes, "error:");
    // Valid UTF-8 with a NUL byte.
    let m = assert_refused("nul.yaml", b"kind: Image\0Stream\n", "NUL");
    assert_line(&m, "nul.yaml", 1);
}

#[test]
fn huge_file() {
    let stream = format!(
        "---\n{}",
        stream("s")
            .tag(Tag::image("latest", "quay.io/org/app:latest"))
            .to_yaml()
    );
    let mut text = String::with_capacity(17 * 1024 * 1024);
    while text.len() <= 16 * 1024 * 1024 {
        text.push_str(&stream);
    }
    assert_refused("huge.yaml", text.as_bytes(), "larger than 16 MiB");
}

#[test]
fn billion_laughs() {
    let text = "\
a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
";
    let m = assert_refused("laughs.yaml", text.as_bytes(), "anchors and aliases");
    assert!(m.stderr.contains("laughs.yaml:"), "{}", m.stderr);
}

#[test]
fn quadratic_alias_bomb() {
    // One anchored list of 10,000 items referenced 8,000 times: ~80 KB of text that would
    // expand to 80 million nodes.
    let mut text = String::from("a: &a [");
    text.push_str(&vec!["x"; 10_000].join(","));
    text.push_str("]\nb: [");
    text.push_str(&vec!["*a"; 8_000].join(","));
    text.push_str("]\n");
    assert!(text.len() < 100 * 1024);
    assert_refused("quadratic.yaml", text.as_bytes(), "anchors and aliases");
}

#[test]
fn many_problems_in_many_files_all_reported() {
    let repo = TestRepo::new();
    // Literals: each file is malformed its own way.
    repo.write(
        "definitions/a/one.yaml",
        "kind: ImageStream\nmetadata:\n  name: [x\n",
    )
    .write("definitions/a/two.json", "{\"kind\": \"ImageStream\",}\n")
    .write(
        "definitions/a/three.yaml",
        "kind: ImageStream\nmetadata:\n  name: ok\nspec:\n  tags: 5\n",
    );
    let m = validate_measured(&repo);
    assert_eq!(m.code, 1);
    for f in ["one.yaml:", "two.json:", "three.yaml:5:"] {
        assert!(m.stderr.contains(f), "{f} missing in\n{}", m.stderr);
    }
    assert!(m.stderr.contains("3 errors"), "{}", m.stderr);
}

#[test]
fn nested_anchors_without_aliases() {
    // Fifty nested anchored lists around 30,000 values: holding every anchor as a copy would
    // cost 1.5 million values; the anchor budget (100,000) stops it after a few levels.
    let mut text = vec!["x"; 30_000].join(",");
    for _ in 0..50 {
        text = format!("&a [{text}]");
    }
    assert_refused(
        "anchors.yaml",
        text.as_bytes(),
        "anchored values hold more than 100000 values",
    );
}
