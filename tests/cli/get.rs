//! `get` through the binary.

use crate::scenarios::scenario_repo;
use crate::snap;

#[test]
fn get_streams_tags_and_images() {
    let repo = scenario_repo("update");
    snap!(
        "get_streams_table",
        repo.run(&["get", "streams"]).snapshot()
    );
    let json = repo.run(&["get", "streams", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"][0]["metadata"]["name"], "ruby");
    let yaml = repo.run(&["get", "stream", "web/ruby", "-o", "yaml"]);
    assert!(
        yaml.stdout
            .starts_with("apiVersion: image.openshift.io/v1\nkind: ImageStream\n"),
        "{}",
        yaml.stdout
    );
    snap!(
        "get_tag_describe",
        repo.run(&["get", "tag", "ruby:3.3"]).snapshot()
    );
    // Short ids match by prefix, with or without `sha256:`.
    snap!(
        "get_image_describe",
        repo.run(&["get", "image", "ruby@3a335d7"]).snapshot()
    );
    let full = repo.run(&["get", "image", "web/ruby@sha256:3a335", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&full.stdout).unwrap();
    assert_eq!(v["kind"], "Image");
    assert_eq!(v["apiVersion"], "image.openshift.io/v1");
    assert_eq!(v["dockerImageMetadata"]["Architecture"], "amd64");
    let ambiguous = repo.run(&["get", "image", "ruby@3a33"]);
    assert_eq!(ambiguous.code, 1);
    assert!(
        ambiguous
            .stderr
            .contains("multiple images match the prefix `3a33`"),
        "{}",
        ambiguous.stderr
    );
    let missing = repo.run(&["get", "tag", "ruby:nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("stream `web/ruby` has no tag `nope`"),
        "{}",
        missing.stderr
    );
}

#[test]
fn bare_names_must_be_unambiguous() {
    let repo = scenario_repo("update");
    let text = std::fs::read_to_string(repo.path().join("state/web/ruby.yaml")).unwrap();
    repo.write(
        "state/other/ruby.yaml",
        &text.replace("namespace: web", "namespace: other"),
    );
    let out = repo.run(&["get", "stream", "ruby"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("stream `ruby` exists in several namespaces: other/ruby, web/ruby"),
        "{}",
        out.stderr
    );
    assert_eq!(repo.run(&["get", "stream", "other/ruby"]).code, 0);
    let unknown = repo.run(&["get", "stream", "rubby"]);
    assert!(
        unknown
            .stderr
            .contains("stream `default/rubby` is not in the live state"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_damaged_state_file_is_a_clear_error() {
    let repo = scenario_repo("update");
    repo.write("state/web/ruby.yaml", "spec: [unclosed\n");
    let out = repo.run(&["get", "streams"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("state file")
            && out.stderr.contains("ruby.yaml")
            && out.stderr.contains("damaged"),
        "{}",
        out.stderr
    );
}

#[test]
fn get_tag_and_image_print_openshift_objects() {
    // The scenario's Image file is in the flat shape older versions wrote; it is shown in the
    // docker10 shape.
    let repo = scenario_repo("update");
    snap!(
        "get_tag_yaml",
        repo.run(&["get", "tag", "web/ruby:3.1", "-o", "yaml"])
            .snapshot()
    );
    snap!(
        "get_image_yaml",
        repo.run(&["get", "image", "web/ruby@3a335d7", "-o", "yaml"])
            .snapshot()
    );
    let v: serde_json::Value = serde_json::from_str(
        &repo
            .run(&["get", "tag", "web/ruby:latest", "-o", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(v["kind"], "ImageStreamTag");
    assert_eq!(v["metadata"]["name"], "ruby:latest");
    assert_eq!(v["tag"]["from"]["kind"], "ImageStreamTag");
    assert_eq!(v["lookupPolicy"]["local"], false);
    assert!(v.get("history").is_none(), "{v}");
}

#[test]
fn local_reference_policy_resolves_through_the_integrated_registry() {
    let repo = scenario_repo("update");
    let path = repo.path().join("state/web/ruby.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Tag 3.1 is the first tag of the file: make its reference policy Local.
    std::fs::write(&path, text.replacen("type: Source", "type: Local", 1)).unwrap();
    let digest = format!("sha256:3a335d7{}", "e".repeat(57));
    let resolved = |repo: &crate::common::TestRepo| {
        let out = repo.run(&["get", "tag", "web/ruby:3.1", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["image"]["dockerImageReference"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // Without [cluster]: no integrated registry and no spec repository, so the imported pull
    // spec by digest.
    assert_eq!(
        resolved(&repo),
        format!("registry.example.com/ruby@{digest}")
    );
    repo.write(
        "streamsync.toml",
        "[cluster]\ninternal_registry = \"image-registry.openshift-image-registry.svc:5000\"\npublic_registry = \"registry.apps.example.com\"\n",
    );
    assert_eq!(
        resolved(&repo),
        format!("image-registry.openshift-image-registry.svc:5000/web/ruby@{digest}")
    );
    let table = repo.run(&["get", "tag", "web/ruby:3.1"]);
    assert!(
        table.stdout.contains(&format!(
            "Pull spec:    image-registry.openshift-image-registry.svc:5000/web/ruby@{digest}"
        )),
        "{}",
        table.stdout
    );
    // A Source tag is not rewritten.
    let out = repo.run(&["get", "tag", "web/ruby:3.3", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        v["image"]["dockerImageReference"]
            .as_str()
            .unwrap()
            .starts_with("registry.example.com/ruby@"),
        "{v}"
    );
}

#[test]
fn get_reads_like_oc() {
    let repo = scenario_repo("update");
    // Short rows: three tags and `+N more…`, ages instead of timestamps.
    let out = repo.run(&["get", "streams"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        out.stdout
            .contains("web         ruby   3.1,3.3,docs +2 more…   "),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("T00:00:00Z"), "{}", out.stdout);
    // `-o` and `--format` are the same option, on get and on every other data command.
    let a = repo.run(&["get", "streams", "-o", "json"]);
    let b = repo.run(&["get", "streams", "--format", "json"]);
    assert_eq!((a.code, &a.stdout), (0, &b.stdout));
    for command in ["plan", "validate", "prune"] {
        let a = repo.run(&[command, "-o", "json"]);
        let b = repo.run(&[command, "--format", "json"]);
        assert_eq!(a.stdout, b.stdout, "{command}");
        assert!(a.stdout.starts_with('{'), "{command}: {}", a.stdout);
    }
    // Each digest once in a description.
    let out = repo.run(&["get", "stream", "ruby"]);
    let digest = "sha256:3a335d7eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    assert_eq!(out.stdout.matches(digest).count(), 1, "{}", out.stdout);
    // An image by (short) id, across streams.
    let out = repo.run(&["get", "image", "3a335d7"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        out.stdout.contains(&format!("Digest:       {digest}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Streams:      web/ruby"),
        "{}",
        out.stdout
    );
    let json = repo.run(&["get", "image", "sha256:3a335d7", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["metadata"]["name"], digest);
    let ambiguous = repo.run(&["get", "image", "3a33"]);
    assert_eq!(ambiguous.code, 1);
    assert!(
        ambiguous
            .stderr
            .contains("multiple images match the prefix `3a33`")
    );
    let none = repo.run(&["get", "image", "0123abc"]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr
            .contains("no image in the live state matches `0123abc`")
    );
}

#[test]
fn no_streams_is_no_resources_found() {
    let repo = crate::common::TestRepo::new();
    repo.write("streamsync.toml", "");
    let out = repo.run(&["get", "streams"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "No resources found\n")
    );
}
