//! `plan`: desired vs live, offline unless `--refresh`; text, Markdown or JSON; `--base` marks
//! what a pull request introduces; `--out` saves the plan for `apply FILE`.

use anyhow::{Context as _, Result};

use crate::cli::commands::{load_definitions, refuse_invalid, resolver};
use crate::cli::{Context, ExitStatus, PlanArgs, Printer, ReportFormat, RevArgs};
use crate::error::Hinted;
use crate::model::ImageStream;
use crate::plan::{self, Options, Plan, render};
use crate::reconcile::{self, SavedPlan};
use crate::state::LiveState;
use crate::state::dir::DirState;

/// Run `plan`.
pub fn run(ctx: &Context, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let loaded = load_definitions(ctx, &args.rev)?;
    if let Some(status) = refuse_invalid(&loaded, printer, "no plan was made") {
        return Ok(status);
    }
    // Read one after the other, not at the same time: both parse on every core, so running
    // them together gains little time and costs the sum of both peaks in memory.
    let state = DirState::open(&ctx.state_dir)?;
    let snapshot = state.load()?;
    let config = ctx.load_config().unwrap_or_default();
    let options = Options {
        prune: args.prune || config.apply.prune_streams,
    };
    // Only a refresh asks registries, so only a refresh builds the client.
    let registry = if args.refresh {
        Some(resolver(ctx, &config, args.registry_config.as_deref())?)
    } else {
        None
    };
    let refresh = registry
        .as_ref()
        .map(|r| &r.client as &dyn crate::registry::Resolver);
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    let mut planned = reconcile::plan_snapshot(&desired, snapshot, &state, &options, refresh);
    if let Some(base) = &args.base {
        let base_plan = plan_base(ctx, base, &planned, &options)?;
        planned.plan.mark_introduced(&base_plan);
    }
    if let Some(registry) = &registry {
        let counts = crate::registry::Resolver::request_counts(&registry.client);
        let total: u64 = counts.values().map(|c| c.head + c.get).sum();
        printer.info(&format!(
            "refreshed from {} {} in {:.1} s, {total} {}",
            counts.len(),
            crate::diagnostic::plural(counts.len(), "registry", "registries"),
            registry.started.elapsed().as_secs_f64(),
            crate::diagnostic::plural(total as usize, "request", "requests"),
        ));
    }
    let plan = &planned.plan;
    match args.format {
        ReportFormat::Text => printer.out(&render::text(plan, printer.color_stdout())),
        ReportFormat::Markdown => printer.out(&render::markdown(plan)),
        ReportFormat::Json => printer.out(&render::json(plan)),
    }
    if let Some(out) = &args.out {
        let mut saved = SavedPlan::new(&planned, &desired, &options);
        saved.inputs_digest = super::inputs_digest(ctx, &desired, &options);
        saved.rev = args.rev.rev.clone();
        let mut text = serde_json::to_string_pretty(&saved)?;
        text.push('\n');
        fs_err::write(out, text).context("cannot save the plan")?;
        printer.info(&format!(
            "Saved the plan to {}; apply exactly this plan with `streamsync apply {}`.",
            out.display(),
            out.display()
        ));
    }
    Ok(status(plan, args.detailed_exitcode))
}

/// Exit status of a plan: errors 1, unreachable registries 3, changes 2 with
/// `--detailed-exitcode`, else 0.
pub fn status(plan: &Plan, detailed: bool) -> ExitStatus {
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

/// The plan the base revision's definitions would give against the same live state.
fn plan_base(
    ctx: &Context,
    base: &str,
    head: &reconcile::Planned,
    options: &Options,
) -> Result<Plan> {
    let rev = RevArgs {
        rev: Some(base.to_owned()),
    };
    let loaded = match super::load_source(ctx, &rev) {
        Ok(loaded) => loaded,
        // A base before the first definition (the pull request adding them): everything
        // the head plans is introduced by it.
        Err(crate::definition::SourceError::MissingDir { .. }) => Default::default(),
        Err(e) => {
            return Err(super::source_error(ctx, e))
                .with_context(|| format!("cannot read the definitions at base `{base}`"));
        }
    };
    if loaded.has_errors() {
        return Err(Hinted::new(
            format!(
                "the definitions at base `{base}` do not validate ({})",
                crate::diagnostic::summary(&loaded.diagnostics, loaded.files)
            ),
            format!("run `streamsync validate --rev {base}` to see the problems"),
        )
        .into());
    }
    Ok(plan::compute(
        loaded.set.streams(),
        &head.snapshot.streams,
        &plan::Observations::default(),
        options,
    ))
}

/// The offline plan as text (optionally only for some streams), or the validation errors
/// (used by `watch`, `tag` and `prune --write`).
pub fn offline_text(ctx: &Context, only: Option<&[crate::model::StreamKey]>) -> Result<String> {
    let loaded = load_definitions(ctx, &RevArgs::default())?;
    offline_text_of(ctx, &loaded, only)
}

/// [`offline_text`] of definitions already loaded, e.g. an edit not written yet (`--dry-run`).
pub fn offline_text_of(
    ctx: &Context,
    loaded: &crate::definition::Loaded,
    only: Option<&[crate::model::StreamKey]>,
) -> Result<String> {
    if loaded.has_errors() {
        return Ok(crate::diagnostic::render_text(&loaded.diagnostics));
    }
    let config = ctx.load_config().unwrap_or_default();
    let options = Options {
        prune: config.apply.prune_streams,
    };
    let state = DirState::open(&ctx.state_dir)?;
    let desired: Vec<&ImageStream> = loaded
        .set
        .streams()
        .filter(|s| only.is_none_or(|keys| keys.contains(&s.key())))
        .collect();
    let mut planned = reconcile::plan(&desired, &state, &options, None)?;
    if let Some(keys) = only {
        let plan = &mut planned.plan;
        plan.changes.retain(|c| keys.contains(&c.key()));
        plan.diffs.retain(|k, _| keys.contains(k));
        plan.unmanaged.clear();
    }
    Ok(render::text(&planned.plan, false))
}
