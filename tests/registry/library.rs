//! The library without the binary: the `sync_pass` example (examples/sync_pass.rs, included
//! here as it is) runs a pass against the real registry, and the operations report what the
//! next plan confirms.

use streamsync::ops::{self, Run, Workspace};

use crate::harness::{Registry, Variant};

#[allow(dead_code)]
#[path = "../../examples/sync_pass.rs"]
mod example;

use crate::support::{LOCAL_REGISTRY_CONFIG, NOW, Tag, TestRepo, stream};

/// `demo/app` importing `1.0` from `host` on a schedule.
fn repo(host: &str) -> TestRepo {
    let app = stream("app").tag(
        Tag::image("1.0", &format!("{host}/demo/app:1.0"))
            .insecure()
            .scheduled(),
    );
    TestRepo::with_app(LOCAL_REGISTRY_CONFIG, &app)
}

#[test]
fn the_example_runs_a_sync_pass_through_the_library_alone() {
    let reg = Registry::start(Variant::Plain);
    let one = reg.pusher().image("demo/app", "1.0", "amd64", "one");
    let dir = repo(&reg.host());
    let root = dir.path().to_string_lossy().into_owned();

    let (code, text) = example::run(&[root.clone(), NOW.to_owned()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("create_stream demo/app: done"), "{text}");
    assert!(
        text.contains(&format!("import demo/app:1.0: done -> {}", one.digest)),
        "{text}"
    );
    assert!(text.ends_with("serial 1\n"), "{text}");
    let state = std::fs::read_to_string(dir.path().join("state/demo/app.yaml")).expect("state");
    assert!(state.contains(&one.digest), "{state}");
    let hex = one.digest.trim_start_matches("sha256:");
    assert!(
        dir.path()
            .join(format!("state/images/sha256/{hex}.yaml"))
            .is_file()
    );

    // The plan after the pass is empty (scheduled re-imports are sync's, not the plan's).
    let ws = Workspace::new(dir.path());
    let Run::Done(planned) = ops::plan::run(&ws, &ops::plan::Options::default()).expect("plan")
    else {
        panic!("definitions do not validate");
    };
    assert!(
        planned.planned.plan.is_empty(),
        "{:?}",
        planned.planned.plan
    );

    // A second pass re-imports the scheduled tag, finds it unmoved, and writes nothing.
    let (code, text) = example::run(&[root, NOW.to_owned()]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("import demo/app:1.0: done -> {}", one.digest)),
        "{text}"
    );
    assert!(text.ends_with("serial 1\n"), "{text}");

    // A tag moved upstream is imported by the next pass, which the report names.
    let two = reg.pusher().image("demo/app", "1.0", "amd64", "two");
    let report = match ops::sync::pass(&ws, &ops::sync::Options::default(), &ops::NoProgress)
        .expect("pass")
    {
        Run::Done(report) => report,
        Run::Invalid(_) => panic!("definitions do not validate"),
    };
    let results = &report.applied.report.applied.results;
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0].detail.as_deref(), Some(two.digest.as_str()));
    assert_eq!(report.applied.report.serial, 2);
    assert!(!report.applied.failed() && !report.applied.incomplete());
}

#[test]
fn the_example_fails_with_a_usage_line_and_on_a_missing_repository() {
    let (code, text) = example::run(&[]);
    assert_eq!((code, text.as_str()), (1, "usage: sync_pass REPO [NOW]\n"));
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere").to_string_lossy().into_owned();
    let (code, text) = example::run(&[missing]);
    assert_eq!(code, 1, "{text}");
    assert!(text.starts_with("error: "), "{text}");
}
