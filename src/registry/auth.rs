//! Registry credentials: the redacting [`Secret`] type, docker-style auth files (`auths`,
//! `credHelpers`, `credsStore`), OpenShift's pull-secret key matching (semantics spec §8.3), the
//! `docker-credential-*` helper protocol, and `WWW-Authenticate` challenge parsing with the rule
//! deciding which host may receive which credential. It never sends anything itself and never
//! writes a secret into a message, a log line or a `Debug` string.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

use super::Error;

/// A credential value (password, token, identity token). `Debug` and `Display` print `***`;
/// the value is reachable only through [`Secret::expose`], used where a header is built.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: only for building an `Authorization` header or a helper call.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A username and password for one registry (or a token-realm host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name (not a secret, but never logged either).
    pub username: String,
    /// The password, or an identity token.
    pub password: Secret,
}

impl Credential {
    /// `Basic base64(user:password)`, as a secret.
    pub fn basic_header(&self) -> Secret {
        let raw = format!("{}:{}", self.username, self.password.expose());
        Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// One `auths` entry as written in the file.
#[derive(Debug, Default, Deserialize)]
struct RawAuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The whole auth file (`config.json` / `auth.json`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthFile {
    #[serde(default)]
    auths: BTreeMap<String, RawAuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

/// Credentials loaded from one docker-style auth file.
#[derive(Debug, Clone, Default)]
pub struct AuthStore {
    /// Normalised keys (`host[:port][/path]`), reverse-lexicographically sorted so that the most
    /// specific key is tried first.
    keys: Vec<(String, Credential)>,
    /// `credHelpers`: registry host → helper suffix.
    helpers: BTreeMap<String, String>,
    /// `credsStore`: the default helper.
    store: Option<String>,
    /// Where it came from (for messages).
    source: Option<PathBuf>,
}

/// The auth files to consider, in order: the explicit path, `REGISTRY_AUTH_FILE`,
/// `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`. `env` reads a variable (a function so
/// that tests need not change the process environment).
pub fn auth_file_candidates(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        // An explicit file must exist: the user named it.
        out.push((p.to_path_buf(), true));
        return out;
    }
    if let Some(p) = env("REGISTRY_AUTH_FILE").filter(|s| !s.is_empty()) {
        out.push((PathBuf::from(p), true));
        return out;
    }
    if let Some(dir) = env("DOCKER_CONFIG").filter(|s| !s.is_empty()) {
        out.push((PathBuf::from(dir).join("config.json"), false));
    }
    if let Some(home) = env("HOME").filter(|s| !s.is_empty()) {
        out.push((
            PathBuf::from(home).join(".docker").join("config.json"),
            false,
        ));
    }
    out
}

impl AuthStore {
    /// Load the first auth file that exists among the candidates; none is an empty store.
    pub fn discover(explicit: Option<&Path>) -> Result<AuthStore, Error> {
        let env = |name: &str| std::env::var(name).ok();
        for (path, required) in auth_file_candidates(explicit, &env) {
            match fs_err::read_to_string(&path) {
                Ok(text) => return AuthStore::parse(&text, Some(&path)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
                Err(e) => {
                    return Err(Error::AuthFile {
                        path: path.display().to_string(),
                        message: io_message(&e),
                    });
                }
            }
        }
        Ok(AuthStore::default())
    }

    /// Parse auth-file text. Errors name the file and the key, never a value.
    pub fn parse(text: &str, source: Option<&Path>) -> Result<AuthStore, Error> {
        let display = source.map_or_else(|| "auth file".to_owned(), |p| p.display().to_string());
        let raw: RawAuthFile = serde_json::from_str(text).map_err(|e| Error::AuthFile {
            path: display.clone(),
            // serde_json's message carries only a position and a category, no input text.
            message: format!("not valid JSON at line {} column {}", e.line(), e.column()),
        })?;
        let mut keys = BTreeMap::new();
        for (key, entry) in raw.auths {
            let cred = entry_credential(&entry).map_err(|message| Error::AuthFile {
                path: display.clone(),
                message: format!("entry `{key}`: {message}"),
            })?;
            if let Some(cred) = cred {
                keys.entry(normalize_key(&key)).or_insert(cred);
            }
        }
        let mut keys: Vec<(String, Credential)> = keys.into_iter().collect();
        keys.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(AuthStore {
            keys,
            helpers: raw.cred_helpers,
            store: raw.creds_store.filter(|s| !s.is_empty()),
            source: source.map(Path::to_path_buf),
        })
    }

    /// The file the credentials came from.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Whether the store has nothing at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.helpers.is_empty() && self.store.is_none()
    }

    /// Credentials for an image on `registry` (as written, e.g. `docker.io`, `quay.io:443`),
    /// repository path `repository` (`library/mysql`): `credHelpers` for the host, then the
    /// `auths` keys matched as OpenShift matches pull secrets, then `credsStore`.
    pub fn lookup(&self, registry: &str, repository: &str) -> Result<Option<Credential>, Error> {
        if let Some(helper) = self.helper_for(registry) {
            return run_helper(
                &format!("docker-credential-{helper}"),
                &helper_server(registry),
            );
        }
        if let Some(c) = self.match_auths(registry, repository) {
            return Ok(Some(c));
        }
        if let Some(store) = &self.store {
            return run_helper(
                &format!("docker-credential-{store}"),
                &helper_server(registry),
            );
        }
        Ok(None)
    }

    /// Credentials stored for a bare host (a token realm), by the same rules.
    pub fn lookup_host(&self, host: &str) -> Result<Option<Credential>, Error> {
        self.lookup(host, "")
    }

    fn helper_for(&self, registry: &str) -> Option<&str> {
        if let Some(h) = self.helpers.get(registry) {
            return Some(h);
        }
        if crate::model::reference::is_docker_hub(registry) {
            for key in [
                "docker.io",
                "index.docker.io",
                "registry-1.docker.io",
                "https://index.docker.io/v1/",
            ] {
                if let Some(h) = self.helpers.get(key) {
                    return Some(h);
                }
            }
        }
        None
    }

    /// §8.3 matching against `auths`: the lookup string is `registry/repository`.
    fn match_auths(&self, registry: &str, repository: &str) -> Option<Credential> {
        let image = if repository.is_empty() {
            registry.to_owned()
        } else {
            format!("{registry}/{repository}")
        };
        for (key, cred) in &self.keys {
            if urls_match(key, &image) {
                return Some(cred.clone());
            }
        }
        // Docker Hub fallback: credentials stored under `index.docker.io`.
        if crate::model::reference::is_docker_hub(registry) {
            for (key, cred) in &self.keys {
                if key == "index.docker.io" || key == "docker.io" {
                    return Some(cred.clone());
                }
            }
        }
        None
    }
}

fn io_message(e: &std::io::Error) -> String {
    e.kind().to_string().to_lowercase()
}

fn entry_credential(entry: &RawAuthEntry) -> Result<Option<Credential>, String> {
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let trimmed = auth.trim_end_matches('=');
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(trimmed)
            .map_err(|_| {
                "unable to parse auth field, must be formatted as base64(username:password)"
                    .to_owned()
            })?;
        let text = String::from_utf8(decoded).map_err(|_| {
            "unable to parse auth field, must be formatted as base64(username:password)".to_owned()
        })?;
        let (user, pass) = text.split_once(':').ok_or_else(|| {
            "unable to parse auth field, must be formatted as base64(username:password)".to_owned()
        })?;
        return Ok(Some(Credential {
            username: user.to_owned(),
            password: Secret::new(pass),
        }));
    }
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential {
            username: entry
                .username
                .clone()
                .unwrap_or_else(|| "<token>".to_owned()),
            password: Secret::new(token),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credential {
            username: u.clone(),
            password: Secret::new(p.clone()),
        })),
        _ => Ok(None),
    }
}

/// Normalise an `auths` key: drop the scheme and a leading `/v1/` or `/v2/`, keep
/// `host[:port][/path]` (`https://index.docker.io/v1/` → `index.docker.io`).
pub fn normalize_key(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path
        .strip_prefix("v1/")
        .or_else(|| path.strip_prefix("v2/"))
        .unwrap_or(path);
    let path = if path == "v1" || path == "v2" {
        ""
    } else {
        path
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        host.to_lowercase()
    } else {
        format!("{}/{}", host.to_lowercase(), path)
    }
}

/// Kubernetes `URLsMatch`: same port (none equals none), same number of host labels, each label
/// a glob match, the key's path a string prefix of the image path.
pub fn urls_match(key: &str, image: &str) -> bool {
    let (key_hostport, key_path) = key.split_once('/').unwrap_or((key, ""));
    let (img_hostport, img_path) = image.split_once('/').unwrap_or((image, ""));
    let (key_host, key_port) = split_port(key_hostport);
    let (img_host, img_port) = split_port(img_hostport);
    if key_port != img_port {
        return false;
    }
    let key_labels: Vec<&str> = key_host.split('.').collect();
    let img_labels: Vec<&str> = img_host.split('.').collect();
    if key_labels.len() != img_labels.len() {
        return false;
    }
    for (k, i) in key_labels.iter().zip(&img_labels) {
        if !glob_label(&k.to_lowercase(), &i.to_lowercase()) {
            return false;
        }
    }
    img_path.starts_with(key_path)
}

fn split_port(hostport: &str) -> (&str, &str) {
    match hostport.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, p),
        _ => (hostport, ""),
    }
}

/// `filepath.Match` for one host label: `*` any run, `?` one character, `[...]` classes kept
/// simple (a label never contains `/`).
fn glob_label(pattern: &str, text: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher().is_match(text))
        .unwrap_or(false)
}

/// The server string a credential helper is asked about.
fn helper_server(registry: &str) -> String {
    if crate::model::reference::is_docker_hub(registry) {
        "https://index.docker.io/v1/".to_owned()
    } else {
        registry.to_owned()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

/// Ask a `docker-credential-*` program (`get`, the server on stdin, JSON on stdout). "Not
/// found" answers are no credential; other failures are errors without the program's output
/// (which could hold a secret).
pub fn run_helper(program: &str, server: &str) -> Result<Option<Credential>, Error> {
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::CredentialHelper {
            helper: program.to_owned(),
            message: format!("cannot run it: {}", io_message(&e)),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is answered by its exit status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::CredentialHelper {
            helper: program.to_owned(),
            message: io_message(&e),
        })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase()
            + &String::from_utf8_lossy(&out.stderr).to_lowercase();
        if text.contains("credentials not found") {
            return Ok(None);
        }
        return Err(Error::CredentialHelper {
            helper: program.to_owned(),
            message: format!("it failed ({})", out.status),
        });
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&out.stdout).map_err(|_| Error::CredentialHelper {
            helper: program.to_owned(),
            message: "its answer is not the expected JSON".to_owned(),
        })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential {
        username: answer.username,
        password: Secret::new(answer.secret),
    }))
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm=...`.
    Basic,
    /// `Bearer realm=...,service=...,scope=...`.
    Bearer {
        /// Where tokens are issued.
        realm: String,
        /// `service` parameter, if any.
        service: Option<String>,
        /// `scope` parameter, if any.
        scope: Option<String>,
    },
}

/// Parse a `WWW-Authenticate` header value (one challenge; quoted or bare parameter values,
/// commas inside quotes kept).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

fn parse_params(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    _ => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    out
}

/// Whether a credential may be sent to `url`: only over HTTPS, or over plain HTTP to a host the
/// configuration allows insecure transport for.
pub fn may_send_credentials(url: &reqwest::Url, insecure_allowed: &dyn Fn(&str) -> bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => insecure_allowed(&host_port(url)),
        _ => false,
    }
}

/// `host[:port]` of a URL, the port only when written.
pub fn host_port(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(json: &str) -> AuthStore {
        AuthStore::parse(json, None).unwrap()
    }

    fn user_of(s: &AuthStore, registry: &str, repo: &str) -> Option<String> {
        s.lookup(registry, repo).unwrap().map(|c| c.username)
    }

    #[test]
    fn secret_redacts() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let c = Credential {
            username: "u".into(),
            password: s,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", c.basic_header()).contains("dTpodW50ZXIy"));
    }

    #[test]
    fn keys_normalise() {
        assert_eq!(
            normalize_key("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(normalize_key("quay.io"), "quay.io");
        assert_eq!(normalize_key("http://reg:5000/v2/org/"), "reg:5000/org");
    }

    #[test]
    fn matching_follows_pull_secret_rules() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let json = format!(
            r#"{{"auths": {{
                "quay.io": {{"auth": "{}"}},
                "quay.io/coreos": {{"auth": "{}"}},
                "*.example.com": {{"auth": "{}"}},
                "reg:5000": {{"auth": "{}"}},
                "https://index.docker.io/v1/": {{"auth": "{}"}}
            }}}}"#,
            b64("plain:p"),
            b64("coreos:p"),
            b64("glob:p"),
            b64("port:p"),
            b64("hub:p")
        );
        let s = store(&json);
        assert_eq!(
            user_of(&s, "quay.io", "coreos/etcd").as_deref(),
            Some("coreos")
        );
        assert_eq!(user_of(&s, "quay.io", "other/x").as_deref(), Some("plain"));
        assert_eq!(user_of(&s, "a.example.com", "x/y").as_deref(), Some("glob"));
        assert_eq!(user_of(&s, "a.b.example.com", "x/y"), None);
        assert_eq!(user_of(&s, "example.com", "x/y"), None);
        assert_eq!(user_of(&s, "reg:5000", "x/y").as_deref(), Some("port"));
        assert_eq!(user_of(&s, "reg", "x/y"), None);
        assert_eq!(user_of(&s, "reg:5001", "x/y"), None);
        assert_eq!(
            user_of(&s, "docker.io", "library/mysql").as_deref(),
            Some("hub")
        );
    }

    #[test]
    fn unpadded_auth_and_bad_auth() {
        let s = store(r#"{"auths": {"r.io": {"auth": "dTpw"}}}"#);
        let c = s.lookup("r.io", "a/b").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.expose()), ("u", "p"));
        let err = AuthStore::parse(r#"{"auths": {"r.io": {"auth": "bm9jb2xvbg"}}}"#, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("base64(username:password)"), "{err}");
        assert!(!err.contains("bm9jb2xvbg"));
    }

    #[test]
    fn bad_json_message_has_no_content() {
        let err = AuthStore::parse(r#"{"auths": {"r.io": {"auth": "c2VjcmV0"#, None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }

    #[test]
    fn candidates_in_order() {
        let env = |k: &str| match k {
            "DOCKER_CONFIG" => Some("/d".to_owned()),
            "HOME" => Some("/h".to_owned()),
            _ => None,
        };
        let c = auth_file_candidates(None, &env);
        assert_eq!(
            c,
            vec![
                (PathBuf::from("/d/config.json"), false),
                (PathBuf::from("/h/.docker/config.json"), false)
            ]
        );
        let env2 = |k: &str| (k == "REGISTRY_AUTH_FILE").then(|| "/a.json".to_owned());
        assert_eq!(
            auth_file_candidates(None, &env2),
            vec![(PathBuf::from("/a.json"), true)]
        );
        assert_eq!(
            auth_file_candidates(Some(Path::new("/x.json")), &env2),
            vec![(PathBuf::from("/x.json"), true)]
        );
    }

    #[test]
    fn challenges_parse() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:a/b:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge("Bearer realm=https://a/t, scope=\"repository:x:pull,push\""),
            Some(Challenge::Bearer {
                realm: "https://a/t".into(),
                service: None,
                scope: Some("repository:x:pull,push".into()),
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn credentials_never_over_plain_http_unless_allowed() {
        let allowed = |h: &str| h == "127.0.0.1:5000";
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(may_send_credentials(
            &u("https://auth.example.com/t"),
            &allowed
        ));
        assert!(may_send_credentials(
            &u("http://127.0.0.1:5000/t"),
            &allowed
        ));
        assert!(!may_send_credentials(
            &u("http://auth.example.com/t"),
            &allowed
        ));
        assert!(!may_send_credentials(
            &u("ftp://auth.example.com/t"),
            &allowed
        ));
    }

    #[test]
    fn helper_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("docker-credential-fake");
        fs_err::write(
            &script,
            "#!/bin/sh\nread server\nif [ \"$server\" = \"r.io\" ]; then echo '{\"ServerURL\":\"r.io\",\"Username\":\"hu\",\"Secret\":\"hs\"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        let p = script.to_str().unwrap();
        let c = run_helper(p, "r.io").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.expose()), ("hu", "hs"));
        assert_eq!(run_helper(p, "other.io").unwrap(), None);
        let err = run_helper("/nonexistent/docker-credential-x", "r.io").unwrap_err();
        assert!(err.to_string().contains("cannot run it"));
    }
}
