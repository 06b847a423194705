//! How commands talk back: human text or JSON on stdout, errors with meaningful exit codes.
//!
//! Exit codes come from the error's kind ([`exit_code`], table in docs/json.md): 0 ok · 1 io or
//! internal · 2 usage or invalid input · 3 conflict · 4 not found · 5 unavailable · 6 not in a
//! project · 7 locked · 8 denied.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{self, ErrorKind};

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
            // Rendered whole, then written at once: stdout is line-buffered, and pretty JSON
            // written straight to it cost one write(2) per line (hundreds for a scry answer).
            let mut text = serde_json::to_vec_pretty(value).unwrap_or_default();
            text.push(b'\n');
            let _ = out.write_all(&text);
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

/// The exit code of an error kind (docs/json.md). Codes 1-5 are as they were before kinds
/// existed; invalid input shares 2 with usage (a wrong value is a wrong argument, and config
/// errors exit 2), the JSON `kind` tells them apart.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Io | ErrorKind::Internal => 1,
        ErrorKind::Usage | ErrorKind::InvalidInput => 2,
        ErrorKind::Conflict => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Unavailable => 5,
        ErrorKind::NotInProject => 6,
        ErrorKind::Locked => 7,
        ErrorKind::Denied => 8,
    }
}

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

/// Report `err` (human on stderr, or the JSON error shape on stdout with `--json`) and return
/// the process exit code.
pub fn report(err: &anyhow::Error, json: bool) -> u8 {
    if let Some(SilentExit(code)) = err.downcast_ref::<SilentExit>() {
        return *code;
    }
    let kind = error::kind_of(err);
    let typed = error::find(err);
    // `{:#}` prints the whole context chain on one line: "reading X: permission denied".
    print_error(
        &format!("{err:#}"),
        kind,
        typed.and_then(|e| e.file()),
        typed.and_then(|e| e.field()),
        json,
    )
}

/// Print one error in the shape of docs/json.md and return its exit code. Also used for clap's
/// own errors, which never reach [`report`].
pub fn print_error(
    message: &str,
    kind: ErrorKind,
    file: Option<&Path>,
    field: Option<&str>,
    json: bool,
) -> u8 {
    let code = exit_code(kind);
    if json {
        #[derive(Serialize)]
        struct ErrorJson<'a> {
            error: &'a str,
            kind: ErrorKind,
            exit_code: u8,
            #[serde(skip_serializing_if = "Option::is_none")]
            file: Option<&'a Path>,
            #[serde(skip_serializing_if = "Option::is_none")]
            field: Option<&'a str>,
        }
        let body = ErrorJson {
            error: message,
            kind,
            exit_code: code,
            file,
            field,
        };
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &body);
        let _ = writeln!(out);
    } else {
        eprintln!("error: {message}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_stable_and_distinct_where_they_must_be() {
        let table: Vec<(ErrorKind, u8)> =
            ErrorKind::ALL.iter().map(|&k| (k, exit_code(k))).collect();
        assert_eq!(
            table,
            vec![
                (ErrorKind::Usage, 2),
                (ErrorKind::NotInProject, 6),
                (ErrorKind::NotFound, 4),
                (ErrorKind::Conflict, 3),
                (ErrorKind::Locked, 7),
                (ErrorKind::InvalidInput, 2),
                (ErrorKind::Denied, 8),
                (ErrorKind::Unavailable, 5),
                (ErrorKind::Io, 1),
                (ErrorKind::Internal, 1),
            ]
        );
    }
}
