//! Seed a registry for `scripts/bench-registry.sh`: `REPOS` repositories `bench/app<i>` with
//! `TAGS` tags each (`t<j>`), every tag a distinct small image (its own config, one shared
//! layer per repository).
//!
//! `cargo run --example bench_push -- 127.0.0.1:5000 10 100`

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool's own output

#[path = "../tests/registry/harness.rs"]
mod harness;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, repos, tags] = args.as_slice() else {
        eprintln!("usage: bench_push HOST:PORT REPOS TAGS");
        std::process::exit(1);
    };
    let repos: usize = repos.parse().expect("REPOS is a number");
    let tags: usize = tags.parse().expect("TAGS is a number");
    let pusher = harness::Pusher::plain(host);
    let start = std::time::Instant::now();
    for r in 0..repos {
        for t in 0..tags {
            let repo = format!("bench/app{r}");
            let tag = format!("t{t}");
            pusher.image(&repo, &tag, "amd64", &format!("{repo}:{tag}"));
        }
    }
    eprintln!(
        "pushed {} images in {:.1} s",
        repos * tags,
        start.elapsed().as_secs_f64()
    );
}
