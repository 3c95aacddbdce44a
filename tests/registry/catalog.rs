//! `catalog` after a real import from the real registry: the page shows what the apply
//! recorded (digest, platform, size, import time) and the failure of an import that could
//! not succeed, read from the state files as the importer wrote them.

use crate::harness::{Registry, Variant};

fn streamsync(root: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut cmd = crate::support::bin();
    let out = cmd
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .expect("run streamsync");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn catalog_shows_what_the_import_recorded() {
    let reg = Registry::start(Variant::Plain);
    let pushed = reg.pusher().image("demo/app", "1.0", "arm64", "one");
    let host = reg.host();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(
        root.join("streamsync.toml"),
        "[registry]\ninsecure_allowed = [\"127.0.0.1\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("definitions/demo")).unwrap();
    std::fs::write(
        root.join("definitions/demo/app.yaml"),
        format!(
            "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app
  annotations:
    openshift.io/display-name: App
spec:
  tags:
  - name: '1.0'
    annotations:
      openshift.io/display-name: App 1.0
      iconClass: icon-python
      tags: builder,python
      version: '1.0'
    from:
      kind: DockerImage
      name: {host}/demo/app:1.0
    importPolicy:
      insecure: true
  - name: '2.0'
    annotations:
      openshift.io/display-name: App 2.0
      iconClass: icon-python
      tags: builder,python
      version: '2.0'
    from:
      kind: DockerImage
      name: {host}/demo/app:2.0
    importPolicy:
      insecure: true
"
        ),
    )
    .unwrap();
    // 2.0 was never pushed: its import fails.
    let (_, out) = streamsync(root, &["apply"]);
    assert!(out.contains("import demo/app:1.0: done"), "{out}");
    assert!(
        out.contains("import demo/app:2.0: failed: NotFound"),
        "{out}"
    );
    let (code, out) = streamsync(root, &["catalog"]);
    assert_eq!(code, 0, "{out}");
    let html = std::fs::read_to_string(root.join("catalog/index.html")).unwrap();
    let hex = pushed.digest.strip_prefix("sha256:").unwrap();
    assert!(
        html.contains(&format!(
            "<dt>Digest</dt><dd><code>sha256:{}</code>",
            &hex[..12]
        )),
        "{html}"
    );
    assert!(
        html.contains("<dt>Platform</dt><dd>linux/arm64</dd>"),
        "{html}"
    );
    // The size the state recorded for the image.
    let text =
        std::fs::read_to_string(root.join(format!("state/images/sha256/{hex}.yaml"))).unwrap();
    let image: streamsync::model::Image = serde_saphyr::from_str(&text).unwrap();
    let size = streamsync::catalog::image::size(&image).expect("a recorded size");
    assert!(size >= pushed.layer_len as u64, "{size}");
    assert!(
        html.contains(&format!(
            "<dt>Size</dt><dd>{}</dd>",
            streamsync::catalog::html::human_size(size)
        )),
        "{html}"
    );
    assert!(
        html.contains("<dt>Last import</dt><dd>2026-01-01 00:00 UTC</dd>"),
        "{html}"
    );
    let failed = html
        .split("<dt>Import failed</dt>")
        .nth(1)
        .expect("the failed import of 2.0 is shown");
    assert!(failed.contains("NotFound"), "{failed}");
}
