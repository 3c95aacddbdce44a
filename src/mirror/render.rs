//! `mirror`'s report as text (one line per image, then requests per registry) and as JSON
//! (`format_version` 1.0). Pure: values in, strings out.

use std::collections::BTreeMap;

use serde_json::json;

use super::{ImageResult, Status};
use crate::catalog::html::human_size;
use crate::registry::RequestCounts;
use crate::util::escape_line;

/// Totals over the images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Images in the report.
    pub images: usize,
    /// Copied (or, in a dry run, to copy).
    pub copied: usize,
    /// Present already.
    pub present: usize,
    /// Of those present, taken from the record without asking the mirror.
    pub recorded: usize,
    /// Failed.
    pub failed: usize,
    /// Blobs uploaded.
    pub blobs_copied: u64,
    /// Blobs mounted.
    pub blobs_mounted: u64,
    /// Blobs the mirror had.
    pub blobs_skipped: u64,
    /// Manifests pushed.
    pub manifests_pushed: u64,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// Totals of `images`.
pub fn summary(images: &[ImageResult]) -> Summary {
    let mut s = Summary {
        images: images.len(),
        ..Summary::default()
    };
    for i in images {
        match i.status {
            Status::Copy | Status::Copied => s.copied += 1,
            Status::Present => s.present += 1,
            Status::Failed => s.failed += 1,
        }
        if !i.verified {
            s.recorded += 1;
        }
        s.blobs_copied += i.blobs_copied;
        s.blobs_mounted += i.blobs_mounted;
        s.blobs_skipped += i.blobs_skipped;
        s.manifests_pushed += i.manifests_pushed;
        s.bytes += i.bytes;
    }
    s
}

fn short(reference: &str) -> String {
    match reference.split_once("@sha256:") {
        Some((repo, hex)) => format!("{repo}@sha256:{}", &hex[..hex.len().min(12)]),
        None => reference.to_owned(),
    }
}

/// One line per image (stdout).
pub fn lines(images: &[ImageResult], dry_run: bool) -> String {
    let mut out = String::new();
    for i in images {
        let word = match (i.status, dry_run) {
            (Status::Copy, _) => "copy",
            (Status::Copied, _) => "copied",
            (Status::Present, _) => "present",
            (Status::Failed, _) => "failed",
        };
        let mirror = i.mirror.split('@').next().unwrap_or(&i.mirror);
        out.push_str(&format!("{word:<8} {} -> {mirror}", short(&i.source)));
        if !i.tags.is_empty() {
            out.push_str(&format!(" (tags: {})", i.tags.join(", ")));
        }
        if !i.verified {
            out.push_str(": in the record, not asked\n");
            continue;
        }
        if i.status == Status::Failed {
            let why = i.error.as_deref().unwrap_or("unknown error");
            out.push_str(&format!(": {}\n", escape_line(why)));
            continue;
        }
        out.push_str(&format!(
            ": {} blobs {}, {} mounted, {} skipped, {} manifests, {}",
            i.blobs_copied,
            if dry_run { "to copy" } else { "copied" },
            i.blobs_mounted,
            i.blobs_skipped,
            i.manifests_pushed,
            human_size(i.bytes)
        ));
        if !i.signatures.is_empty() {
            let kinds: Vec<&str> = i
                .signatures
                .iter()
                .filter_map(|t| t.rsplit_once('.').map(|(_, k)| k))
                .collect();
            out.push_str(&format!("; signatures: {}", kinds.join(", ")));
        }
        if !i.referrers.is_empty() {
            out.push_str(&format!("; referrers: {}", i.referrers.len()));
        }
        out.push('\n');
    }
    out
}

/// `host: 3 HEAD, 2 GET, 1 PUT, 1 POST, 0 PATCH` per registry.
pub fn requests(requests: &BTreeMap<String, RequestCounts>) -> String {
    let per_host: Vec<String> = requests
        .iter()
        .map(|(h, c)| {
            format!(
                "{h}: {} HEAD, {} GET, {} PUT, {} POST, {} PATCH",
                c.head, c.get, c.put, c.post, c.patch
            )
        })
        .collect();
    format!("Requests: {}", per_host.join("; "))
}

/// The closing line (stderr).
pub fn summary_line(s: &Summary, mirror: &str, dry_run: bool) -> String {
    let lead = if dry_run {
        format!(
            "Dry run: {} of {} images to copy to {mirror}, {} present, {} failed",
            s.copied, s.images, s.present, s.failed
        )
    } else {
        format!(
            "Mirrored {} images to {mirror}: {} copied, {} present, {} failed",
            s.images, s.copied, s.present, s.failed
        )
    };
    let lead = if s.recorded > 0 {
        format!(
            "{lead} ({} of them from the record of what the mirror held, not asked; --verify asks)",
            s.recorded
        )
    } else {
        lead
    };
    format!(
        "{lead}; blobs: {} {} ({}), {} mounted, {} skipped; {} manifests {}.",
        s.blobs_copied,
        if dry_run { "to copy" } else { "copied" },
        human_size(s.bytes),
        s.blobs_mounted,
        s.blobs_skipped,
        s.manifests_pushed,
        if dry_run { "to push" } else { "pushed" },
    )
}

/// The JSON report.
pub fn json(
    images: &[ImageResult],
    requests: &BTreeMap<String, RequestCounts>,
    mirror: &str,
    dry_run: bool,
    sets: Option<(&str, bool)>,
) -> String {
    let s = summary(images);
    let value = json!({
        "format_version": "1.0",
        "mirror": mirror,
        "dry_run": dry_run,
        "images": images,
        "summary": {
            "images": s.images,
            "copied": s.copied,
            "present": s.present,
            "recorded": s.recorded,
            "failed": s.failed,
            "blobs_copied": s.blobs_copied,
            "blobs_mounted": s.blobs_mounted,
            "blobs_skipped": s.blobs_skipped,
            "manifests_pushed": s.manifests_pushed,
            "bytes": s.bytes,
            "requests": requests,
        },
        "mirror_sets": sets.map(|(path, written)| json!({"path": path, "written": written})),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
