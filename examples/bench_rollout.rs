//! Time the roll-out scan of a repository through the library alone: list the manifests
//! (`find_manifests`), read their triggers (`scan`), and plan against an empty live state, as
//! an offline `plan` would add to its own work. Prints one line per run:
//! `<seconds> <manifests> <files parsed> <triggers>`.
//!
//! `cargo run --release --example bench_rollout -- DIR [RUNS]`

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use streamsync::model::Cluster;
use streamsync::policy::RolloutConfig;
use streamsync::rollout;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: bench_rollout DIR [RUNS]");
        std::process::exit(1);
    };
    let runs: usize = args
        .get(1)
        .map_or(5, |r| r.parse().expect("RUNS is a number"));
    let root = Path::new(dir);
    for _ in 0..runs {
        let start = Instant::now();
        let manifests =
            rollout::find_manifests(root, &root.join("state"), &RolloutConfig::default())
                .expect("manifests");
        let scan = rollout::scan(&manifests);
        let plan = rollout::plan(&scan, &BTreeMap::new(), &Cluster::default(), "default");
        let secs = start.elapsed().as_secs_f64();
        assert!(
            scan.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            scan.diagnostics
        );
        println!(
            "{secs:.3} {} {} {}",
            manifests.len(),
            scan.files,
            plan.skipped.len() + plan.rollouts.len()
        );
    }
}
