//! `ref PULLSPEC` through the binary.

use crate::common::run_in;
use crate::snap;

fn json(spec: &str) -> serde_json::Value {
    let out = run_in(std::path::Path::new("."), &["ref", spec]);
    assert_eq!(out.code, 0, "{spec}: {}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("ref prints JSON")
}

#[test]
fn parts_as_parsed_and_normalized_with_defaults() {
    let cases = [
        (
            "ruby",
            ["", "", "ruby", "", ""],
            "docker.io/library/ruby:latest",
        ),
        (
            "quay.io/org",
            ["quay.io", "", "org", "", ""],
            "quay.io/org:latest",
        ),
        ("quay.io", ["quay.io", "", "", "", ""], "quay.io"),
        (
            "localhost:5000",
            ["localhost:5000", "", "", "", ""],
            "localhost:5000",
        ),
        (
            "centos/ruby-27-centos7:2.7",
            ["", "centos", "ruby-27-centos7", "2.7", ""],
            "docker.io/centos/ruby-27-centos7:2.7",
        ),
        (
            "registry.access.redhat.com/ubi9/ruby-33:1-15",
            ["registry.access.redhat.com", "ubi9", "ruby-33", "1-15", ""],
            "registry.access.redhat.com/ubi9/ruby-33:1-15",
        ),
        (
            "docker.io/user/project/myapp",
            ["docker.io", "user", "project/myapp", "", ""],
            "docker.io/user/project/myapp:latest",
        ),
    ];
    for (spec, parts, normalized) in cases {
        let v = json(spec);
        let keys = ["registry", "namespace", "name", "tag", "digest"];
        for (k, want) in keys.iter().zip(parts) {
            assert_eq!(v[k], want, "{spec}: {k}");
        }
        assert_eq!(v["normalized"], normalized, "{spec}");
        let mut all: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            [
                "digest",
                "name",
                "namespace",
                "normalized",
                "registry",
                "tag"
            ]
        );
    }
}

#[test]
fn digest_output_snapshot() {
    let out = run_in(
        std::path::Path::new("."),
        &[
            "ref",
            "127.0.0.1:5000/team/app:v1@sha256:3c87c572822935df60f0f5d3665bd376841a7fcfeb806b5f212de6a00e9a7b25",
        ],
    );
    snap!("ref_digest", out.snapshot());
}

#[test]
fn invalid_pull_specs_exit_1_with_the_reason() {
    let cases = [
        ("", "repository name must have at least one component"),
        ("quay.io/Org/app", "repository name must be lowercase"),
        ("https://quay.io/org/app", "invalid reference format"),
        (
            "app@sha256:0000000000000000000000000000000001",
            "digest `sha256:0000000000000000000000000000000001` is too short: sha256 takes 64 hex digits, it has 34",
        ),
        (
            "quay.io/org/app@sha256:abc",
            "digest `sha256:abc` is too short: sha256 takes 64 hex digits, it has 3\n  hint: write the whole digest",
        ),
        ("a//b", "invalid reference format"),
    ];
    for (spec, reason) in cases {
        let out = run_in(std::path::Path::new("."), &["ref", spec]);
        assert_eq!(out.code, 1, "{spec}");
        assert!(out.stdout.is_empty(), "{spec}: {}", out.stdout);
        assert!(
            out.stderr
                .starts_with(&format!("error: invalid pull spec `{spec}`: {reason}")),
            "{spec}: {}",
            out.stderr
        );
    }
    let out = run_in(
        std::path::Path::new("."),
        &["ref", "https://quay.io/org/app"],
    );
    snap!("ref_invalid_scheme", out.snapshot());
}
