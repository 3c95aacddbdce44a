//! Image files written ahead of their commit: an import writes each new Image's file while its
//! other requests are in flight. Killed at any point of an import from a real registry, the
//! state loads, the next apply completes, and what it leaves is what one apply leaves.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use crate::cli::{bin, run};
use crate::harness::{Registry, Variant};

const STREAMS: usize = 6;
const TAGS: usize = 25;

fn define(root: &Path, host: &str) {
    std::fs::create_dir_all(root.join("definitions/stage")).unwrap();
    std::fs::write(
        root.join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n",
    )
    .unwrap();
    for s in 0..STREAMS {
        let mut text = format!(
            "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: app{s}\nspec:\n  tags:\n"
        );
        for t in 0..TAGS {
            text.push_str(&format!(
                "  - name: t{t}\n    from:\n      kind: DockerImage\n      name: {host}/stage/app{s}:t{t}\n    importPolicy:\n      insecure: true\n"
            ));
        }
        std::fs::write(root.join(format!("definitions/stage/app{s}.yaml")), text).unwrap();
    }
}

/// A registry holding a distinct image for every tag [`define`] names.
fn pushed() -> Registry {
    let reg = Registry::start(Variant::Plain);
    let pusher = reg.pusher();
    for s in 0..STREAMS {
        for t in 0..TAGS {
            pusher.image(
                &format!("stage/app{s}"),
                &format!("t{t}"),
                "amd64",
                &format!("{s}.{t}"),
            );
        }
    }
    reg
}

/// The image files of a state folder, by name.
fn image_files(state: &Path) -> Vec<String> {
    let dir = state.join("images/sha256");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn an_import_killed_while_it_writes_images_ahead_leaves_a_state_the_next_apply_completes() {
    let reg = pushed();
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    define(root, &reg.host());
    // One whole apply, to know what it leaves and how long it takes.
    let started = Instant::now();
    let whole_dir = root.join("whole");
    let whole_state = whole_dir.to_str().unwrap();
    let whole = run(root, &["--state", whole_state, "apply"]);
    assert_eq!(whole.code, 0, "{whole}");
    let full = started.elapsed().as_millis().max(50) as u64;
    assert_eq!(image_files(&whole_dir).len(), STREAMS * TAGS);
    let expected = run(
        root,
        &["--state", whole_state, "get", "streams", "-o", "json"],
    );
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("seed {seed}, full apply {full} ms");
    // The import times differ between runs; the digests and references may not.
    let times =
        regex::Regex::new(r#""(created|lastTransitionTime|creationTimestamp)": "[^"]*""#).unwrap();
    let mut ahead = 0;
    for round in 0..10u64 {
        let dir = root.join(format!("run{round}"));
        let state = dir.to_str().unwrap().to_owned();
        let mut cmd = bin();
        let mut child = cmd
            .arg("-C")
            .arg(root)
            .args(["--state", &state, "apply"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread over the import and its commit (later rounds let more of it run).
        let delay = (seed.wrapping_add(round * 7919) % full) * (round + 5) / 12;
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let streams_written = dir.join("stage").is_dir();
        if !image_files(&dir).is_empty() && !streams_written {
            // Killed after images were written ahead, before any stream pointed at them.
            ahead += 1;
        }
        if dir.exists() {
            // Whatever the kill left is a store: it loads.
            let got = run(root, &["--state", &state, "get", "streams", "-o", "json"]);
            assert_eq!(got.code, 0, "round {round} (seed {seed}): {got}");
        }
        let repair = run(root, &["--state", &state, "apply"]);
        assert_eq!(repair.code, 0, "round {round} (seed {seed}): {repair}");
        let plan = run(root, &["--state", &state, "plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "round {round} (seed {seed}): {plan}");
        assert_eq!(image_files(&dir), image_files(&whole_dir));
        let got = run(root, &["--state", &state, "get", "streams", "-o", "json"]);
        let strip = |text: &str| times.replace_all(text, "").into_owned();
        assert_eq!(strip(&got.stdout), strip(&expected.stdout), "round {round}");
    }
    eprintln!("{ahead} of 10 kills fell between images written ahead and the first stream");
}

#[test]
fn an_apply_reports_images_written_ahead_as_written() {
    let reg = pushed();
    let repo = tempfile::tempdir().unwrap();
    define(repo.path(), &reg.host());
    let out = run(repo.path(), &["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["imports"]["imported"], STREAMS * TAGS, "{v}");
    assert_eq!(
        image_files(&repo.path().join("state")).len(),
        STREAMS * TAGS
    );
    // Nothing left over from the writer.
    let leftovers: Vec<_> = std::fs::read_dir(repo.path().join("state/images/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let again = run(repo.path(), &["apply", "--format", "json"]);
    assert_eq!(again.code, 0, "{again}");
}
