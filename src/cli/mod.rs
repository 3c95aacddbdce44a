//! The command line: clap structures, the exit-status contract and the one place that turns
//! reports and errors into text on the terminal. Only this module (and `main.rs`) uses clap
//! or writes to the terminal; each command maps its arguments to the options of one
//! operation in [`crate::ops`] and shows the report it returns.

pub mod commands;
pub mod printer;
pub mod progress;
pub mod report;
pub mod settings;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use printer::Printer;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success; with --detailed-exitcode: no changes (or no prune candidates)
  1  error, including invalid definitions and usage errors
  2  changes pending (plan --detailed-exitcode) or candidates found (prune --detailed-exitcode)
  3  incomplete: some registry could not be asked (rate limited, unreachable), or some
     image could not be copied (mirror)";

/// GitOps reconciler for OpenShift ImageStream definitions.
///
/// Reads ImageStream YAML from a Git repository, validates it, plans the difference with the
/// live state, applies it (importing tags from container registries) and recommends pruning of
/// stale dated tags.
#[derive(Debug, Parser)]
#[command(name = "streamsync", version, after_help = EXIT_CODES_HELP, max_term_width = 100)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Repository root (default: the first folder upward holding streamsync.toml, definitions/ or .git).
    #[arg(short = 'C', long = "repo", global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Configuration file (default: <root>/streamsync.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State folder (default: <root>/state).
    #[arg(long, global = true, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Fix "now" for ages and timestamps (tests); also STREAMSYNC_NOW.
    #[arg(long, global = true, hide = true, env = "STREAMSYNC_NOW")]
    pub now: Option<String>,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Which revision of the definitions to read.
#[derive(Debug, Args, Clone, Default)]
pub struct RevArgs {
    /// Read definitions from this Git revision (no checkout) instead of the working tree.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
}

/// Output format of validate.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DiagnosticFormat {
    /// `path:line:column: error: message` lines.
    #[default]
    Text,
    /// A JSON document.
    Json,
    /// GitHub workflow-command annotations.
    Github,
}

/// Output format of plan and prune.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// For people.
    #[default]
    Text,
    /// For machines.
    Json,
    /// For a pull-request comment.
    Markdown,
}

/// Output format of get.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum GetFormat {
    /// A table (or a description for one object).
    #[default]
    Table,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check every definition, policy and the config; report all problems at once.
    Validate(ValidateArgs),
    /// Show what apply would change (offline by default).
    Plan(PlanArgs),
    /// Make the live state match the definitions (or apply a saved plan).
    Apply(ApplyArgs),
    /// The scheduled job: apply, then re-import scheduled tags.
    Sync(SyncArgs),
    /// Import tags from their registries now (`oc import-image`).
    Import(ImportArgs),
    /// Edit tags in the definitions with `oc tag` semantics.
    Tag(TagArgs),
    /// Read the live state.
    Get(GetArgs),
    /// Recommend stale dated tags and history to prune.
    Prune(PruneArgs),
    /// Roll the workload manifests whose image-change triggers name a moved tag (offline).
    Rollout(RolloutArgs),
    /// Write the developer-catalog preview page (one self-contained index.html).
    Catalog(CatalogArgs),
    /// Copy the streams' images to the [mirror] registry, digests preserved.
    Mirror(MirrorArgs),
    /// Re-validate and re-plan whenever definitions or policies change.
    Watch(WatchArgs),
    /// Start a repository (config, example, workflows), or adopt a cluster's streams.
    Init(InitArgs),
    /// Show how a pull spec parses and normalises, as JSON.
    Ref(RefArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

/// `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Revision.
    #[command(flatten)]
    pub rev: RevArgs,
    /// Output format.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = DiagnosticFormat::Text)]
    pub format: DiagnosticFormat,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Revision.
    #[command(flatten)]
    pub rev: RevArgs,
    /// Also ask the registries what new and scheduled tags resolve to now.
    #[arg(long, overrides_with = "no_refresh")]
    pub refresh: bool,
    /// Ask no registry (the default).
    #[arg(long, overrides_with = "refresh")]
    pub no_refresh: bool,
    /// Mark which changes the difference from this base revision introduces.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Save the plan to apply it later with `apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Text: also print the unified diff of each stream's spec (the field list is always shown).
    #[arg(long)]
    pub diff: bool,
    /// Exit 2 when there are changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also delete streams that are in the state but not in the definitions.
    #[arg(long)]
    pub prune: bool,
    /// Registry auth file (docker config.json format).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

/// `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`.
    pub plan_file: Option<PathBuf>,
    /// Revision.
    #[command(flatten)]
    pub rev: RevArgs,
    /// Delete streams that are in the state but not in the definitions.
    #[arg(long)]
    pub prune: bool,
    /// How long to wait for the state lock (e.g. 30s); default: fail at once.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation. It is asked only when standard input and output are both
    /// terminals and `CI` is not set; pipes, scripts and CI never get a prompt.
    #[arg(long)]
    pub auto_approve: bool,
    /// Registry auth file (docker config.json format).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Output format of the report.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// One pass, then exit.
    #[arg(long)]
    pub once: bool,
    /// Time between passes.
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub interval: String,
    /// Commit the state folder after a pass that changed it.
    #[arg(long)]
    pub commit: bool,
    /// Commit author, `NAME <EMAIL>`.
    #[arg(long, value_name = "NAME <EMAIL>")]
    pub author: Option<String>,
    /// Revision.
    #[command(flatten)]
    pub rev: RevArgs,
    /// How long to wait for the state lock.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
    /// Registry auth file (docker config.json format).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Output format of each pass's report (JSON as `apply --format json`, one document a pass).
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `[namespace/]stream[:tag]`.
    pub target: String,
    /// Every upstream tag of the stream's repository.
    #[arg(long)]
    pub all: bool,
    /// Cap for --all.
    #[arg(long, default_value_t = 50)]
    pub max: usize,
    /// The pull spec to import from (creates the stream with --confirm).
    #[arg(long, value_name = "PULLSPEC")]
    pub from: Option<String>,
    /// Create the stream in the definitions (needed only for a new stream, or to change the
    /// repository of `--all`).
    #[arg(long)]
    pub confirm: bool,
    /// Re-import periodically (`importPolicy.scheduled`).
    #[arg(long)]
    pub scheduled: bool,
    /// Allow insecure transport (`importPolicy.insecure`; with `--all`, the stream's
    /// `openshift.io/image.insecureRepository` annotation).
    #[arg(long)]
    pub insecure: bool,
    /// `source` or `local`.
    #[arg(long, value_name = "POLICY")]
    pub reference_policy: Option<String>,
    /// `Legacy` (one platform of an index) or `PreserveOriginal` (the whole index).
    #[arg(long, value_name = "MODE")]
    pub import_mode: Option<String>,
    /// Show what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --from: do not ask for confirmation (asked only when standard input and output
    /// are terminals and `CI` is not set).
    #[arg(long)]
    pub auto_approve: bool,
    /// How long to wait for the state lock.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
    /// Registry auth file (docker config.json format).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

/// `tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE DEST [DEST...], or with -d the tags to delete.
    #[arg(required = true, value_name = "ARG")]
    pub args: Vec<String>,
    /// Delete the given tags.
    #[arg(short = 'd', long = "delete")]
    pub delete: bool,
    /// Source kind: imagestreamtag|istag|imagestreamimage|isimage|docker|dockerimage.
    #[arg(long, value_name = "KIND")]
    pub source: Option<String>,
    /// Track the source tag (same stream only).
    #[arg(long)]
    pub alias: bool,
    /// Record the source without importing.
    #[arg(long)]
    pub reference: bool,
    /// `source` or `local`.
    #[arg(long, value_name = "POLICY")]
    pub reference_policy: Option<String>,
    /// Re-import periodically.
    #[arg(long)]
    pub scheduled: bool,
    /// Allow insecure transport.
    #[arg(long)]
    pub insecure: bool,
    /// `Legacy` (one platform of an index) or `PreserveOriginal` (the whole index).
    #[arg(long, value_name = "MODE")]
    pub import_mode: Option<String>,
    /// Print the diff and the plan it implies, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to get.
    #[command(subcommand)]
    pub what: GetWhat,
    /// Output format.
    #[arg(short = 'o', long = "output", visible_alias = "format", value_enum, default_value_t = GetFormat::Table, global = true)]
    pub output: GetFormat,
}

/// What `get` reads.
#[derive(Debug, Subcommand)]
pub enum GetWhat {
    /// All streams.
    Streams,
    /// One stream, described.
    Stream {
        /// `[namespace/]name`.
        name: String,
    },
    /// One tag.
    Tag {
        /// `[namespace/]stream:tag`.
        name: String,
    },
    /// One image by (short) id: `stream@id` in one stream, or `id` across every stream.
    Image {
        /// `[namespace/]stream@id` or `id` (`sha256:3a33…`, `3a335d7`).
        name: String,
    },
}

/// `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Revision.
    #[command(flatten)]
    pub rev: RevArgs,
    /// Also list kept tags and why.
    #[arg(long)]
    pub explain: bool,
    /// Exit 2 when there are candidates.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Output format.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Remove the candidate tags from the definitions.
    #[arg(long)]
    pub write: bool,
    /// With --write: print the diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// Show what would roll and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Revision.
    #[command(flatten)]
    pub rev: RevArgs,
    /// Folder to write index.html into (default: <root>/catalog).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `json`: print the cards to stdout and write nothing.
    #[arg(long, value_enum, default_value_t = CatalogFormat::Html, conflicts_with = "out")]
    pub format: CatalogFormat,
}

/// Output of catalog.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum CatalogFormat {
    /// Write the page.
    #[default]
    Html,
    /// Print the cards as JSON.
    Json,
}

/// Output format of mirror.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum MirrorFormat {
    /// For people.
    #[default]
    Text,
    /// For machines.
    Json,
}

/// `mirror`.
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Ask the mirror what it has and show what would be copied; copy and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Ask the mirror about every image, also those it was found holding within `[mirror]
    /// verify_interval` (kept in `<state>/mirror.toml`).
    #[arg(long)]
    pub verify: bool,
    /// Output format.
    #[arg(long, short = 'o', visible_alias = "output", value_enum, default_value_t = MirrorFormat::Text)]
    pub format: MirrorFormat,
    /// Registry auth file (docker config.json format).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

/// `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Debounce delay in milliseconds.
    #[arg(long, default_value_t = 100, hide = true)]
    pub debounce_ms: u64,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Namespace of the example stream (`definitions/<NS>/`); with --from, of streams that
    /// name none.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Adopt `oc get is -A -o yaml|json` output (a List or documents; `-`: standard input):
    /// one definition per stream, and the live state seeded from their status.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// GitHub owner of the streamsync repository whose action the workflows use
    /// (`<OWNER>/streamsync/.github/actions/streamsync@v<version>`).
    #[arg(long, value_name = "OWNER")]
    pub action_owner: Option<String>,
}

/// `ref`.
#[derive(Debug, Args)]
pub struct RefArgs {
    /// The pull spec.
    pub pullspec: String,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// The exit statuses of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, no changes.
    Success,
    /// 1: error.
    Failure,
    /// 2: changes pending / candidates found.
    Changes,
    /// 3: incomplete, a registry could not be asked.
    Incomplete,
}

impl ExitStatus {
    /// Exit status of a plan: errors 1, unreachable registries 3, changes 2 when `detailed`
    /// (`--detailed-exitcode`), else 0.
    pub fn of_plan(plan: &crate::plan::Plan, detailed: bool) -> ExitStatus {
        if !plan.errors.is_empty() {
            ExitStatus::Failure
        } else if !plan.unobserved.is_empty() {
            ExitStatus::Incomplete
        } else if detailed && !plan.is_empty() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes => 2,
            ExitStatus::Incomplete => 3,
        })
    }
}

/// Parse the command line, run the command, and return the exit code.
pub fn main() -> ExitCode {
    main_with_version(env!("CARGO_PKG_VERSION"))
}

/// [`main`], with the text `--version` prints after the name (the binary adds the commit and the
/// target it was built from).
pub fn main_with_version(version: &'static str) -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .version(version)
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with 0; usage errors exit 1, never clap's 2,
            // which would read as "changes pending".
            let code = if err.use_stderr() { 1 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let printer = Printer::new(cli.global.color, cli.global.quiet, cli.global.verbose);
    printer::init_tracing(cli.global.verbose, cli.global.quiet);
    match commands::run(cli, &printer) {
        Ok(status) => status.into(),
        Err(err) => {
            printer.error(&err);
            ExitStatus::Failure.into()
        }
    }
}
