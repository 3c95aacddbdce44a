//! `get`: read the live state like `oc get is`, `oc describe is`, `oc get istag` and
//! `oc get isimage` through [`crate::ops::get`], and show it as a table or description, YAML
//! or JSON through [`crate::get::render`].

use anyhow::Result;

use crate::cli::{ExitStatus, GetArgs, GetFormat, GetWhat, Printer};
use crate::get::{Found, render};
use crate::ops::{self, Workspace, get::Query};

/// Run `get`.
pub fn run(ws: &Workspace, args: &GetArgs, printer: &Printer) -> Result<ExitStatus> {
    let query = match &args.what {
        GetWhat::Streams => Query::Streams,
        GetWhat::Stream { name } => Query::Stream(name.clone()),
        GetWhat::Tag { name } => Query::Tag(name.clone()),
        GetWhat::Image { name } => Query::Image(name.clone()),
    };
    let format = match args.output {
        GetFormat::Table => render::Format::Table,
        GetFormat::Yaml => render::Format::Yaml,
        GetFormat::Json => render::Format::Json,
    };
    let options = ops::get::Options {
        query,
        objects: format != render::Format::Table,
    };
    let found = ops::get::run(ws, &options)?;
    if let Found::Streams(list) = &found
        && list.streams.is_empty()
        && format == render::Format::Table
    {
        // As `oc get is`: people-talk on stderr, no table at all.
        printer.info("No resources found");
        return Ok(ExitStatus::Success);
    }
    printer.out(&render::show(&found, format, ws.now)?);
    Ok(ExitStatus::Success)
}
