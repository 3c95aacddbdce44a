//! The rules a definition must follow (OpenShift's validation, semantics spec §1.4 and §9.1,
//! plus streamsync's stricter checks), each reported at the offending key or value.

use std::sync::LazyLock;

use regex::Regex;

use super::{Definition, DefinitionSet, TagPositions};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::dates::{self, Recognizer};
use crate::model::{
    ANNOTATION_DISPLAY_NAME, ImageStream, KIND_DOCKER_IMAGE, KIND_IMAGE_STREAM_IMAGE,
    KIND_IMAGE_STREAM_TAG, StreamKey, reference, split_source,
};
use crate::policy::{Config, Policies};

static STREAM_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$").expect("valid regex"));
static TAG_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("valid regex"));

/// Check every stream of the set (in parallel: streams are independent; the result keeps the
/// set's order).
pub fn validate(set: &DefinitionSet, config: &Config, policies: &Policies) -> Vec<Diagnostic> {
    validate_each(set, set.streams.keys(), config, policies)
        .into_iter()
        .flat_map(|(_, diags)| diags)
        .collect()
}

/// Check the streams of the set that `keys` names (in parallel; the result keeps `keys`'
/// order), each with its own diagnostics: a stream's are decided by its definition, the
/// streams it names as sources ([`sources`]) and the names of the streams in a namespace it
/// names one in, so a caller that keeps them (`watch`) checks again only the streams an edit
/// can change.
pub fn validate_each<'k>(
    set: &DefinitionSet,
    keys: impl IntoIterator<Item = &'k StreamKey>,
    config: &Config,
    policies: &Policies,
) -> Vec<(StreamKey, Vec<Diagnostic>)> {
    use rayon::prelude::*;
    // A broken date pattern is reported by the policy check; the built-in forms still apply.
    let recognizer = Recognizer::with_patterns(&policies.prune.date_patterns).unwrap_or_default();
    let defs: Vec<&Definition> = keys
        .into_iter()
        .filter_map(|k| set.streams.get(k))
        .collect();
    defs.par_iter()
        .map(|def| {
            let mut v = Validator {
                def,
                set,
                config,
                dates: &recognizer,
                out: Vec::new(),
            };
            v.stream();
            let diags = v
                .out
                .into_iter()
                .filter(|d| d.is_error() || !policies.lint.allow.iter().any(|a| a == d.code))
                .collect();
            (def.stream.key(), diags)
        })
        .collect()
}

/// The other streams a stream names as the source of a tag (`ImageStreamTag`,
/// `ImageStreamImage`), in tag order, repeats removed: what its check reads besides itself.
pub fn sources(stream: &ImageStream) -> Vec<StreamKey> {
    let holder = stream.key();
    let mut out: Vec<StreamKey> = Vec::new();
    for t in &stream.spec.tags {
        if let Some((key, _)) = t.from.as_ref().and_then(|f| f.source(&holder))
            && key != holder
            && !out.contains(&key)
        {
            out.push(key);
        }
    }
    out
}

struct Validator<'a> {
    def: &'a Definition,
    set: &'a DefinitionSet,
    config: &'a Config,
    dates: &'a Recognizer,
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
        // Conventions apply to every tag, with a source or not.
        self.conventions(tag, pos);
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
            _ => self.stream_source(&tname, from, name_pos),
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
    }

    /// An `ImageStreamTag` or `ImageStreamImage` source, through the shared resolver: its form,
    /// and that the stream (and, for a tag, the tag) it names is defined. The API server
    /// rejects a missing source stream too; plan refuses what this rejects.
    fn stream_source(
        &mut self,
        tname: &str,
        from: &crate::model::ObjectReference,
        name_pos: super::Pos,
    ) {
        let s = &self.def.stream;
        let (src_stream, rest) = match split_source(&from.kind, &from.name) {
            Ok(Some(parts)) => parts,
            Ok(None) => return,
            Err(message) => {
                self.push(
                    name_pos,
                    "invalid-from-name",
                    format!("tag `{tname}`: {message}"),
                    None,
                );
                return;
            }
        };
        let holder = s.key();
        let Some((source_key, _)) = from.source(&holder) else {
            return;
        };
        let is_tag = from.kind == KIND_IMAGE_STREAM_TAG;
        if source_key == holder {
            if is_tag {
                self.same_stream_source(tname, rest, name_pos);
            }
            return;
        }
        let shown = match &from.namespace {
            Some(n) if !n.is_empty() && *n != holder.namespace => {
                format!("{n}/{}", from.name)
            }
            _ => from.name.clone(),
        };
        let Some(source) = self.set.streams.get(&source_key).map(|d| &d.stream) else {
            let known = self
                .set
                .streams
                .keys()
                .filter(|k| k.namespace == source_key.namespace)
                .map(|k| k.name.as_str());
            let hint = did_you_mean(src_stream.unwrap_or_default(), known).map_or_else(
                || format!("define stream `{source_key}`, or point the tag at a stream the definitions have"),
                |b| format!("did you mean `{b}`?"),
            );
            self.push(
                name_pos,
                "unknown-source-stream",
                format!("tag `{tname}` takes its image from `{shown}`, but the definitions have no stream `{source_key}`"),
                Some(hint),
            );
            return;
        };
        // A repository stream also holds the tags of its repository, in status only.
        if is_tag && source.spec_tag(rest).is_none() && !imports_repository(source) {
            let hint = did_you_mean(rest, source.spec.tags.iter().map(|t| t.name.as_str()))
                .map_or_else(
                    || format!("stream `{source_key}` defines: {}", tag_list(source)),
                    |b| format!("did you mean `{}:{b}`?", source_key.name),
                );
            self.push(
                name_pos,
                "unknown-source-tag",
                format!(
                    "tag `{tname}` follows `{shown}`, but stream `{source_key}` has no tag `{rest}`"
                ),
                Some(hint),
            );
        }
    }

    /// An `ImageStreamTag` source in the tag's own stream: not itself, and defined (stricter
    /// than the server, which accepts a missing one, because in Git it is a typo).
    fn same_stream_source(&mut self, tname: &str, src_tag: &str, name_pos: super::Pos) {
        let s = &self.def.stream;
        let stream_name = &s.metadata.name;
        if src_tag == tname {
            self.push(
                name_pos,
                "self-reference",
                format!("tag `{tname}` refers to itself"),
                None,
            );
        } else if s.spec_tag(src_tag).is_none() && !imports_repository(s) {
            let hint = did_you_mean(src_tag, s.spec.tags.iter().map(|t| t.name.as_str()))
                .map_or_else(
                    || format!("stream `{stream_name}` defines: {}", tag_list(s)),
                    |b| format!("did you mean `{stream_name}:{b}`?"),
                );
            self.push(name_pos, "unknown-source-tag", format!("tag `{tname}` follows `{stream_name}:{src_tag}`, but stream `{stream_name}` has no tag `{src_tag}`"), Some(hint));
        }
    }

    /// Warnings from the seed guide's tagging conventions (semantics spec §5.4): a tag that
    /// names one revision forever keeps its image from default pruning.
    fn conventions(&mut self, tag: &crate::model::TagReference, pos: &TagPositions) {
        let tname = &tag.name;
        let name_pos = pos.or_entry(pos.name);
        let own_date = self.dates.find(tname);
        if let Some(date) = &own_date
            && let Some(version) = dates::full_version(&date.series)
        {
            self.warn(
                name_pos,
                "dated-versioned-tag",
                format!(
                    "tag `{tname}` carries both a full version ({version}) and a date ({}): it names one revision and is never updated, so default pruning never removes it",
                    dates::describe(date)
                ),
                Some(format!(
                    "prefer a moving tag such as `{}` whose history keeps the revisions; if dated tags are required, review them with `streamsync prune`",
                    dates::moving_version(version)
                )),
            );
        }
        // A generic name carries neither a date nor a full version (`latest`, `stable`, `v2.0`):
        // it promises to move, which a dated source tag never does.
        if own_date.is_none()
            && dates::full_version(tname).is_none()
            && let Some(from) = &tag.from
            && from.kind == KIND_DOCKER_IMAGE
            && let Ok(r) = reference::parse(&from.name)
            && r.digest.is_empty()
            && let Some(source_date) = self.dates.find(&r.tag)
        {
            let at = pos.or_entry(if pos.from_name.line == 0 {
                pos.from
            } else {
                pos.from_name
            });
            self.warn(
                at,
                "dated-source-generic-tag",
                format!(
                    "tag `{tname}` follows `{}`, a dated tag that is never updated: the generic name `{tname}` suggests it moves with new builds, but it stays at {}",
                    from.name,
                    dates::describe(&source_date)
                ),
                Some(format!(
                    "point `from.name` at a moving tag (such as `{}:{}`), or name this tag `{}` after its date",
                    from.name.strip_suffix(&format!(":{}", r.tag)).unwrap_or(&from.name),
                    dates::moving_name(&source_date.series),
                    r.tag
                )),
            );
        }
        if let Some(icon) = tag.annotation("iconClass")
            && !icon.trim().is_empty()
            && !crate::model::icons::is_known(icon)
        {
            let at = if pos.annotations.line == 0 {
                name_pos
            } else {
                pos.annotations
            };
            // `font-icon icon-ruby`: the console looks the whole value up, so the logo is lost.
            let guess = icon
                .split_whitespace()
                .find(|w| crate::model::icons::is_known(w))
                .or_else(|| icon_guess(icon.trim()));
            self.warn(
                at,
                "unknown-icon-class",
                format!(
                    "tag `{tname}`: the console has no logo for iconClass `{icon}`, so the catalog shows its generic icon"
                ),
                Some(match guess {
                    Some(g) => format!("did you mean `{g}`?"),
                    None => "use one of the console's logo classes exactly as it names them (such as `icon-python`)".into(),
                }),
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

/// Whether the stream imports a whole repository (a valid `spec.dockerImageRepository`), so
/// its status may hold tags its spec does not name.
fn imports_repository(s: &ImageStream) -> bool {
    s.repository()
        .and_then(|r| reference::parse(r).ok())
        .is_some_and(|r| r.tag.is_empty() && r.digest.is_empty())
}

fn tag_list(s: &ImageStream) -> String {
    s.spec
        .tags
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
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

/// The known icon an unknown `iconClass` most resembles. A catalog of thousands of tags
/// repeats a handful of values: each is compared with the icon list once per thread.
fn icon_guess(icon: &str) -> Option<&'static str> {
    thread_local! {
        static GUESSES: std::cell::RefCell<std::collections::HashMap<String, Option<&'static str>>> =
            std::cell::RefCell::default();
    }
    GUESSES.with(|g| {
        if let Some(guess) = g.borrow().get(icon) {
            return *guess;
        }
        let guess = did_you_mean(icon, crate::model::icons::KNOWN.iter().copied());
        g.borrow_mut().insert(icon.to_owned(), guess);
        guess
    })
}

#[cfg(test)]
mod tests {
    use crate::definition::{SourceFile, load_files};
    use crate::diagnostic::{Diagnostic, Severity};
    use crate::policy::{Config, Policies};

    const HEAD: &str = "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: ruby\nspec:\n  tags:\n";

    fn check_with(files: &[(&str, &str)], config: &Config, policies: &Policies) -> Vec<Diagnostic> {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(p, t)| SourceFile {
                path: (*p).to_owned(),
                bytes: t.as_bytes().to_vec(),
            })
            .collect();
        load_files(&files, config, policies).diagnostics
    }

    fn check(text: &str) -> Vec<Diagnostic> {
        check_with(
            &[("definitions/demo/s.yaml", text)],
            &Config::default(),
            &Policies::default(),
        )
    }

    /// The stream header followed by the given tag entries.
    fn tags(entries: &str) -> String {
        format!("{HEAD}{entries}")
    }

    /// `(code, line, column)` of each diagnostic.
    fn codes(diags: &[Diagnostic]) -> Vec<(&'static str, u32, u32)> {
        diags.iter().map(|d| (d.code, d.line, d.column)).collect()
    }

    fn only(text: &str, code: &str, line: u32, column: u32) -> Diagnostic {
        let diags = check(text);
        assert_eq!(
            codes(&diags),
            vec![(code_static(code), line, column)],
            "{diags:#?}"
        );
        diags.into_iter().next().expect("one diagnostic")
    }

    fn code_static(code: &str) -> &'static str {
        Box::leak(code.to_owned().into_boxed_str())
    }

    #[test]
    fn a_valid_stream_has_no_diagnostics() {
        let text = tags(
            "  - name: \"2.0\"\n    annotations:\n      tags: builder,ruby\n      iconClass: icon-ruby\n      openshift.io/display-name: Ruby 2.0\n    from:\n      kind: DockerImage\n      name: quay.io/org/ruby:2.0\n    importPolicy:\n      scheduled: true\n      importMode: Legacy\n    referencePolicy:\n      type: \"\"\n  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: \"2.0\"\n    referencePolicy:\n      type: Local\n",
        );
        assert_eq!(check(&text), vec![]);
    }

    #[test]
    fn a_name_of_the_wrong_type_is_one_error() {
        let d = only(&HEAD.replace("name: ruby", "name: 0"), "invalid-type", 4, 9);
        assert_eq!(
            d.message,
            "`metadata.name` must be a string, found a number"
        );
    }

    #[test]
    fn stream_name() {
        let text = HEAD.replace("name: ruby", "name: Ruby_");
        let d = only(&text, "invalid-stream-name", 4, 9);
        assert!(
            d.message
                .contains("must match \"[a-z0-9]+(?:[._-][a-z0-9]+)*\"")
        );
        for ok in ["a", "ruby-2.7", "a.b_c-d", "0"] {
            assert_eq!(
                check(&HEAD.replace("name: ruby", &format!("name: \"{ok}\""))),
                vec![]
            );
        }
        for bad in ["-a", "a-", "a..b", "a/b", "."] {
            let d = check(&HEAD.replace("name: ruby", &format!("name: \"{bad}\"")));
            assert_eq!(d[0].code, "invalid-stream-name", "{bad}");
        }
    }

    #[test]
    fn namespace_and_name_at_most_255() {
        // "demo/" is 5 characters: a 250-character name is exactly 255.
        let ok = HEAD.replace("name: ruby", &format!("name: {}", "a".repeat(250)));
        assert_eq!(check(&ok), vec![]);
        let long = HEAD.replace("name: ruby", &format!("name: {}", "a".repeat(251)));
        let d = only(&long, "name-too-long", 4, 9);
        assert!(d.message.contains("cannot be longer than 255 characters"));
    }

    #[test]
    fn namespace_must_be_valid() {
        let text = HEAD.replace("  name: ruby\n", "  name: ruby\n  namespace: Team_A\n");
        only(&text, "invalid-namespace", 4, 9);
    }

    #[test]
    fn tag_name() {
        let d = only(&tags("  - name: \"-x\"\n"), "invalid-tag-name", 7, 11);
        assert!(d.message.contains("maximum of 128 characters"));
        only(&tags("  - name: a:b\n"), "invalid-tag-name", 7, 11);
        only(
            &tags(&format!("  - name: {}\n", "t".repeat(129))),
            "invalid-tag-name",
            7,
            11,
        );
        // Go's `\w` is ASCII.
        only(&tags("  - name: tagé\n"), "invalid-tag-name", 7, 11);
        for ok in ["_x", "V2.0-x86_64", &"t".repeat(128)] {
            assert_eq!(check(&tags(&format!("  - name: {ok}\n"))), vec![], "{ok}");
        }
    }

    #[test]
    fn from_kind() {
        let d = only(
            &tags("  - name: a\n    from:\n      kind: DockerImages\n      name: x\n"),
            "invalid-from-kind",
            9,
            13,
        );
        assert_eq!(d.hint.as_deref(), Some("did you mean `DockerImage`?"));
        let d = only(
            &tags("  - name: a\n    from:\n      kind: Pod\n      name: x\n"),
            "invalid-from-kind",
            9,
            13,
        );
        assert!(
            d.hint
                .unwrap()
                .contains("'DockerImage', 'ImageStreamImage', 'ImageStreamTag'")
        );
        only(
            &tags("  - name: a\n    from:\n      name: x\n"),
            "invalid-from-kind",
            7,
            5,
        );
    }

    #[test]
    fn from_name_required() {
        only(
            &tags("  - name: a\n    from:\n      kind: DockerImage\n"),
            "missing-from-name",
            9,
            7,
        );
    }

    #[test]
    fn docker_image_pull_spec_parses() {
        let d = only(
            &tags("  - name: a\n    from:\n      kind: DockerImage\n      name: quay.io/Org/app\n"),
            "invalid-pullspec",
            10,
            13,
        );
        assert!(d.message.contains("repository name must be lowercase"));
        let d = only(
            &tags(
                "  - name: a\n    from:\n      kind: DockerImage\n      name: https://quay.io/org/app\n",
            ),
            "invalid-pullspec",
            10,
            13,
        );
        assert!(d.hint.unwrap().contains("no scheme"));
        only(
            &tags("  - name: a\n    from:\n      kind: DockerImage\n      name: quay.io\n"),
            "invalid-pullspec",
            10,
            13,
        );
        let long = format!("quay.io/{}", "a".repeat(250));
        only(
            &tags(&format!(
                "  - name: a\n    from:\n      kind: DockerImage\n      name: {long}\n"
            )),
            "invalid-pullspec",
            10,
            13,
        );
    }

    #[test]
    fn image_stream_tag_forms_and_missing_source_tag() {
        let base = "  - name: \"2.0\"\n    from:\n      kind: DockerImage\n      name: ruby:2.0\n";
        let ist = |name: &str| {
            tags(&format!(
                "{base}  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: \"{name}\"\n"
            ))
        };
        assert_eq!(check(&ist("2.0")), vec![]);
        assert_eq!(check(&ist("ruby:2.0")), vec![]);
        // A stream the definitions do not have is an error where the source is named, as plan
        // refuses it.
        let d = only(&ist("python:3.12"), "unknown-source-stream", 14, 13);
        assert!(
            d.message.contains("no stream `demo/python`"),
            "{}",
            d.message
        );
        let d = only(&ist("2.1"), "unknown-source-tag", 14, 13);
        assert_eq!(d.hint.as_deref(), Some("did you mean `ruby:2.0`?"));
        only(&ist("ruby:latest"), "self-reference", 14, 13);
        only(&ist("a:b:c"), "invalid-from-name", 14, 13);
        only(&ist(":x"), "invalid-from-name", 14, 13);
        // In another namespace, the same stream name is another stream.
        let other_ns = tags(&format!(
            "{base}  - name: latest\n    from:\n      kind: ImageStreamTag\n      namespace: openshift\n      name: ruby:2.9\n"
        ));
        let d = only(&other_ns, "unknown-source-stream", 15, 13);
        assert!(d.message.contains("`openshift/ruby:2.9`"), "{}", d.message);
    }

    #[test]
    fn sources_in_other_streams_must_be_defined() {
        let python = "apiVersion: v1\nkind: ImageStream\nmetadata:\n  name: python\nspec:\n  tags:\n  - name: \"3.12\"\n    from:\n      kind: DockerImage\n      name: python:3.12\n";
        let repo = "apiVersion: v1\nkind: ImageStream\nmetadata:\n  name: mirror\nspec:\n  dockerImageRepository: quay.io/x/mirror\n";
        let ruby = |name: &str| {
            tags(&format!(
                "  - name: latest\n    from:\n      kind: ImageStreamTag\n      name: \"{name}\"\n"
            ))
        };
        let run = |name: &str| {
            codes(&check_with(
                &[
                    ("definitions/demo/python.yaml", python),
                    ("definitions/demo/mirror.yaml", repo),
                    ("definitions/demo/ruby.yaml", &ruby(name)),
                ],
                &Config::default(),
                &Policies::default(),
            ))
        };
        assert_eq!(run("python:3.12"), vec![]);
        assert_eq!(run("python:3.13"), vec![("unknown-source-tag", 10, 13)]);
        assert_eq!(run("pyton:3.12"), vec![("unknown-source-stream", 10, 13)]);
        // A repository stream's tags live in its status, so any tag of it may be named.
        assert_eq!(run("mirror:1.0"), vec![]);
    }

    #[test]
    fn image_stream_image_forms() {
        let isi = |name: &str| {
            tags(&format!(
                "  - name: a\n    from:\n      kind: ImageStreamImage\n      name: \"{name}\"\n"
            ))
        };
        assert_eq!(check(&isi("ruby@sha256:abc")), vec![]);
        assert_eq!(check(&isi("sha256:abc")), vec![]);
        assert_eq!(check(&isi("3a335d7")), vec![]);
        only(&isi("nosuch@sha256:abc"), "unknown-source-stream", 10, 13);
        only(&isi("a@b@c"), "invalid-from-name", 10, 13);
        only(&isi("ruby@"), "invalid-from-name", 10, 13);
    }

    #[test]
    fn scheduled_only_with_docker_image() {
        let d = only(
            &tags(
                "  - name: a\n    from:\n      kind: ImageStreamTag\n      name: ruby:b\n    importPolicy:\n      scheduled: true\n  - name: b\n",
            ),
            "scheduled-not-docker",
            12,
            18,
        );
        assert!(
            d.message
                .contains("only tags pointing to Docker repositories may be scheduled")
        );
        only(
            &tags("  - name: a\n    importPolicy:\n      scheduled: true\n"),
            "scheduled-without-source",
            9,
            18,
        );
    }

    #[test]
    fn import_mode_values() {
        let t = |mode: &str| {
            tags(&format!(
                "  - name: a\n    from:\n      kind: DockerImage\n      name: ruby\n    importPolicy:\n      importMode: \"{mode}\"\n"
            ))
        };
        for ok in ["", "Legacy", "PreserveOriginal"] {
            assert_eq!(check(&t(ok)), vec![], "{ok}");
        }
        let d = only(&t("legacy"), "invalid-import-mode", 12, 19);
        assert_eq!(d.hint.as_deref(), Some("did you mean `Legacy`?"));
    }

    #[test]
    fn reference_policy_values() {
        let t = |rp: &str| {
            tags(&format!(
                "  - name: a\n    from:\n      kind: DockerImage\n      name: ruby\n    referencePolicy:\n      type: \"{rp}\"\n"
            ))
        };
        for ok in ["", "Source", "Local"] {
            assert_eq!(check(&t(ok)), vec![], "{ok}");
        }
        // `referencePolicy: {}` means Source.
        assert_eq!(
            check(&tags("  - name: a\n    referencePolicy: {}\n")),
            vec![]
        );
        let d = only(&t("source"), "invalid-reference-policy", 12, 13);
        assert_eq!(d.hint.as_deref(), Some("did you mean `Source`?"));
    }

    #[test]
    fn duplicate_tag_names() {
        let d = only(
            &tags("  - name: a\n  - name: b\n  - name: a\n"),
            "duplicate-tag",
            9,
            11,
        );
        assert!(d.hint.unwrap().contains("the first is at line 7"));
    }

    #[test]
    fn docker_image_repository_without_tag_or_id() {
        let spec = |repo: &str| {
            HEAD.replace(
                "spec:\n  tags:\n",
                &format!("spec:\n  dockerImageRepository: \"{repo}\"\n"),
            )
        };
        assert_eq!(check(&spec("quay.io/org/ruby")), vec![]);
        let d = only(&spec("quay.io/org/ruby:2.0"), "repository-with-tag", 6, 26);
        assert_eq!(d.message, "the repository name may not contain a tag");
        assert!(d.hint.unwrap().contains("`quay.io/org/ruby`"));
        only(
            &spec(
                "quay.io/org/ruby@sha256:3c87c572822935df60f0f5d3665bd376841a7fcfeb806b5f212de6a00e9a7b25",
            ),
            "repository-with-id",
            6,
            26,
        );
        only(&spec("Quay.io/Org"), "invalid-pullspec", 6, 26);
    }

    #[test]
    fn insecure_transport_needs_the_registry_allowed() {
        let tag_insecure = tags(
            "  - name: a\n    from:\n      kind: DockerImage\n      name: registry.local:5000/org/app\n    importPolicy:\n      insecure: true\n",
        );
        let d = only(&tag_insecure, "insecure-not-allowed", 12, 17);
        assert!(d.message.contains("`registry.local:5000`"));
        assert!(
            d.hint
                .unwrap()
                .contains("insecure_allowed = [\"registry.local:5000\"]")
        );

        let mut config = Config::default();
        config.registry.insecure_allowed = vec!["registry.local".into()];
        let files = [("definitions/demo/s.yaml", tag_insecure.as_str())];
        assert_eq!(check_with(&files, &config, &Policies::default()), vec![]);

        // The stream annotation makes every tag insecure, and `insecure: false` cannot undo it.
        let annotated = String::from(
            "apiVersion: v1\nkind: ImageStream\nmetadata:\n  name: ruby\n  annotations:\n    openshift.io/image.insecureRepository: \"true\"\nspec:\n  tags:\n  - name: a\n    from:\n      kind: DockerImage\n      name: quay.io/org/app\n    importPolicy:\n      insecure: false\n  - name: b\n    reference: true\n    from:\n      kind: DockerImage\n      name: other.io/org/app\n",
        );
        let d = only(&annotated, "insecure-not-allowed", 12, 13);
        assert!(d.message.contains("`quay.io`"), "{}", d.message);
        // A bare Docker Hub name is docker.io.
        let hub = tags(
            "  - name: a\n    from:\n      kind: DockerImage\n      name: ruby\n    importPolicy:\n      insecure: true\n",
        );
        assert!(
            only(&hub, "insecure-not-allowed", 12, 17)
                .message
                .contains("`docker.io`")
        );
    }

    #[test]
    fn convention_warnings() {
        let d = only(
            &tags("  - name: v2.0.1-2016-05-01\n"),
            "dated-versioned-tag",
            7,
            11,
        );
        assert_eq!(d.severity, Severity::Warning);
        // A moving tag or a date alone is fine.
        assert_eq!(
            check(&tags("  - name: v2.0\n  - name: nightly-20250101\n")),
            vec![]
        );

        let d = only(
            &tags("  - name: \"2.0\"\n    annotations:\n      tags: builder,ruby\n"),
            "catalog-tag-incomplete",
            8,
            5,
        );
        assert_eq!(d.severity, Severity::Warning);
        assert!(d.message.contains("openshift.io/display-name or iconClass"));
    }

    #[test]
    fn lint_allow_silences_warnings_not_errors() {
        let mut policies = Policies::default();
        policies.lint.allow = vec!["dated-versioned-tag".into(), "invalid-tag-name".into()];
        let text = tags("  - name: v2.0.1-2016-05-01\n  - name: \"-x\"\n");
        let files = [("definitions/demo/s.yaml", text.as_str())];
        let diags = check_with(&files, &Config::default(), &policies);
        assert_eq!(codes(&diags), vec![("invalid-tag-name", 8, 11)]);
    }

    #[test]
    fn the_same_stream_twice_names_both_places() {
        let files = [
            ("definitions/demo/a.yaml", HEAD),
            ("definitions/demo/b.yaml", HEAD),
        ];
        let diags = check_with(&files, &Config::default(), &Policies::default());
        assert_eq!(codes(&diags), vec![("duplicate-stream", 4, 9)]);
        assert_eq!(diags[0].file, "definitions/demo/b.yaml");
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("definitions/demo/a.yaml:4:9")
        );
        // The same name in two namespaces is two streams.
        let files = [
            ("definitions/a/s.yaml", HEAD),
            ("definitions/b/s.yaml", HEAD),
        ];
        assert_eq!(
            check_with(&files, &Config::default(), &Policies::default()),
            vec![]
        );
    }

    #[test]
    fn problems_are_sorted_and_all_reported() {
        let text = tags(
            "  - name: \"-x\"\n  - name: b\n    from:\n      kind: Nope\n      name: x\n  - name: \"-x\"\n",
        );
        let diags = check(&text);
        assert_eq!(
            codes(&diags),
            vec![
                ("invalid-tag-name", 7, 11),
                ("invalid-from-kind", 10, 13),
                ("invalid-tag-name", 12, 11),
                ("duplicate-tag", 12, 11),
            ]
        );
    }
}
