//! tracing to `PATINA_HOME/logs/patina.log`; never to the terminal (the cockpit owns it).
//!
//! Level from `PATINA_LOG` (an `EnvFilter` directive, default `info`). Logging is best effort: a
//! read-only home must not stop a command from working. The file is private from the first
//! byte: `logs/` is 0700 ([`store::private_dir`]) and the file is opened with `O_NOFOLLOW`,
//! 0600, and only when it is a regular file of ours with one link ([`store::open_private_append`]),
//! so a symlink or hard link planted at `logs/patina.log` never redirects our writes.
//!
//! Events are written synchronously, one `write(2)` per event on the `O_APPEND` file: no
//! background thread and no channel. `tracing_appender::non_blocking` cost every command a thread
//! plus a 128 000-slot channel allocated up front (≈ 5 % of the samples of a `session update` in
//! perf, page faults mostly), for a log that a CLI command writes a few lines to at most.

use tracing_subscriber::EnvFilter;

use crate::store;

/// Install the global subscriber (nothing to flush later: every event is written as it happens).
pub fn init() {
    let dir = crate::paths::logs_dir();
    let opened =
        store::private_dir(&dir).and_then(|()| store::open_private_append(&dir.join("patina.log")));
    let file = match opened {
        Ok(f) => f,
        Err(e) => {
            // Refused for safety (symlink, someone else's file): say so once; an unwritable home
            // (read-only, missing) stays silent as before.
            let msg = format!("{e:#}");
            if msg.contains("refusing") {
                eprintln!("patina: not logging: {msg}");
            }
            return;
        }
    };
    let filter = EnvFilter::try_from_env("PATINA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // `fmt` formats an event into a buffer and hands it to the writer in one `write_all`.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
}
