//! Hostile registries, through the binary: bodies that never end, tag lists that link to a
//! next page for ever, hosts that accept connections and never answer, tag names that are
//! escape sequences, and HTTPS registries that send the client to plain HTTP. The misbehaving
//! server is a small one written here (plain or TLS, one request per connection); what a
//! real registry can serve comes from the real `docker-registry` behind the proxy.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{OCI_MANIFEST, Registry, Variant};
use crate::proxy::{Fault, Proxy, TokenServer};

use crate::support::{LOCAL_REGISTRY_CONFIG as INSECURE_LOCAL, Stream, Tag, TestRepo};

/// What a hostile server does with one request (`method`, `target`), writing its answer.
type Handler = dyn Fn(&str, &str, &mut dyn Write) + Send + Sync;

/// A misbehaving server on a port of its own (bound to port 0, so no other process can hold
/// it); records every request line it read.
struct Hostile {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    /// Plain HTTP.
    fn plain(handler: impl Fn(&str, &str, &mut dyn Write) + Send + Sync + 'static) -> Hostile {
        Self::start(None, Arc::new(handler))
    }

    /// HTTPS with a certificate signed by the CA returned (PEM).
    fn tls(
        handler: impl Fn(&str, &str, &mut dyn Write) + Send + Sync + 'static,
    ) -> (Hostile, String) {
        let (ca, config) = tls_config();
        (Self::start(Some(config), Arc::new(handler)), ca)
    }

    /// Accepts connections and never answers (nor reads).
    fn stalled() -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                s.lock().unwrap().push("connection".to_owned());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(120));
                    drop(conn);
                });
            }
        });
        Hostile { port, seen }
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (handler, seen, tls) = (Arc::clone(&handler), Arc::clone(&s), tls.clone());
                std::thread::spawn(move || match tls {
                    Some(config) => {
                        let Ok(server) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(server, conn), &*handler, &seen);
                    }
                    None => serve(conn, &*handler, &seen),
                });
            }
        });
        Hostile { port, seen }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve<S: Read + Write>(mut stream: S, handler: &Handler, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
        // A TLS handshake sent to the plain server (the client probing for HTTPS) is no
        // request: close, as a plain HTTP server would.
        if head.len() == 1 && !head[0].is_ascii_uppercase() {
            return;
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    seen.lock().unwrap().push(format!("{method} {target}"));
    handler(method, target, &mut stream);
    let _ = stream.flush();
}

fn tls_config() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "streamsync hostile CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("leaf params")
        .signed_by(&key, &issuer)
        .expect("leaf cert");
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], der)
        .expect("server config");
    (ca.pem(), Arc::new(config))
}

fn answer(out: &mut dyn Write, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut s = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    let _ = out.write_all(s.as_bytes());
    let _ = out.write_all(body);
}

/// A chunked body of up to 2 GiB, with no `Content-Length`, written until the client hangs up.
fn endless_chunked(out: &mut dyn Write, content_type: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    let chunk = vec![b' '; 1024 * 1024];
    let frame = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk,
        b"\r\n".to_vec(),
    ]
    .concat();
    for _ in 0..2048 {
        if out.write_all(&frame).is_err() {
            return;
        }
    }
    let _ = out.write_all(b"0\r\n\r\n");
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} in {:?}, peak RSS {} KiB\n--- stdout\n{}--- stderr\n{}",
            self.code, self.elapsed, self.max_rss_kib, self.stdout, self.stderr
        )
    }
}

/// A repository folder with a config and one definition.
struct Repo {
    repo: TestRepo,
}

impl Repo {
    fn new(config: &str, definition: &Stream) -> Repo {
        Repo {
            repo: TestRepo::with_app(config, definition),
        }
    }

    fn path(&self) -> &Path {
        self.repo.path()
    }

    /// Run the binary and measure its peak RSS (`VmHWM`, polled every few milliseconds).
    /// `wait4`'s `ru_maxrss` cannot be used here: a child spawned with `vfork` carries the
    /// test process's own high-water mark, which the other tests' servers raise.
    fn run(&self, args: &[&str]) -> Out {
        let start = Instant::now();
        let mut cmd = crate::support::bin();
        let mut child = cmd
            .arg("-C")
            .arg(self.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn streamsync");
        let read = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = pipe.read_to_end(&mut v);
                String::from_utf8_lossy(&v).into_owned()
            })
        };
        let stdout = read(Box::new(child.stdout.take().expect("stdout")));
        let stderr = read(Box::new(child.stderr.take().expect("stderr")));
        let status_file = format!("/proc/{}/status", child.id());
        let mut max_rss_kib = 0;
        let status = loop {
            if let Some(kib) = std::fs::read_to_string(&status_file)
                .ok()
                .as_deref()
                .and_then(high_water_kib)
            {
                max_rss_kib = max_rss_kib.max(kib);
            }
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let out = Out {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            elapsed: start.elapsed(),
            max_rss_kib,
        };
        eprintln!(
            "streamsync {}: exit {} in {:?}, peak RSS {} KiB",
            args.join(" "),
            out.code,
            out.elapsed,
            out.max_rss_kib
        );
        assert!(!out.stderr.contains("panicked"), "{out}");
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert_eq!(out.code, 0, "{out}");
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Every byte of every state file, concatenated.
    fn state_bytes(&self) -> Vec<u8> {
        fn walk(dir: &Path, out: &mut Vec<u8>) {
            for e in std::fs::read_dir(dir).expect("read state").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.extend(std::fs::read(&p).expect("read"));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path().join("state"), &mut out);
        out
    }
}

/// `status.tags[]` entry `tag` of stream `name`, as `get stream -o json` shows it.
fn status_tag(repo: &Repo, name: &str, tag: &str) -> Value {
    let v = repo.json(&["get", "stream", name, "-o", "json"]);
    v["status"]["tags"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["tag"] == tag))
        .cloned()
        .unwrap_or_else(|| panic!("no status tag {tag}: {v}"))
}

/// `VmHWM` of a `/proc/<pid>/status` text, in KiB.
fn high_water_kib(status: &str) -> Option<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A stream `app` whose tags import `<host>/<repo>:<tag>` for each of `tags`.
fn stream(tags: &[(&str, String)], insecure: bool) -> Stream {
    tags.iter()
        .map(|(name, from)| match Tag::image(name, from) {
            tag if insecure => tag.insecure(),
            tag => tag,
        })
        .fold(crate::support::stream("app"), Stream::tag)
}

/// A stream `many` importing every tag of `repository`.
fn repository_stream(repository: &str) -> Stream {
    crate::support::stream("many")
        .annotation("openshift.io/image.insecureRepository", "\"true\"")
        .repository(repository)
}

const MAX_RSS_KIB: i64 = 200 * 1024;

#[test]
fn endless_bodies_fail_with_a_size_error_in_bounded_memory() {
    // A manifest streamed for ever, with no Content-Length and no digest header.
    let manifests = Hostile::plain(|method, target, out| {
        if !target.contains("/manifests/") {
            return answer(out, "404 Not Found", &[], b"");
        }
        if method == "HEAD" {
            let ct = ("Content-Type", OCI_MANIFEST.to_owned());
            return answer(out, "200 OK", &[ct], b"");
        }
        endless_chunked(out, OCI_MANIFEST);
    });
    // A registry whose token realm answers for ever.
    let tokens = Hostile::plain(|_, target, out| {
        if target.starts_with("/token") {
            return endless_chunked(out, "application/json");
        }
        answer(out, "404 Not Found", &[], b"");
    });
    let realm = format!("http://{}/token", tokens.host());
    let guarded = Hostile::plain(move |_, _, out| {
        let challenge = format!(r#"Bearer realm="{realm}",service="hostile""#);
        answer(
            out,
            "401 Unauthorized",
            &[("WWW-Authenticate", challenge)],
            b"",
        );
    });
    let repo = Repo::new(
        INSECURE_LOCAL,
        &stream(
            &[
                ("big", format!("{}/demo/big:1.0", manifests.host())),
                ("tok", format!("{}/demo/tok:1.0", guarded.host())),
            ],
            true,
        ),
    );
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "import demo/app:big: failed: InternalError: {}: /v2/demo/big/manifests/1.0 is larger than 16 MiB; refused",
            manifests.host()
        )),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "{}: the token answer is larger than 16 MiB",
            tokens.host()
        )),
        "{out}"
    );
    assert!(out.max_rss_kib < MAX_RSS_KIB, "{out}");
    assert!(out.elapsed < Duration::from_secs(30), "{out}");
}

#[test]
fn an_endless_tag_list_is_cut_and_the_run_ends_within_seconds() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    p.image("demo/many", "latest", "amd64", "l");
    p.image("demo/many", "1.0", "amd64", "a");
    let proxy = Proxy::start(reg.port);
    proxy.set_default(Fault::TagList(
        vec!["1.0".to_owned(), "latest".to_owned()],
        true,
    ));
    let repo = Repo::new(
        INSECURE_LOCAL,
        &repository_stream(&format!("{}/demo/many", proxy.host())),
    );
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "warning: the tag list of `{}/demo/many` was cut (stopped after 100 pages): only the 2 tags read were considered",
            proxy.host()
        )),
        "{out}"
    );
    assert!(
        out.stderr.contains("imported 2 tags (2 new images)"),
        "{out}"
    );
    assert!(out.elapsed < Duration::from_secs(30), "{out}");
    // 100 tag-list pages, then the imports; not one page more.
    let tag_pages = 100;
    assert!(
        proxy.requests() >= tag_pages && proxy.requests() <= tag_pages + 8,
        "{} requests\n{out}",
        proxy.requests()
    );
    // The lock was released: the next run takes it at once and ends the same way. (A sync
    // would not list the repository again: it was imported, as OpenShift's
    // dockerRepositoryCheck records; `import --all` lists it on request.)
    let again = repo.run(&["import", "many", "--all", "--lock-timeout", "1s"]);
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stderr.contains("was cut"), "{again}");
    assert!(again.elapsed < Duration::from_secs(30), "{again}");
}

#[test]
fn tag_names_that_are_not_tag_names_never_reach_the_state() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    p.image("demo/many", "1.0", "amd64", "a");
    p.image("demo/many", "ok_2", "amd64", "b");
    let proxy = Proxy::start(reg.port);
    let hostile = [
        "1.0",
        "\u{1b}]0;owned\u{7}\u{1b}[2J",
        "x\r\nSigned-off-by: Mallory <m@example.com>",
        "../../../etc/passwd",
        "ok_2",
        "tab\there",
        &"a".repeat(129),
    ];
    proxy.set_default(Fault::TagList(
        hostile.iter().map(|s| (*s).to_owned()).collect(),
        false,
    ));
    let repo = Repo::new(
        INSECURE_LOCAL,
        &repository_stream(&format!("{}/demo/many", proxy.host())),
    );
    let out = repo.run(&["sync", "--once"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "warning: the tag list of `{}/demo/many` holds 5 names that are not valid tag names; skipped",
            proxy.host()
        )),
        "{out}"
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains("Signed-off-by") && !text.contains('\t'),
            "{out}"
        );
    }
    let state = repo.state_bytes();
    let state = String::from_utf8_lossy(&state);
    for bad in [
        "\u{1b}",
        "\u{7}",
        "Signed-off-by",
        "passwd",
        "tab",
        "aaaaaaaaaa",
    ] {
        assert!(!state.contains(bad), "`{bad:?}` in state:\n{state}");
    }
    let v = repo.json(&["get", "stream", "many", "-o", "json"]);
    let tags: Vec<&str> = v["status"]["tags"]
        .as_array()
        .expect("status tags")
        .iter()
        .filter_map(|t| t["tag"].as_str())
        .collect();
    assert_eq!(tags, ["1.0", "ok_2"]);
}

#[test]
fn three_stalled_tags_cost_one_timeout_and_exit_3() {
    let stalled = Hostile::stalled();
    let config = format!("{INSECURE_LOCAL}request_timeout = \"5s\"\n");
    let tags: Vec<(&str, String)> = ["1.0", "2.0", "3.0"]
        .iter()
        .map(|t| (*t, format!("{}/demo/app:{t}", stalled.host())))
        .collect();
    let repo = Repo::new(&config, &stream(&tags, true));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 3, "{out}");
    for t in ["1.0", "2.0", "3.0"] {
        assert!(
            out.stdout
                .contains(&format!("import demo/app:{t}: failed: Unreachable")),
            "{out}"
        );
    }
    assert!(
        out.stdout.contains("did not answer within the timeout"),
        "{out}"
    );
    // One timeout for the HTTPS probe of an insecure host, one for plain HTTP; then the host
    // is given up: no retry, no other tag asks it.
    assert!(out.elapsed < Duration::from_secs(20), "{out}");
    assert!(stalled.seen().len() <= 2, "{:?}\n{out}", stalled.seen());
    let t = status_tag(&repo, "app", "3.0");
    assert_eq!(t["conditions"][0]["reason"], "Unreachable", "{t}");
}

/// A TLS front whose every answer is a redirect to `location` + the request target.
fn redirecting(location: String) -> (Hostile, String) {
    Hostile::tls(move |_, target, out| {
        answer(
            out,
            "307 Temporary Redirect",
            &[("Location", format!("{location}{target}"))],
            b"",
        );
    })
}

#[test]
fn an_https_registry_cannot_redirect_to_plain_http() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("demo/app", "1.0", "amd64", "r");
    // The proxy counts what reaches the plain registry.
    let proxy = Proxy::start(reg.port);
    let (front, ca) = redirecting(format!("http://{}", proxy.host()));
    let definition = stream(&[("1.0", format!("{}/demo/app:1.0", front.host()))], false);
    let trusting = "[registry]\nca_files = [\"ca.pem\"]\n";
    let repo = Repo::new(trusting, &definition);
    std::fs::write(repo.path().join("ca.pem"), &ca).expect("ca");
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "refused a redirect from https://{} to http://{}: it would drop TLS",
            front.host(),
            proxy.host()
        )),
        "{out}"
    );
    assert_eq!(proxy.requests(), 0, "{out}");
    assert!(!front.seen().is_empty());

    // Allowed insecure transport for the target, the redirect is followed.
    let allowing = format!(
        "[registry]\nca_files = [\"ca.pem\"]\ninsecure_allowed = [\"{}\"]\n",
        proxy.host()
    );
    let repo = Repo::new(&allowing, &definition);
    std::fs::write(repo.path().join("ca.pem"), &ca).expect("ca");
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 0, "{out}");
    let t = status_tag(&repo, "app", "1.0");
    assert_eq!(t["items"][0]["image"], pushed.digest, "{t}");
}

#[test]
fn an_https_registry_cannot_send_the_token_request_to_plain_http() {
    let tokens = TokenServer::start_public("u", "p", "tok-not-for-plain-http");
    let realm = tokens.realm();
    let (front, ca) = Hostile::tls(move |_, _, out| {
        let challenge = format!(r#"Bearer realm="{realm}",service="hostile""#);
        answer(
            out,
            "401 Unauthorized",
            &[("WWW-Authenticate", challenge)],
            b"",
        );
    });
    let definition = stream(&[("1.0", format!("{}/demo/app:1.0", front.host()))], false);
    let repo = Repo::new("[registry]\nca_files = [\"ca.pem\"]\n", &definition);
    std::fs::write(repo.path().join("ca.pem"), &ca).expect("ca");
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "names a token realm over plain HTTP (http://127.0.0.1:{}): refused, it would drop TLS",
            tokens.port
        )),
        "{out}"
    );
    assert_eq!(
        tokens.seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{out}"
    );

    // An HTTPS realm that redirects the token request to plain HTTP is refused the same way.
    let plain_realm = tokens.realm();
    let own_host = Arc::new(std::sync::OnceLock::<String>::new());
    let own = Arc::clone(&own_host);
    let (front, ca) = Hostile::tls(move |_, target, out| {
        if target.starts_with("/token") {
            let location = ("Location", plain_realm.clone());
            return answer(out, "307 Temporary Redirect", &[location], b"");
        }
        let realm = format!("https://{}/token", own.get().expect("host set"));
        let challenge = format!(r#"Bearer realm="{realm}",service="hostile""#);
        answer(
            out,
            "401 Unauthorized",
            &[("WWW-Authenticate", challenge)],
            b"",
        );
    });
    own_host.set(front.host()).expect("set once");
    let definition = stream(&[("1.0", format!("{}/demo/app:1.0", front.host()))], false);
    let repo = Repo::new("[registry]\nca_files = [\"ca.pem\"]\n", &definition);
    std::fs::write(repo.path().join("ca.pem"), &ca).expect("ca");
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "token service {}: refused a redirect from https://{} to http://127.0.0.1:{}",
            front.host(),
            front.host(),
            tokens.port
        )),
        "{out}"
    );
    assert!(front.seen().iter().any(|r| r.starts_with("GET /token")));
    assert_eq!(
        tokens.seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{out}"
    );
}

#[test]
fn a_registry_that_answered_and_then_stalls_is_given_up_for_the_run() {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    for (tag, label) in [("1.0", "a"), ("2.0", "b"), ("3.0", "c")] {
        p.image("demo/app", tag, "amd64", label);
    }
    let proxy = Proxy::start(reg.port);
    // One tag's HEAD, manifest and config pass; then the registry stops answering.
    proxy.push([Fault::Pass, Fault::Pass, Fault::Pass]);
    proxy.set_default(Fault::Slow(Duration::from_secs(60)));
    // One resolution at a time, so the order of events is the one described above.
    let config = format!("{INSECURE_LOCAL}max_concurrency = 1\nrequest_timeout = \"2s\"\n");
    let tags: Vec<(&str, String)> = ["1.0", "2.0", "3.0"]
        .iter()
        .map(|t| (*t, format!("{}/demo/app:{t}", proxy.host())))
        .collect();
    let repo = Repo::new(&config, &stream(&tags, true));
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 3, "{out}");
    let imports: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("import demo/app:"))
        .collect();
    assert_eq!(imports.len(), 3, "{out}");
    assert_eq!(
        imports.iter().filter(|l| l.contains(": done")).count(),
        1,
        "{out}"
    );
    assert_eq!(
        imports
            .iter()
            .filter(|l| l.contains(": failed: Unreachable"))
            .count(),
        2,
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "not asked ({} was unreachable earlier in this run)",
            proxy.host()
        )),
        "{out}"
    );
    // Three answers, one stalled request, nothing after it.
    assert_eq!(proxy.requests(), 4, "{out}");
    assert!(out.elapsed < Duration::from_secs(8), "{out}");
}

#[test]
fn an_index_listing_thousands_of_platforms_is_refused_before_any_is_fetched() {
    use sha2::Digest as _;
    let entries: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{:064x}","size":100,"platform":{{"architecture":"arch{i}","os":"linux"}}}}"#,
                i + 1
            )
        })
        .collect();
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}}"#,
        crate::harness::OCI_INDEX,
        entries.join(",")
    );
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&index)));
    let served = digest.clone();
    let registry = Hostile::plain(move |method, target, out| {
        if !target.contains("/manifests/") {
            return answer(out, "404 Not Found", &[], b"");
        }
        let headers = [
            ("Content-Type", crate::harness::OCI_INDEX.to_owned()),
            ("Docker-Content-Digest", served.clone()),
        ];
        let body = if method == "HEAD" {
            &b""[..]
        } else {
            index.as_bytes()
        };
        if target.ends_with("/manifests/1.0") || target.ends_with(&served) {
            answer(out, "200 OK", &headers, body);
        } else {
            answer(out, "404 Not Found", &[], b"");
        }
    });
    let definition = crate::support::stream("app").tag(
        Tag::image("multi", &format!("{}/demo/multi:1.0", registry.host()))
            .insecure()
            .import_mode("PreserveOriginal"),
    );
    let repo = Repo::new(INSECURE_LOCAL, &definition);
    let out = repo.run(&["apply"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "{}/demo/multi:1.0: the image index lists 1000 platforms, more than the 64 an import keeps; refused",
            registry.host()
        )),
        "{out}"
    );
    // Nothing but the index itself was asked for.
    let seen = registry.seen();
    assert!(
        seen.iter().all(|r| r.ends_with("/manifests/1.0")
            || r.ends_with(&digest)
            || !r.contains("/manifests/")),
        "{seen:?}"
    );
}

#[test]
fn a_slow_tag_list_is_cut_at_the_listing_deadline() {
    // Every page answers well within request_timeout, and links to one more.
    let registry = Hostile::plain(|_, target, out| {
        if !target.contains("/tags/list") {
            return answer(out, "404 Not Found", &[], b"");
        }
        std::thread::sleep(Duration::from_millis(400));
        let n: u64 = target
            .split("last=")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let link = format!("</v2/demo/many/tags/list?last={}>; rel=\"next\"", n + 1);
        let body = format!(r#"{{"name":"demo/many","tags":["t{n}"]}}"#);
        answer(out, "200 OK", &[("Link", link)], body.as_bytes());
    });
    let config = format!("{INSECURE_LOCAL}request_timeout = \"1s\"\n");
    let repo = Repo::new(
        &config,
        &repository_stream(&format!("{}/demo/many", registry.host())),
    );
    let out = repo.run(&["apply"]);
    assert!(
        out.stderr.contains(&format!(
            "warning: the tag list of `{}/demo/many` was cut (stopped after ",
            registry.host()
        )) && out
            .stderr
            .contains(" pages: a listing may take 5 s in all ([registry] request_timeout × 5))"),
        "{out}"
    );
    // Five seconds of pages, then the imports of what was read (which this registry fails).
    assert!(out.elapsed < Duration::from_secs(15), "{out}");
    let pages = registry
        .seen()
        .iter()
        .filter(|r| r.contains("/tags/list"))
        .count();
    assert!((3..=16).contains(&pages), "{pages} pages\n{out}");
}
