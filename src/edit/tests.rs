//! Unit tests of the editor on small texts.

use super::*;
use crate::model::{ObjectReference, TagReference};

fn target(name: &str) -> Target {
    Target {
        namespace: "ns".into(),
        name: name.into(),
        file_namespace: "ns".into(),
    }
}

fn docker(name: &str, from: &str) -> TagReference {
    TagReference {
        name: name.into(),
        from: Some(ObjectReference {
            kind: "DockerImage".into(),
            name: from.into(),
            namespace: None,
        }),
        ..TagReference::default()
    }
}

#[test]
fn add_copies_block_siblings() {
    let text = "kind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n    -   name: a # first\n        from:\n           kind: DockerImage\n           name: x\n  # after\n";
    let out = add_tag(text, Format::Yaml, &target("ruby"), &docker("b", "y:1")).unwrap();
    assert_eq!(
        out,
        "kind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n    -   name: a # first\n        from:\n           kind: DockerImage\n           name: x\n    -   name: b\n        from:\n           kind: DockerImage\n           name: y:1\n  # after\n"
    );
    let back = remove_tag(&out, Format::Yaml, &target("ruby"), "b").unwrap();
    assert_eq!(back, text);
}

/// One line of a golden case's `edit.txt`, applied to `text`.
fn apply_line(text: &str, format: Format, line: &str) -> Result<String, EditError> {
    let (verb, rest) = line.split_once(' ').expect("verb");
    let (stream, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let (ns, name) = stream.split_once('/').expect("ns/name");
    let t = Target {
        namespace: ns.into(),
        name: name.into(),
        file_namespace: ns.into(),
    };
    let path = |p: &str| -> Vec<Seg> {
        p.split(',')
            .map(
                |s| match s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                    Some(n) => Seg::Named(n.into()),
                    None => Seg::Key(s.into()),
                },
            )
            .collect()
    };
    match verb {
        "add" | "update" => {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let mut tag = TagReference {
                name: words[0].into(),
                from: Some(ObjectReference {
                    kind: words[1].into(),
                    name: words[2].into(),
                    namespace: None,
                }),
                ..TagReference::default()
            };
            for w in &words[3..] {
                match *w {
                    "scheduled" => tag.import_policy.scheduled = true,
                    "insecure" => tag.import_policy.insecure = true,
                    "reference" => tag.reference = true,
                    "local" => tag.reference_policy.kind = "Local".into(),
                    "source" => tag.reference_policy.kind = "Source".into(),
                    other => {
                        let ns = other.strip_prefix("ns=").expect("known flag");
                        if let Some(f) = tag.from.as_mut() {
                            f.namespace = Some(ns.into());
                        }
                    }
                }
            }
            if verb == "add" {
                add_tag(text, format, &t, &tag)
            } else {
                update_tag(text, format, &t, &tag)
            }
        }
        "remove" => remove_tag(text, format, &t, rest.trim()),
        "set" => {
            let (p, v) = rest.split_once(" = ").expect("set PATH = VALUE");
            let v = match v {
                "true" => Val::Bool(true),
                "false" => Val::Bool(false),
                s => Val::str(s),
            };
            set(text, format, &t, &path(p), &v)
        }
        "unset" => remove(text, format, &t, &path(rest.trim())),
        other => panic!("unknown verb {other}"),
    }
}

#[test]
fn golden_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edit");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let ext = if case.join("original.json").exists() {
            "json"
        } else {
            "yaml"
        };
        let format = if ext == "json" {
            Format::Json
        } else {
            Format::Yaml
        };
        let original = std::fs::read_to_string(case.join(format!("original.{ext}"))).unwrap();
        let expected = std::fs::read_to_string(case.join(format!("expected.{ext}"))).unwrap();
        let script = std::fs::read_to_string(case.join("edit.txt")).unwrap();
        let mut text = original.clone();
        for line in script
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            text = apply_line(&text, format, line)
                .unwrap_or_else(|e| panic!("{}: `{line}`: {e}", case.display()));
        }
        if text != expected {
            std::fs::write(case.join(format!("actual.{ext}")), &text).unwrap();
            failures.push(case.display().to_string());
            continue;
        }
        // The expected file is a valid definition file.
        let file = crate::definition::SourceFile {
            path: format!(
                "definitions/ns/{}.{ext}",
                case.file_name().unwrap().to_string_lossy()
            ),
            bytes: expected.into_bytes(),
        };
        let (_, diags) = crate::definition::parse_file(&file, &crate::policy::Config::default());
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", case.display());
    }
    assert!(
        failures.is_empty(),
        "golden cases differ (see actual.*): {failures:#?}"
    );
}
