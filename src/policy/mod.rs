//! `streamsync.toml` (the config) and `policies/*.toml` (prune rules, lint): typed, with every
//! unknown key an error located by line and column. Reads only the files it is given; knows
//! nothing of definitions or live state.

pub mod prune;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, did_you_mean, line_col};

pub use prune::PrunePolicy;

/// `streamsync.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Namespace of a definition with none in its metadata and no folder under `definitions/`.
    #[serde(default = "default_namespace")]
    pub default_namespace: String,
    /// Registry access.
    #[serde(default)]
    pub registry: RegistryConfig,
    /// Apply behaviour.
    #[serde(default)]
    pub apply: ApplyConfig,
    /// The cluster the streams are meant for (its integrated registry).
    #[serde(default)]
    pub cluster: crate::model::Cluster,
    /// Roll-outs of the repository's manifests by image-change triggers.
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// `[mirror]`: where `mirror` copies the streams' images.
    #[serde(default)]
    pub mirror: MirrorConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_namespace: default_namespace(),
            registry: RegistryConfig::default(),
            apply: ApplyConfig::default(),
            cluster: crate::model::Cluster::default(),
            rollout: RolloutConfig::default(),
            mirror: MirrorConfig::default(),
        }
    }
}

fn default_namespace() -> String {
    "default".to_owned()
}

/// `[registry]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Hosts (`host` allows every port, `host:port` one) where insecure transport may be used.
    #[serde(default)]
    pub insecure_allowed: Vec<String>,
    /// Extra CA certificates (PEM), relative to the repository root.
    #[serde(default)]
    pub ca_files: Vec<String>,
    /// Requests in flight per registry.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: usize,
    /// Connect timeout, e.g. `10s`.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    /// Whole-request timeout, e.g. `60s`.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: String,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure_allowed: Vec::new(),
            ca_files: Vec::new(),
            max_concurrency: default_max_concurrency(),
            connect_timeout: default_connect_timeout(),
            request_timeout: default_request_timeout(),
        }
    }
}

fn default_max_concurrency() -> usize {
    8
}
fn default_connect_timeout() -> String {
    "10s".to_owned()
}
fn default_request_timeout() -> String {
    "60s".to_owned()
}

impl RegistryConfig {
    /// Whether `registry` (`host` or `host:port`) is listed in `insecure_allowed`; a bare host
    /// in the list allows every port of it.
    pub fn insecure_allowed(&self, registry: &str) -> bool {
        let host = split_host(registry);
        self.insecure_allowed.iter().any(|allowed| {
            let allowed = allowed.trim();
            if allowed.eq_ignore_ascii_case(registry) {
                return true;
            }
            // A bare host (no port) allows every port of it.
            split_host(allowed) == allowed && allowed.eq_ignore_ascii_case(host)
        })
    }
}

/// The host part of `host[:port]` (keeps bracketed IPv6 addresses whole).
fn split_host(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest
            .split(']')
            .next()
            .map_or(registry, |h| &registry[..h.len() + 2]);
    }
    registry.rsplit_once(':').map_or(registry, |(h, _)| h)
}

/// `[mirror]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorConfig {
    /// `HOST[:PORT][/PREFIX]`: a source repository `SRC-HOST/PATH` is mirrored to
    /// `<registry>/PATH`.
    #[serde(default, deserialize_with = "deserialize_mirror_registry")]
    pub registry: Option<String>,
    /// Where the ImageDigestMirrorSet and ImageTagMirrorSet are written, relative to the
    /// repository root.
    #[serde(default, deserialize_with = "deserialize_mirror_sets")]
    pub mirror_sets: Option<String>,
    /// How long what a run verified on the mirror is trusted without asking again (`24h`
    /// when unset; `0` always asks).
    #[serde(default, deserialize_with = "deserialize_verify_interval")]
    pub verify_interval: Option<String>,
}

impl MirrorConfig {
    /// The mirror's host (`HOST[:PORT]`) and its path prefix (empty, or without slashes at
    /// either end).
    pub fn host_and_prefix(&self) -> Option<(&str, &str)> {
        let r = self.registry.as_deref()?;
        Some(match r.split_once('/') {
            Some((h, p)) => (h, p),
            None => (r, ""),
        })
    }

    /// `verify_interval`, or its default of 24 hours.
    pub fn verify_interval(&self) -> std::time::Duration {
        self.verify_interval
            .as_deref()
            .and_then(crate::util::parse_duration)
            .unwrap_or(DEFAULT_VERIFY_INTERVAL)
    }
}

/// The folder of policy files, under the repository root.
pub const POLICIES_DIR: &str = "policies";

/// `[mirror] verify_interval` when unset.
pub const DEFAULT_VERIFY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A verify interval, refused at its line when it is not a duration.
fn deserialize_verify_interval<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    if crate::util::parse_duration(&value).is_none() {
        return Err(serde::de::Error::custom(format!(
            "`{}` is not a duration (write for example `24h`, `90m` or `0` to ask the mirror every run)",
            crate::util::escape_line(&value)
        )));
    }
    Ok(Some(value))
}

/// A mirror registry, refused at its line when it is not `HOST[:PORT][/PREFIX]`.
fn deserialize_mirror_registry<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    let bad = |why: &str| {
        serde::de::Error::custom(format!(
            "`{}` {why} (write `HOST[:PORT][/PREFIX]`, for example `mirror.example.com:5000/quay`)",
            crate::util::escape_line(&value)
        ))
    };
    if value.contains("://") {
        return Err(bad("has a scheme"));
    }
    let v = value.trim_end_matches('/');
    let (host, prefix) = v.split_once('/').unwrap_or((v, ""));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && host
            .split(':')
            .nth(1)
            .is_none_or(|p| p.parse::<u16>().is_ok())
        && host.matches(':').count() <= 1;
    if !host_ok {
        return Err(bad("does not name a registry host"));
    }
    let prefix_ok = prefix.is_empty()
        || prefix.split('/').all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
        });
    if !prefix_ok {
        return Err(bad(
            "has a prefix that is not a repository path (lowercase letters, digits, `._-`, `/`)",
        ));
    }
    Ok(Some(v.to_owned()))
}

/// The mirror sets file: relative, inside the repository.
fn deserialize_mirror_sets<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    let p = std::path::Path::new(&value);
    if value.is_empty()
        || p.is_absolute()
        || p.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    {
        return Err(serde::de::Error::custom(format!(
            "`{}` must be a path inside the repository, relative to its root (for example `cluster/mirror-sets.yaml`)",
            crate::util::escape_line(&value)
        )));
    }
    Ok(Some(value))
}

/// `[rollout]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutConfig {
    /// Globs (relative to the repository root) of the manifests to scan; empty: every YAML
    /// and JSON file outside `definitions/`, `policies/`, the state and hidden folders.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Push roll-outs to [`RolloutConfig::branch`] and open or update one pull request
    /// instead of committing them to the default branch.
    #[serde(default)]
    pub pull_request: bool,
    /// The branch roll-outs are pushed to in pull-request mode.
    #[serde(
        default = "default_rollout_branch",
        deserialize_with = "deserialize_branch"
    )]
    pub branch: String,
}

/// A Git branch name, refused here (at its line in `streamsync.toml`) rather than when the
/// first roll-out is committed.
fn deserialize_branch<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    if let Some(why) = branch_problem(&name) {
        return Err(serde::de::Error::custom(format!(
            "`{}` {why} (for example `streamsync/rollout`)",
            crate::util::escape_line(&name)
        )));
    }
    Ok(name)
}

/// Why `name` cannot be the roll-out branch, judged without the repository: Git's own rules
/// for a branch name (`git check-ref-format --branch`: a valid `refs/heads/<name>`, not
/// `HEAD`, not starting with `-`), and not a name that reads as another kind of reference
/// (`refs/…`). The repository's default branch and remotes are checked when the branch is
/// written (by the roll-out branch commit).
pub fn branch_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || !git2::Reference::is_valid_name(&format!("refs/heads/{name}")) {
        Some("is not a valid Git branch name")
    } else if name == "HEAD" || name == "@" {
        Some("is not a valid Git branch name (Git reserves it for the checked-out commit)")
    } else if name.starts_with('-') {
        Some("is not a valid Git branch name (it starts with `-`)")
    } else if name.starts_with("refs/") {
        Some("starts with `refs/`, so Git would read it as a full reference name, not a branch")
    } else {
        None
    }
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            paths: Vec::new(),
            pull_request: false,
            branch: default_rollout_branch(),
        }
    }
}

fn default_rollout_branch() -> String {
    "streamsync/rollout".to_owned()
}

/// `[apply]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyConfig {
    /// Delete streams that are in the state but not in the definitions.
    #[serde(default)]
    pub prune_streams: bool,
}

/// One `policies/*.toml` file; all files merge into [`Policies`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// `[prune]`.
    #[serde(default)]
    pub prune: Option<PrunePolicy>,
    /// `[lint]`.
    #[serde(default)]
    pub lint: Option<LintPolicy>,
}

/// `[lint]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintPolicy {
    /// Warning codes to silence, e.g. `["dated-tag", "catalog-tag-without-icon"]`.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// All policies, merged in file-name order (a later file's section replaces an earlier one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policies {
    /// Prune rules.
    pub prune: PrunePolicy,
    /// Lint rules.
    pub lint: LintPolicy,
    /// The files read, relative to the root.
    pub files: Vec<String>,
}

/// Parse TOML text into `T`, turning any error into a located diagnostic (with "did you mean"
/// for unknown keys).
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
) -> Result<T, Box<Diagnostic>> {
    toml::from_str::<T>(text).map_err(|err| {
        let (line, column) = err.span().map_or((1, 1), |span| line_col(text, span.start));
        let message = err.message().trim().to_owned();
        let mut diag = Diagnostic::error(file, line, column, "invalid-toml", message.clone());
        if let Some(hint) = unknown_field_hint(&message) {
            diag = diag.with_hint(hint);
        }
        Box::new(diag)
    })
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" make "did you mean `a`?".
pub fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match did_you_mean(field, names.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if !names.is_empty() => Some(format!("valid keys here: {}", names.join(", "))),
        None => None,
    }
}

/// Load `config_path` (absent file: defaults).
pub fn load_config(config_path: &Path, display: &str) -> Result<Config, Box<Diagnostic>> {
    match fs_err::read_to_string(config_path) {
        Ok(text) => parse_toml::<Config>(&text, display),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Box::new(Diagnostic::error(
            display,
            0,
            0,
            "io",
            e.to_string(),
        ))),
    }
}

/// Load every `policies/*.toml` under `root`; problems are returned, not fatal.
pub fn load_policies(root: &Path) -> (Policies, Vec<Diagnostic>) {
    let mut policies = Policies::default();
    let mut diags = Vec::new();
    let dir = root.join(POLICIES_DIR);
    let Ok(entries) = fs_err::read_dir(&dir) else {
        return (policies, diags);
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    for path in files {
        let display = format!(
            "policies/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        // A link out of the repository would put another file's lines into the diagnostics
        // a pull-request check prints: it is not read.
        let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if link
            && !path
                .canonicalize()
                .is_ok_and(|t| t.starts_with(&canonical_root) && t.is_file())
        {
            diags.push(Diagnostic::error(
                &display,
                0,
                0,
                "io",
                "is a symbolic link leading outside the repository (or nowhere), so it is not read",
            ));
            continue;
        }
        let text = match fs_err::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(&display, 0, 0, "io", e.to_string()));
                continue;
            }
        };
        match parse_toml::<PolicyFile>(&text, &display) {
            Ok(file) => {
                if let Some(p) = file.prune {
                    diags.extend(p.check(&display, &text));
                    policies.prune = p;
                }
                if let Some(l) = file.lint {
                    policies.lint = l;
                }
                policies.files.push(display);
            }
            Err(d) => diags.push(*d),
        }
    }
    (policies, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_allowed_matches_host_and_port() {
        let cfg = RegistryConfig {
            insecure_allowed: vec!["registry.local".into(), "127.0.0.1:5000".into()],
            ..RegistryConfig::default()
        };
        assert!(cfg.insecure_allowed("registry.local"));
        assert!(cfg.insecure_allowed("registry.local:8443"));
        assert!(cfg.insecure_allowed("127.0.0.1:5000"));
        assert!(!cfg.insecure_allowed("127.0.0.1:5001"));
        assert!(!cfg.insecure_allowed("127.0.0.1"));
        assert!(!cfg.insecure_allowed("quay.io"));
    }

    #[test]
    fn unknown_config_key_is_located_with_hint() {
        let err = parse_toml::<Config>(
            "default_namespace = \"x\"\n[registry]\ninsecure_alowed = []\n",
            "streamsync.toml",
        )
        .unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
        assert_eq!(
            err.hint.as_deref(),
            Some("did you mean `insecure_allowed`?")
        );
    }
}
