//! `watch`'s incremental rounds through the binary: after every kind of change (edits that
//! make another stream's source dangle or resolve, a stream defined twice, a folder renamed,
//! a manifest, the config, the live state committed by another process) the round prints
//! exactly what a fresh start prints, and a round after a definition edit re-reads, parses
//! and checks only what the edit can affect.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{Tag, TestRepo, stream};

/// A running `watch -v`: its stdout blocks and its log lines.
struct Watch {
    child: std::process::Child,
    out: mpsc::Receiver<String>,
    log: mpsc::Receiver<String>,
    _cmd: crate::support::TestCommand,
}

fn lines(read: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(read).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Watch {
    fn start(repo: &TestRepo) -> Watch {
        let mut cmd = crate::support::bin();
        cmd.arg("-C")
            .arg(repo.path())
            .args(["-v", "watch"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start watch");
        let out = lines(child.stdout.take().unwrap());
        let log = lines(child.stderr.take().unwrap());
        Watch {
            child,
            out,
            log,
            _cmd: cmd,
        }
    }

    /// The next round: its text (without the header's time) and how it was made.
    fn round(&self, limit: Duration) -> (String, String) {
        let header = self
            .out
            .recv_timeout(limit)
            .unwrap_or_else(|_| panic!("no round within {limit:?}"));
        assert!(header.starts_with("──"), "a round starts with its header");
        let mut body = String::new();
        while let Ok(line) = self.out.recv_timeout(Duration::from_millis(400)) {
            assert!(!line.starts_with("──"), "two rounds for one change: {body}");
            body.push_str(&line);
            body.push('\n');
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let how = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains("watch round:") => break line,
                Ok(_) => {}
                // A round that fell back to a fresh load logs nothing of its own.
                Err(_) => break "watch round: fresh load".to_owned(),
            }
        };
        (body, how)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().expect("watch ends");
        assert_eq!(status.code(), Some(0));
    }
}

/// The first round of a watch started now: what a fresh start prints.
fn fresh(repo: &TestRepo) -> String {
    let watch = Watch::start(repo);
    let (body, _) = watch.round(Duration::from_secs(20));
    watch.stop();
    body
}

const TRIGGER: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  annotations:\n    image.openshift.io/triggers: '[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"ruby:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]'\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \" \"\n";

fn ruby(version: &str) -> crate::support::Stream {
    stream("ruby")
        .tag(Tag::image("latest", &format!("quay.io/example/ruby:{version}")).reference())
        .tag(Tag::image("3.3", "quay.io/example/ruby:3.3").reference())
}

fn python(follows: &str) -> crate::support::Stream {
    stream("python")
        .tag(Tag::tracking("latest", follows))
        .tag(Tag::image("3.12", "quay.io/example/python:3.12").reference())
}

#[test]
fn every_round_prints_what_a_fresh_start_prints_and_edits_are_incremental() {
    let repo = TestRepo::new();
    repo.define("demo", &ruby("3.3"))
        .define("demo", &python("ruby:latest"))
        .define(
            "tools",
            &stream("cli").tag(Tag::image("1.0", "quay.io/example/cli:1.0").reference()),
        )
        .write("deploy/web.yaml", TRIGGER);
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    let watch = Watch::start(&repo);
    let (_, how) = watch.round(Duration::from_secs(20));
    assert!(how.contains("from nothing"), "{how}");
    let path = |rel: &str| repo.path().join(rel);
    type Step<'a> = (&'a str, bool, Box<dyn Fn() + 'a>);
    let steps: Vec<Step> = vec![
        (
            "an edit of a source",
            true,
            Box::new(|| {
                repo.define("demo", &ruby("3.4"));
            }),
        ),
        (
            "the same bytes written again",
            true,
            Box::new(|| {
                repo.define("demo", &ruby("3.4"));
            }),
        ),
        (
            "a source tag that does not exist",
            true,
            Box::new(|| {
                repo.define("demo", &python("ruby:missing"));
            }),
        ),
        (
            "the tag defined in the other stream",
            true,
            Box::new(|| {
                repo.define(
                    "demo",
                    &ruby("3.4").tag(Tag::image("missing", "quay.io/example/ruby:3.2").reference()),
                );
            }),
        ),
        (
            "a source stream that does not exist",
            true,
            Box::new(|| {
                repo.define("demo", &python("noda:latest"));
            }),
        ),
        (
            "a stream that makes the hint change",
            true,
            Box::new(|| {
                repo.define(
                    "demo",
                    &stream("node").tag(Tag::image("20", "quay.io/example/node:20").reference()),
                );
            }),
        ),
        (
            "a stream defined twice",
            false,
            Box::new(|| {
                repo.write("definitions/demo/again.yaml", &ruby("3.1").to_yaml());
            }),
        ),
        (
            "the second definition gone",
            false,
            Box::new(|| {
                std::fs::remove_file(path("definitions/demo/again.yaml")).unwrap();
            }),
        ),
        (
            "the source back and the edit reverted",
            true,
            Box::new(|| {
                repo.define("demo", &python("ruby:latest"));
                repo.define("demo", &ruby("3.3"));
            }),
        ),
        (
            "a folder renamed",
            true,
            Box::new(|| {
                std::fs::rename(path("definitions/tools"), path("definitions/cli")).unwrap();
            }),
        ),
        (
            "a file deleted",
            true,
            Box::new(|| {
                std::fs::remove_file(path("definitions/demo/node.yaml")).unwrap();
            }),
        ),
        (
            "a manifest edited",
            true,
            Box::new(|| {
                repo.write(
                    "deploy/web.yaml",
                    &TRIGGER.replace("ruby:latest", "python:3.12"),
                );
            }),
        ),
        (
            "the config changed",
            false,
            Box::new(|| {
                repo.write("streamsync.toml", "default_namespace = \"demo\"\n");
            }),
        ),
        (
            "the state committed by another process",
            false,
            Box::new(|| {
                assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
            }),
        ),
        (
            "an edit after that commit",
            true,
            Box::new(|| {
                repo.define("demo", &ruby("3.5"));
            }),
        ),
    ];
    for (what, incremental, step) in steps {
        step();
        let (body, how) = watch.round(Duration::from_secs(10));
        assert_eq!(body, fresh(&repo), "after {what}");
        if incremental {
            assert!(how.contains("incremental"), "after {what}: {how}");
        } else {
            assert!(!how.contains("incremental"), "after {what}: {how}");
        }
        let plan = repo.run(&["plan"]);
        if plan.code == 0 {
            assert_eq!(body, plan.stdout, "after {what}");
        }
    }
    watch.stop();
}

#[test]
fn an_edit_reads_parses_and_checks_only_what_it_affects() {
    let repo = TestRepo::new();
    for i in 0..40 {
        repo.define(
            "demo",
            &stream(&format!("app{i:02}"))
                .tag(Tag::image("1.0", &format!("quay.io/example/app{i}:1.0")).reference()),
        );
    }
    // app01 follows app00: an edit of app00 checks both, and nothing else.
    repo.define(
        "demo",
        &stream("app01")
            .tag(Tag::image("1.0", "quay.io/example/app1:1.0").reference())
            .tag(Tag::tracking("latest", "app00:1.0")),
    );
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    // A state that records no memos (written before they were, or by hand): every stream
    // file is parsed once, then those at rest are set aside as if their memos were recorded.
    let meta = repo.path().join("state/streamsync.toml");
    let text = std::fs::read_to_string(&meta).unwrap();
    let unindexed = text.split("[memos]").next().unwrap().to_owned();
    assert_ne!(unindexed, text, "the state records memos");
    std::fs::write(&meta, unindexed).unwrap();
    let watch = Watch::start(&repo);
    let (_, how) = watch.round(Duration::from_secs(20));
    assert!(
        how.contains("from nothing (40 definition files read, 40 parsed, 40 streams checked, 40 live streams parsed)"),
        "{how}"
    );
    repo.define(
        "demo",
        &stream("app00").tag(Tag::image("1.0", "quay.io/example/app0:1.1").reference()),
    );
    let (body, how) = watch.round(Duration::from_secs(10));
    assert!(body.contains("demo/app00"), "{body}");
    // app00's live stream was parsed from the start: another stream follows it.
    assert!(
        how.contains("incremental (1 definition files read, 1 parsed, 2 streams checked, 0 live streams parsed)"),
        "{how}"
    );
    repo.define(
        "demo",
        &stream("app07").tag(Tag::image("1.0", "quay.io/example/app7:1.1").reference()),
    );
    let (body, how) = watch.round(Duration::from_secs(10));
    assert!(body.contains("demo/app07"), "{body}");
    assert_eq!(body, fresh(&repo));
    assert!(
        how.contains("incremental (1 definition files read, 1 parsed, 1 streams checked, 1 live streams parsed)"),
        "{how}"
    );
    repo.define(
        "demo",
        &stream("app05").tag(Tag::image("1.0", "quay.io/example/app5:1.0").reference()),
    );
    let (_, how) = watch.round(Duration::from_secs(10));
    // Written again with the same bytes: read, not parsed.
    assert!(
        how.contains("incremental (1 definition files read, 0 parsed, 0 streams checked, 0 live streams parsed)"),
        "{how}"
    );
    watch.stop();
}

#[test]
fn a_config_that_moves_the_manifests_moves_what_is_watched() {
    let repo = TestRepo::new();
    repo.define("demo", &ruby("3.3"))
        .write("streamsync.toml", "[rollout]\npaths = [\"deploy/**\"]\n")
        .write("apps/.keep", "");
    assert_eq!(repo.run(&["apply", "--auto-approve"]).code, 0);
    let watch = Watch::start(&repo);
    watch.round(Duration::from_secs(20));
    repo.write("streamsync.toml", "[rollout]\npaths = [\"apps/**\"]\n");
    let (_, how) = watch.round(Duration::from_secs(10));
    assert!(how.contains("from nothing"), "{how}");
    // A manifest in the folder the config names now: its roll-out is planned.
    repo.write("apps/web.yaml", TRIGGER);
    let (body, _) = watch.round(Duration::from_secs(10));
    assert!(body.contains("roll apps/web.yaml"), "{body}");
    assert_eq!(body, fresh(&repo));
    watch.stop();
}
