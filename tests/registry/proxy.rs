//! A small fault-injecting HTTP/1.1 proxy in front of the real registry: it answers 429 with
//! `Retry-After`, 503, drops connections, answers slowly, adds `RateLimit-Remaining`, or
//! demands a bearer token issued by a token service on another port. One request per
//! connection (it forwards with `Connection: close`), which is all these tests need.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

/// What to do with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward it.
    Pass,
    /// Answer with this status and these headers, without asking the registry.
    Status(u16, Vec<(String, String)>),
    /// Read the request and close the connection without a word.
    Drop,
    /// Wait, then forward.
    Slow(Duration),
    /// Forward and add a header to the answer.
    AddHeader(String, String),
    /// Serve tag lists in pages of at most this many tags with `Link` headers, as Quay does
    /// (Debian's registry 2.8 ignores `n` on tag lists); other requests are forwarded.
    PaginateTags(usize),
    /// Answer tag lists with these names (a hostile registry's); with `true`, every page links
    /// to a next one, for ever, the later ones empty. Other requests are forwarded.
    TagList(Vec<String>, bool),
    /// Forward; of the answer to a blob GET, send only the first this many bytes (headers
    /// included), then close: a connection dropped half way through a layer. Other requests
    /// are forwarded whole.
    TruncateBlobs(usize),
    /// Answer the referrers API (`GET /v2/<name>/referrers/<digest>`) with this index, as a
    /// registry that has the API does; other requests are forwarded.
    Referrers(String),
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Fault>,
    default: Fault,
    bearer: Option<(String, String)>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    pub seen: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy forwarding to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Fault::Pass,
            bearer: None,
        }));
        let seen = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sn, sp) = (state.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, sn) = (st.clone(), sn.clone());
                std::thread::spawn(move || handle(conn, upstream, &st, &sn));
            }
        });
        Proxy {
            port,
            state,
            seen,
            stop,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Faults for the next requests, in order; afterwards the default applies.
    pub fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().queue.extend(faults);
    }

    pub fn set_default(&self, f: Fault) {
        self.state.lock().unwrap().default = f;
    }

    /// Demand `Authorization: Bearer <token>`, naming `realm` in the challenge.
    pub fn require_bearer(&self, realm: &str, token: &str) {
        self.state.lock().unwrap().bearer = Some((realm.to_owned(), token.to_owned()));
    }

    pub fn requests(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Read an HTTP request head (no body: the client only sends HEAD and GET here).
fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
        // A TLS handshake (the client probing an insecure host for HTTPS) is no HTTP request:
        // close at once, as a plain HTTP server does, instead of waiting for a blank line that
        // never comes until the client's connect timeout.
        if buf.len() == 1 && !buf[0].is_ascii_uppercase() {
            return None;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    String::from_utf8(buf).ok()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn respond(conn: &mut TcpStream, code: u16, headers: &[(String, String)]) {
    let mut s = format!("HTTP/1.1 {code} Fault\r\nContent-Length: 0\r\nConnection: close\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    let _ = conn.write_all(s.as_bytes());
}

fn handle(mut conn: TcpStream, upstream: u16, state: &Mutex<State>, seen: &AtomicUsize) {
    let Some(head) = read_head(&mut conn) else {
        return;
    };
    seen.fetch_add(1, Ordering::SeqCst);
    let (fault, bearer) = {
        let mut s = state.lock().unwrap();
        let f = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
        (f, s.bearer.clone())
    };
    if let Some((realm, token)) = &bearer {
        let ok = header(&head, "authorization") == Some(&format!("Bearer {token}"));
        if !ok {
            respond(
                &mut conn,
                401,
                &[(
                    "WWW-Authenticate".to_owned(),
                    format!(r#"Bearer realm="{realm}",service="proxy-test""#),
                )],
            );
            return;
        }
    }
    if let Fault::PaginateTags(size) = fault
        && head
            .split_whitespace()
            .nth(1)
            .is_some_and(|t| t.contains("/tags/list"))
    {
        return paginate(&mut conn, &head, upstream, size);
    }
    if let Fault::TagList(names, endless) = &fault
        && let Some(target) = head.split_whitespace().nth(1)
        && target.contains("/tags/list")
    {
        return hostile_tags(&mut conn, target, names, *endless);
    }
    if let Fault::Referrers(body) = &fault
        && head
            .split_whitespace()
            .nth(1)
            .is_some_and(|t| t.contains("/referrers/"))
    {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = conn.write_all(answer.as_bytes());
        return;
    }
    let mut truncate = None;
    let add = match fault {
        Fault::Referrers(_) => None,
        Fault::PaginateTags(_) | Fault::TagList(..) => None,
        Fault::TruncateBlobs(n) => {
            let mut words = head.split_whitespace();
            if words.next() == Some("GET") && words.next().is_some_and(|t| t.contains("/blobs/")) {
                truncate = Some(n);
            }
            None
        }
        Fault::Status(code, headers) => return respond(&mut conn, code, &headers),
        Fault::Drop => return,
        Fault::Slow(d) => {
            std::thread::sleep(d);
            None
        }
        Fault::AddHeader(k, v) => Some((k, v)),
        Fault::Pass => None,
    };
    // Forward with the Authorization header removed (the registry behind is open) and the
    // connection closed after the answer.
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        if i > 0 {
            let name = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if name == "authorization" || name == "connection" {
                continue;
            }
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    if up.write_all(out.as_bytes()).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    if let Some((k, v)) = add
        && let Some(pos) = answer.windows(2).position(|w| w == b"\r\n")
    {
        let insert = format!("\r\n{k}: {v}");
        answer.splice(pos..pos, insert.into_bytes());
    }
    if let Some(n) = truncate {
        answer.truncate(n);
    }
    let _ = conn.write_all(&answer);
}

fn paginate(conn: &mut TcpStream, head: &str, upstream: u16, size: usize) {
    let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut n = size;
    let mut last = String::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("n", v)) => n = v.parse().unwrap_or(size).min(size),
            Some(("last", v)) => last = v.to_owned(),
            _ => {}
        }
    }
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if up.write_all(req.as_bytes()).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    if !answer.starts_with(b"HTTP/1.1 200") {
        let _ = conn.write_all(&answer);
        return;
    }
    let body: serde_json::Value =
        serde_json::from_slice(&answer[split + 4..]).expect("tag list json");
    let mut tags: Vec<String> = body["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let rest: Vec<String> = tags.into_iter().filter(|t| *t > last).collect();
    let page: Vec<String> = rest.iter().take(n).cloned().collect();
    let mut link = String::new();
    if rest.len() > page.len()
        && let Some(l) = page.last()
    {
        link = format!("Link: <{path}?n={n}&last={l}>; rel=\"next\"\r\n");
    }
    let out = serde_json::json!({"name": body["name"], "tags": page}).to_string();
    let _ = conn.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{link}Connection: close\r\n\r\n{out}",
            out.len()
        )
        .as_bytes(),
    );
}

fn hostile_tags(conn: &mut TcpStream, target: &str, names: &[String], endless: bool) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let page: u64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("last=p"))
        .and_then(|n| n.parse().ok())
        .map_or(0, |n: u64| n + 1);
    let listed: &[String] = if page == 0 { names } else { &[] };
    let link = if endless {
        format!("Link: <{path}?n=100&last=p{page}>; rel=\"next\"\r\n")
    } else {
        String::new()
    };
    let out = serde_json::json!({"name": "hostile", "tags": listed}).to_string();
    let _ = conn.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{link}Connection: close\r\n\r\n{out}",
            out.len()
        )
        .as_bytes(),
    );
}

/// A token service on its own port: `GET /token` with the expected Basic credentials gets
/// `{"token": ...}`; anything else 401. Counts requests and remembers what it was sent.
pub struct TokenServer {
    pub port: u16,
    pub seen: Arc<AtomicUsize>,
    /// Requests that came without an `Authorization` header.
    pub anonymous: Arc<AtomicUsize>,
    pub last_query: Arc<Mutex<String>>,
}

impl TokenServer {
    pub fn start(user: &str, password: &str, token: &str) -> TokenServer {
        Self::serve(user, password, token, false)
    }

    /// Like Docker Hub for a public repository: anonymous requests get the token too, and
    /// wrong credentials get 401 "incorrect username or password".
    pub fn start_public(user: &str, password: &str, token: &str) -> TokenServer {
        Self::serve(user, password, token, true)
    }

    fn serve(user: &str, password: &str, token: &str, public: bool) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("token bind");
        let port = listener.local_addr().expect("addr").port();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let token = token.to_owned();
        let seen = Arc::new(AtomicUsize::new(0));
        let anonymous = Arc::new(AtomicUsize::new(0));
        let last_query = Arc::new(Mutex::new(String::new()));
        let (sn, an, lq) = (seen.clone(), anonymous.clone(), last_query.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let Some(head) = read_head(&mut conn) else {
                    continue;
                };
                sn.fetch_add(1, Ordering::SeqCst);
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                *lq.lock().unwrap() = target;
                let authorization = header(&head, "authorization");
                if authorization.is_none() {
                    an.fetch_add(1, Ordering::SeqCst);
                }
                if authorization == Some(expected.as_str()) || (public && authorization.is_none()) {
                    let body = format!(r#"{{"token":"{token}","expires_in":300}}"#);
                    let _ = conn.write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                } else if public {
                    let body = r#"{"details":"incorrect username or password"}"#;
                    let _ = conn.write_all(
                        format!(
                            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                } else {
                    respond(&mut conn, 401, &[]);
                }
            }
        });
        TokenServer {
            port,
            seen,
            anonymous,
            last_query,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}
