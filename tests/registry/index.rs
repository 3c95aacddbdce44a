//! Image indexes in both import modes.

use streamsync::registry::Resolver;

use crate::harness::{OCI_INDEX, Registry, Variant};
use crate::{client, insecure_config, none_known, req};

#[test]
fn legacy_picks_one_platform() {
    let reg = Registry::start(Variant::Plain);
    let (_index, amd, arm) = reg.pusher().index("multi/app", "1.0");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let spec = format!("{}/multi/app:1.0", reg.host());
    let mut prefer = req(&spec);
    prefer.prefer_arch = Some("arm64".to_owned());
    let out = c.resolve_all(&[req(&spec), prefer], &none_known);
    let default = out[0].as_ref().expect("legacy default");
    assert_eq!(
        default.digest, amd.digest,
        "linux/amd64 when nothing is preferred"
    );
    assert_eq!(
        default.docker_image_reference,
        format!("{}/multi/app@{}", reg.host(), amd.digest)
    );
    let img = default.image.as_ref().unwrap();
    assert_eq!(
        img.docker_image_metadata.as_ref().unwrap().architecture,
        "amd64"
    );
    assert!(img.docker_image_manifests.is_empty());
    let preferred = out[1].as_ref().expect("prefer-arch");
    assert_eq!(preferred.digest, arm.digest);
    assert_eq!(
        preferred
            .image
            .as_ref()
            .unwrap()
            .docker_image_metadata
            .as_ref()
            .unwrap()
            .architecture,
        "arm64"
    );
    // A plan refresh of a Legacy index reads the index (to choose) but no platform manifest
    // or config.
    let c2 = client(&insecure_config(), root.path(), None);
    let mut only = req(&spec);
    only.resolve_only = true;
    let out = c2.resolve_all(&[only], &none_known);
    assert_eq!(out[0].as_ref().unwrap().digest, amd.digest);
    let n = c2.request_counts()[&reg.host()];
    assert_eq!((n.head, n.get), (1, 1));
}

#[test]
fn preserve_original_records_the_index() {
    let reg = Registry::start(Variant::Plain);
    let (index, amd, arm) = reg.pusher().index("multi/app", "1.0");
    let root = crate::harness::root();
    let c = client(&insecure_config(), root.path(), None);
    let spec = format!("{}/multi/app:1.0", reg.host());
    let mut r = req(&spec);
    r.import_mode = "PreserveOriginal".to_owned();
    let out = c.resolve_all(&[r], &none_known);
    let got = out[0].as_ref().expect("resolved");
    assert_eq!(got.digest, index);
    assert_eq!(
        got.docker_image_reference,
        format!("{}/multi/app@{index}", reg.host())
    );
    let img = got.image.as_ref().unwrap();
    assert_eq!(img.docker_image_manifest_media_type, OCI_INDEX);
    assert!(img.docker_image_metadata.is_none());
    let platforms: Vec<(&str, &str, &str)> = img
        .docker_image_manifests
        .iter()
        .map(|m| (m.architecture.as_str(), m.os.as_str(), m.variant.as_str()))
        .collect();
    // Every entry is listed, the attestation too, as OpenShift lists dockerImageManifests.
    assert_eq!(
        platforms,
        vec![
            ("arm64", "linux", "v8"),
            ("amd64", "linux", ""),
            ("unknown", "unknown", ""),
        ]
    );
    assert_eq!(img.docker_image_manifests[0].digest, arm.digest);
    assert_eq!(img.docker_image_manifests[1].digest, amd.digest);
}

#[test]
fn preserve_original_records_an_image_per_platform() {
    let reg = Registry::start(Variant::Plain);
    let (index, amd, arm) = reg.pusher().index("multi/app", "1.0");
    let root = crate::harness::root();
    let spec = format!("{}/multi/app:1.0", reg.host());
    let mut r = req(&spec);
    r.import_mode = "PreserveOriginal".to_owned();

    let c = client(&insecure_config(), root.path(), None);
    let out = c.resolve_all(std::slice::from_ref(&r), &none_known);
    let got = out[0].as_ref().expect("resolved");
    assert_eq!(got.digest, index);
    // OpenShift creates the sub-manifests' Images too (spec §3.2), each with its metadata
    // and its own pull spec by digest.
    let platforms: Vec<(String, String, String)> = got
        .platform_images
        .iter()
        .map(|i| {
            (
                i.metadata.name.clone(),
                i.docker_image_metadata
                    .as_ref()
                    .unwrap()
                    .architecture
                    .clone(),
                i.docker_image_reference.clone(),
            )
        })
        .collect();
    assert_eq!(
        platforms,
        vec![
            (
                arm.digest.clone(),
                "arm64".to_owned(),
                format!("{}/multi/app@{}", reg.host(), arm.digest)
            ),
            (
                amd.digest.clone(),
                "amd64".to_owned(),
                format!("{}/multi/app@{}", reg.host(), amd.digest)
            ),
        ]
    );
    // HEAD the tag, GET the index, then manifest and config per platform; the attestation
    // entry is not an image and is not fetched.
    let n = c.request_counts()[&reg.host()];
    assert_eq!((n.head, n.get), (1, 5), "{n:?}");

    // A platform already recorded is not fetched again.
    let c = client(&insecure_config(), root.path(), None);
    let amd_digest = amd.digest.clone();
    let known = move |d: &str| d == amd_digest;
    let out = c.resolve_all(std::slice::from_ref(&r), &known);
    let got = out[0].as_ref().expect("resolved");
    assert_eq!(got.platform_images.len(), 1);
    assert_eq!(got.platform_images[0].metadata.name, arm.digest);
    let n = c.request_counts()[&reg.host()];
    assert_eq!((n.head, n.get), (1, 3), "{n:?}");
}
