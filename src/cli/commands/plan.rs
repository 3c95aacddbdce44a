//! `plan`: desired vs live, offline unless `--refresh`; text, Markdown or JSON; `--base` marks
//! what a pull request introduces; `--out` saves the plan for `apply FILE`.

use anyhow::{Context as _, Result};

use crate::cli::commands::{load_definitions, refuse_invalid, resolver};
use crate::cli::{Context, ExitStatus, PlanArgs, Printer, ReportFormat, RevArgs};
use crate::error::Hinted;
use crate::model::ImageStream;
use crate::plan::{self, Options, Plan, render};
use crate::reconcile::{self, SavedPlan};
use crate::state::dir::DirState;

/// Run `plan`.
pub fn run(ctx: &Context, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let loaded = load_definitions(ctx, &args.rev)?;
    if let Some(status) = refuse_invalid(&loaded, printer, "no plan was made") {
        return Ok(status);
    }
    let desired: Vec<&ImageStream> = loaded.set.streams().collect();
    let base = match &args.base {
        Some(base) => Some(load_base(ctx, base)?),
        None => None,
    };
    let base_desired: Option<Vec<&ImageStream>> = base.as_ref().map(|b| b.set.streams().collect());
    // Read after the definitions, not at the same time: both parse on every core, so running
    // them together gains little time and costs the sum of both peaks in memory. Knowing the
    // definitions first also lets the state leave unparsed what cannot differ from them.
    let state = DirState::open(&ctx.state_dir)?;
    let snapshot =
        reconcile::load_for_plan(&state, &desired, base_desired.as_deref(), args.refresh)?;
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
    let mut planned = reconcile::plan_snapshot(&desired, snapshot, &state, &options, refresh);
    if let Some(base) = &base_desired {
        let base = reconcile::unskipped(base, &planned.snapshot);
        let base_plan = plan::compute(
            base,
            &planned.snapshot.streams,
            &plan::Observations::default(),
            &options,
        );
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
    note_failed_imports(&planned.snapshot.streams, &desired, printer);
    if let Some(out) = &args.out {
        let saved = SavedPlan::new(&planned, &desired, &options);
        let mut text = serde_json::to_string_pretty(&saved)?;
        text.push('\n');
        fs_err::write(out, text).context("cannot save the plan")?;
        printer.info(&format!(
            "Saved the plan to {}; apply exactly this plan with `streamsync apply {}`.",
            out.display(),
            out.display()
        ));
    }
    let status = status(plan, args.detailed_exitcode);
    // The process ends right after: freeing tens of thousands of small values one by one
    // would only add to the wall time of large plans.
    std::mem::forget(planned);
    std::mem::forget(loaded);
    Ok(status)
}

/// A failed import is not retried by apply (OpenShift's rule: the tag's generation was
/// observed), so say on stderr which tags are failing and how to retry them.
fn note_failed_imports(
    live: &std::collections::BTreeMap<crate::model::StreamKey, ImageStream>,
    desired: &[&ImageStream],
    printer: &Printer,
) {
    let mut failing = Vec::new();
    for stream in desired {
        let Some(live) = live.get(&stream.key()) else {
            continue;
        };
        for tag in &stream.spec.tags {
            let condition = live.status_tag(&tag.name).and_then(|t| {
                t.conditions
                    .iter()
                    .find(|c| c.kind == "ImportSuccess" && c.status == "False")
            });
            if let Some(c) = condition {
                failing.push(format!("{}:{} ({})", stream.key(), tag.name, c.reason));
            }
        }
    }
    if failing.is_empty() {
        return;
    }
    let shown: Vec<&str> = failing.iter().take(3).map(String::as_str).collect();
    let more = failing.len().saturating_sub(shown.len());
    printer.info(&format!(
        "note: {} {} failed {} last import: {}{}; `streamsync import STREAM:TAG` retries, `streamsync get stream NAME` shows why",
        failing.len(),
        crate::diagnostic::plural(failing.len(), "tag", "tags"),
        crate::diagnostic::plural(failing.len(), "its", "their"),
        shown.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() },
    ));
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

/// The definitions at the base revision, which must validate.
fn load_base(ctx: &Context, base: &str) -> Result<crate::definition::Loaded> {
    let loaded = load_definitions(
        ctx,
        &RevArgs {
            rev: Some(base.to_owned()),
        },
    )
    .with_context(|| format!("cannot read the definitions at base `{base}`"))?;
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
    Ok(loaded)
}

/// The offline plan as text (optionally only for some streams), or the validation errors
/// (used by `watch`, `tag` and `prune --write`).
pub fn offline_text(ctx: &Context, only: Option<&[crate::model::StreamKey]>) -> Result<String> {
    let loaded = load_definitions(ctx, &RevArgs::default())?;
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
