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

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// How a generated file is written.
    #[derive(Debug, Clone)]
    struct Shape {
        json: bool,
        crlf: bool,
        dash_offset: usize,
        gap: usize,
        step: usize,
        quote: u8,
        flow_from: bool,
        comments: bool,
        tabs: bool,
        /// YAML `tags:` as a flow list: 0 block, 1 one line, 2 one entry per line.
        flow_list: u8,
    }

    fn shape() -> impl Strategy<Value = Shape> {
        (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(0usize), Just(2)],
            1usize..4,
            prop_oneof![Just(2usize), Just(4)],
            0u8..3,
            any::<bool>(),
            any::<bool>(),
            (any::<bool>(), 0u8..3),
        )
            .prop_map(
                |(
                    json,
                    crlf,
                    dash_offset,
                    gap,
                    step,
                    quote,
                    flow_from,
                    comments,
                    (tabs, flow_list),
                )| Shape {
                    json,
                    crlf,
                    dash_offset,
                    gap,
                    step,
                    quote,
                    flow_from,
                    comments,
                    tabs,
                    flow_list,
                },
            )
    }

    fn q(shape: &Shape, s: &str) -> String {
        match shape.quote {
            0 => format!("'{s}'"),
            1 => format!("\"{s}\""),
            _ => s.to_owned(),
        }
    }

    /// A definition file with tags `names`.
    fn file(shape: &Shape, names: &[String]) -> String {
        let text = if shape.json {
            let unit = if shape.tabs { "\t" } else { "  " };
            let entries: Vec<String> = names
                .iter()
                .map(|n| {
                    format!(
                        "{u}{u}{u}{{\n{u}{u}{u}{u}\"name\": \"{n}\",\n{u}{u}{u}{u}\"from\": {{\n{u}{u}{u}{u}{u}\"kind\": \"DockerImage\",\n{u}{u}{u}{u}{u}\"name\": \"quay.io/x/y:{n}\"\n{u}{u}{u}{u}}}\n{u}{u}{u}}}",
                        u = unit
                    )
                })
                .collect();
            format!(
                "{{\n{u}\"kind\": \"ImageStream\",\n{u}\"metadata\": {{\n{u}{u}\"name\": \"s\"\n{u}}},\n{u}\"spec\": {{\n{u}{u}\"tags\": [\n{}\n{u}{u}]\n{u}}}\n}}\n",
                entries.join(",\n"),
                u = unit
            )
        } else {
            let st = " ".repeat(shape.step);
            let dash = format!(
                "{st}{}-{}",
                " ".repeat(shape.dash_offset),
                " ".repeat(shape.gap)
            );
            let col = " ".repeat(shape.step + shape.dash_offset + 1 + shape.gap);
            let mut out = String::from("# generated\nkind: ImageStream\nmetadata:\n");
            if shape.flow_list > 0 {
                let items: Vec<String> = names
                    .iter()
                    .map(|n| {
                        format!(
                            "{{name: {}, from: {{kind: DockerImage, name: quay.io/x/y:{n}}}}}",
                            q(shape, n)
                        )
                    })
                    .collect();
                let body = if shape.flow_list == 1 {
                    format!("[{}]", items.join(", "))
                } else {
                    let inner = format!("{st}{st}");
                    format!("[\n{inner}{}\n{st}]", items.join(&format!(",\n{inner}")))
                };
                out.push_str(&format!(
                    "{st}name: s\nspec:\n{st}tags: {body}\n# trailer\n"
                ));
                return if shape.crlf {
                    out.replace('\n', "\r\n")
                } else {
                    out
                };
            }
            out.push_str(&format!("{st}name: s\nspec:\n{st}tags:\n"));
            for (i, n) in names.iter().enumerate() {
                if shape.comments {
                    out.push_str(&format!("{st}# entry {i}\n"));
                }
                out.push_str(&format!("{dash}name: {}\n", q(shape, n)));
                if shape.flow_from {
                    out.push_str(&format!(
                        "{col}from: {{kind: DockerImage, name: \"quay.io/x/y:{n}\"}}\n"
                    ));
                } else {
                    out.push_str(&format!(
                        "{col}from:\n{col}{st}kind: DockerImage\n{col}{st}name: quay.io/x/y:{n}\n"
                    ));
                }
                if shape.comments {
                    out.push('\n');
                }
            }
            out.push_str("# trailer\n");
            out
        };
        if shape.crlf && !shape.json {
            text.replace('\n', "\r\n")
        } else {
            text
        }
    }

    fn tag_names(text: &str, json: bool) -> Vec<String> {
        let file = crate::definition::SourceFile {
            path: format!("definitions/ns/s.{}", if json { "json" } else { "yaml" }),
            bytes: text.as_bytes().to_vec(),
        };
        let (defs, diags) = crate::definition::parse_file(&file, &crate::policy::Config::default());
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{text}");
        defs[0]
            .stream
            .spec
            .tags
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// Common prefix and suffix lengths of two texts (not overlapping the shorter one).
    fn common(a: &str, b: &str) -> (usize, usize) {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let max = a.len().min(b.len()) - p;
        let s = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take(max)
            .take_while(|(x, y)| x == y)
            .count();
        (p, s)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn edits_touch_only_their_entries(
            shape in shape(),
            initial in 1usize..5,
            ops in proptest::collection::vec((any::<bool>(), 0usize..8), 1..10),
        ) {
            let format = if shape.json { Format::Json } else { Format::Yaml };
            let t = Target { namespace: "ns".into(), name: "s".into(), file_namespace: "ns".into() };
            let mut names: Vec<String> = (0..initial).map(|i| format!("v{i}")).collect();
            let mut text = file(&shape, &names);
            let mut next = initial;
            for (add, pick) in ops {
                if add || names.is_empty() {
                    let name = format!("v{next}");
                    next += 1;
                    let tag = docker(&name, &format!("quay.io/x/y:{name}"));
                    let out = add_tag(&text, format, &t, &tag).unwrap();
                    if !names.is_empty() {
                        // One contiguous insertion, nothing else touched.
                        let (p, s) = common(&text, &out);
                        prop_assert_eq!(p + s, text.len(), "add changed bytes outside:\n{}\n---\n{}", text, out);
                    }
                    // Removing it again gives back the same bytes.
                    let back = remove_tag(&out, format, &t, &name).unwrap();
                    prop_assert_eq!(&back, &text);
                    names.push(name);
                    text = out;
                } else {
                    let name = names.remove(pick % names.len());
                    let out = remove_tag(&text, format, &t, &name).unwrap();
                    if !names.is_empty() {
                        let (p, s) = common(&text, &out);
                        prop_assert_eq!(p + s, out.len(), "remove changed bytes outside:\n{}\n---\n{}", text, out);
                    }
                    text = out;
                }
                prop_assert_eq!(tag_names(&text, shape.json), names.clone());
                if shape.crlf && !shape.json {
                    prop_assert!(!text.replace("\r\n", "").contains('\n'), "a bare LF in a CRLF file");
                }
            }
        }
    }
}

#[test]
fn unusual_layouts_round_trip() {
    let t = target("ruby");
    let cases = [
        "kind: ImageStream\nmetadata:\n  name: ruby\n  namespace: ns\nspec:\n  tags:\n  - &x\n    name: a\n    from: {kind: DockerImage, name: q/a}\n  - from:\n      kind: DockerImage\n      name: q/b\n    name: b\n",
        "kind: ImageStreamList\nitems:\n- kind: ImageStream\n  metadata: {name: ruby, namespace: ns}\n  spec:\n    tags:\n        - name: b\n# col0 comment\n          from: {kind: DockerImage, name: q/b}\n",
        "kind: ImageStream\nmetadata:\n  name: ruby\n  namespace: ns\nspec:\n  tags: [ {name: b,\tfrom: {kind: DockerImage, name: q/b}} ]\n",
    ];
    for text in cases {
        let added = add_tag(text, Format::Yaml, &t, &docker("c", "q/c")).unwrap();
        let removed = remove_tag(&added, Format::Yaml, &t, "b").unwrap();
        let back = remove_tag(&added, Format::Yaml, &t, "c").unwrap();
        assert!(
            added.contains("name: c") && !removed.contains("name: b"),
            "{removed}"
        );
        assert_eq!(back, text);
    }
}

#[test]
fn a_key_added_after_a_block_scalar_ending_the_file_keeps_the_scalar() {
    let text = "kind: Pod\nspec:\n  containers:\n  - name: web\n    env:\n    - name: X\n      value: |\n        s3cr3t";
    let path = [
        Step::Key("spec".into()),
        Step::Key("containers".into()),
        Step::Index(0),
    ];
    let out = set_in_document(text, Format::Yaml, 0, &path, "image", "app:1").unwrap();
    assert_eq!(
        out,
        "kind: Pod\nspec:\n  containers:\n  - name: web\n    image: app:1\n    env:\n    - name: X\n      value: |\n        s3cr3t"
    );
    let crlf = text.replace('\n', "\r\n");
    let out = set_in_document(&crlf, Format::Yaml, 0, &path, "image", "app:1").unwrap();
    assert_eq!(
        out,
        "kind: Pod\r\nspec:\r\n  containers:\r\n  - name: web\r\n    image: app:1\r\n    env:\r\n    - name: X\r\n      value: |\r\n        s3cr3t"
    );
    // A one-key container: the new key goes first.
    let one = "- value: >\n    folded";
    let out = set_in_document(one, Format::Yaml, 0, &[Step::Index(0)], "image", "app:1").unwrap();
    assert_eq!(out, "- image: app:1\n  value: >\n    folded");
}

#[test]
fn a_tagged_value_is_not_rewritten() {
    let text = "image: !!binary b2xk\n";
    let err = set_in_document(text, Format::Yaml, 0, &[], "image", "app:1").unwrap_err();
    assert!(err.to_string().contains("YAML tag"), "{err}");
}
