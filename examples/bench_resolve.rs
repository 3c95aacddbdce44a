//! Resolve every tag seeded by `bench_push` through [`RegistryClient::resolve_all`], the way an
//! apply from an empty state (`full`: HEAD, manifest and config of each new digest) or a
//! refresh with nothing moved (`head`: one HEAD per tag) would. Prints one line:
//! `<seconds> <tags ok> <HEAD> <GET>`.
//!
//! `cargo run --example bench_resolve -- 127.0.0.1:5000 10 100 full`

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool's own output

use streamsync::policy::RegistryConfig;
use streamsync::registry::{ImportRequest, RegistryClient, Resolver};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, repos, tags, mode] = args.as_slice() else {
        eprintln!("usage: bench_resolve HOST:PORT REPOS TAGS full|head");
        std::process::exit(1);
    };
    let repos: usize = repos.parse().expect("REPOS is a number");
    let tags: usize = tags.parse().expect("TAGS is a number");
    let config = RegistryConfig {
        insecure_allowed: vec![host.clone()],
        ..RegistryConfig::default()
    };
    let root = std::env::current_dir().expect("cwd");
    let client = RegistryClient::new(&config, &root, None).expect("client");
    let requests: Vec<ImportRequest> = (0..repos)
        .flat_map(|r| (0..tags).map(move |t| (r, t)))
        .map(|(r, t)| ImportRequest {
            pullspec: format!("{host}/bench/app{r}:t{t}"),
            insecure: true,
            import_mode: "Legacy".to_owned(),
            prefer_arch: None,
            prefer_os: None,
            resolve_only: mode == "head",
        })
        .collect();
    let start = std::time::Instant::now();
    let results = client.resolve_all(&requests, &|_| false);
    let secs = start.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!("first failure: {} {}", e.reason.as_str(), e.message);
    }
    let counts = client.request_counts();
    let (head, get) = counts
        .values()
        .fold((0, 0), |(h, g), c| (h + c.head, g + c.get));
    println!("{secs:.3} {ok} {head} {get}");
}
