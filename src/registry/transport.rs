//! HTTP to registries: the two reqwest clients (verified TLS with system roots plus
//! `ca_files`; unverified for hosts allowed insecure transport), the scheme choice for insecure
//! hosts, per-host bounded concurrency, the authentication dance (Basic, Bearer with a realm on
//! another host), retries, 429 and `RateLimit-Remaining` handling, and request counting. Every
//! failure leaves here as an [`ImportFailure`] whose message holds no credential. It does not
//! parse manifests or know about images.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};
use tokio::sync::Semaphore;

use super::auth::{self, AuthStore, Challenge, Credential, Secret};
use super::retry::{self, HostHealth, Refusal};
use super::{Error, FailureReason, ImportFailure, RequestCounts};
use crate::policy::RegistryConfig;

/// Where a request goes: one repository on one registry.
#[derive(Debug, Clone)]
pub struct Target {
    /// The registry as the user wrote it, defaulted (`docker.io`): used for credential lookup.
    pub registry: String,
    /// The host actually contacted (`registry-1.docker.io`).
    pub host: String,
    /// `[namespace/]name` on the wire (`library/mysql`).
    pub repository: String,
    /// Insecure transport (plain HTTP or unverified TLS), already checked against the config.
    pub insecure: bool,
    /// Pushes go here too (`mirror`): a bearer token is asked for `pull,push`.
    pub push: bool,
}

impl Target {
    fn scope(&self) -> String {
        if self.push {
            format!("repository:{}:pull,push", self.repository)
        } else {
            format!("repository:{}:pull", self.repository)
        }
    }
}

/// Timing knobs; tests shorten the backoff.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// First retry delay.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(8),
        }
    }
}

#[derive(Debug)]
struct HostState {
    health: HostHealth,
    permits: Semaphore,
    /// Held by the first request to a host until it has its answer, so that a run learns the
    /// auth challenge (or the rate limit) once instead of eight times in parallel.
    warmup: tokio::sync::Mutex<()>,
    /// For insecure hosts: `https` or `http`, once known.
    scheme: Mutex<Option<&'static str>>,
    challenge: Mutex<Option<Challenge>>,
    /// Bearer tokens by scope; one fetch per scope even when many requests need it at once.
    tokens: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Secret>>>>,
    /// Credentials by repository (path-prefix matching makes them per repository).
    creds: Mutex<HashMap<String, Option<Credential>>>,
    /// Repositories whose credentials were refused in this run, with the refusal: they are
    /// asked anonymously from then on (OpenShift retries such an import without credentials,
    /// semantics spec §3.2), and the refusal is what a failure reports, not the anonymous 401.
    refused: Mutex<HashMap<String, ImportFailure>>,
}

impl HostState {
    fn refusal_of(&self, repository: &str) -> Option<ImportFailure> {
        self.refused
            .lock()
            .ok()
            .and_then(|r| r.get(repository).cloned())
    }

    fn note_refused(&self, repository: &str, failure: &ImportFailure) {
        if let Ok(mut r) = self.refused.lock() {
            r.entry(repository.to_owned())
                .or_insert_with(|| failure.clone());
        }
    }

    /// An access failure for `repository`: the refusal of its credentials when they were
    /// refused earlier (the anonymous retry failed too), else `failure`.
    fn access_failure(&self, repository: &str, failure: ImportFailure) -> ImportFailure {
        if failure.reason == FailureReason::Unauthorized {
            self.refusal_of(repository).unwrap_or(failure)
        } else {
            failure
        }
    }
}

/// The HTTP layer shared by every request of a client.
#[derive(Debug)]
pub struct Transport {
    secure: reqwest::Client,
    insecure: reqwest::Client,
    config: RegistryConfig,
    auth: AuthStore,
    max_concurrency: usize,
    timing: Timing,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
    counts: Mutex<BTreeMap<String, RequestCounts>>,
    request_timeout: Duration,
}

/// Largest manifest, config, tag-list page or token answer accepted (real ones are a few
/// KiB); a body is read in chunks and given up as soon as it passes this, so a registry that
/// streams without end costs at most this much memory.
pub const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

/// A tag listing may take this many `request_timeout`s in all.
const LISTING_TIMEOUTS: u32 = 5;

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// A redirect refused because it would leave TLS for plain HTTP.
#[derive(Debug, thiserror::Error)]
#[error("refused a redirect from https://{from} to http://{to}: it would drop TLS")]
struct Downgrade {
    from: String,
    to: String,
}

impl Downgrade {
    fn hint(&self) -> String {
        format!(
            "list `{}` in [registry] insecure_allowed only if it really has no TLS",
            self.to
        )
    }
}

/// Follow a redirect unless it goes from HTTPS to plain HTTP on a host not allowed insecure
/// transport (the certificate checked on the first hop would protect nothing after it), or
/// the chain is too long.
fn redirect_decision(
    attempt: reqwest::redirect::Attempt<'_>,
    config: &RegistryConfig,
) -> reqwest::redirect::Action {
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
    }
    let next = attempt.url();
    let to = auth::host_port(next);
    let from_tls = attempt.previous().iter().any(|u| u.scheme() == "https");
    if next.scheme() == "http" && from_tls && !config.insecure_allowed(&to) {
        let from = attempt
            .previous()
            .last()
            .map(auth::host_port)
            .unwrap_or_default();
        return attempt.error(Downgrade { from, to });
    }
    attempt.follow()
}

/// The refused downgrade inside a reqwest error, if that is what it is: its text and hint.
fn downgrade_of(e: &reqwest::Error) -> Option<(String, String)> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(d) = err.downcast_ref::<Downgrade>() {
            return Some((d.to_string(), d.hint()));
        }
        cur = err.source();
    }
    None
}

impl Transport {
    /// Build the clients. `root` resolves relative `ca_files`.
    pub fn new(
        config: &RegistryConfig,
        root: &Path,
        auth: AuthStore,
        timing: Timing,
    ) -> Result<Transport, Error> {
        // reqwest is built without a default rustls provider; ring is the one compiled in.
        // Installing fails only when one is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let connect = parse_timeout("connect_timeout", &config.connect_timeout)?;
        let request = parse_timeout("request_timeout", &config.request_timeout)?;
        if config.max_concurrency == 0 {
            return Err(Error::Config {
                key: "max_concurrency".to_owned(),
                message: "must be at least 1".to_owned(),
            });
        }
        let mut certs = Vec::new();
        for file in &config.ca_files {
            let pem = read_ca_file(&root.join(file)).map_err(|message| Error::CaFile {
                path: file.clone(),
                message,
            })?;
            let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| Error::CaFile {
                path: file.clone(),
                message: "not a PEM certificate bundle".to_owned(),
            })?;
            if found.is_empty() {
                return Err(Error::CaFile {
                    path: file.clone(),
                    message: "holds no certificate".to_owned(),
                });
            }
            certs.extend(found);
        }
        let allowed = Arc::new(config.clone());
        let builder = || {
            let allowed = Arc::clone(&allowed);
            reqwest::Client::builder()
                .connect_timeout(connect)
                .timeout(request)
                .pool_max_idle_per_host(config.max_concurrency)
                .pool_idle_timeout(Duration::from_secs(90))
                .tcp_keepalive(Duration::from_secs(30))
                // reqwest drops Authorization on a redirect to another host, scheme or port.
                .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    redirect_decision(attempt, &allowed)
                }))
                .user_agent(concat!("streamsync/", env!("CARGO_PKG_VERSION")))
        };
        let mut secure = builder();
        for c in &certs {
            secure = secure.add_root_certificate(c.clone());
        }
        let secure = secure.build().map_err(|e| Error::Client {
            message: error_chain(&e),
        })?;
        let insecure = builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| Error::Client {
                message: error_chain(&e),
            })?;
        Ok(Transport {
            secure,
            insecure,
            config: config.clone(),
            auth,
            max_concurrency: config.max_concurrency,
            timing,
            hosts: Mutex::new(HashMap::new()),
            counts: Mutex::new(BTreeMap::new()),
            request_timeout: request,
        })
    }

    /// Longest a whole tag listing may take, all pages together: a registry answering each
    /// page just within `request_timeout` cannot hold a run for a hundred of them.
    pub fn listing_deadline(&self) -> Duration {
        self.request_timeout.saturating_mul(LISTING_TIMEOUTS)
    }

    /// Whether insecure transport may be used for `registry` (`host[:port]`).
    pub fn insecure_allowed(&self, registry: &str) -> bool {
        self.config.insecure_allowed(registry)
    }

    /// Requests so far, per host.
    pub fn counts(&self) -> BTreeMap<String, RequestCounts> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn host(&self, host: &str) -> Arc<HostState> {
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| {
                Arc::new(HostState {
                    health: HostHealth::default(),
                    permits: Semaphore::new(self.max_concurrency),
                    warmup: tokio::sync::Mutex::new(()),
                    scheme: Mutex::new(None),
                    challenge: Mutex::new(None),
                    tokens: Mutex::new(HashMap::new()),
                    creds: Mutex::new(HashMap::new()),
                    refused: Mutex::new(HashMap::new()),
                })
            })
            .clone()
    }

    fn count(&self, host: &str, method: &Method) {
        if let Ok(mut c) = self.counts.lock() {
            let e = c.entry(host.to_owned()).or_default();
            match *method {
                Method::HEAD => e.head += 1,
                Method::PUT => e.put += 1,
                Method::POST => e.post += 1,
                Method::PATCH => e.patch += 1,
                _ => e.get += 1,
            }
        }
    }

    /// Send `method` to `path_and_query` (`/v2/...`) on the target's host, with `accept` as
    /// its `Accept` header and no body, and return a 2xx answer; everything else becomes an
    /// [`ImportFailure`]. [`Transport::send_with`] with one header.
    pub async fn send(
        &self,
        target: &Target,
        method: Method,
        path_and_query: &str,
        accept: Option<&str>,
    ) -> Result<reqwest::Response, ImportFailure> {
        let headers: Vec<(&'static str, String)> = accept
            .map(|a| (ACCEPT.as_str(), a.to_owned()))
            .into_iter()
            .collect();
        self.send_with(target, method, path_and_query, &headers, None)
            .await
    }

    /// The record of the target's host. Plain HTTP and TLS to one host fail for different
    /// reasons (a self-signed certificate, no TLS at all): each transport keeps its own
    /// record, so a failure on one does not keep a tag that asked for the other from being
    /// asked.
    fn host_of(&self, target: &Target) -> Arc<HostState> {
        if target.insecure {
            self.host(&format!("{} insecure", target.host))
        } else {
            self.host(&target.host)
        }
    }

    /// The client for the target: the one that accepts any certificate for an insecure one.
    fn client(&self, target: &Target) -> &reqwest::Client {
        if target.insecure {
            &self.insecure
        } else {
            &self.secure
        }
    }

    /// The scheme and URL of the next request, unless the host was given up in this run.
    fn request_url(
        &self,
        target: &Target,
        host: &HostState,
        path_and_query: &str,
    ) -> Result<(&'static str, Url), ImportFailure> {
        let scheme = self.scheme(target, host);
        if let Some(r) = host.health.refusal() {
            let url = format!("{scheme}://{}{path_and_query}", target.host);
            return Err(refusal_failure(&target.host, &url, r));
        }
        let url =
            Url::parse(&format!("{scheme}://{}{path_and_query}", target.host)).map_err(|_| {
                ImportFailure::new(
                    FailureReason::InternalError,
                    format!("cannot form a URL for `{}`", target.host),
                )
            })?;
        Ok((scheme, url))
    }

    /// Send one request within the host's concurrency limit and count it. Returns the
    /// result and whether it was the TLS probe of an insecure host whose scheme is not yet
    /// known.
    async fn exchange(
        &self,
        x: &Exchange<'_>,
        tries: &Tries,
        rb: reqwest::RequestBuilder,
    ) -> Result<(reqwest::Result<reqwest::Response>, bool), ImportFailure> {
        let (target, host) = (x.target, x.host);
        let permit = host.permits.acquire().await.map_err(|_| {
            ImportFailure::new(FailureReason::InternalError, "the client is shutting down")
        })?;
        host.health.note_sent();
        tracing::debug!(host = %target.host, method = %x.method, path = %x.path_and_query, attempt = tries.attempt, "registry request");
        let result = rb.send().await;
        drop(permit);
        let probing = target.insecure
            && x.scheme == "https"
            && !tries.scheme_switched
            && !host_scheme_known(host);
        // Only requests that went out count: a failed TLS probe of an insecure host or a
        // refused connection is no HTTP exchange.
        let sent = match &result {
            Ok(_) => true,
            Err(e) => !probing && !e.is_connect(),
        };
        if sent {
            self.count(&target.host, x.method);
        }
        Ok((result, probing))
    }

    /// The wait before the next retry, counting it, or `None` when the retries are used up.
    fn next_backoff(&self, tries: &mut Tries) -> Option<Duration> {
        if tries.attempt >= retry::MAX_RETRIES {
            return None;
        }
        tries.attempt += 1;
        Some(retry::backoff(
            tries.attempt,
            self.timing.backoff_base,
            self.timing.backoff_cap,
        ))
    }

    /// A request that got no answer. `Ok` when it should go again (after the insecure probe
    /// fell back to plain HTTP, or after a back-off); else the failure, with its hint.
    async fn connection_failed(
        &self,
        target: &Target,
        host: &HostState,
        e: &reqwest::Error,
        probing: bool,
        tries: &mut Tries,
    ) -> Result<(), ImportFailure> {
        if let Some((text, hint)) = downgrade_of(e) {
            return Err(ImportFailure::new(
                FailureReason::InternalError,
                format!("{}: {text}", target.host),
            )
            .with_hint(hint));
        }
        if probing {
            // An insecure host that does not speak TLS: try plain HTTP once.
            set_scheme(host, "http");
            tries.scheme_switched = true;
            return Ok(());
        }
        let message = error_chain(e);
        if e.is_timeout() {
            // A host that accepts connections and never answers would cost a
            // whole timeout for every retry of every tag: one is enough.
            let why = format!(
                "{} did not answer within the timeout ([registry] connect_timeout / request_timeout)",
                target.host
            );
            host.health.note_stalled(&why);
            return Err(ImportFailure::new(
                FailureReason::Unreachable,
                format!("{why}; not asked again in this run"),
            ));
        }
        // An HTTPS handshake answered in plain HTTP fails the same way every time.
        let plain_http = message.contains("InvalidContentType");
        let tls = is_tls_failure(&message) || plain_http;
        if !tls && let Some(wait) = self.next_backoff(tries) {
            tracing::debug!(host = %target.host, attempt = tries.attempt, wait_ms = wait.as_millis() as u64, "retrying after a connection error");
            tokio::time::sleep(wait).await;
            return Ok(());
        }
        let text = format!("cannot reach {}: {message}", target.host);
        let hint = if plain_http {
            Some(format!(
                "{} answers plain HTTP, not HTTPS: set `importPolicy.insecure: true` on the tag \
                 (or the stream annotation `openshift.io/image.insecureRepository: \"true\"`) and list \
                 \"{}\" in [registry] insecure_allowed in streamsync.toml",
                target.host, target.host
            ))
        } else {
            tls.then(|| {
                "add the registry's CA to [registry] ca_files, or allow insecure transport for it"
                    .to_owned()
            })
        };
        if !host.health.answered() {
            host.health.note_unreachable(&text, hint.as_deref());
        }
        let failure = ImportFailure::new(FailureReason::Unreachable, text);
        Err(match hint {
            Some(h) => failure.with_hint(h),
            None => failure,
        })
    }

    /// The rate limits of an answer: `RateLimit-Remaining: 0` gives the host up after this
    /// answer; a 429 waits as asked and goes again (`Ok(true)`), unless the host kept
    /// answering 429 or asked for too long a wait (the failure).
    async fn rate_limited(
        &self,
        target: &Target,
        host: &HostState,
        resp: &reqwest::Response,
    ) -> Result<bool, ImportFailure> {
        if let Some(v) = resp
            .headers()
            .get("ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            && retry::remaining_is_zero(v)
        {
            host.health
                .exhaust("the registry reported RateLimit-Remaining: 0");
        }
        if resp.status() != StatusCode::TOO_MANY_REQUESTS {
            return Ok(false);
        }
        let in_a_row = host.health.note_429();
        let wait = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
        if in_a_row >= retry::MAX_CONSECUTIVE_429 {
            host.health
                .exhaust("the registry kept answering 429 Too Many Requests");
        } else if wait.is_some_and(|w| w > retry::MAX_RETRY_AFTER) {
            host.health
                .exhaust("the registry asked to wait longer than this run will");
        }
        if host.health.refusal().is_some() {
            return Err(refusal_failure(
                &target.host,
                "",
                Refusal::RateLimited(String::new()),
            ));
        }
        let wait = wait.unwrap_or_else(|| {
            retry::backoff(
                in_a_row as u32,
                self.timing.backoff_base,
                self.timing.backoff_cap,
            )
        });
        tracing::debug!(host = %target.host, wait_ms = wait.as_millis() as u64, "429: waiting as asked");
        tokio::time::sleep(wait).await;
        Ok(true)
    }

    /// A 401. `Ok(true)` when the request should go again: without the refused password
    /// (once), or with what the new challenge asks for (once); `Ok(false)` when the 401 is the
    /// answer; the failure when a Basic challenge has no credentials to answer with.
    fn unauthorized(
        &self,
        target: &Target,
        host: &HostState,
        resp: &reqwest::Response,
        authorization: Option<&Secret>,
        tries: &mut Tries,
    ) -> Result<bool, ImportFailure> {
        let status = resp.status();
        let sent_password = authorization.is_some_and(|a| a.expose().starts_with("Basic "));
        if authorization.is_none() {
            tries.anonymous_refused = true;
        }
        if sent_password {
            // The password was refused: this run asks for the repository without it from
            // now on, since the image may be public; once, unless that was refused already.
            host.note_refused(&target.repository, &status_failure(target, status, true));
            if !tries.anonymous_refused {
                tries.anonymous_refused = true;
                tracing::debug!(host = %target.host, repository = %target.repository, "credentials refused: retrying without them");
                return Ok(true);
            }
        }
        if tries.auth_retried || sent_password {
            return Ok(false);
        }
        tries.auth_retried = true;
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_challenge);
        let Some(ch) = challenge else {
            return Ok(false);
        };
        let had_token = authorization.is_some_and(|a| a.expose().starts_with("Bearer "));
        let basic_without_credentials =
            ch == Challenge::Basic && self.credential(target, host)?.is_none();
        if let Ok(mut c) = host.challenge.lock() {
            *c = Some(ch);
        }
        if basic_without_credentials {
            // Asking again without anything to send would only repeat the 401.
            return Err(
                host.access_failure(&target.repository, status_failure(target, status, false))
            );
        }
        if had_token && let Ok(mut t) = host.tokens.lock() {
            // The token may have expired: fetch a fresh one.
            t.remove(&target.scope());
        }
        Ok(true)
    }

    fn scheme(&self, target: &Target, host: &HostState) -> &'static str {
        if !target.insecure {
            return "https";
        }
        host.scheme.lock().ok().and_then(|s| *s).unwrap_or("https")
    }

    /// The `Authorization` value for a request, when the host's challenge is known and a
    /// credential or token applies; fetches a bearer token when needed.
    async fn authorization(
        &self,
        target: &Target,
        host: &HostState,
        url: &Url,
    ) -> Result<Option<Secret>, ImportFailure> {
        let challenge = host.challenge.lock().ok().and_then(|c| c.clone());
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => {
                let Some(cred) = self.credential(target, host)? else {
                    return Ok(None);
                };
                if !auth::may_send_credentials(url, &|h| self.insecure_allowed(h)) {
                    return Err(ImportFailure::new(
                        FailureReason::Unauthorized,
                        format!(
                            "refusing to send credentials for {} over plain HTTP",
                            target.host
                        ),
                    )
                    .with_hint("list the host in [registry] insecure_allowed"));
                }
                Ok(Some(cred.basic_header()))
            }
            Some(Challenge::Bearer {
                realm,
                service,
                scope: _,
            }) => {
                let scope = target.scope();
                let cell = match host.tokens.lock() {
                    Ok(mut t) => Arc::clone(t.entry(scope.clone()).or_default()),
                    Err(p) => Arc::clone(p.into_inner().entry(scope.clone()).or_default()),
                };
                let token = cell
                    .get_or_try_init(|| {
                        self.fetch_token(target, host, &realm, service.as_deref(), &scope)
                    })
                    .await?;
                Ok(Some(Secret::new(format!("Bearer {}", token.expose()))))
            }
        }
    }

    fn credential(
        &self,
        target: &Target,
        host: &HostState,
    ) -> Result<Option<Credential>, ImportFailure> {
        if host.refusal_of(&target.repository).is_some() {
            return Ok(None);
        }
        if let Some(c) = host
            .creds
            .lock()
            .ok()
            .and_then(|c| c.get(&target.repository).cloned())
        {
            return Ok(c);
        }
        let found = self
            .auth
            .lookup(&target.registry, &target.repository)
            .map_err(|e| ImportFailure::new(FailureReason::Unauthorized, e.to_string()))?;
        if let Ok(mut c) = host.creds.lock() {
            c.insert(target.repository.clone(), found.clone());
        }
        Ok(found)
    }

    /// Ask the token realm for a pull token. Credentials go only to the realm host, and only
    /// over HTTPS (or plain HTTP to a host allowed insecure transport): the realm's own entry
    /// in the auth file when there is one, otherwise the registry's.
    async fn fetch_token(
        &self,
        target: &Target,
        host: &HostState,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<Secret, ImportFailure> {
        let mut url = Url::parse(realm).map_err(|_| {
            ImportFailure::new(
                FailureReason::Unauthorized,
                format!("{} names an invalid token realm", target.host),
            )
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ImportFailure::new(
                FailureReason::Unauthorized,
                format!("{} names a token realm that is not HTTP(S)", target.host),
            ));
        }
        let realm_host = auth::host_port(&url);
        if url.scheme() == "http"
            && self.scheme(target, host) == "https"
            && !self.insecure_allowed(&realm_host)
        {
            // The registry was reached over TLS: a token fetched in the clear could be read
            // or forged on the way, and would then be sent back over TLS as if trusted.
            return Err(ImportFailure::new(
                FailureReason::Unauthorized,
                format!(
                    "{} names a token realm over plain HTTP (http://{realm_host}): refused, it would drop TLS",
                    target.host
                ),
            )
            .with_hint(format!(
                "list `{realm_host}` in [registry] insecure_allowed only if it really has no TLS"
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let cred = if host.refusal_of(&target.repository).is_some() {
            None
        } else {
            match self
                .auth
                .lookup_host(&realm_host)
                .map_err(|e| ImportFailure::new(FailureReason::Unauthorized, e.to_string()))?
            {
                Some(c) => Some(c),
                None => self.credential(target, host)?,
            }
        };
        let realm_insecure = url.scheme() == "http" && self.insecure_allowed(&realm_host);
        let send_cred =
            cred.filter(|_| auth::may_send_credentials(&url, &|h| self.insecure_allowed(h)));
        let client = if realm_insecure {
            &self.insecure
        } else {
            &self.secure
        };
        let authorization = match &send_cred {
            Some(c) => Some(sensitive(&c.basic_header())?),
            None => None,
        };
        match self
            .token_request(target, client, &url, &realm_host, authorization)
            .await
        {
            Err(refused)
                if send_cred.is_some() && refused.reason == FailureReason::Unauthorized =>
            {
                // The credentials were refused; an anonymous token may still pull a public
                // image. On failure the refusal is what the user needs to read.
                host.note_refused(&target.repository, &refused);
                tracing::debug!(realm = %realm_host, repository = %target.repository, "credentials refused: asking for an anonymous token");
                self.token_request(target, client, &url, &realm_host, None)
                    .await
                    .map_err(|anonymous| match anonymous.reason {
                        FailureReason::Unauthorized => refused,
                        _ => anonymous,
                    })
            }
            other => other,
        }
    }

    /// One token request to the realm, with `authorization` when given.
    async fn token_request(
        &self,
        target: &Target,
        client: &reqwest::Client,
        url: &Url,
        realm_host: &str,
        authorization: Option<HeaderValue>,
    ) -> Result<Secret, ImportFailure> {
        let mut rb = client.get(url.clone());
        let with_credentials = authorization.is_some();
        if let Some(a) = authorization {
            rb = rb.header(AUTHORIZATION, a);
        }
        let realm = self.host(realm_host);
        if let Some(r) = realm.health.refusal() {
            return Err(refusal_failure(realm_host, url.as_str(), r));
        }
        self.count(realm_host, &Method::GET);
        tracing::debug!(realm = %realm_host, with_credentials, "fetching a registry token");
        let resp = rb.send().await.map_err(|e| {
            if let Some((text, hint)) = downgrade_of(&e) {
                return ImportFailure::new(
                    FailureReason::Unauthorized,
                    format!("token service {realm_host}: {text}"),
                )
                .with_hint(hint);
            }
            let text = format!(
                "cannot reach token service {realm_host}: {}",
                error_chain(&e)
            );
            if e.is_timeout() {
                realm.health.note_stalled(&text);
            }
            ImportFailure::new(FailureReason::Unreachable, text)
        })?;
        let status = resp.status();
        if !status.is_success() {
            let reason = if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                FailureReason::Unauthorized
            } else if status == StatusCode::TOO_MANY_REQUESTS {
                FailureReason::RateLimited
            } else {
                FailureReason::InternalError
            };
            return Err(ImportFailure::new(
                reason,
                format!(
                    "token service {realm_host} refused access to {} ({status})",
                    target.repository
                ),
            ));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let body = read_limited(resp, &realm, realm_host, "the token answer").await?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            ImportFailure::new(
                FailureReason::InternalError,
                format!("token service {realm_host} sent an answer that is not a token"),
            )
        })?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                ImportFailure::new(
                    FailureReason::InternalError,
                    format!("token service {realm_host} sent no token"),
                )
            })
    }

    /// GET a document (manifest, config, tag list page) and read it whole.
    pub async fn get_bytes(
        &self,
        target: &Target,
        path: &str,
        accept: Option<&str>,
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>), ImportFailure> {
        let resp = self.send(target, Method::GET, path, accept).await?;
        let headers = resp.headers().clone();
        let host = self.host(&target.host);
        let body = read_limited(resp, &host, &target.host, path).await?;
        Ok((headers, body))
    }
}

impl Transport {
    /// Send a request with extra `headers` and an optional `body` (a manifest, one chunk of a
    /// blob) to `path_and_query` (`/v2/...`, or an upload location's path) and return the
    /// answer when its status is 2xx; everything else becomes an [`ImportFailure`]. The body
    /// is kept, so the request can be sent again after an auth challenge, a connection error,
    /// a 429 or a 5xx; one dropped connection of a push costs at most one chunk.
    ///
    /// One loop, one exchange a turn; what comes back decides the next turn, in this order:
    /// a connection error (retry, or the insecure probe falls back to plain HTTP), the rate
    /// limits (429, `RateLimit-Remaining`), success, an auth challenge (401), a server error
    /// (retry), and what is left is the failure ([`Transport::refusal`]). Every request, a
    /// pull's or a push's, keeps the host's record: a host that stalls, cannot be reached or
    /// runs out of its rate limit is given up for the rest of the run, with its hint.
    pub async fn send_with(
        &self,
        target: &Target,
        method: Method,
        path_and_query: &str,
        headers: &[(&'static str, String)],
        body: Option<bytes::Bytes>,
    ) -> Result<reqwest::Response, ImportFailure> {
        let host = self.host_of(target);
        // The first request to a host goes alone (see `HostState::warmup`).
        let _warm = if host.health.answered() {
            None
        } else {
            Some(host.warmup.lock().await)
        };
        let mut tries = Tries::default();
        loop {
            let (scheme, url) = self.request_url(target, &host, path_and_query)?;
            let authorization = self
                .authorization(target, &host, &url)
                .await
                .map_err(|f| host.access_failure(&target.repository, f))?;
            let mut rb = self.client(target).request(method.clone(), url);
            for (name, value) in headers {
                rb = rb.header(*name, value.as_str());
            }
            if let Some(a) = &authorization {
                rb = rb.header(AUTHORIZATION, sensitive(a)?);
            }
            match &body {
                // A clone of `Bytes` shares the buffer: a retry costs no copy.
                Some(b) => rb = rb.body(b.clone()),
                None if method == Method::PUT || method == Method::POST => {
                    rb = rb.header(reqwest::header::CONTENT_LENGTH, "0");
                }
                None => {}
            }
            let exchange = Exchange {
                target,
                host: &host,
                method: &method,
                path_and_query,
                scheme,
            };
            let (result, probing) = self.exchange(&exchange, &tries, rb).await?;
            let resp = match result {
                Err(e) => {
                    self.connection_failed(target, &host, &e, probing, &mut tries)
                        .await?;
                    continue;
                }
                Ok(r) => r,
            };
            if target.insecure && !host_scheme_known(&host) {
                set_scheme(&host, scheme);
            }
            let status = resp.status();
            tracing::debug!(host = %target.host, status = status.as_u16(), "registry answer");
            if self.rate_limited(target, &host, &resp).await? {
                continue;
            }
            host.health.note_answer();
            if status.is_success() {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED
                && self.unauthorized(target, &host, &resp, authorization.as_ref(), &mut tries)?
            {
                continue;
            }
            if status.is_server_error()
                && let Some(wait) = self.next_backoff(&mut tries)
            {
                tracing::debug!(host = %target.host, status = status.as_u16(), attempt = tries.attempt, "retrying after a server error");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(refusal(target, &host, &method, resp, authorization.is_some()).await);
        }
    }
}

/// The failure of a request the registry refused for good. A write's (a push) carries the
/// registry's own words, which say which blob or manifest it refused, and why; a read's is
/// its status, or the earlier refusal of the repository's credentials (see
/// [`HostState::access_failure`]).
async fn refusal(
    target: &Target,
    host: &HostState,
    method: &Method,
    resp: reqwest::Response,
    authorized: bool,
) -> ImportFailure {
    if *method == Method::GET || *method == Method::HEAD {
        host.access_failure(
            &target.repository,
            status_failure(target, resp.status(), authorized),
        )
    } else {
        push_failure(target, resp, authorized).await
    }
}

/// A refused push: the status, with the registry's own words, which say which blob or
/// manifest it refused, and why.
async fn push_failure(target: &Target, resp: reqwest::Response, authorized: bool) -> ImportFailure {
    let status = resp.status();
    let mut failure = status_failure(target, status, authorized);
    if let Ok(text) = resp.text().await {
        let text = crate::util::escape_line(text.trim());
        if !text.is_empty() && status != StatusCode::NOT_FOUND {
            let cut: String = text.chars().take(300).collect();
            failure.message.push_str(&format!(": {cut}"));
        }
    }
    failure
}

/// Where one request's loop stands: its retries so far and what it already tried.
#[derive(Default)]
struct Tries {
    /// Retries so far (after a connection error or a 5xx).
    attempt: u32,
    /// Whether a 401's challenge was answered once already.
    auth_retried: bool,
    /// Set once an anonymous request was refused, or retried after refused credentials.
    anonymous_refused: bool,
    /// Whether an insecure host's TLS probe fell back to plain HTTP.
    scheme_switched: bool,
}

/// One request about to go out, as [`Transport::exchange`] logs and counts it.
struct Exchange<'a> {
    target: &'a Target,
    host: &'a HostState,
    method: &'a Method,
    path_and_query: &'a str,
    scheme: &'static str,
}

/// Read a body in chunks, refusing it as soon as it passes [`MAX_DOCUMENT`] (a declared
/// `Content-Length` beyond it is refused before reading). A body that stalls gives the host
/// up like a request that does.
async fn read_limited(
    mut resp: reqwest::Response,
    host: &HostState,
    host_name: &str,
    what: &str,
) -> Result<Vec<u8>, ImportFailure> {
    let too_large = || {
        ImportFailure::new(
            FailureReason::InternalError,
            format!(
                "{host_name}: {what} is larger than {} MiB; refused",
                MAX_DOCUMENT / (1024 * 1024)
            ),
        )
    };
    if resp
        .content_length()
        .is_some_and(|l| l > MAX_DOCUMENT as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_DOCUMENT {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                let text = format!("reading {what} from {host_name}: {}", error_chain(&e));
                if e.is_timeout() {
                    host.health.note_stalled(&format!(
                        "{host_name} stopped answering within the timeout ([registry] request_timeout)"
                    ));
                }
                return Err(ImportFailure::new(FailureReason::Unreachable, text));
            }
        }
    }
}

fn host_scheme_known(host: &HostState) -> bool {
    host.scheme.lock().ok().is_some_and(|s| s.is_some())
}

fn set_scheme(host: &HostState, scheme: &'static str) {
    if let Ok(mut s) = host.scheme.lock() {
        *s = Some(scheme);
    }
}

/// A header value marked sensitive, so that HTTP/2 never indexes it and `Debug` hides it.
fn sensitive(value: &Secret) -> Result<HeaderValue, ImportFailure> {
    let mut v = HeaderValue::from_str(value.expose()).map_err(|_| {
        ImportFailure::new(
            FailureReason::Unauthorized,
            "the credential holds characters not allowed in an HTTP header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The failure of a request that was not sent because the host was given up earlier in the
/// run: it names the request's own URL (`url`, empty when the request was sent and refused),
/// never the failure of another tag.
fn refusal_failure(host: &str, url: &str, r: Refusal) -> ImportFailure {
    match r {
        Refusal::RateLimited(why) => {
            let why = if why.is_empty() {
                "the registry is rate limiting".to_owned()
            } else {
                why
            };
            let message = if url.is_empty() {
                format!("{host}: {why}; not asked again in this run")
            } else {
                format!("not asked (rate limited earlier in this run: {why}): {url}")
            };
            ImportFailure::new(FailureReason::RateLimited, message)
        }
        Refusal::Unreachable(_, hint) => {
            // The first failure's own URL stays with it; its hint (a CA to add) helps here too.
            let failure = ImportFailure::new(
                FailureReason::Unreachable,
                format!("not asked ({host} was unreachable earlier in this run): {url}"),
            );
            match hint {
                Some(h) => failure.with_hint(h),
                None => failure,
            }
        }
    }
}

fn status_failure(target: &Target, status: StatusCode, sent_auth: bool) -> ImportFailure {
    let what = format!("{}/{}", target.host, target.repository);
    match status {
        StatusCode::NOT_FOUND => ImportFailure::new(
            FailureReason::NotFound,
            format!("{what}: not found ({status})"),
        ),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let detail = if sent_auth {
                "credentials were refused"
            } else {
                "no credentials found for it"
            };
            ImportFailure::new(
                FailureReason::Unauthorized,
                format!("you may not have access to {what}: {detail} ({status})"),
            )
        }
        _ => ImportFailure::new(
            FailureReason::InternalError,
            format!("{what}: the registry answered {status}"),
        ),
    }
}

fn parse_timeout(key: &str, value: &str) -> Result<Duration, Error> {
    match crate::util::parse_duration(value) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(Error::Config {
            key: key.to_owned(),
            message: format!("`{value}` is not a duration like `10s` or `1m`"),
        }),
    }
}

/// An error and its causes, joined with `: ` (reqwest's own Display stops at the first level).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn is_tls_failure(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("certificate") || m.contains("invalidcertificate") || m.contains("unknownissuer")
}

/// The most a `ca_files` entry may hold.
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// Read a `ca_files` entry: only a regular file (a device such as `/dev/zero`, a FIFO or a
/// folder is refused before anything is read), and at most [`MAX_CA_FILE_BYTES`].
fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let lower = |e: std::io::Error| e.kind().to_string().to_lowercase();
    let meta = std::fs::metadata(path).map_err(lower)?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // A file swapped for a FIFO after the check must not block the open.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(lower)?;
    if !file.metadata().map_err(lower)?.is_file() {
        return Err("not a regular file".to_owned());
    }
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(lower)?;
    if bytes.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(format!(
            "larger than {} KiB, the most a CA file may have",
            MAX_CA_FILE_BYTES / 1024
        ));
    }
    Ok(bytes)
}
