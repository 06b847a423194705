//! tracing to `PATINA_HOME/logs/patina.log`; never to the terminal (the cockpit owns it).
//!
//! Level from `PATINA_LOG` (an `EnvFilter` directive, default `info`). Logging is best effort: a
//! read-only home must not stop a command from working.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Returns the guard that flushes the writer on drop.
pub fn init() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = crate::paths::logs_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join("patina.log"))
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("PATINA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
