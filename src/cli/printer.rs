//! The only writer to the terminal: data to stdout, people-talk to stderr, colour only when
//! asked for or on a terminal without `NO_COLOR`. Everything it writes passes
//! [`escape_terminal`]: text from a registry, a definition or a commit can hold escape
//! sequences, carriage returns, tabs or bells, and none of them reaches the terminal as
//! itself; only the newlines and the colour sequences streamsync writes do.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

use super::ColorChoice;
use crate::util::{defuse_workflow_commands, escape_terminal};

/// Where output goes and how it looks.
#[derive(Debug, Clone)]
pub struct Printer {
    color_stdout: bool,
    color_stderr: bool,
    quiet: bool,
    verbose: u8,
}

impl Printer {
    /// A printer for these global options.
    pub fn new(choice: ColorChoice, quiet: bool, verbose: u8) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (out, err) = match choice {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto if no_color => (false, false),
            ColorChoice::Auto => (
                std::io::stdout().is_terminal(),
                std::io::stderr().is_terminal(),
            ),
        };
        Printer {
            color_stdout: out,
            color_stderr: err,
            quiet,
            verbose,
        }
    }

    /// Whether stdout gets ANSI colour.
    pub fn color_stdout(&self) -> bool {
        self.color_stdout
    }

    /// Whether stderr gets ANSI colour.
    pub fn color_stderr(&self) -> bool {
        self.color_stderr
    }

    /// Whether `-q` was given.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Verbosity level.
    pub fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// Whether stderr is a terminal (progress bars).
    pub fn stderr_is_terminal(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Data: written to stdout with every control character escaped, colour sequences too
    /// (a broken pipe is not an error worth a message).
    pub fn out(&self, text: &str) {
        self.out_raw(&defuse_workflow_commands(&escape_terminal(text, false)));
    }

    /// GitHub workflow commands (`validate --format github`) built by streamsync with every
    /// outside value escaped in them: control characters escaped, the commands kept.
    pub fn out_commands(&self, text: &str) {
        self.out_raw(&escape_terminal(text, false));
    }

    /// Data streamsync coloured itself after escaping every outside value in it (a text
    /// plan): its colour sequences pass when stdout takes colour, nothing else does.
    pub fn out_painted(&self, text: &str) {
        self.out_raw(&defuse_workflow_commands(&escape_terminal(
            text,
            self.color_stdout,
        )));
    }

    /// Text streamsync generated whole, with no outside data in it (a completion script),
    /// written to stdout byte for byte.
    pub fn out_raw(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// Rendered diagnostics (`path:line:col: error: …` lines) on stderr, like a compiler's:
    /// people-talk, shown even with `-q` because they say why the command failed.
    pub fn diagnostics(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ =
            stderr.write_all(defuse_workflow_commands(&escape_terminal(text, false)).as_bytes());
        let _ = stderr.flush();
    }

    /// A status line on stderr, silenced by `-q`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            eprintln!(
                "{}",
                defuse_workflow_commands(&escape_terminal(text, false))
            );
        }
    }

    /// A warning on stderr (also shown with `-q`? no: quiet means errors only).
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!(
                "{}: {}",
                self.paint_err("warning", "33"),
                escape_terminal(text, false)
            );
        }
    }

    /// Ask a person at the terminal: `question` on stderr, the answer line from stdin.
    pub fn ask(&self, question: &str) -> std::io::Result<String> {
        use std::io::BufRead;
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(question.as_bytes())?;
        stderr.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer)
    }

    /// `error: …`, `caused by: …` lines, then `hint: …`.
    pub fn error(&self, err: &anyhow::Error) {
        // Messages may quote outside text: escaped whole, colour sequences too; only the
        // labels are painted.
        let safe = |t: &dyn std::fmt::Display| escape_terminal(&t.to_string(), false).into_owned();
        let mut text = format!("{}: {}\n", self.paint_err("error", "1;31"), safe(err));
        let hint = crate::error::hint_of(err);
        for cause in err.chain().skip(1) {
            text.push_str(&format!("  caused by: {}\n", safe(cause)));
        }
        if let Some(h) = hint {
            text.push_str(&format!(
                "  {}: {}\n",
                self.paint_err("hint", "36"),
                safe(&h)
            ));
        }
        eprint!("{}", defuse_workflow_commands(&text));
    }

    fn paint_err(&self, text: &str, code: &str) -> String {
        paint(self.color_stderr, text, code)
    }
}

/// `text` in ANSI colour `code` when `on`.
pub fn paint(on: bool, text: &str, code: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Logs go to stderr; `RUST_LOG` wins over `-v`.
pub fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "streamsync=info",
        (false, 2) => "streamsync=debug",
        _ => "streamsync=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
