//! The rules a definition must follow (OpenShift's validation, semantics spec §1.4 and §9.1,
//! plus streamsync's stricter checks), each reported at the offending key or value.

use std::sync::LazyLock;

use regex::Regex;

use super::{Definition, DefinitionSet, TagPositions};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::{
    ANNOTATION_DISPLAY_NAME, KIND_DOCKER_IMAGE, KIND_IMAGE_STREAM_IMAGE, KIND_IMAGE_STREAM_TAG,
    reference,
};
use crate::policy::{Config, Policies};

static STREAM_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$").expect("valid regex"));
static TAG_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("valid regex"));

/// Check every stream of the set.
pub fn validate(set: &DefinitionSet, config: &Config, policies: &Policies) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for def in set.streams.values() {
        let mut v = Validator {
            def,
            config,
            out: Vec::new(),
        };
        v.stream();
        out.extend(
            v.out
                .into_iter()
                .filter(|d| d.is_error() || !policies.lint.allow.iter().any(|a| a == d.code)),
        );
    }
    out
}

struct Validator<'a> {
    def: &'a Definition,
    config: &'a Config,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn push(&mut self, pos: super::Pos, code: &'static str, message: String, hint: Option<String>) {
        let mut d = Diagnostic::error(&self.def.file, pos.line, pos.column, code, message);
        d.hint = hint;
        self.out.push(d);
    }

    fn warn(&mut self, pos: super::Pos, code: &'static str, message: String, hint: Option<String>) {
        let mut d = Diagnostic::warning(&self.def.file, pos.line, pos.column, code, message);
        d.hint = hint;
        self.out.push(d);
    }

    fn stream(&mut self) {
        let s = &self.def.stream;
        let name = &s.metadata.name;
        let ns = s.metadata.namespace.clone().unwrap_or_default();
        if !STREAM_NAME.is_match(name) {
            self.push(
                self.def.pos,
                "invalid-stream-name",
                format!(
                    "invalid stream name `{name}`: must match \"[a-z0-9]+(?:[._-][a-z0-9]+)*\""
                ),
                Some("use lowercase letters and digits, separated by `.`, `_` or `-`".into()),
            );
        }
        if ns.len() + 1 + name.len() > 255 {
            self.push(
                self.def.pos,
                "name-too-long",
                format!(
                    "'namespace/name' cannot be longer than 255 characters (`{ns}/{name}` has {})",
                    ns.len() + 1 + name.len()
                ),
                None,
            );
        }
        if !STREAM_NAME.is_match(&ns) {
            self.push(
                self.def.pos,
                "invalid-namespace",
                format!("invalid namespace `{ns}` for stream `{name}`"),
                Some("namespaces are lowercase DNS labels; check metadata.namespace or the folder under definitions/".into()),
            );
        }
        let stream_insecure = s.insecure_repository();
        if let Some(repo) = &s.spec.docker_image_repository {
            let pos = self
                .def
                .tags
                .iter()
                .find(|p| p.is_repository)
                .map_or(self.def.pos, |p| p.entry);
            match reference::parse(repo) {
                Err(e) => self.push(
                    pos,
                    "invalid-pullspec",
                    format!("invalid `spec.dockerImageRepository` `{repo}`: {e}"),
                    None,
                ),
                Ok(r) => {
                    if !r.tag.is_empty() {
                        self.push(
                            pos,
                            "repository-with-tag",
                            "the repository name may not contain a tag".into(),
                            Some(format!(
                                "write `{}` and put the tag in spec.tags",
                                reference::Reference {
                                    tag: String::new(),
                                    ..r.clone()
                                }
                                .exact()
                            )),
                        );
                    } else if !r.digest.is_empty() {
                        self.push(
                            pos,
                            "repository-with-id",
                            "the repository name may not contain an ID".into(),
                            None,
                        );
                    }
                    if stream_insecure {
                        self.check_insecure(
                            &r,
                            pos,
                            "the stream annotation `openshift.io/image.insecureRepository`",
                        );
                    }
                }
            }
        }

        // Duplicate tag names.
        let tags = &s.spec.tags;
        let positions: Vec<&TagPositions> =
            self.def.tags.iter().filter(|p| !p.is_repository).collect();
        for (i, tag) in tags.iter().enumerate() {
            if let Some(first) = tags[..i].iter().position(|t| t.name == tag.name) {
                let first_pos = positions[first].name;
                self.push(
                    positions[i].or_entry(positions[i].name),
                    "duplicate-tag",
                    format!("tag `{}` is defined twice in stream `{name}`", tag.name),
                    Some(format!(
                        "the first is at line {}; OpenShift would silently keep the last",
                        first_pos.line
                    )),
                );
            }
        }

        for (i, pos) in positions.iter().enumerate().take(tags.len()) {
            self.tag(i, pos, stream_insecure);
        }
    }

    fn check_insecure(&mut self, r: &reference::Reference, pos: super::Pos, why: &str) {
        let registry = if r.registry.is_empty() {
            reference::DOCKER_DEFAULT_REGISTRY.to_owned()
        } else {
            r.registry.clone()
        };
        if !self.config.registry.insecure_allowed(&registry) {
            self.push(
                pos,
                "insecure-not-allowed",
                format!("insecure transport is requested for registry `{registry}` ({why}), but it is not in `insecure_allowed`"),
                Some(format!("if that registry really has no valid TLS, add it to streamsync.toml:\n  [registry]\n  insecure_allowed = [\"{registry}\"]")),
            );
        }
    }

    #[allow(clippy::too_many_lines)]
    fn tag(&mut self, index: usize, pos: &TagPositions, stream_insecure: bool) {
        let s = &self.def.stream;
        let stream_name = s.metadata.name.clone();
        let tag = &s.spec.tags[index];
        let tname = tag.name.clone();
        if !TAG_NAME.is_match(&tname) {
            self.push(
                pos.or_entry(pos.name),
                "invalid-tag-name",
                format!("invalid tag `{tname}` in stream `{stream_name}`: tags must start with an alphanumeric character followed by alphanumeric, '.' or '-' characters, and have a maximum of 128 characters"),
                None,
            );
        }
        let Some(from) = &tag.from else {
            if tag.import_policy.scheduled {
                self.push(
                    pos.or_entry(pos.scheduled),
                    "scheduled-without-source",
                    format!("tag `{tname}` is scheduled but has no `from`"),
                    None,
                );
            }
            return;
        };
        let kind_pos = pos.or_entry(pos.from_kind);
        let name_pos = pos.or_entry(if pos.from_name.line == 0 {
            pos.from
        } else {
            pos.from_name
        });
        let kinds = [
            KIND_DOCKER_IMAGE,
            KIND_IMAGE_STREAM_TAG,
            KIND_IMAGE_STREAM_IMAGE,
        ];
        if !kinds.contains(&from.kind.as_str()) {
            let hint = did_you_mean(&from.kind, kinds).map_or_else(
                || {
                    "valid values are 'DockerImage', 'ImageStreamImage', 'ImageStreamTag'"
                        .to_owned()
                },
                |k| format!("did you mean `{k}`?"),
            );
            let shown = if from.kind.is_empty() {
                "(empty)".to_owned()
            } else {
                format!("`{}`", from.kind)
            };
            self.push(kind_pos, "invalid-from-kind", format!("tag `{tname}`: `from.kind` {shown} is not one of DockerImage, ImageStreamTag, ImageStreamImage"), Some(hint));
            return;
        }
        if from.name.is_empty() {
            self.push(
                name_pos,
                "missing-from-name",
                format!("tag `{tname}`: `from.name` is required"),
                None,
            );
            return;
        }
        match from.kind.as_str() {
            KIND_DOCKER_IMAGE => {
                match reference::parse(&from.name) {
                    Err(e) => self.push(
                        name_pos,
                        "invalid-pullspec",
                        format!("tag `{tname}`: invalid pull spec `{}`: {e}", from.name),
                        pullspec_hint(&from.name),
                    ),
                    Ok(r) => {
                        if r.name.is_empty() {
                            self.push(name_pos, "invalid-pullspec", format!("tag `{tname}`: pull spec `{}` names a registry but no repository", from.name), Some("write registry/namespace/name:tag".into()));
                        } else if tag.import_policy.insecure && !tag.reference {
                            self.check_insecure(
                                &r,
                                pos.or_entry(pos.insecure),
                                &format!("tag `{tname}` has `importPolicy.insecure: true`"),
                            );
                        } else if stream_insecure && !tag.reference {
                            self.check_insecure(
                                &r,
                                name_pos,
                                "the stream annotation `openshift.io/image.insecureRepository`",
                            );
                        }
                    }
                }
            }
            KIND_IMAGE_STREAM_TAG => {
                let parts: Vec<&str> = from.name.split(':').collect();
                let (src_stream, src_tag) = match parts.as_slice() {
                    [t] => (stream_name.as_str(), *t),
                    [s, t] => (*s, *t),
                    _ => {
                        self.push(
                            name_pos,
                            "invalid-from-name",
                            format!(
                                "tag `{tname}`: `{}` must be of the form <tag> or <stream>:<tag>",
                                from.name
                            ),
                            None,
                        );
                        return;
                    }
                };
                if src_stream.is_empty() || src_tag.is_empty() {
                    self.push(
                        name_pos,
                        "invalid-from-name",
                        format!(
                            "tag `{tname}`: `{}` must be of the form <tag> or <stream>:<tag>",
                            from.name
                        ),
                        None,
                    );
                    return;
                }
                let same_ns = from
                    .namespace
                    .as_deref()
                    .is_none_or(|n| Some(n) == s.metadata.namespace.as_deref());
                if same_ns && src_stream == stream_name {
                    if src_tag == tname {
                        self.push(
                            name_pos,
                            "self-reference",
                            format!("tag `{tname}` refers to itself"),
                            None,
                        );
                    } else if s.spec_tag(src_tag).is_none() {
                        let hint =
                            did_you_mean(src_tag, s.spec.tags.iter().map(|t| t.name.as_str()))
                                .map_or_else(
                                    || {
                                        format!(
                                            "stream `{stream_name}` defines: {}",
                                            s.spec
                                                .tags
                                                .iter()
                                                .map(|t| t.name.as_str())
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        )
                                    },
                                    |b| format!("did you mean `{stream_name}:{b}`?"),
                                );
                        self.push(name_pos, "unknown-source-tag", format!("tag `{tname}` follows `{stream_name}:{src_tag}`, but stream `{stream_name}` has no tag `{src_tag}`"), Some(hint));
                    }
                }
            }
            _ => {
                let parts: Vec<&str> = from.name.split('@').collect();
                let ok = match parts.as_slice() {
                    [id] => !id.is_empty(),
                    [s, id] => !s.is_empty() && !id.is_empty(),
                    _ => false,
                };
                if !ok {
                    self.push(
                        name_pos,
                        "invalid-from-name",
                        format!(
                            "tag `{tname}`: `{}` must be of the form <id> or <stream>@<id>",
                            from.name
                        ),
                        None,
                    );
                }
            }
        }
        if tag.import_policy.scheduled && from.kind != KIND_DOCKER_IMAGE {
            self.push(pos.or_entry(pos.scheduled), "scheduled-not-docker", format!("tag `{tname}`: only tags pointing to Docker repositories may be scheduled for background import"), Some("remove `importPolicy.scheduled` or use a DockerImage source".into()));
        }
        let mode = tag.import_policy.import_mode.as_str();
        if !["", "Legacy", "PreserveOriginal"].contains(&mode) {
            self.push(pos.or_entry(pos.import_mode), "invalid-import-mode", format!("tag `{tname}`: invalid import mode `{mode}`, valid modes are '', 'Legacy', 'PreserveOriginal'"), did_you_mean(mode, ["Legacy", "PreserveOriginal"]).map(|b| format!("did you mean `{b}`?")));
        }
        let rp = tag.reference_policy.kind.as_str();
        if !["", "Source", "Local"].contains(&rp) {
            self.push(pos.or_entry(pos.reference_policy), "invalid-reference-policy", format!("tag `{tname}`: invalid reference policy `{rp}`, valid values are 'Source' and 'Local'"), did_you_mean(rp, ["Source", "Local"]).map(|b| format!("did you mean `{b}`?")));
        }
        self.conventions(tag, pos);
    }

    /// Warnings from the seed guide's tagging conventions.
    fn conventions(&mut self, tag: &crate::model::TagReference, pos: &TagPositions) {
        let tname = &tag.name;
        let name_pos = pos.or_entry(pos.name);
        if let Some(date) = crate::prune::dates::find_date(tname)
            && crate::prune::dates::has_full_version(tname)
        {
            self.warn(
                name_pos,
                "dated-versioned-tag",
                format!("tag `{tname}` carries both a full version and a date ({}): it points to one revision and is never updated, so default pruning never removes it", date.date),
                Some("prefer a moving tag like `v2.0`; if dated tags are required, review them with `streamsync prune`".into()),
            );
        }
        let tags_annotation = tag.annotation("tags").unwrap_or_default();
        if tags_annotation.split(',').any(|t| t.trim() == "builder") {
            let missing: Vec<&str> = [ANNOTATION_DISPLAY_NAME, "iconClass"]
                .into_iter()
                .filter(|k| tag.annotation(k).is_none_or(str::is_empty))
                .collect();
            if !missing.is_empty() {
                let at = if pos.annotations.line == 0 {
                    name_pos
                } else {
                    pos.annotations
                };
                self.warn(
                    at,
                    "catalog-tag-incomplete",
                    format!(
                        "catalog tag `{tname}` (tags: builder) has no {}",
                        missing.join(" or ")
                    ),
                    Some("the catalog shows builder tags with their display name and icon".into()),
                );
            }
        }
    }
}

fn pullspec_hint(name: &str) -> Option<String> {
    if name.contains("://") {
        return Some("a pull spec has no scheme: drop `https://`".into());
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("repository paths are lowercase".into());
    }
    None
}
