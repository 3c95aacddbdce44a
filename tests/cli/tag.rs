//! `tag`, `tag -d` and `import --from … --confirm` through the binary: each edits the
//! definitions (or refuses to), prints the diff, and leaves every other byte alone.

use crate::common::{Tag, TestRepo, stream};
use crate::snap;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// A literal: the edits must keep its comments, block scalar and layout byte for byte.
const RUBY: &str = "\
# Ruby builder images
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ruby
  annotations:
    openshift.io/display-name: Ruby   # shown in the catalog
spec:
  tags:
  - name: \"3.3\"
    annotations:
      description: >-
        Ruby 3.3 on UBI.
    from:
      kind: DockerImage
      name: quay.io/ruby/ruby:3.3
  # a reference-only tag
  - name: ref
    reference: true
    from:
      kind: DockerImage
      name: quay.io/ruby/ruby:ref
";

/// A literal: a live state with `status` history, as an apply writes it.
fn live_state() -> String {
    format!(
        "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ruby
  namespace: web
spec:
  tags: []
status:
  dockerImageRepository: ''
  tags:
  - tag: '3.3'
    items:
    - created: '2025-12-01T00:00:00Z'
      dockerImageReference: quay.io/ruby/ruby@{DIGEST}
      image: {DIGEST}
      generation: 2
    - created: '2025-11-01T00:00:00Z'
      dockerImageReference: quay.io/ruby/ruby@sha256:2222222222222222222222222222222222222222222222222222222222222222
      image: sha256:2222222222222222222222222222222222222222222222222222222222222222
      generation: 1
  - tag: ref
    items:
    - created: '2025-12-01T00:00:00Z'
      dockerImageReference: quay.io/ruby/ruby:ref
      image: ''
      generation: 1
"
    )
}

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("definitions/web/ruby.yaml", RUBY);
    repo.write("state/web/ruby.yaml", &live_state());
    repo.write(
        "state/streamsync.toml",
        "lineage = \"11111111-2222-4333-8444-555555555555\"\nserial = 1\n",
    );
    repo
}

fn read(repo: &TestRepo, rel: &str) -> String {
    std::fs::read_to_string(repo.path().join(rel)).unwrap()
}

fn validate_ok(repo: &TestRepo) {
    let out = repo.run(&["validate"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// The file gained exactly `added` right after `after` and nothing else changed.
fn assert_inserted(before: &str, after: &str, anchor: &str, added: &str) {
    let at = before.find(anchor).expect("anchor") + anchor.len();
    let want = format!("{}{added}{}", &before[..at], &before[at..]);
    assert_eq!(after, want);
}

#[test]
fn permanent_tag_pins_the_current_image() {
    let repo = repo();
    let out = repo.run(&["tag", "ruby:3.3", "ruby:stable"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("tag_permanent", out.snapshot());
    let after = read(&repo, "definitions/web/ruby.yaml");
    assert_inserted(
        RUBY,
        &after,
        "      name: quay.io/ruby/ruby:ref\n",
        &format!(
            "  - name: stable\n    from:\n      kind: ImageStreamImage\n      name: ruby@{DIGEST}\n"
        ),
    );
    validate_ok(&repo);
}

#[test]
fn permanent_tag_of_a_reference_tag_copies_its_pull_spec() {
    let repo = repo();
    let out = repo.run(&["tag", "ruby:ref", "ruby:ref-copy"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = read(&repo, "definitions/web/ruby.yaml");
    assert!(after.ends_with(
        "  - name: ref-copy\n    from:\n      kind: DockerImage\n      name: quay.io/ruby/ruby:ref\n"
    ));
    assert!(
        out.stderr
            .contains("Tag web/ruby:ref-copy set to quay.io/ruby/ruby:ref.")
    );
}

#[test]
fn permanent_tag_needs_an_imported_source() {
    let repo = repo();
    repo.write(
        "definitions/web/ruby.yaml",
        &RUBY.replace("  - name: ref\n", "  - name: new\n    from:\n      kind: DockerImage\n      name: quay.io/ruby/ruby:new\n  - name: ref\n"),
    );
    let before = read(&repo, "definitions/web/ruby.yaml");
    let out = repo.run(&["tag", "ruby:new", "ruby:pinned"]);
    assert_eq!(out.code, 1);
    snap!("tag_source_without_image", out.snapshot());
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), before);
}

#[test]
fn alias_tracks_a_tag_of_the_same_stream() {
    let repo = repo();
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "ruby:latest"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Tag web/ruby:latest set up to track ruby:3.3.")
    );
    assert!(read(&repo, "definitions/web/ruby.yaml").ends_with(
        "  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: ruby:3.3\n"
    ));
    validate_ok(&repo);
}

#[test]
fn alias_across_streams_is_refused() {
    let repo = repo();
    repo.define("web", &stream("python"));
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "python:latest"]);
    assert_eq!(out.code, 1);
    snap!("tag_alias_cross_stream", out.snapshot());
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "other/ruby:latest"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot set alias across different image streams")
    );
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), RUBY);
    assert!(!repo.path().join("definitions/other").exists());
}

#[test]
fn docker_sources_and_import_flags() {
    let repo = repo();
    repo.write(
        "streamsync.toml",
        "[registry]\ninsecure_allowed = [\"registry.local:5000\"]\n",
    );
    let out = repo.run(&[
        "tag",
        "--scheduled",
        "--insecure",
        "registry.local:5000/ruby/ruby:3.4",
        "ruby:3.4",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains(
        "Tag web/ruby:3.4 set to import registry.local:5000/ruby/ruby:3.4 periodically."
    ));
    let out = repo.run(&[
        "tag",
        "--reference",
        "--reference-policy=local",
        "quay.io/ruby/ruby@sha256:3333333333333333333333333333333333333333333333333333333333333333",
        "ruby:pinned",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = repo.run(&["tag", "--source=docker", "ruby:2.7", "ruby:hub"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = read(&repo, "definitions/web/ruby.yaml");
    assert_inserted(
        RUBY,
        &after,
        "      name: quay.io/ruby/ruby:ref\n",
        "  - name: \"3.4\"
    from:
      kind: DockerImage
      name: registry.local:5000/ruby/ruby:3.4
    importPolicy:
      insecure: true
      scheduled: true
  - name: pinned
    from:
      kind: DockerImage
      name: quay.io/ruby/ruby@sha256:3333333333333333333333333333333333333333333333333333333333333333
    reference: true
    referencePolicy:
      type: Local
  - name: hub
    from:
      kind: DockerImage
      name: ruby:2.7
",
    );
    validate_ok(&repo);
}

#[test]
fn image_stream_image_source_and_other_namespace() {
    let repo = repo();
    // A literal: the tag the edit appends follows this file's style (unquoted names).
    repo.write(
        "definitions/apps/app.yaml",
        "kind: ImageStream\napiVersion: image.openshift.io/v1\nmetadata:\n  name: app\nspec:\n  tags:\n  - name: base\n    from:\n      kind: DockerImage\n      name: quay.io/x/app:1\n",
    );
    let src = format!("web/ruby@{DIGEST}");
    let out = repo.run(&["tag", &src, "apps/app:ruby"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(read(&repo, "definitions/apps/app.yaml").ends_with(&format!(
        "  - name: ruby\n    from:\n      kind: ImageStreamImage\n      name: ruby@{DIGEST}\n      namespace: web\n"
    )));
    let out = repo.run(&["tag", "--source=isimage", "ruby:3.3", "ruby:x"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--source=ImageStreamImage requires a valid <name>@<id> in SOURCE")
    );
    let out = repo.run(&["tag", "--source=istag", "quay.io/ruby/ruby:3.3", "ruby:x"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("server in SOURCE is only allowed when providing a container image")
    );
    let out = repo.run(&["tag", "--source=nonsense", "ruby:3.3", "ruby:x"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("invalid source kind `nonsense`"));
}

#[test]
fn flag_conflicts_follow_oc() {
    let repo = repo();
    let cases: &[(&[&str], &str)] = &[
        (
            &["tag", "-d", "--alias", "ruby:3.3"],
            "--alias and --delete may not be both specified",
        ),
        (
            &[
                "tag",
                "--reference-policy=remote",
                "quay.io/x/y:1",
                "ruby:x",
            ],
            "reference policy must be set to 'source' or 'local'",
        ),
        (
            &["tag", "-d", "--source=docker", "ruby:3.3"],
            "cannot specify a source kind when deleting",
        ),
        (
            &["tag", "-d", "--scheduled", "ruby:3.3"],
            "cannot set flags for importing images when deleting a tag",
        ),
        (
            &["tag", "--scheduled", "ruby:3.3", "ruby:x"],
            "only container images can have importing flags set",
        ),
        (
            &[
                "tag",
                "--alias",
                "--scheduled",
                "--source=docker",
                "quay.io/x/y:1",
                "ruby:x",
            ],
            "cannot set a container image tag as an alias and also set import flags",
        ),
        (
            &["tag", "quay.io/x/y:1"],
            "at least a destination is required",
        ),
        (
            &["tag", "quay.io/x/y:1", "ruby"],
            "`ruby` must be of the form <stream_name>:<tag>",
        ),
        (
            &["tag", "quay.io/x/y:1", "a/b/ruby:x"],
            "invalid image stream `a/b/ruby:x`",
        ),
    ];
    for (args, message) in cases {
        let out = repo.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), RUBY);
}

#[test]
fn existing_tag_is_updated_in_place() {
    let repo = repo();
    let out = repo.run(&["tag", "--scheduled", "quay.io/ruby/ruby:3.3.1", "ruby:3.3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("tag_update_in_place", out.snapshot());
    let after = read(&repo, "definitions/web/ruby.yaml");
    let want = RUBY.replace(
        "      name: quay.io/ruby/ruby:3.3\n",
        "      name: quay.io/ruby/ruby:3.3.1\n    importPolicy:\n      scheduled: true\n",
    );
    assert_eq!(after, want);
    // --reference-policy=source turns an explicit Local back into Source, in place.
    repo.write(
        "definitions/web/ruby.yaml",
        &RUBY.replace(
            "    reference: true\n",
            "    reference: true\n    referencePolicy:\n      type: Local\n",
        ),
    );
    let out = repo.run(&[
        "tag",
        "--reference",
        "--reference-policy=source",
        "quay.io/ruby/ruby:ref2",
        "ruby:ref",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(&repo, "definitions/web/ruby.yaml"),
        RUBY.replace(
            "    reference: true\n",
            "    reference: true\n    referencePolicy:\n      type: Source\n"
        )
        .replace("quay.io/ruby/ruby:ref\n", "quay.io/ruby/ruby:ref2\n")
    );
}

#[test]
fn delete_removes_tags() {
    let repo = repo();
    let out = repo.run(&["tag", "-d", "ruby:ref"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("tag_delete", out.snapshot());
    let after = read(&repo, "definitions/web/ruby.yaml");
    let cut = RUBY.find("  # a reference-only tag\n").unwrap();
    assert_eq!(after, format!("{}  # a reference-only tag\n", &RUBY[..cut]));
    let out = repo.run(&["tag", "-d", "ruby:ref"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("destination tag web/ruby:ref does not exist")
    );
    let out = repo.run(&["tag", "-d", "nothere:x"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("image stream `default/nothere` does not exist")
    );
    validate_ok(&repo);
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let repo = repo();
    let out = repo.run(&["tag", "--dry-run", "quay.io/ruby/ruby:3.4", "ruby:3.4"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snap!("tag_dry_run", out.snapshot());
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), RUBY);
    // The plan the edit would cause, not the plan of the unedited files.
    assert!(
        out.stdout.contains("  + add tag web/ruby:3.4  (new tag)\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  <= import web/ruby:3.4  (new tag)\n"),
        "{}",
        out.stdout
    );
    // The fixture's live state holds none of the tags yet, so the plan adds them all.
    assert!(
        out.stdout
            .ends_with("Plan: 3 to add, 1 to change, 0 to remove, 2 to import.\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn quiet_tag_prints_nothing_but_errors() {
    let repo = repo();
    let out = repo.run(&["-q", "tag", "quay.io/ruby/ruby:3.4", "ruby:3.4"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert!(read(&repo, "definitions/web/ruby.yaml").contains("name: \"3.4\""));
    let out = repo.run(&["-q", "tag", "-d", "ruby:3.4"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    // Errors still show.
    let out = repo.run(&["-q", "tag", "-d", "ruby:nosuch"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
}

#[test]
fn an_edit_that_would_not_validate_is_not_written() {
    let repo = repo();
    // An alias to a tag the stream does not have.
    let out = repo.run(&["tag", "--alias", "ruby:missing", "ruby:latest"]);
    assert_eq!(out.code, 1);
    snap!("tag_refused_invalid", out.snapshot());
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), RUBY);
    // Insecure transport to a registry the config does not allow.
    let out = repo.run(&["tag", "--insecure", "quay.io/ruby/ruby:3.4", "ruby:3.4"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("insecure-not-allowed") || out.stderr.contains("insecure_allowed"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), RUBY);
    // Deleting a tag that another tag tracks.
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "ruby:latest"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tracked = read(&repo, "definitions/web/ruby.yaml");
    let out = repo.run(&["tag", "-d", "ruby:3.3"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), tracked);
}

#[test]
fn stream_names_follow_the_stream_rule() {
    let repo = repo();
    repo.define("other", &stream("ruby"));
    let out = repo.run(&["tag", "quay.io/x/y:1", "ruby:x"]);
    assert_eq!(out.code, 1);
    snap!("tag_ambiguous_stream", out.snapshot());
    // A new stream goes to definitions/<default namespace>/<name>.yaml.
    let out = repo.run(&["tag", "quay.io/x/perl:5", "perl:5"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The exact bytes a new stream's file gets (a literal on purpose).
    assert_eq!(
        read(&repo, "definitions/default/perl.yaml"),
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: perl\n  namespace: default\nspec:\n  tags:\n  - name: \"5\"\n    from:\n      kind: DockerImage\n      name: quay.io/x/perl:5\n"
    );
    assert!(
        out.stderr.contains("in `definitions/default/perl.yaml`"),
        "{}",
        out.stderr
    );
    // A file in the way of a new stream is reported, not overwritten.
    repo.write("definitions/web/node.yaml", "# reserved\n");
    let out = repo.run(&["tag", "quay.io/x/node:1", "web/node:1"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`definitions/web/node.yaml` (where it would go) already exists"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo, "definitions/web/node.yaml"), "# reserved\n");
}

#[test]
fn several_destinations_and_runs_apply_on_top_of_each_other() {
    let repo = repo();
    let out = repo.run(&["tag", "quay.io/ruby/ruby:3.4", "ruby:3.4", "ruby:next"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = repo.run(&["tag", "--alias", "ruby:3.4", "ruby:latest"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = repo.run(&["tag", "-d", "ruby:next", "ruby:ref"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = read(&repo, "definitions/web/ruby.yaml");
    let cut = RUBY.find("  - name: ref\n").unwrap();
    assert_eq!(
        after,
        format!(
            "{}  - name: \"3.4\"\n    from:\n      kind: DockerImage\n      name: quay.io/ruby/ruby:3.4\n  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: ruby:3.4\n",
            &RUBY[..cut]
        )
    );
    validate_ok(&repo);
}

#[test]
fn json_definitions_are_edited_as_json() {
    let repo = TestRepo::new();
    repo.copy(
        "tests/fixtures/corpus/ruby-rhel.json",
        "definitions/openshift/ruby.json",
    );
    let before = read(&repo, "definitions/openshift/ruby.json");
    let out = repo.run(&[
        "tag",
        "--reference-policy=local",
        "registry.redhat.io/ubi9/ruby-34:latest",
        "ruby:3.4-ubi9",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = read(&repo, "definitions/openshift/ruby.json");
    serde_json::from_str::<serde_json::Value>(&after).expect("still JSON");
    let (p, s) = common(&before, &after);
    let added = &after[p..after.len() - s];
    assert_eq!(
        added,
        ",\n\t\t\t{\n\t\t\t\t\"name\": \"3.4-ubi9\",\n\t\t\t\t\"from\": {\n\t\t\t\t\t\"kind\": \"DockerImage\",\n\t\t\t\t\t\"name\": \"registry.redhat.io/ubi9/ruby-34:latest\"\n\t\t\t\t},\n\t\t\t\t\"referencePolicy\": {\n\t\t\t\t\t\"type\": \"Local\"\n\t\t\t\t}\n\t\t\t}"
    );
    let out = repo.run(&["tag", "-d", "ruby:3.4-ubi9"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read(&repo, "definitions/openshift/ruby.json"), before);
}

fn common(a: &str, b: &str) -> (usize, usize) {
    let p = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let max = a.len().min(b.len()) - p;
    let s = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take(max)
        .take_while(|(x, y)| x == y)
        .count();
    (p, s)
}

#[test]
fn import_confirm_creates_a_stream() {
    let repo = repo();
    // A new stream needs --confirm, as with `oc import-image`: exit 1.
    // No registry is reachable here: with --confirm the tag is written and its import then
    // fails as unreachable (exit 3; an unreachable repository listing for --all exits 1).
    let out = repo.run(&["import", "web/python", "--from", "quay.io/py/python:3.12"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    snap!("import_without_confirm", out.snapshot());
    assert!(!repo.path().join("definitions/web/python.yaml").exists());

    let out = repo.run(&[
        "import",
        "web/python",
        "--from",
        "quay.io/py/python:3.12",
        "--confirm",
    ]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    // The exact bytes a new stream's file gets (a literal on purpose).
    assert_eq!(
        read(&repo, "definitions/web/python.yaml"),
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: python\n  namespace: web\nspec:\n  tags:\n  - name: \"3.12\"\n    from:\n      kind: DockerImage\n      name: quay.io/py/python:3.12\n"
    );
    // On a stream that exists, --from adds the tag (--confirm or not).
    let out = repo.run(&[
        "import",
        "python",
        "--from",
        "quay.io/py/python:3.13",
        "--confirm",
    ]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        read(&repo, "definitions/web/python.yaml")
            .ends_with("  - name: \"3.13\"\n    from:\n      kind: DockerImage\n      name: quay.io/py/python:3.13\n")
    );

    let out = repo.run(&["import", "perl", "--from", "quay.io/perl/perl", "--confirm"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(read(&repo, "definitions/default/perl.yaml").contains("  - name: latest\n"));

    let out = repo.run(&[
        "import",
        "tools/node",
        "--all",
        "--from",
        "quay.io/node/node:22",
        "--confirm",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // The exact bytes a new stream's file gets (a literal on purpose).
    assert_eq!(
        read(&repo, "definitions/tools/node.yaml"),
        "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: node\n  namespace: tools\nspec:\n  dockerImageRepository: quay.io/node/node\n"
    );
    let out = repo.run(&[
        "import",
        "tools/go",
        "--from",
        "quay.io/go/go:1.23",
        "--confirm",
        "--dry-run",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("+++ b/definitions/tools/go.yaml"),
        "{}",
        out.stdout
    );
    // The plan the new stream implies; --confirm was given, so nothing asks for it.
    assert!(
        out.stdout
            .contains("  + create stream tools/go  (new stream in the definitions)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  <= import tools/go:1.23  (new tag)"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("--confirm"), "{}", out.stderr);
    assert!(!repo.path().join("definitions/tools/go.yaml").exists());
    let out = repo.run(&["import", "x", "--confirm"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("needs --from PULLSPEC"));
    let out = repo.run(&["import", "x", "--from", "Not A Spec", "--confirm"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("invalid pull spec `Not A Spec`"));
    validate_ok(&repo);
}

#[test]
fn short_form_sources_are_followed_by_tag() {
    // `latest` tracks `3.3` in the sample library's short form; the live state holds what an
    // apply recorded for it.
    let repo = repo();
    let defs = RUBY.replace(
        "  # a reference-only tag\n",
        "  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: \"3.3\"\n  # a reference-only tag\n",
    );
    repo.write("definitions/web/ruby.yaml", &defs);
    let state = live_state().replace(
        "  - tag: ref\n",
        &format!(
            "  - tag: latest\n    items:\n    - created: '2025-12-01T00:00:00Z'\n      dockerImageReference: quay.io/ruby/ruby@{DIGEST}\n      image: {DIGEST}\n      generation: 2\n  - tag: ref\n"
        ),
    );
    repo.write("state/web/ruby.yaml", &state);
    validate_ok(&repo);
    // A permanent tag of the tracking tag pins the image it holds.
    let out = repo.run(&["tag", "ruby:latest", "ruby:pinned"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        read(&repo, "definitions/web/ruby.yaml").contains(&format!("name: ruby@{DIGEST}")),
        "{}",
        read(&repo, "definitions/web/ruby.yaml")
    );
    validate_ok(&repo);
    // Deleting the tag `latest` names in the short form would leave it dangling.
    let before = read(&repo, "definitions/web/ruby.yaml");
    let out = repo.run(&["tag", "-d", "ruby:3.3"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("tag `latest` follows `ruby:3.3`"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), before);
}

#[test]
fn parallel_edits_of_one_file_lose_no_change() {
    let repo = repo();
    let children: Vec<_> = (0..10)
        .map(|i| {
            let mut cmd = crate::support::bin();
            let child = cmd
                .arg("-C")
                .arg(repo.path())
                .args(["tag", "--alias", "ruby:3.3", &format!("ruby:alias{i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (cmd, child)
        })
        .collect();
    let mut ok = Vec::new();
    for (i, (_cmd, child)) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            ok.push(i);
        }
    }
    let text = read(&repo, "definitions/web/ruby.yaml");
    for i in &ok {
        assert!(
            text.contains(&format!("- name: alias{i}\n")),
            "alias{i} exited 0 but its edit is lost:\n{text}"
        );
    }
    assert_eq!(ok.len(), 10, "every run waits for the one before it");
    validate_ok(&repo);
}

#[test]
fn edits_keep_the_mode_refuse_read_only_files_and_edit_through_links() {
    use std::os::unix::fs::PermissionsExt as _;
    let repo = repo();
    let file = repo.path().join("definitions/web/ruby.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "ruby:a"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = read(&repo, "definitions/web/ruby.yaml");
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "ruby:b"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`definitions/web/ruby.yaml` is read-only, so it was not edited"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&repo, "definitions/web/ruby.yaml"), before);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    // A definition that is a link to a file elsewhere in the repository: the target changes,
    // the link stays a link.
    let shared = repo.path().join("shared/ruby.yaml");
    std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
    std::fs::rename(&file, &shared).unwrap();
    std::os::unix::fs::symlink("../../shared/ruby.yaml", &file).unwrap();
    let out = repo.run(&["tag", "--alias", "ruby:3.3", "ruby:c"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(&file)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&repo, "shared/ruby.yaml").contains("- name: c\n"));
}

#[test]
fn import_from_adds_or_updates_a_tag_of_a_defined_stream_with_the_import_flags() {
    let repo = repo();
    repo.write(
        "streamsync.toml",
        "[registry]\ninsecure_allowed = [\"registry.lab:5000\"]\n",
    );
    // No --confirm needed: the stream exists.
    let out = repo.run(&[
        "import",
        "ruby:3.4",
        "--from",
        "registry.lab:5000/ruby/ruby:3.4",
        "--scheduled",
        "--insecure",
        "--reference-policy",
        "local",
        "--import-mode",
        "PreserveOriginal",
    ]);
    assert_eq!(out.code, 3, "{}", out.snapshot());
    assert_inserted(
        RUBY,
        &read(&repo, "definitions/web/ruby.yaml"),
        "      name: quay.io/ruby/ruby:ref\n",
        "  - name: \"3.4\"\n    from:\n      kind: DockerImage\n      name: registry.lab:5000/ruby/ruby:3.4\n    importPolicy:\n      insecure: true\n      scheduled: true\n      importMode: PreserveOriginal\n    referencePolicy:\n      type: Local\n",
    );
    assert!(
        out.stdout.contains("  <= import web/ruby:3.4  (new tag)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("Tag web/ruby:3.4 added to import registry.lab:5000/ruby/ruby:3.4."),
        "{}",
        out.stderr
    );
    // The same tag again with another source and mode updates it in place.
    let out = repo.run(&[
        "import",
        "ruby:3.4",
        "--from",
        "quay.io/ruby/ruby:3.4.1",
        "--import-mode",
        "Legacy",
    ]);
    assert_eq!(out.code, 3, "{}", out.snapshot());
    let after = read(&repo, "definitions/web/ruby.yaml");
    assert!(
        after.ends_with("  - name: \"3.4\"\n    from:\n      kind: DockerImage\n      name: quay.io/ruby/ruby:3.4.1\n    importPolicy:\n      insecure: false\n      scheduled: false\n      importMode: Legacy\n    referencePolicy:\n      type: Source\n"),
        "{after}"
    );
    validate_ok(&repo);
    // --insecure is written into a stream it creates.
    let out = repo.run(&[
        "import",
        "lab/tool",
        "--from",
        "registry.lab:5000/tools/tool:1",
        "--insecure",
        "--confirm",
    ]);
    assert_eq!(out.code, 3, "{}", out.snapshot());
    assert!(
        read(&repo, "definitions/lab/tool.yaml").ends_with(
            "      name: registry.lab:5000/tools/tool:1\n    importPolicy:\n      insecure: true\n"
        ),
        "{}",
        read(&repo, "definitions/lab/tool.yaml")
    );
    let out = repo.run(&[
        "import",
        "lab/all",
        "--all",
        "--from",
        "registry.lab:5000/tools/all",
        "--insecure",
        "--confirm",
    ]);
    assert_eq!(out.code, 1, "{}", out.snapshot());
    assert!(
        read(&repo, "definitions/lab/all.yaml")
            .contains("openshift.io/image.insecureRepository: \"true\""),
        "{}",
        read(&repo, "definitions/lab/all.yaml")
    );
    validate_ok(&repo);
    // Bad values are refused as `oc` refuses them.
    let out = repo.run(&[
        "import",
        "ruby:3.4",
        "--from",
        "quay.io/x/y:1",
        "--import-mode",
        "Fast",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("valid ImportMode values are Legacy or PreserveOriginal")
    );
}

#[test]
fn tag_import_mode_and_the_namespace_of_a_new_stream() {
    let repo = repo();
    let out = repo.run(&[
        "tag",
        "quay.io/ruby/ruby:3.4",
        "ruby:3.4",
        "--import-mode",
        "PreserveOriginal",
    ]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        read(&repo, "definitions/web/ruby.yaml")
            .ends_with("    importPolicy:\n      importMode: PreserveOriginal\n"),
        "{}",
        read(&repo, "definitions/web/ruby.yaml")
    );
    // On an existing tag, only the mode asked for changes.
    let out = repo.run(&[
        "tag",
        "quay.io/ruby/ruby:3.3",
        "ruby:3.3",
        "--import-mode",
        "Legacy",
    ]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(read(&repo, "definitions/web/ruby.yaml").contains(
        "      name: quay.io/ruby/ruby:3.3\n    importPolicy:\n      importMode: Legacy\n"
    ));
    // A new stream named without a namespace goes to the source stream's namespace...
    let out = repo.run(&["tag", "ruby:3.3", "gems:stable"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(repo.path().join("definitions/web/gems.yaml").exists());
    assert!(
        out.stderr
            .contains("creating it in namespace `web` (the source stream's namespace)"),
        "{}",
        out.stderr
    );
    // ...and with a registry source, to default_namespace.
    let out = repo.run(&["tag", "quay.io/x/y:1", "other:1"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(repo.path().join("definitions/default/other.yaml").exists());
    assert!(
        out.stderr
            .contains("creating it in namespace `default` (default_namespace)"),
        "{}",
        out.stderr
    );
    validate_ok(&repo);
}

#[test]
fn tagging_a_destination_again_with_its_source_forces_a_reimport() {
    let repo = TestRepo::new();
    repo.define(
        "web",
        &stream("app").tag(Tag::image("1", "quay.io/org/app:1")),
    );
    // A literal: the live state with the `status` history the re-import must keep.
    repo.write(
        "state/web/app.yaml",
        &format!(
            "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
  namespace: web
  generation: 1
spec:
  lookupPolicy:
    local: false
  tags:
  - name: '1'
    from:
      kind: DockerImage
      name: quay.io/org/app:1
    generation: 1
    importPolicy:
      importMode: Legacy
    referencePolicy:
      type: Source
status:
  dockerImageRepository: ''
  tags:
  - tag: '1'
    items:
    - created: '2025-12-01T00:00:00Z'
      dockerImageReference: quay.io/org/app@{DIGEST}
      image: {DIGEST}
      generation: 1
"
        ),
    );
    // A state folder is recognised by its `streamsync.toml`.
    repo.write(
        "state/streamsync.toml",
        "lineage = \"33333333-2222-4333-8444-555555555555\"\nserial = 1\n",
    );
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 0);
    let definition = read(&repo, "definitions/web/app.yaml");
    // A dry run says what it would request and changes nothing.
    let out = repo.run(&["tag", "--dry-run", "quay.io/org/app:1", "app:1"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        out.stderr
            .contains("would request a re-import of web/app:1"),
        "{}",
        out.stderr
    );
    assert_eq!(repo.run(&["plan", "--detailed-exitcode"]).code, 0);
    let out = repo.run(&["tag", "quay.io/org/app:1", "app:1"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(
        out.stderr.contains("Requested a re-import of web/app:1"),
        "{}",
        out.stderr
    );
    // The definition is as it was; the plan now imports the tag again.
    assert_eq!(read(&repo, "definitions/web/app.yaml"), definition);
    assert!(out.stdout.contains("<= import web/app:1"), "{}", out.stdout);
    let plan = repo.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.snapshot());
    assert!(
        plan.stdout.contains("<= import web/app:1"),
        "{}",
        plan.stdout
    );
    // Another source is an ordinary change of the definition, not a forced re-import.
    let out = repo.run(&["tag", "quay.io/org/app:2", "app:1"]);
    assert_eq!(out.code, 0, "{}", out.snapshot());
    assert!(!out.stderr.contains("re-import"), "{}", out.stderr);
}
