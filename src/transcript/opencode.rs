//! opencode: not read. Its storage is undocumented (the docs describe commands, plugins and
//! config, not the data dir); the source shows a JSON tree `storage/` before v1.2.0 and a SQLite
//! database `opencode.db` since, whose schema keeps changing (a `session_v2` table in 2.x). Rather
//! than guess, patina notes that opencode data exists and moves on (docs/transcripts.md).

use std::path::Path;

use super::model::{Found, Scope};

pub(crate) const AGENT: &str = "opencode";

pub(crate) fn read(data_dir: &Path, _scope: &Scope) -> Found {
    let mut found = Found::default();
    if data_dir.join("opencode.db").exists() || data_dir.join("storage").is_dir() {
        found.notes.push(format!(
            "opencode: data found in {} but not read (its storage format is undocumented; see docs/transcripts.md)",
            data_dir.display()
        ));
    }
    found
}
