//! A real `docker-registry` (CNCF distribution) for one test: its own config, storage folder and
//! free port on 127.0.0.1, optional htpasswd auth or TLS with a CA made here; stopped by pid
//! when dropped. Also pushes small images with oci-client.
//!
//! On a busy machine another process (another test run, another project's registry) may take
//! the chosen port between the check and the registry's bind, and a plain "accepts
//! connections" check would then pass against that stranger. So a registry is used only once
//! it proves it is this test's own: `GET /v2/` carries distribution's API-version header, and
//! a marker blob seeded into its storage folder before it started reads back byte for byte.
//! A registry that cannot prove it is stopped and started again on another port.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci_client::Reference;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
pub const USER: &str = "streamsync-test";
pub const PASSWORD: &str = "pw-Zq7-not-in-logs-91x";

/// How the registry is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Plain HTTP, no auth.
    Plain,
    /// Plain HTTP, htpasswd (bcrypt) auth with [`USER`]/[`PASSWORD`].
    Htpasswd,
    /// HTTPS with a leaf certificate for 127.0.0.1 signed by a test CA.
    Tls,
}

pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub variant: Variant,
    /// PEM of the CA (TLS variant).
    pub ca_pem: Option<String>,
    /// The blob only this registry serves.
    pub marker: Marker,
}

/// A plain registry with `demo/app:1.0` and `demo/app:2.0` pushed (amd64, labelled `one` and
/// `two`): the images `support::local_app` imports. Returns the registry and both images.
pub fn app_registry() -> (Registry, Pushed, Pushed) {
    let reg = Registry::start(Variant::Plain);
    let p = reg.pusher();
    let one = p.image("demo/app", "1.0", "amd64", "one");
    let two = p.image("demo/app", "2.0", "amd64", "two");
    (reg, one, two)
}

/// A free port for a registry, below the ephemeral range and never the same twice in this
/// process. An ephemeral port found free could be handed to a proxy or token server of a test
/// running in parallel before the registry binds it, and the readiness check would then
/// connect to that server instead.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = 12_000u16;
    let offset = (std::process::id() % u32::from(span)) as u16;
    loop {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = 20_000 + (offset.wrapping_add(n.wrapping_mul(7))) % span;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Registry {
    pub fn start(variant: Variant) -> Registry {
        Self::start_at(variant, None)
    }

    /// Start, trying `port` first (a test of the harness itself names a port that another
    /// server holds).
    pub fn start_at(variant: Variant, port: Option<u16>) -> Registry {
        Self::start_opts(variant, port, false)
    }

    /// Start with the access log on: every request the registry answers is a line of
    /// [`Registry::access_log`] (how the mirror tests count uploads).
    pub fn start_logged(variant: Variant) -> Registry {
        Self::start_opts(variant, None, true)
    }

    /// The access log so far (empty unless started with [`Registry::start_logged`]).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    fn start_opts(variant: Variant, port: Option<u16>, access_log: bool) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: install Debian's `docker-registry` package (apt-get install docker-registry apache2-utils)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("storage dir");
        let mut extra = String::new();
        let mut ca_pem = None;
        match variant {
            Variant::Plain => {}
            Variant::Htpasswd => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", USER, PASSWORD])
                    .output()
                    .expect("htpasswd (apache2-utils) must be installed");
                assert!(out.status.success(), "htpasswd failed");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).expect("write htpasswd");
                extra.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    file.display()
                ));
            }
            Variant::Tls => {
                let (ca, cert, key) = make_certs();
                std::fs::write(dir.path().join("ca.pem"), &ca).expect("ca");
                std::fs::write(dir.path().join("cert.pem"), &cert).expect("cert");
                std::fs::write(dir.path().join("key.pem"), &key).expect("key");
                ca_pem = Some(ca);
            }
        }
        let marker = Marker::seed(&storage, dir.path());
        // The port is free now; if another process takes it before the registry binds it, the
        // identity check fails and another port is tried.
        let mut last_log = String::new();
        let mut first = port;
        for _ in 0..10 {
            let port = first.take().unwrap_or_else(free_port);
            let mut http = format!("http:\n  addr: 127.0.0.1:{port}\n");
            if variant == Variant::Tls {
                http.push_str(&format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    dir.path().join("cert.pem").display(),
                    dir.path().join("key.pem").display()
                ));
            }
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: {}\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{http}{extra}",
                !access_log,
                storage.display()
            );
            let cfg = dir.path().join("config.yml");
            std::fs::write(&cfg, config).expect("config");
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path).expect("log");
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&cfg)
                .stdout(if access_log {
                    Stdio::from(
                        std::fs::File::create(dir.path().join("access.log")).expect("access log"),
                    )
                } else {
                    Stdio::null()
                })
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            if wait_ready(&mut child, port, variant, ca_pem.as_deref(), &marker) {
                return Registry {
                    child,
                    dir,
                    port,
                    variant,
                    ca_pem,
                    marker,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log.clear();
            let _ =
                std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut last_log));
        }
        panic!("docker-registry ({variant:?}) did not become ready: {last_log}");
    }

    /// Whether the server on this registry's port is still this registry.
    pub fn is_own(&self) -> bool {
        is_own_registry(
            self.port,
            self.variant,
            self.ca_pem.as_deref(),
            &self.marker,
        )
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.variant == Variant::Tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.host())
    }

    /// Write the CA to `root/<name>` (for `ca_files`).
    pub fn write_ca(&self, root: &Path, name: &str) {
        std::fs::write(
            root.join(name),
            self.ca_pem.as_deref().expect("TLS variant"),
        )
        .expect("ca");
    }

    /// A pusher for this registry.
    pub fn pusher(&self) -> Pusher {
        let auth = if self.variant == Variant::Htpasswd {
            RegistryAuth::Basic(USER.to_owned(), PASSWORD.to_owned())
        } else {
            RegistryAuth::Anonymous
        };
        let protocol = if self.variant == Variant::Tls {
            ClientProtocol::Https
        } else {
            ClientProtocol::Http
        };
        let roots = self
            .ca_pem
            .iter()
            .map(|ca| Certificate {
                encoding: CertificateEncoding::Pem,
                data: ca.as_bytes().to_vec(),
            })
            .collect();
        Pusher::new(&self.host(), protocol, roots, auth)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blob written into a registry's storage folder before it starts: only that registry can
/// serve it.
pub struct Marker {
    pub repository: &'static str,
    pub digest: String,
    pub content: Vec<u8>,
}

impl Marker {
    fn seed(storage: &Path, unique: &Path) -> Marker {
        let content = format!(
            "streamsync test registry of process {} in {}",
            std::process::id(),
            unique.display()
        )
        .into_bytes();
        let digest = sha256(&content);
        let hex = digest.trim_start_matches("sha256:").to_owned();
        let repository = "streamsync-marker";
        let v2 = storage.join("docker/registry/v2");
        let blob = v2.join("blobs/sha256").join(&hex[..2]).join(&hex);
        std::fs::create_dir_all(&blob).expect("marker blob dir");
        std::fs::write(blob.join("data"), &content).expect("marker blob");
        let link = v2
            .join("repositories")
            .join(repository)
            .join("_layers/sha256")
            .join(&hex);
        std::fs::create_dir_all(&link).expect("marker link dir");
        std::fs::write(link.join("link"), &digest).expect("marker link");
        Marker {
            repository,
            digest,
            content,
        }
    }
}

/// Whether the server on `port` is the registry holding `marker`: `GET /v2/` answered with
/// distribution's `Docker-Distribution-API-Version` header, and the marker blob read back.
pub fn is_own_registry(port: u16, variant: Variant, ca_pem: Option<&str>, marker: &Marker) -> bool {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = ca_pem {
        match reqwest::Certificate::from_pem(ca.as_bytes()) {
            Ok(c) => builder = builder.add_root_certificate(c),
            Err(_) => return false,
        }
    }
    let Ok(client) = builder.build() else {
        return false;
    };
    let scheme = if variant == Variant::Tls {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://127.0.0.1:{port}");
    let get = |path: String| {
        let mut rb = client.get(format!("{base}{path}"));
        if variant == Variant::Htpasswd {
            rb = rb.basic_auth(USER, Some(PASSWORD));
        }
        rb.send()
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    rt.block_on(async {
        let Ok(ping) = get("/v2/".to_owned()).await else {
            return false;
        };
        let api = ping
            .headers()
            .get("docker-distribution-api-version")
            .and_then(|v| v.to_str().ok());
        if api != Some("registry/2.0") {
            return false;
        }
        let Ok(blob) = get(format!("/v2/{}/blobs/{}", marker.repository, marker.digest)).await
        else {
            return false;
        };
        if !blob.status().is_success() {
            return false;
        }
        blob.bytes()
            .await
            .is_ok_and(|b| b.as_ref() == marker.content.as_slice())
    })
}

/// Wait until the registry on `port` proves it is the one started here (or exits).
fn wait_ready(
    child: &mut Child,
    port: u16,
    variant: Variant,
    ca_pem: Option<&str>,
    marker: &Marker,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && is_own_registry(port, variant, ca_pem, marker)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    false
}

fn make_certs() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "streamsync test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("leaf params");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("leaf cert");
    (ca_cert.pem(), leaf.pem(), leaf_key.serialize_pem())
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// What was pushed.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: String,
    pub manifest_size: usize,
    pub config_digest: String,
    pub config_len: usize,
    pub layer_digest: String,
    pub layer_len: usize,
}

/// Pushes images with oci-client (monolithic blob uploads, manifest PUTs).
pub struct Pusher {
    host: String,
    client: oci_client::Client,
    rt: tokio::runtime::Runtime,
}

impl Pusher {
    /// A pusher for an open plain-HTTP registry at `host` (`host:port`).
    pub fn plain(host: &str) -> Pusher {
        Self::new(
            host,
            ClientProtocol::Http,
            Vec::new(),
            RegistryAuth::Anonymous,
        )
    }

    fn new(
        host: &str,
        protocol: ClientProtocol,
        extra_root_certificates: Vec<Certificate>,
        auth: RegistryAuth,
    ) -> Pusher {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = ClientConfig {
            protocol,
            extra_root_certificates,
            use_monolithic_push: true,
            ..ClientConfig::default()
        };
        // `Client::new` would fall back to defaults silently on a bad config.
        let client = oci_client::Client::try_from(config).expect("oci client");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(client.store_auth_if_needed(host, &auth));
        Pusher {
            host: host.to_owned(),
            client,
            rt,
        }
    }

    fn reference(&self, repo: &str, tag: &str) -> Reference {
        Reference::with_tag(self.host.clone(), repo.to_owned(), tag.to_owned())
    }

    pub fn blob(&self, repo: &str, data: &[u8]) -> String {
        self.rt.block_on(self.blob_async(repo, data))
    }

    pub async fn blob_async(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let image = self.reference(repo, "latest");
        if !self
            .client
            .blob_exists(&image, &digest)
            .await
            .expect("blob head")
        {
            self.client
                .push_blob(&image, data.to_vec(), &digest)
                .await
                .expect("blob upload");
        }
        digest
    }

    pub fn manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) -> String {
        self.rt
            .block_on(self.manifest_async(repo, reference, media_type, body))
    }

    pub async fn manifest_async(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        self.client
            .push_manifest_raw(
                &self.reference(repo, reference),
                body.to_vec(),
                HeaderValue::from_str(media_type).expect("media type"),
            )
            .await
            .expect("manifest put");
        sha256(body)
    }

    /// Push a one-layer image whose config carries `label` (so each label gives a new digest).
    pub fn image(&self, repo: &str, tag: &str, arch: &str, label: &str) -> Pushed {
        self.rt.block_on(self.image_async(repo, tag, arch, label))
    }

    pub async fn image_async(&self, repo: &str, tag: &str, arch: &str, label: &str) -> Pushed {
        let layer = format!("layer of {repo}").into_bytes();
        let layer_digest = self.blob_async(repo, &layer).await;
        let config = serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "author": "streamsync tests",
            "config": {
                "User": "1001",
                "WorkingDir": "/opt/app",
                "Env": ["PATH=/usr/bin", format!("LABEL={label}")],
                "Cmd": ["run"],
                "Entrypoint": ["/entry"],
                "ExposedPorts": {"8080/tcp": {}},
                "Labels": {"name": repo, "release": label}
            },
            "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]}
        });
        let config = serde_json::to_vec(&config).expect("json");
        let config_digest = self.blob_async(repo, &config).await;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer.len()}]
        });
        let manifest = serde_json::to_vec(&manifest).expect("json");
        let digest = self
            .manifest_async(repo, tag, OCI_MANIFEST, &manifest)
            .await;
        Pushed {
            digest,
            manifest_size: manifest.len(),
            config_digest,
            config_len: config.len(),
            layer_digest,
            layer_len: layer.len(),
        }
    }

    /// Push amd64 and arm64 images and an index over them under `tag`.
    pub fn index(&self, repo: &str, tag: &str) -> (String, Pushed, Pushed) {
        let amd = self.image(
            repo,
            &format!("{tag}-amd64"),
            "amd64",
            &format!("{tag}-amd64"),
        );
        let arm = self.image(
            repo,
            &format!("{tag}-arm64"),
            "arm64",
            &format!("{tag}-arm64"),
        );
        // As BuildKit pushes them: an attestation manifest listed as unknown/unknown.
        let attestation = self.image(
            repo,
            &format!("{tag}-attestation"),
            "unknown",
            &format!("{tag}-attestation"),
        );
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": arm.digest, "size": arm.manifest_size,
                 "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                {"mediaType": OCI_MANIFEST, "digest": amd.digest, "size": amd.manifest_size,
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": OCI_MANIFEST, "digest": attestation.digest,
                 "size": attestation.manifest_size,
                 "platform": {"architecture": "unknown", "os": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                 "vnd.docker.reference.digest": amd.digest}}
            ]
        });
        let body = serde_json::to_vec(&index).expect("json");
        let d = self.manifest(repo, tag, OCI_INDEX, &body);
        (d, amd, arm)
    }

    /// A manifest's bytes as the registry serves them (`None` when it has none there).
    pub fn manifest_raw(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        let r = if reference.starts_with("sha256:") {
            Reference::with_digest(self.host.clone(), repo.to_owned(), reference.to_owned())
        } else {
            self.reference(repo, reference)
        };
        let auth = RegistryAuth::Anonymous;
        self.rt
            .block_on(self.client.pull_manifest_raw(
                &r,
                &auth,
                &[
                    OCI_MANIFEST,
                    OCI_INDEX,
                    "application/vnd.docker.distribution.manifest.v2+json",
                ],
            ))
            .ok()
            .map(|(b, _)| b.to_vec())
    }

    /// Push an OCI manifest of `config` and `layers` (their blobs pushed first), with extra
    /// top-level fields (`subject`, `artifactType`), under `reference`; returns the digest.
    pub fn manifest_of(
        &self,
        repo: &str,
        reference: &str,
        config: &[u8],
        layers: &[&[u8]],
        extra: serde_json::Value,
    ) -> String {
        let config_digest = self.blob(repo, config);
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|l| {
                serde_json::json!({"mediaType": OCI_LAYER, "digest": self.blob(repo, l), "size": l.len()})
            })
            .collect();
        let mut m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": layers,
        });
        if let serde_json::Value::Object(extra) = extra {
            for (k, v) in extra {
                m[k] = v;
            }
        }
        let body = serde_json::to_vec(&m).expect("json");
        self.manifest(repo, reference, OCI_MANIFEST, &body)
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// A temp folder used as the repository root (for `ca_files`).
pub fn root() -> tempfile::TempDir {
    tempfile::tempdir().expect("root dir")
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

pub fn pathbuf(p: &Path, name: &str) -> PathBuf {
    p.join(name)
}
