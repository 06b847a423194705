//! Typed domain errors: what went wrong, as a kind a caller can act on.
//!
//! The domain returns `anyhow::Result` as before and raises an [`Error`] where the kind matters
//! (`Err(Error::not_found("no belief `x`").into())`); context added on the way up keeps the kind,
//! because [`kind_of`] looks through the whole chain. The edges translate a kind, never a
//! message: `output.rs` to an exit code, the daemon's router to an HTTP status. Nothing in this
//! module knows either, so the domain stays free of CLI and HTTP types.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What kind of failure an error is. The wire and `--json` name it in `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad flags or arguments: the caller asked for something that cannot mean anything.
    Usage,
    /// The directory is not inside a patina project or a git work tree.
    NotInProject,
    /// The named session, belief, secret, goal or file does not exist.
    NotFound,
    /// The state forbids it (a session is already active, or none is; the id exists).
    Conflict,
    /// The resource is locked (a vault whose secrets are not unlocked in the daemon).
    Locked,
    /// A value is invalid: a field of a request or a file (config, belief), named with the file.
    InvalidInput,
    /// A person or a permission refused it (a secret release refused in the cockpit, a request
    /// without the token).
    Denied,
    /// A needed service is missing (daemon, model, identity, a tool such as ssh).
    Unavailable,
    /// The file system or another process failed under us (not the caller's mistake).
    Io,
    /// A bug or an unexpected state of patina itself.
    Internal,
}

impl ErrorKind {
    /// Every kind, for tables and tests.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Usage,
        ErrorKind::NotInProject,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Locked,
        ErrorKind::InvalidInput,
        ErrorKind::Denied,
        ErrorKind::Unavailable,
        ErrorKind::Io,
        ErrorKind::Internal,
    ];

    /// The `snake_case` name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::NotInProject => "not_in_project",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Locked => "locked",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Denied => "denied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }

    /// True for the kinds that are the caller's to fix (never a server-side failure).
    pub fn is_caller_error(self) -> bool {
        !matches!(
            self,
            ErrorKind::Io | ErrorKind::Internal | ErrorKind::Unavailable
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a kind, a message, and for invalid input the file and field it is about.
///
/// Display is `FILE: FIELD: message` with the parts that are set, so the message itself should
/// not repeat the file or field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    file: Option<PathBuf>,
    field: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            file: None,
            field: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn not_in_project(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotInProject, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn locked(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Locked, message)
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Denied, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The file the error is about (a config file, a belief).
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The field the error is about (`secrets.confirm`, `statement`).
    pub fn at_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message without the file and field prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The first typed [`Error`] in `err`'s chain (outermost first), if any.
pub fn find(err: &anyhow::Error) -> Option<&Error> {
    err.chain().find_map(|cause| cause.downcast_ref::<Error>())
}

/// The kind of any error: the first typed [`Error`] in its chain decides; otherwise an
/// `std::io::Error` anywhere in the chain makes it [`ErrorKind::Io`], and anything else is
/// [`ErrorKind::Internal`].
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    if let Some(e) = find(err) {
        return e.kind;
    }
    if err.chain().any(|c| c.is::<std::io::Error>()) {
        ErrorKind::Io
    } else {
        ErrorKind::Internal
    }
}

/// True when `err` is a typed error of `kind` (anywhere in its chain).
pub fn is(err: &anyhow::Error, kind: ErrorKind) -> bool {
    find(err).is_some_and(|e| e.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn kind_survives_context() {
        let e: anyhow::Error = Error::not_found("no belief `x`").into();
        let e = Err::<(), _>(e)
            .context("loading beliefs")
            .context("belief show")
            .unwrap_err();
        assert_eq!(kind_of(&e), ErrorKind::NotFound);
        assert_eq!(
            format!("{e:#}"),
            "belief show: loading beliefs: no belief `x`"
        );

        let std: Result<(), Error> = Err(Error::conflict("taken"));
        let e = std.context("adding").unwrap_err();
        assert_eq!(kind_of(&e), ErrorKind::Conflict);
        assert!(is(&e, ErrorKind::Conflict));
    }

    #[test]
    fn untyped_errors_are_io_or_internal() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Err::<(), _>(io).context("reading x").unwrap_err();
        assert_eq!(kind_of(&e), ErrorKind::Io);
        assert_eq!(kind_of(&anyhow::anyhow!("odd")), ErrorKind::Internal);
    }

    #[test]
    fn display_names_file_and_field() {
        let e = Error::invalid_input("unknown value \"alwayz\" (expected never, first, always)")
            .in_file("/x/config.toml")
            .at_field("secrets.confirm");
        assert_eq!(
            e.to_string(),
            "/x/config.toml: secrets.confirm: unknown value \"alwayz\" (expected never, first, always)"
        );
        assert_eq!(e.field(), Some("secrets.confirm"));
    }

    #[test]
    fn names_are_the_serde_names() {
        for k in ErrorKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<ErrorKind>(&json).unwrap(), k);
        }
    }
}
