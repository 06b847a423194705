//! `patina init`: lay out a project without ever overwriting what the user has.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::Project;
use crate::store;

/// What `init` did, for the human and JSON output.
#[derive(Debug, Serialize)]
pub struct InitReport {
    pub root: PathBuf,
    pub sessions_dir: PathBuf,
    /// Paths created by this run (relative to the root).
    pub created: Vec<String>,
    /// Paths that already existed and were left untouched.
    pub kept: Vec<String>,
}

const GITIGNORE_LINE: &str = ".patina/local/";

/// Initialise the project that `cwd` belongs to. Idempotent.
pub fn init(cwd: &Path, llm: Option<&str>) -> Result<InitReport> {
    let root = super::find_root(cwd)?;
    let mut report = InitReport {
        root: root.clone(),
        sessions_dir: PathBuf::new(),
        created: vec![],
        kept: vec![],
    };
    // Archive dir: keep patina 0.11's `layer/sessions/` when the repo already uses it.
    let sessions_rel = if root.join("layer").join("sessions").is_dir() {
        "layer/sessions"
    } else {
        "sessions"
    };
    let config_path = root.join(".patina").join("config.toml");
    if config_path.exists() {
        record_legacy_llm(&config_path, llm)?;
        report.kept.push(".patina/config.toml".into());
    } else {
        let llm = llm.unwrap_or("claude");
        let text = format!(
            "# patina project configuration (tracked in git).\n\
             [project]\n\
             llm = \"{llm}\"\n\
             sessions_dir = \"{sessions_rel}\"\n\
             \n\
             [session]\n\
             # hours without activity after which an active session counts as stale\n\
             stale_hours = 8\n\
             \n\
             [scry]\n\
             # globs (gitignore syntax) added to or removed from the indexed source files\n\
             include = []\n\
             exclude = []\n"
        );
        store::atomic_write(&config_path, text.as_bytes(), 0o644)?;
        report.created.push(".patina/config.toml".into());
    }
    for rel in [
        "layer/core",
        "layer/surface/epistemic/beliefs",
        sessions_rel,
        ".patina/local",
    ] {
        let dir = root.join(rel);
        if dir.is_dir() {
            report.kept.push(rel.into());
        } else {
            // Explicit modes, never the umask's: .patina/local 0700, the rest 0755.
            crate::store::create_dirs(&dir)?;
            report.created.push(rel.into());
        }
    }
    ensure_gitignored(&root, &mut report)?;
    let project = Project::open(&root)?;
    report.sessions_dir = project.sessions_dir();
    Ok(report)
}

/// A project configured by an older patina names its agent in `[interfaces] default` or
/// `[adapters] default`; record the value found (or `--llm`) as `[project] llm`, the key this
/// version reads first, keeping the rest of the file (comments included) as it is.
fn record_legacy_llm(config_path: &Path, llm: Option<&str>) -> Result<()> {
    let config = super::config::ProjectConfig::load(config_path)?;
    let found = match config.llm_with_source() {
        Some(("project.llm", _)) => return Ok(()),
        Some((_, v)) => v.to_string(),
        None => return Ok(()),
    };
    let value = llm.map(str::to_string).unwrap_or(found);
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{}: invalid TOML", config_path.display()))?;
    let project = doc
        .entry("project")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let Some(table) = project.as_table_like_mut() else {
        return Err(crate::error::Error::invalid_input("must be a table")
            .in_file(config_path)
            .at_field("project")
            .into());
    };
    table.insert("llm", toml_edit::value(value));
    store::atomic_write(config_path, doc.to_string().as_bytes(), 0o644)
}

fn ensure_gitignored(root: &Path, report: &mut InitReport) -> Result<()> {
    let path = root.join(".gitignore");
    let current = match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let already = current.as_deref().is_some_and(|s| {
        s.lines()
            .map(str::trim)
            .any(|l| l == GITIGNORE_LINE || l == "/.patina/local/" || l == ".patina/local")
    });
    if already {
        report.kept.push(".gitignore".into());
        return Ok(());
    }
    let mut next = current.clone().unwrap_or_default();
    if !next.is_empty() && !next.ends_with('\n') {
        next.push('\n');
    }
    next.push_str(GITIGNORE_LINE);
    next.push('\n');
    store::atomic_write(&path, next.as_bytes(), 0o644)?;
    report.created.push(if current.is_some() {
        ".gitignore (added .patina/local/)".into()
    } else {
        ".gitignore".into()
    });
    Ok(())
}
