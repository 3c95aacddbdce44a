//! Plans for people and machines: Terraform-like text with a unified diff per stream,
//! Markdown for a pull-request comment (summary first, `<details>` per stream, a hard size
//! budget) and JSON with a stable field order. Pure formatting: no I/O, no decisions.
//!
//! A comment that must be cut still names every changed stream, every new or changed source
//! and every removal (an index of the whole plan comes before any detail), so no change can
//! hide behind the size limit. Text from definitions and registries goes into Markdown only
//! as code spans or escaped text ([`crate::util::md_code`], [`crate::util::md_text`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Bucket, Change, FORMAT_VERSION, Plan, PlanError, Summary, Unobserved};
use crate::model::{ImageStream, StreamKey};
use crate::util::{md_code, md_text};

/// GitHub refuses comments above 65,536 characters; this leaves room for a workflow's own text.
pub const MARKDOWN_BUDGET: usize = 60_000;

/// The marker a workflow looks for to update its comment in place.
pub const MARKDOWN_MARKER: &str = "<!-- streamsync-plan -->";

/// The last line of a plan with changes, or the no-changes line.
pub fn summary_line(s: &Summary) -> String {
    if s.is_empty() {
        "No changes. Live state matches the definitions.".to_owned()
    } else if s.rollout > 0 {
        format!(
            "Plan: {} to add, {} to change, {} to remove, {} to import, {} to roll.",
            s.add, s.change, s.remove, s.import, s.rollout
        )
    } else {
        format!(
            "Plan: {} to add, {} to change, {} to remove, {} to import.",
            s.add, s.change, s.remove, s.import
        )
    }
}

fn marker(action: Action) -> &'static str {
    match action.bucket() {
        Bucket::Add => "+",
        Bucket::Change => "~",
        Bucket::Remove => "-",
        Bucket::Import => "<=",
    }
}

fn color_code(action: Action) -> &'static str {
    match action.bucket() {
        Bucket::Add => "32",
        Bucket::Change => "33",
        Bucket::Remove => "31",
        Bucket::Import => "36",
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::CreateStream => "create stream",
        Action::UpdateStream => "update stream",
        Action::DeleteStream => "delete stream",
        Action::AddTag => "add tag",
        Action::UpdateTag => "update tag",
        Action::RemoveTag => "remove tag",
        Action::Import => "import",
    }
}

fn paint(on: bool, text: &str, code: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Flatten a JSON value into `a.b.c → scalar` pairs.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// `field: before → after` lines for what differs between two values.
pub fn field_changes(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
    if let Some(v) = before {
        flatten("", v, &mut b);
    }
    if let Some(v) = after {
        flatten("", v, &mut a);
    }
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        if k == "name" {
            continue;
        }
        match (b.get(k), a.get(k)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => out.push(format!("{k}: {x} → {y}")),
            // A new value shows only what differs from the server defaults.
            (None, Some(y)) if before.is_none() && is_default(k, y) => {}
            (None, Some(y)) if before.is_none() => out.push(format!("{k}: {y}")),
            (None, Some(y)) => out.push(format!("{k}: (none) → {y}")),
            (Some(x), None) if after.is_none() && is_default(k, x) => {}
            (Some(x), None) if after.is_none() => out.push(format!("{k}: {x}")),
            (Some(x), None) => out.push(format!("{k}: {x} → (none)")),
            (None, None) => {}
        }
    }
    out
}

fn is_default(key: &str, value: &str) -> bool {
    matches!(
        (key, value),
        ("importPolicy.importMode", "\"Legacy\"")
            | ("referencePolicy.type", "\"Source\"")
            | ("lookupPolicy.local", "false")
    )
}

/// The detail lines shown under a change.
fn details(c: &Change) -> Vec<String> {
    match c.action {
        Action::Import => {
            let from = c
                .after
                .as_ref()
                .and_then(|a| a.get("from"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let now = c
                .before
                .as_ref()
                .and_then(|b| b.get("image"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let next = c
                .after
                .as_ref()
                .and_then(|a| a.get("image"))
                .and_then(Value::as_str);
            let mut lines = vec![format!("from: {from}")];
            match (now, next) {
                (Some(n), Some(x)) => lines.push(format!("image: {n} → {x}")),
                (Some(n), None) => lines.push(format!("image: {n} → (resolved at apply)")),
                (None, Some(x)) => lines.push(format!("image: {x}")),
                (None, None) => lines.push("image: (resolved at apply)".into()),
            }
            lines
        }
        Action::DeleteStream | Action::RemoveTag => Vec::new(),
        _ => {
            let mut lines = field_changes(c.before.as_ref(), c.after.as_ref());
            lines.extend(image_move(c));
            lines
        }
    }
}

/// `image: sha256:0123456789ab… → sha256:…` when the change moves the tag's image.
fn image_move(c: &Change) -> Option<String> {
    let short = |d: &str| super::short_digest(d);
    match (c.image_before.as_deref(), c.image_after.as_deref()) {
        (Some(b), Some(a)) => Some(format!("image: {} → {}", short(b), short(a))),
        (Some(b), None) => Some(format!("image: {} → (resolved at apply)", short(b))),
        (None, Some(a)) => Some(format!("image: {}", short(a))),
        (None, None) => None,
    }
}

fn change_line(c: &Change) -> String {
    let mark = marker(c.action);
    let head = format!("{mark} {} {}", verb(c.action), c.target());
    let mut line = format!("  {head}  ({})\n", c.reason);
    for d in details(c) {
        let _ = writeln!(line, "      {d}");
    }
    line
}

/// The YAML of a stream spec for the diff.
fn stream_yaml(s: Option<&ImageStream>) -> String {
    s.map(|s| crate::state::dir::to_yaml(s).unwrap_or_default())
        .unwrap_or_default()
}

/// The unified diff of one stream's spec, live → planned.
pub fn stream_diff(plan: &Plan, key: &StreamKey) -> String {
    let Some(d) = plan.diffs.get(key) else {
        return String::new();
    };
    let before = stream_yaml(d.before.as_ref());
    let after = stream_yaml(d.after.as_ref());
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{key} (live)"), &format!("{key} (planned)"))
        .to_string()
}

fn groups(plan: &Plan) -> Vec<(Option<&'static str>, Vec<&Change>)> {
    if plan.has_base {
        let (new, old): (Vec<&Change>, Vec<&Change>) = plan
            .changes
            .iter()
            .partition(|c| c.introduced.unwrap_or(true));
        vec![
            (Some("Introduced by this revision"), new),
            (Some("Drift already pending on the base"), old),
        ]
    } else {
        vec![(None, plan.changes.iter().collect())]
    }
}

/// Colour for a text plan that holds no outside control character any more (see [`text`]):
/// diff lines by their first characters, change lines by their marker and verb. Only what
/// streamsync laid out starts a line, since escaped outside text holds no newline.
fn colorize(text: &str) -> String {
    const ACTIONS: [Action; 7] = [
        Action::CreateStream,
        Action::UpdateStream,
        Action::DeleteStream,
        Action::AddTag,
        Action::UpdateTag,
        Action::RemoveTag,
        Action::Import,
    ];
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for l in text.split_inclusive('\n') {
        let (body, newline) = match l.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (l, ""),
        };
        let code = if body.starts_with("+++") || body.starts_with("---") {
            Some("1")
        } else if body.starts_with('+') {
            Some("32")
        } else if body.starts_with('-') {
            Some("31")
        } else if body.starts_with("@@") {
            Some("36")
        } else {
            None
        };
        if let Some(code) = code {
            let _ = write!(out, "{}{newline}", paint(true, body, code));
            continue;
        }
        let change = ACTIONS.iter().find_map(|&a| {
            let head = format!("  {} {} ", marker(a), verb(a));
            body.starts_with(&head).then_some(a)
        });
        match change.and_then(|a| body[2..].find("  (").map(|end| (a, end + 2))) {
            Some((action, end)) => {
                let _ = write!(
                    out,
                    "  {}{}{newline}",
                    paint(true, &body[2..end], color_code(action)),
                    &body[end..]
                );
            }
            None => out.push_str(l),
        }
    }
    out
}

fn error_line(e: &PlanError) -> String {
    match &e.tag {
        Some(t) => format!("{}/{}:{t}: {}", e.namespace, e.stream, e.message),
        None => format!("{}/{}: {}", e.namespace, e.stream, e.message),
    }
}

fn unobserved_line(u: &Unobserved) -> String {
    format!("{}/{}:{}: {}", u.namespace, u.stream, u.tag, u.message)
}

/// Terraform-like text, in colour when `color`. Names, reasons, messages and specs come from
/// definitions and registries: with colour on, all of the text is escaped before streamsync
/// adds its own colour, so an escape sequence in them stays visible text and the printer can
/// let only streamsync's colours through.
pub fn text(plan: &Plan, color: bool) -> String {
    text_with(plan, color, false)
}

/// [`text`], with the unified diff of every stream's spec after the changes when `diff`
/// (`plan --diff`); without it, each change shows once, as its field list.
pub fn text_with(plan: &Plan, color: bool, diff: bool) -> String {
    let plain = plain_text(plan, diff);
    if color {
        colorize(&crate::util::escape_text(&plain, true))
    } else {
        plain
    }
}

fn plain_text(plan: &Plan, with_diff: bool) -> String {
    let mut out = String::new();
    if !plan.changes.is_empty() {
        out.push_str("streamsync will make these changes:\n");
        for (title, changes) in groups(plan) {
            if let Some(title) = title {
                let _ = writeln!(out, "\n{title} ({}):", changes.len());
                if changes.is_empty() {
                    out.push_str("  (none)\n");
                }
            } else {
                out.push('\n');
            }
            for c in changes {
                out.push_str(&change_line(c));
            }
        }
    }
    if !plan.unmanaged.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(
            "Unmanaged streams (in the live state, not in the definitions; kept, --prune deletes them):\n",
        );
        for k in &plan.unmanaged {
            let _ = writeln!(out, "  {k}");
        }
    }
    if !plan.errors.is_empty() {
        out.push_str("\nErrors (these changes are left out of the plan):\n");
        for e in &plan.errors {
            let _ = writeln!(out, "  {}", error_line(e));
        }
    }
    if !plan.unobserved.is_empty() {
        out.push_str("\nNot refreshed (the registry could not be asked):\n");
        for u in &plan.unobserved {
            let _ = writeln!(out, "  {}", unobserved_line(u));
        }
    }
    for key in plan.diffs.keys().filter(|_| with_diff) {
        // Imports alone leave the spec as it is: no diff to show.
        let diff = stream_diff(plan, key);
        if diff.is_empty() {
            continue;
        }
        out.push('\n');
        out.push_str(&diff);
    }
    if !plan.rollouts.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Roll-outs:\n");
        out.push_str(&rollout_lines(plan));
        out.push_str(&crate::rollout::render::summary(&plan.rollouts, true));
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(&plan.summary()));
    out.push('\n');
    out
}

/// The `~ roll` lines, in two titled groups with `--base`, then the paused and waiting
/// triggers.
fn rollout_lines(plan: &Plan) -> String {
    let rollouts = &plan.rollouts;
    if !plan.has_base {
        return crate::rollout::render::lines(rollouts);
    }
    let mut out = String::new();
    let (new, old): (Vec<_>, Vec<_>) = rollouts
        .rollouts
        .iter()
        .partition(|r| r.introduced.unwrap_or(true));
    for (title, group) in [
        ("Introduced by this revision", new),
        ("Drift already pending on the base", old),
    ] {
        let _ = writeln!(out, "{title} ({}):", group.len());
        if group.is_empty() {
            out.push_str("  (none)\n");
        }
        for r in group {
            let _ = writeln!(out, "{}", crate::rollout::render::roll_line(r));
        }
    }
    for s in &rollouts.skipped {
        let _ = writeln!(out, "{}", crate::rollout::render::skip_line(s));
    }
    out
}

/// Most of a comment a roll-out section may take, so the streams' own sections keep room.
const ROLLOUT_BUDGET: usize = 20_000;

/// The `### Roll-outs` section of a comment: the lines in a code block (cut on a line when
/// longer than [`ROLLOUT_BUDGET`]), then the count.
fn md_rollouts(plan: &Plan) -> String {
    if plan.rollouts.is_empty() {
        return String::new();
    }
    let mut lines = crate::util::escape_text(&rollout_lines(plan), true).into_owned();
    let total = lines.lines().count();
    if lines.len() > ROLLOUT_BUDGET {
        let mut cut = ROLLOUT_BUDGET;
        while !lines.is_char_boundary(cut) {
            cut -= 1;
        }
        let keep = lines[..cut].rfind('\n').map_or(0, |i| i + 1);
        lines.truncate(keep);
        let shown = lines.lines().count();
        let _ = writeln!(lines, "… and {} more lines", total - shown);
    }
    // Longer than any run of backticks in the lines, so none of them can close the block.
    let longest = lines.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("\n### Roll-outs\n\n{fence}\n{lines}{fence}\n\n");
    out.push_str(&md_text(&crate::rollout::render::summary(
        &plan.rollouts,
        true,
    )));
    if lines.lines().count() < total {
        let _ = write!(out, " Not every line is shown; {FULL_PLAN_NOTE}.");
    }
    out.push('\n');
    out
}

/// Most manifest problems a comment lists.
const MANIFEST_PROBLEMS_SHOWN: usize = 20;

/// The manifests' problems as a GitHub alert: a caution when one is an error (the roll-outs
/// of that trigger are left out, and `validate` fails), else a warning; each with its file
/// and line.
fn md_manifest_problems(problems: &[crate::diagnostic::Diagnostic]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let errors = problems.iter().filter(|d| d.is_error()).count();
    let mut out = if errors > 0 {
        format!(
            "\n> [!CAUTION]\n> The workload manifests have {errors} {} (their roll-outs are left out; the image streams are not affected):\n",
            crate::diagnostic::plural(errors, "error", "errors")
        )
    } else {
        "\n> [!WARNING]\n> The workload manifests have image triggers OpenShift would read differently:\n"
            .to_owned()
    };
    for d in problems.iter().take(MANIFEST_PROBLEMS_SHOWN) {
        let _ = writeln!(
            out,
            "> - {} {}: {}",
            md_code(&format!("{}:{}:{}", d.file, d.line, d.column)),
            d.severity.as_str(),
            md_text(&d.message)
        );
    }
    if problems.len() > MANIFEST_PROBLEMS_SHOWN {
        let _ = writeln!(
            out,
            "> - … and {} more; `streamsync validate` lists them all",
            problems.len() - MANIFEST_PROBLEMS_SHOWN
        );
    }
    out
}

fn counts_phrase(s: &Summary) -> String {
    let mut parts = Vec::new();
    for (n, word) in [
        (s.add, "to add"),
        (s.change, "to change"),
        (s.remove, "to remove"),
        (s.import, "to import"),
        (s.rollout, "to roll"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

fn md_change(c: &Change) -> String {
    let mut line = format!(
        "- `{}` {} {} — {}",
        marker(c.action),
        verb(c.action),
        md_code(c.tag.as_deref().unwrap_or(&c.stream)),
        md_text(&c.reason)
    );
    line.push('\n');
    for d in details(c) {
        let _ = writeln!(line, "  - {}", md_code(&d));
    }
    line
}

/// `<`, `>`, `&` and quotes as HTML entities, for text inside an HTML element.
fn html_escape(s: &str) -> String {
    crate::util::escape_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A source named by a change's value: a tag's `from.name`, an import's `from`, a stream's
/// `dockerImageRepository`.
fn source_of(v: Option<&Value>, action: Action) -> Option<String> {
    let v = v?;
    let s = match action {
        Action::Import => v.get("from")?.as_str()?,
        Action::CreateStream | Action::UpdateStream => v.get("dockerImageRepository")?.as_str()?,
        _ => v.get("from")?.get("name")?.as_str()?,
    };
    (!s.is_empty()).then(|| s.to_owned())
}

/// The registry and repository of a pull spec (`quay.io/org/app` for `quay.io/org/app:1`).
fn repository_of(spec: &str) -> String {
    match crate::model::reference::parse(spec) {
        Ok(r) if !r.registry.is_empty() => format!("{}/{}", r.registry, r.repository_name()),
        Ok(r) => r.repository_name(),
        Err(_) => spec.to_owned(),
    }
}

/// One stream in the index of a cut comment.
struct IndexEntry {
    key: StreamKey,
    counts: String,
    /// New or changed sources, whole (`old → new` for a change).
    sources: Vec<String>,
    /// Their registries and repositories only.
    repositories: std::collections::BTreeSet<String>,
    /// Removed tags, or the whole stream.
    removals: Vec<String>,
}

fn index_entries(by_stream: &ByStream<'_>) -> Vec<IndexEntry> {
    by_stream
        .iter()
        .map(|(key, changes)| {
            let mut sources = Vec::new();
            let mut repositories = std::collections::BTreeSet::new();
            let mut removals = Vec::new();
            for c in changes {
                match c.action {
                    Action::RemoveTag => removals.push(md_code(c.tag.as_deref().unwrap_or(""))),
                    Action::DeleteStream => removals.push("the whole stream".to_owned()),
                    _ => {
                        let Some((before, after, pull_spec)) = changed_source(c) else {
                            continue;
                        };
                        repositories.insert(if pull_spec {
                            md_code(&repository_of(&after))
                        } else {
                            md_code(&after)
                        });
                        let tag = c.tag.as_deref().map(|t| format!("{} ", md_code(t)));
                        sources.push(match before {
                            Some(b) => format!(
                                "{}{} → {}",
                                tag.unwrap_or_default(),
                                md_code(&b),
                                md_code(&after)
                            ),
                            None => format!("{}{}", tag.unwrap_or_default(), md_code(&after)),
                        });
                    }
                }
            }
            IndexEntry {
                key: key.clone(),
                counts: counts_phrase(&Summary::of(changes.iter().copied())),
                sources,
                repositories,
                removals,
            }
        })
        .collect()
}

/// The index lines: every stream, every new or changed source (whole when `whole`, else its
/// registry and repository) and every removal.
fn index_text(entries: &[IndexEntry], whole: bool) -> String {
    let mut out = String::new();
    for e in entries {
        let _ = write!(out, "- {}: {}", md_code(&e.key.to_string()), e.counts);
        if whole && !e.sources.is_empty() {
            let _ = write!(out, "; sources: {}", e.sources.join(", "));
        } else if !e.repositories.is_empty() {
            let list: Vec<&str> = e.repositories.iter().map(String::as_str).collect();
            let _ = write!(out, "; sources from {}", list.join(", "));
        }
        if !e.removals.is_empty() {
            let _ = write!(out, "; removes {}", e.removals.join(", "));
        }
        out.push('\n');
    }
    out
}

/// Most of a cut comment the list of new and changed sources may take before it is collapsed
/// further (it is never cut).
const SOURCES_BUDGET: usize = 30_000;

/// One new or changed source of a change: the tag (or stream) it is for, its value before
/// (none: new) and after, and the registry and repository it comes from.
struct SourceChange {
    target: String,
    before: Option<String>,
    after: String,
    /// `registry/repository` of a pull spec; the value itself for an image stream tag.
    repository: String,
    /// The registry of a pull spec; `image streams` for an image stream tag.
    registry: String,
    /// The repository is not the one the value had before (a new tag or stream, a retarget).
    retargeted: bool,
}

/// The source a change sets when it is new or different: its value before (none for a new
/// tag, and for an import, which takes the same source again), after, and whether it is a pull
/// spec (else an image stream tag). `None` for a removal and for a source left as it was.
fn changed_source(c: &Change) -> Option<(Option<String>, String, bool)> {
    let action = c.action;
    if matches!(action, Action::RemoveTag | Action::DeleteStream) {
        return None;
    }
    let after = source_of(c.after.as_ref(), action)?;
    let before = source_of(c.before.as_ref(), action).filter(|_| action != Action::Import);
    if action != Action::Import && before.as_deref() == Some(after.as_str()) {
        return None;
    }
    let pull_spec = match action {
        Action::AddTag | Action::UpdateTag => c
            .after
            .as_ref()
            .and_then(|a| a.get("from")?.get("kind")?.as_str())
            .is_some_and(|k| k == "DockerImage"),
        _ => true,
    };
    Some((before, after, pull_spec))
}

/// Every new or changed source of the plan's changes, those from a new or another
/// repository first, then by stream and tag.
fn source_changes(by_stream: &ByStream<'_>) -> Vec<SourceChange> {
    let mut out = Vec::new();
    for (key, changes) in by_stream {
        for c in changes {
            let action = c.action;
            let Some((before, after, pull_spec)) = changed_source(c) else {
                continue;
            };
            let (repository, registry) = if pull_spec {
                let repository = repository_of(&after);
                let registry = match crate::model::reference::parse(&after) {
                    Ok(r) if !r.registry.is_empty() => r.registry,
                    _ => repository.split('/').next().unwrap_or_default().to_owned(),
                };
                (repository, registry)
            } else {
                (after.clone(), "image streams".to_owned())
            };
            let retargeted = match (&before, action) {
                (_, Action::Import) => false,
                (Some(b), _) if pull_spec => repository_of(b) != repository,
                (Some(b), _) => *b != after,
                (None, _) => true,
            };
            let target = match &c.tag {
                Some(t) => format!("{key}:{t}"),
                None => key.to_string(),
            };
            out.push(SourceChange {
                target,
                before,
                after,
                repository,
                registry,
                retargeted,
            });
        }
    }
    out.sort_by(|a, b| {
        b.retargeted
            .cmp(&a.retargeted)
            .then(a.target.cmp(&b.target))
    });
    // A new tag's import names the same source again.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|s| seen.insert((s.target.clone(), s.after.clone())));
    out
}

/// The sources list of a cut comment, never cut, in the first form that fits in
/// [`SOURCES_BUDGET`]: every source whole (`stream:tag`: before → after); the new or
/// retargeted ones whole and the tags moved within their repository one line per repository,
/// then one line per registry; the new or retargeted ones one line per repository too; last,
/// one line per registry.
fn sources_text(list: &[SourceChange]) -> String {
    use std::collections::{BTreeMap, BTreeSet};
    let (new, moved): (Vec<&SourceChange>, Vec<&SourceChange>) =
        list.iter().partition(|s| s.retargeted);
    let whole = |list: &[&SourceChange]| {
        let mut out = String::new();
        for s in list {
            match &s.before {
                Some(b) => {
                    let _ = writeln!(
                        out,
                        "- {}: {} → {}",
                        md_code(&s.target),
                        md_code(b),
                        md_code(&s.after)
                    );
                }
                None => {
                    let _ = writeln!(out, "- {}: {}", md_code(&s.target), md_code(&s.after));
                }
            }
        }
        out
    };
    let by_repository = |list: &[&SourceChange], note: &str| {
        let mut repos: BTreeMap<&str, (usize, BTreeSet<&str>)> = BTreeMap::new();
        for s in list {
            let e = repos.entry(&s.repository).or_default();
            e.0 += 1;
            e.1.insert(s.target.split(':').next().unwrap_or_default());
        }
        let mut out = String::new();
        for (repo, (tags, streams)) in repos {
            let _ = writeln!(
                out,
                "- {}: {tags} {} in {} {}{note}",
                md_code(repo),
                crate::diagnostic::plural(tags, "tag", "tags"),
                streams.len(),
                crate::diagnostic::plural(streams.len(), "stream", "streams"),
            );
        }
        out
    };
    let moved_by_registry = |list: &[&SourceChange]| {
        let mut registries: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in list {
            registries
                .entry(&s.registry)
                .or_default()
                .insert(&s.repository);
        }
        let mut out = String::new();
        for (registry, repos) in registries {
            let _ = writeln!(
                out,
                "- {}: tags moved within {} {} already in use",
                md_code(registry),
                repos.len(),
                crate::diagnostic::plural(repos.len(), "repository", "repositories")
            );
        }
        out
    };
    let new_note = " (new or retargeted)";
    let candidates: [&dyn Fn() -> String; 4] = [
        &|| whole(&new) + &whole(&moved),
        &|| whole(&new) + &by_repository(&moved, ""),
        &|| whole(&new) + &moved_by_registry(&moved),
        &|| by_repository(&new, new_note) + &moved_by_registry(&moved),
    ];
    for make in candidates {
        let text = make();
        if text.len() <= SOURCES_BUDGET {
            return text;
        }
    }
    let mut registries: BTreeMap<&str, (BTreeSet<&str>, usize, usize)> = BTreeMap::new();
    for s in list {
        let e = registries.entry(&s.registry).or_default();
        e.0.insert(&s.repository);
        e.1 += 1;
        e.2 += usize::from(s.retargeted);
    }
    let mut out = String::new();
    for (registry, (repos, tags, new)) in registries {
        let _ = writeln!(
            out,
            "- {}: {tags} {} from {} {} ({new} new or retargeted)",
            md_code(registry),
            crate::diagnostic::plural(tags, "tag", "tags"),
            repos.len(),
            crate::diagnostic::plural(repos.len(), "repository", "repositories"),
        );
    }
    out
}

/// The removals of a cut comment, one line per stream, cut on a line at `room` bytes.
fn removals_text(entries: &[IndexEntry], room: usize) -> String {
    let mut out = String::new();
    let with: Vec<&IndexEntry> = entries.iter().filter(|e| !e.removals.is_empty()).collect();
    for (i, e) in with.iter().enumerate() {
        let line = format!(
            "- {}: removes {}\n",
            md_code(&e.key.to_string()),
            e.removals.join(", ")
        );
        if out.len() + line.len() > room {
            let _ = writeln!(
                out,
                "- _and {} more streams with removals; {FULL_PLAN_NOTE}_",
                with.len() - i
            );
            break;
        }
        out.push_str(&line);
    }
    out
}

/// Where the whole plan is when the comment is cut.
const FULL_PLAN_NOTE: &str = "the full plan is in this workflow run's job summary and its `plan` artifact (locally: `streamsync plan`)";

/// Whether a Markdown section shows its stream's diff.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Diff {
    /// The whole diff.
    Full,
    /// A note that it was left out for size.
    LeftOut,
    /// Nothing (shown in an earlier section).
    None,
}

fn md_section(plan: &Plan, key: &StreamKey, changes: &[&Change], diff_mode: Diff) -> String {
    let s = Summary::of(changes.iter().copied());
    let mut out = format!(
        "<details><summary><code>{}</code>: {}</summary>\n\n",
        html_escape(&key.to_string()),
        counts_phrase(&s)
    );
    for c in changes {
        out.push_str(&md_change(c));
    }
    let diff = if diff_mode == Diff::None {
        String::new()
    } else {
        stream_diff(plan, key)
    };
    if !diff.is_empty() {
        if diff_mode == Diff::Full {
            // Longer than any run of backticks in the diff, so no line of it can close it.
            let longest = diff.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            let _ = write!(out, "\n{fence}diff\n{diff}{fence}\n");
        } else {
            let _ = writeln!(
                out,
                "\n_The diff ({} lines) is left out to keep this comment under {MARKDOWN_BUDGET} characters; run `streamsync plan` to see it._",
                diff.lines().count()
            );
        }
    }
    out.push_str("\n</details>\n");
    out
}

/// Changes grouped by stream.
type ByStream<'a> = BTreeMap<StreamKey, Vec<&'a Change>>;

/// Markdown for a pull-request comment, at most [`MARKDOWN_BUDGET`] characters: the head
/// (summary, drift, warnings, errors), the changes by stream, then the tail (roll-outs,
/// unmanaged streams). A plan too large for every detail gets an index first.
pub fn markdown(plan: &Plan) -> String {
    let head = md_head(plan);
    let tail = md_tail(plan);
    let groups = md_groups(plan);
    let full = sections(plan, &head, &tail, &groups, None);
    if let Some(full) = full {
        return finish_markdown(full, &tail);
    }
    let out = md_truncated(plan, head, &tail, &groups);
    finish_markdown(out, &tail)
}

/// The comment's head: the summary, what the pull request introduces (with `--base`), the
/// deletions, the errors, the manifest problems and the tags not refreshed.
fn md_head(plan: &Plan) -> String {
    let summary = plan.summary();
    let mut head = format!(
        "{MARKDOWN_MARKER}\n### streamsync plan\n\n**{}**\n",
        summary_line(&summary)
    );
    if plan.has_base {
        let introduced = plan
            .changes
            .iter()
            .filter(|c| c.introduced != Some(false))
            .count();
        let _ = writeln!(
            head,
            "\n{introduced} {} introduced by this pull request; {} already pending on the base (drift).",
            crate::diagnostic::plural(introduced, "change", "changes"),
            plan.changes.len() - introduced
        );
        let rollouts = &plan.rollouts.rollouts;
        if !rollouts.is_empty() {
            let new = rollouts
                .iter()
                .filter(|r| r.introduced != Some(false))
                .count();
            let _ = writeln!(
                head,
                "\n{new} {} introduced by this pull request; {} already due on the base.",
                crate::diagnostic::plural(new, "roll-out", "roll-outs"),
                rollouts.len() - new
            );
        }
    }
    let deleted = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::DeleteStream)
        .count();
    let removed = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::RemoveTag)
        .count();
    if deleted + removed > 0 {
        let mut parts = Vec::new();
        if deleted > 0 {
            parts.push(format!(
                "deletes {deleted} {}",
                crate::diagnostic::plural(deleted, "stream", "streams")
            ));
        }
        if removed > 0 {
            parts.push(format!(
                "removes {removed} {}",
                crate::diagnostic::plural(removed, "tag", "tags")
            ));
        }
        let _ = writeln!(
            head,
            "\n> [!WARNING]\n> This plan {}, history included.",
            parts.join(" and ")
        );
    }
    if !plan.errors.is_empty() {
        head.push_str("\n> [!CAUTION]\n> Some changes are left out because of errors:\n");
        for e in &plan.errors {
            let target = match &e.tag {
                Some(t) => format!("{}/{}:{t}", e.namespace, e.stream),
                None => format!("{}/{}", e.namespace, e.stream),
            };
            let _ = writeln!(head, "> - {}: {}", md_code(&target), md_text(&e.message));
        }
    }
    head.push_str(&md_manifest_problems(&plan.rollouts.problems));
    if !plan.unobserved.is_empty() {
        let _ = writeln!(
            head,
            "\n_{} tags could not be refreshed (registry unreachable); the plan covers only part of the work._",
            plan.unobserved.len()
        );
    }
    head
}

/// The comment's tail: the roll-outs and the unmanaged streams.
fn md_tail(plan: &Plan) -> String {
    let mut tail = md_rollouts(plan);
    if !plan.unmanaged.is_empty() {
        let shown: Vec<String> = plan
            .unmanaged
            .iter()
            .take(50)
            .map(|k| md_code(&k.to_string()))
            .collect();
        let more = plan.unmanaged.len().saturating_sub(shown.len());
        let _ = writeln!(
            tail,
            "\nUnmanaged streams (kept; `--prune` deletes them): {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    tail
}

/// The changes by stream, in their groups (with `--base`, introduced and drift).
fn md_groups(plan: &Plan) -> Vec<(Option<&'static str>, ByStream<'_>)> {
    // With --base the changes come in two groups, each with its own heading; a stream's diff
    // is shown once, in the first group that lists the stream.
    groups(plan)
        .into_iter()
        .map(|(title, changes)| {
            let mut by_stream: BTreeMap<StreamKey, Vec<&Change>> = BTreeMap::new();
            for c in changes {
                by_stream.entry(c.key()).or_default().push(c);
            }
            (
                title.map(|t| match t {
                    "Introduced by this revision" => "Introduced by this pull request",
                    other => other,
                }),
                by_stream,
            )
        })
        .collect()
}

/// A plan whose every stream does not fit with its details: `head`, then the index of every
/// change, then as many detailed sections as still fit.
fn md_truncated(
    plan: &Plan,
    head: String,
    tail: &str,
    groups: &[(Option<&'static str>, ByStream<'_>)],
) -> String {
    // Not every stream fits with its details: an index of every change first, then as many
    // detailed sections as still fit.
    let all: ByStream<'_> = {
        let mut all: ByStream<'_> = BTreeMap::new();
        for (_, by_stream) in groups {
            for (key, changes) in by_stream {
                all.entry(key.clone())
                    .or_default()
                    .extend(changes.iter().copied());
            }
        }
        all
    };
    let entries = index_entries(&all);
    let mut with_index = head;
    let _ = write!(
        with_index,
        "\n_Truncated: this plan is too large for one comment, so every new or changed source is listed first, then the removals and every stream, and per-field details follow only as far as they fit; {FULL_PLAN_NOTE}._\n"
    );
    // New and changed sources are never cut: collapsed instead, as far as it takes.
    let sources = sources_text(&source_changes(&all));
    if !sources.is_empty() {
        let _ = write!(with_index, "\n#### New and changed sources\n\n{sources}");
    }
    let removals = removals_text(
        &entries,
        MARKDOWN_BUDGET.saturating_sub(with_index.len() + tail.len() + 2_000) / 2,
    );
    if !removals.is_empty() {
        let _ = write!(with_index, "\n#### Removals\n\n{removals}");
    }
    with_index.push_str("\n#### Every change\n\n");
    let mut index = index_text(&entries, true);
    if with_index.len() + index.len() + tail.len() + 2_000 > MARKDOWN_BUDGET {
        index = index_text(&entries, false);
    }
    let room = MARKDOWN_BUDGET.saturating_sub(with_index.len() + tail.len() + 200);
    if index.len() > room {
        // Even the index does not fit (thousands of streams): cut it on a line.
        let mut cut = room;
        while !index.is_char_boundary(cut) {
            cut -= 1;
        }
        let keep = index[..cut].rfind('\n').map_or(0, |i| i + 1);
        let listed = index[..keep].lines().count();
        index.truncate(keep);
        let _ = writeln!(
            index,
            "- _and {} more streams; {FULL_PLAN_NOTE}_",
            entries.len() - listed
        );
    }
    with_index.push_str(&index);
    sections(plan, &with_index, tail, groups, Some(())).unwrap_or(with_index)
}

/// The tail, then a last cut on a character boundary if something still overflows.
fn finish_markdown(mut out: String, tail: &str) -> String {
    out.push_str(tail);
    if out.len() > MARKDOWN_BUDGET {
        // The tail alone (a huge unmanaged list) could still overflow: cut on a char boundary.
        let mut cut = MARKDOWN_BUDGET - 80;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n_Truncated to fit the comment._\n");
    }
    out
}

/// `head` plus a `<details>` section per stream. Without `partial`, `None` unless every
/// stream fits (a diff may be left out); with it, as many sections as fit, then a note.
fn sections(
    plan: &Plan,
    head: &str,
    tail: &str,
    groups: &[(Option<&str>, ByStream<'_>)],
    partial: Option<()>,
) -> Option<String> {
    // Room for the truncation note.
    const RESERVE: usize = 400;
    let mut out = head.to_owned();
    let total: usize = groups.iter().map(|(_, g)| g.len()).sum();
    let mut shown = 0;
    let mut trimmed = 0;
    let mut diffed = std::collections::BTreeSet::new();
    'groups: for (title, by_stream) in groups {
        if let Some(title) = title {
            if by_stream.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n#### {title}");
        }
        out.push('\n');
        for (key, changes) in by_stream {
            let room = MARKDOWN_BUDGET.saturating_sub(out.len() + tail.len() + RESERVE);
            let diff = if diffed.insert(key.clone()) {
                Diff::Full
            } else {
                Diff::None
            };
            let full = md_section(plan, key, changes, diff);
            let section = if full.len() <= room {
                full
            } else {
                let short = md_section(plan, key, changes, Diff::LeftOut);
                if short.len() > room {
                    break 'groups;
                }
                trimmed += 1;
                short
            };
            out.push_str(&section);
            shown += 1;
        }
    }
    if shown < total {
        partial?;
        let _ = writeln!(
            out,
            "\n_The details of {} of {total} streams are not shown to keep this comment under {MARKDOWN_BUDGET} characters (they are in the list above); {FULL_PLAN_NOTE}._",
            total - shown
        );
    } else if trimmed > 0 {
        let _ = writeln!(
            out,
            "\n_The diffs of {trimmed} streams are left out to fit the comment._"
        );
    }
    Some(out)
}

/// The JSON document.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonPlan {
    /// `1.1`.
    pub format_version: String,
    /// Counts.
    pub summary: Summary,
    /// Changes.
    pub changes: Vec<Change>,
    /// Containers of the repository's manifests to roll (1.1).
    #[serde(default)]
    pub rollouts: Vec<crate::rollout::Rollout>,
    /// Triggers that roll nothing now: paused, or waiting for their tag's image (1.1).
    #[serde(default)]
    pub rollouts_skipped: Vec<crate::rollout::Skipped>,
    /// Streams kept because pruning is off.
    #[serde(default)]
    pub unmanaged: Vec<String>,
    /// Problems that kept changes out.
    #[serde(default)]
    pub errors: Vec<PlanError>,
    /// Tags the registry could not be asked about.
    #[serde(default)]
    pub unobserved: Vec<Unobserved>,
}

impl JsonPlan {
    /// From a plan.
    pub fn of(plan: &Plan) -> Self {
        JsonPlan {
            format_version: FORMAT_VERSION.to_owned(),
            summary: plan.summary(),
            changes: plan.changes.clone(),
            rollouts: plan.rollouts.rollouts.clone(),
            rollouts_skipped: plan.rollouts.skipped.clone(),
            unmanaged: plan.unmanaged.iter().map(ToString::to_string).collect(),
            errors: plan.errors.clone(),
            unobserved: plan.unobserved.clone(),
        }
    }
}

/// Pretty JSON with a trailing newline.
pub fn json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&JsonPlan::of(plan)).unwrap_or_default();
    s.push('\n');
    s
}
