//! A real headless Chromium (Debian's `chromium`) for the catalog page: the DOM after the
//! page's script ran (or with scripts off), screenshots, and a counting proxy that sees every
//! request the browser makes to the network. Without Chromium these tests fail: `.ci/run`
//! installs it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The browser binary: `STREAMSYNC_CHROMIUM`, else `chromium` on the PATH.
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("STREAMSYNC_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("chromium");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the catalog tests need Debian's `chromium` (`apt-get install chromium`; `bash .ci/run` \
         installs it), or STREAMSYNC_CHROMIUM pointing at a Chromium binary"
    );
}

/// What to do with a page.
pub struct Browser {
    /// Extra flags (window size, proxy, dark mode).
    pub flags: Vec<String>,
    /// Block the page's JavaScript.
    pub scripts_off: bool,
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            flags: Vec::new(),
            scripts_off: false,
        }
    }

    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.flags.push(flag.into());
        self
    }

    pub fn with_flags(mut self, flags: impl IntoIterator<Item = String>) -> Self {
        self.flags.extend(flags);
        self
    }

    /// Scripts off, as a user turns them off: the profile's JavaScript content setting is
    /// "block". (`--blink-settings=scriptEnabled=false` also stops the headless browser's own
    /// DOM dump and screenshot, which then print nothing.)
    pub fn scripts_off(mut self) -> Self {
        self.scripts_off = true;
        self
    }

    /// Run Chromium on `url` with the given action flag; stdout.
    fn run(&self, action: &[String], url: &str) -> Vec<u8> {
        let profile = tempfile::tempdir().expect("profile dir");
        if self.scripts_off {
            let default = profile.path().join("Default");
            std::fs::create_dir_all(&default).expect("profile folder");
            std::fs::write(
                default.join("Preferences"),
                r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
            )
            .expect("profile preferences");
        }
        let mut cmd = Command::new(chromium());
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(&self.flags)
        .args(action)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start chromium");
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut buf).expect("read chromium stdout");
            buf
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
            buf
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for chromium") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 120 s on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = reader.join().expect("stdout reader");
        let err = err_reader.join().expect("stderr reader");
        assert!(
            status.success(),
            "chromium failed on {url} ({status}):\n{}",
            String::from_utf8_lossy(&err)
        );
        out
    }

    /// The DOM after the page loaded (and its scripts ran, unless they are off).
    pub fn dom(&self, url: &str) -> String {
        String::from_utf8(self.run(&["--dump-dom".into()], url)).expect("DOM is UTF-8")
    }

    /// A PNG screenshot of a `width`×`height` window.
    pub fn screenshot(&self, url: &str, width: u32, height: u32) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("screenshot dir");
        let file = dir.path().join("shot.png");
        self.run(
            &[
                format!("--window-size={width},{height}"),
                format!("--screenshot={}", file.display()),
            ],
            url,
        );
        std::fs::read(&file).expect("screenshot written")
    }
}

/// `file://` URL of a local file, with an optional query.
pub fn file_url(path: &Path, query: &str) -> String {
    let path = path.canonicalize().expect("canonical path");
    format!("file://{}{query}", path.display())
}

/// A decoded screenshot: size and RGBA pixels.
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<[u8; 4]>,
}

impl Pixels {
    pub fn decode(png_bytes: &[u8]) -> Pixels {
        let mut decoder = png::Decoder::new(png_bytes);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("PNG frame");
        let channels = info.color_type.samples();
        let rgba = buf[..info.buffer_size()]
            .chunks(channels)
            .map(|px| match channels {
                1 => [px[0], px[0], px[0], 255],
                2 => [px[0], px[0], px[0], px[1]],
                3 => [px[0], px[1], px[2], 255],
                _ => [px[0], px[1], px[2], px[3]],
            })
            .collect();
        Pixels {
            width: info.width,
            height: info.height,
            rgba,
        }
    }

    /// How many distinct colours the picture holds (a blank page has one).
    pub fn colours(&self) -> usize {
        self.rgba
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    /// The share of pixels that differ from the most common one (the background).
    pub fn ink(&self) -> f64 {
        let mut counts = std::collections::BTreeMap::new();
        for px in &self.rgba {
            *counts.entry(px).or_insert(0usize) += 1;
        }
        let background = counts.values().copied().max().unwrap_or(0);
        1.0 - background as f64 / self.rgba.len().max(1) as f64
    }

    /// Mean luminance, 0 (black) to 255 (white).
    pub fn mean_luma(&self) -> f64 {
        let sum: f64 = self
            .rgba
            .iter()
            .map(|p| 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]))
            .sum();
        sum / self.rgba.len().max(1) as f64
    }
}

/// An HTTP proxy that answers every request with 502 and remembers its request line: the
/// browser sends every network request through it, so the list is what the page asked for.
pub struct CountingProxy {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let _ = reader.read_line(&mut line);
                record.lock().unwrap().push(line.trim_end().to_owned());
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        CountingProxy { port, seen }
    }

    /// The browser flags that send every request of the page through this proxy. The
    /// browser's own service traffic (clock, sign-in, which `--disable-background-networking`
    /// does not stop) goes to Google's hosts; it bypasses the proxy, so what the proxy sees is
    /// the page's. A page loading from those hosts would be missed here, which the test's
    /// check of the file itself (no resource URLs) and the page's CSP cover.
    pub fn flags(&self) -> [String; 2] {
        [
            format!("--proxy-server=http://127.0.0.1:{}", self.port),
            "--proxy-bypass-list=*.google.com;*.googleapis.com;*.gstatic.com;*.gvt1.com;dns.google"
                .to_owned(),
        ]
    }

    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
