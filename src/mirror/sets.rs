//! The mirror sets file: an `ImageDigestMirrorSet` and an `ImageTagMirrorSet`
//! (`config.openshift.io/v1`, openshift/api `config/v1/types_image_digest_mirror_set.go` and
//! `types_image_tag_mirror_set.go`) with one entry per source repository, sorted, so the
//! cluster sends pulls and imports of the sources to the mirror. Pure: rendering only.

use std::collections::BTreeMap;

/// The objects' `metadata.name`.
pub const NAME: &str = "streamsync-mirror";

/// The YAML file (two documents) for `map` (source repository -> mirror repository).
pub fn render(map: &BTreeMap<String, String>) -> String {
    let mut out = String::from(
        "# Written by `streamsync mirror`: the repositories it copies to the mirror.\n",
    );
    for (kind, field) in [
        ("ImageDigestMirrorSet", "imageDigestMirrors"),
        ("ImageTagMirrorSet", "imageTagMirrors"),
    ] {
        out.push_str(&format!(
            "---\napiVersion: config.openshift.io/v1\nkind: {kind}\nmetadata:\n  name: {NAME}\nspec:\n"
        ));
        if map.is_empty() {
            out.push_str(&format!("  {field}: []\n"));
            continue;
        }
        out.push_str(&format!("  {field}:\n"));
        for (source, mirror) in map {
            out.push_str(&format!(
                "  - source: {}\n    mirrors:\n    - {}\n",
                quote(source),
                quote(mirror)
            ));
        }
    }
    out
}

/// A repository name as a YAML scalar (they hold only `[a-z0-9._/:-]`, quoted anyway when
/// something else slipped in).
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '[' | ']')
        })
        && !s.starts_with(['[', ']', ':', '-'])
    {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_source_sorted_in_both_documents() {
        let mut map = BTreeMap::new();
        map.insert(
            "quay.io/org/b".to_owned(),
            "mirror.local:5000/m/org/b".to_owned(),
        );
        map.insert(
            "docker.io/library/a".to_owned(),
            "mirror.local:5000/m/library/a".to_owned(),
        );
        let text = render(&map);
        let docs: Vec<serde_json::Value> = text
            .split("---\n")
            .skip(1)
            .map(|d| serde_saphyr::from_str(d).expect("yaml"))
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["kind"], "ImageDigestMirrorSet");
        assert_eq!(
            docs[0]["spec"]["imageDigestMirrors"][0]["source"],
            "docker.io/library/a"
        );
        assert_eq!(
            docs[1]["spec"]["imageTagMirrors"][1]["mirrors"][0],
            "mirror.local:5000/m/org/b"
        );
        assert_eq!(docs[1]["apiVersion"], "config.openshift.io/v1");
    }
}
