//! What the catalog reads from a recorded Image: platform, size and build time. The one place
//! that knows the Image object's shape, so a change of that shape is adapted here alone.

use crate::model::Image;

/// `os/architecture[/variant]` of a single-platform image, or the platforms of an index
/// imported with `PreserveOriginal`, comma-separated.
pub fn platform(image: &Image) -> Option<String> {
    if !image.docker_image_manifests.is_empty() {
        let list: Vec<String> = image
            .docker_image_manifests
            .iter()
            .map(|m| join_platform(&m.os, &m.architecture, &m.variant))
            .collect();
        return Some(list.join(", "));
    }
    let meta = image.docker_image_metadata.as_ref()?;
    if meta.architecture.is_empty() {
        return None;
    }
    // A docker10 DockerImage records no OS: the images OpenShift imports are Linux ones.
    Some(join_platform("", &meta.architecture, ""))
}

fn join_platform(os: &str, arch: &str, variant: &str) -> String {
    let os = if os.is_empty() { "linux" } else { os };
    if variant.is_empty() {
        format!("{os}/{arch}")
    } else {
        format!("{os}/{arch}/{variant}")
    }
}

/// The image's size in bytes: the recorded total, else the sum of its layers.
pub fn size(image: &Image) -> Option<u64> {
    let recorded = image
        .docker_image_metadata
        .as_ref()
        .map_or(0, |m| m.size.max(0));
    let total = if recorded > 0 {
        recorded
    } else {
        image
            .docker_image_layers
            .iter()
            .map(|l| l.size.max(0))
            .sum()
    };
    u64::try_from(total).ok().filter(|s| *s > 0)
}

/// When the image was built, as its config says (RFC 3339).
pub fn created(image: &Image) -> Option<&str> {
    image
        .docker_image_metadata
        .as_ref()
        .map(|m| m.created.as_str())
        .filter(|c| !c.is_empty())
}
