//! Hardening through the binary against the real registry: a damaged image file is written
//! again by the next import of its digest, and a saved plan made with `--refresh` is not
//! taken for a forged one.

use std::path::Path;

use crate::cli::Out;
use crate::harness::app_registry;

fn run(root: &Path, now: &str, args: &[&str]) -> Out {
    crate::cli::run_at(root, now, args)
}

fn repo(host: &str) -> crate::support::TestRepo {
    let app = crate::support::local_app(host);
    crate::support::TestRepo::with_app(crate::support::LOCAL_REGISTRY_CONFIG, &app)
}

const T0: &str = "2026-01-01T00:00:00Z";

#[test]
fn a_damaged_image_file_is_written_again_by_the_next_import_of_its_digest() {
    let (reg, one, two) = app_registry();
    let dir = repo(&reg.host());
    let out = run(dir.path(), T0, &["apply"]);
    assert_eq!(out.code, 0, "{out}");
    let hex = |d: &str| d.strip_prefix("sha256:").unwrap_or(d).to_owned();
    let file = dir
        .path()
        .join(format!("state/images/sha256/{}.yaml", hex(&one.digest)));
    let good = std::fs::read_to_string(&file).unwrap();
    // The file of `one` now holds the Image of `two`.
    let other = std::fs::read_to_string(
        dir.path()
            .join(format!("state/images/sha256/{}.yaml", hex(&two.digest))),
    )
    .unwrap();
    std::fs::write(&file, &other).unwrap();
    let shown = run(
        dir.path(),
        T0,
        &["get", "image", &format!("app@{}", one.digest), "-o", "json"],
    );
    assert_eq!(shown.code, 1, "{shown}");
    assert!(!shown.stdout.contains(&two.digest), "{shown}");
    assert!(shown.stderr.contains("is damaged"), "{shown}");

    let out = run(dir.path(), T0, &["import", "app:1.0"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), good);
    let shown = run(
        dir.path(),
        T0,
        &["get", "image", &format!("app@{}", one.digest), "-o", "json"],
    );
    assert_eq!(shown.code, 0, "{shown}");
}

#[test]
fn a_saved_refreshed_plan_applies() {
    let (reg, _, _) = app_registry();
    let p = reg.pusher();
    let dir = repo(&reg.host());
    // A first plan: new tags, digests observed by the refresh.
    let file = dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    let out = run(dir.path(), T0, &["plan", "--refresh", "--out", file]);
    assert_eq!(out.code, 0, "{out}");
    let out = run(dir.path(), T0, &["apply", file]);
    assert_eq!(out.code, 0, "{out}");
    // The scheduled tag moves upstream: the refreshed plan re-imports it, and applies.
    let moved = p.image("demo/app", "2.0", "amd64", "two-moved");
    let later = "2026-01-01T00:15:00Z";
    let out = run(dir.path(), later, &["plan", "--refresh", "--out", file]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        std::fs::read_to_string(file)
            .unwrap()
            .contains(&moved.digest)
    );
    let out = run(dir.path(), later, &["apply", file]);
    assert_eq!(out.code, 0, "{out}");
    let tag = run(dir.path(), later, &["get", "tag", "app:2.0", "-o", "json"]);
    assert!(tag.stdout.contains(&moved.digest), "{tag}");
}
