//! How commands talk back: human text or JSON on stdout, errors with meaningful exit codes.
//!
//! Exit codes (documented in docs/json.md):
//! 0 ok · 1 error · 2 usage (clap) · 3 state conflict (e.g. a session is already active, or none
//! is) · 4 not found · 5 a needed service is unavailable (daemon, model, identity).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

/// Per-invocation context handed to every command.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Print JSON instead of human text.
    pub json: bool,
    /// The directory the command was run from (never changed by patina).
    pub cwd: PathBuf,
}

impl Ctx {
    /// Print `value` as JSON (with `--json`) or as the human text `human` renders.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = serde_json::to_writer_pretty(&mut out, value);
            let _ = writeln!(out);
        } else {
            let text = human(value);
            if !text.is_empty() {
                let _ = write!(out, "{text}");
                if !text.ends_with('\n') {
                    let _ = writeln!(out);
                }
            }
        }
    }

    /// A one-line notice on stderr (never stdout, which belongs to the command's answer).
    pub fn notice(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// Exit code classes; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitKind {
    Error,
    Usage,
    Conflict,
    NotFound,
    Unavailable,
}

impl ExitKind {
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Error => 1,
            ExitKind::Usage => 2,
            ExitKind::Conflict => 3,
            ExitKind::NotFound => 4,
            ExitKind::Unavailable => 5,
        }
    }
}

/// An error that carries its exit code. Anything else that reaches `main` exits 1.
#[derive(Debug)]
pub struct CmdError {
    pub kind: ExitKind,
    pub message: String,
}

impl CmdError {
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        CmdError {
            kind,
            message: message.into(),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Conflict, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ExitKind::NotFound, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Unavailable, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Usage, message)
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CmdError {}

/// A command's failure exits with a non-zero status without any message: used when the command
/// already printed its findings (e.g. `belief check` exits 1 after listing problems).
#[derive(Debug)]
pub struct SilentExit(pub u8);

impl fmt::Display for SilentExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for SilentExit {}

/// Report `err` (human on stderr, or `{"error":..}` JSON on stdout with `--json`) and return
/// the process exit code.
pub fn report(err: &anyhow::Error, json: bool) -> u8 {
    if let Some(SilentExit(code)) = err.downcast_ref::<SilentExit>() {
        return *code;
    }
    let (kind, code) = match err.downcast_ref::<CmdError>() {
        Some(e) => (e.kind, e.kind.code()),
        None => (ExitKind::Error, 1),
    };
    // `{:#}` prints the whole context chain on one line: "reading X: permission denied".
    let message = format!("{err:#}");
    if json {
        #[derive(Serialize)]
        struct ErrorJson<'a> {
            error: &'a str,
            kind: ExitKind,
            exit_code: u8,
        }
        let body = ErrorJson {
            error: &message,
            kind,
            exit_code: code,
        };
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &body);
        let _ = writeln!(out);
    } else {
        eprintln!("error: {message}");
    }
    code
}
