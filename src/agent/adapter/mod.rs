//! Adapters: what teaches a coding agent to use patina — its commands or skills, the MCP server
//! registration, an instruction block in its instructions file, and hooks reporting busy /
//! waiting / idle (docs/agents.md lists every file with the source of its format).
//!
//! Every edit keeps the user's content (JSONC comments included), is validated before anything
//! is written, and is all-or-nothing: the changes are computed for every file first, then
//! written; a failed write restores the files already written. What each file looked like
//! before is recorded in `.patina/local/adapters/<agent>.json` (0600: settings may hold
//! secrets), so `uninstall` gives back exactly the bytes that were there — or, for a file the
//! user changed since, takes out only patina's pieces.

mod content;
mod edit;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::store;
use edit::Piece;

/// Agents patina has adapters for.
pub const AGENTS: &[&str] = &["claude", "codex", "gemini", "opencode"];

/// How to install.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallOptions {
    /// Replace command files that differ from patina's.
    pub force: bool,
    /// Hooks (and Codex's MCP registration) into the project's committed files instead of the
    /// per-user ones.
    pub shared: bool,
}

/// What `install` / `uninstall` did to each file.
#[derive(Debug, Clone, Serialize)]
pub struct InstallReport {
    pub agent: String,
    pub root: PathBuf,
    pub shared: bool,
    pub files: Vec<FileAction>,
    /// What the person still has to do or know.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileAction {
    /// Relative to the project root, or `~/…` for a per-user file.
    pub path: String,
    /// install: `created`, `updated`, `unchanged`, `kept` (an edited command file; --force
    /// replaces it). uninstall: `restored` (the bytes from before install), `removed` (patina
    /// created it), `cleaned` (patina's parts taken out, your later edits kept), `kept`, `absent`.
    pub action: String,
    /// What patina puts there: `command`, `mcp`, `instructions`, `hooks`, `ignore`.
    pub role: String,
}

/// `adapter status`: per file, whether patina's part is there.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterStatus {
    pub agent: String,
    /// Every file is in place.
    pub installed: bool,
    /// Recorded by an install from this project (`.patina/local/adapters/<agent>.json`).
    pub recorded: bool,
    pub shared: bool,
    /// `patina` is found on PATH (hooks and the MCP registration call it by name).
    pub patina_on_path: bool,
    pub files: Vec<FileStatus>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    pub path: String,
    pub role: String,
    /// `present`, `missing`, `differs` (a command file you edited).
    pub state: String,
}

/// One file and what patina puts into it.
struct Target {
    path: PathBuf,
    display: String,
    role: &'static str,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    agent: String,
    shared: bool,
    entries: Vec<Entry>,
    /// Directories the install created (removed again when empty).
    #[serde(default)]
    created_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    /// The file's text before patina first changed it (`None`: it did not exist).
    before: Option<String>,
    /// SHA-256 of what patina left there.
    after_sha256: String,
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn check_agent(agent: &str) -> Result<()> {
    if AGENTS.contains(&agent) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "unknown agent {agent:?} (known: {})",
            AGENTS.join(", ")
        ))
        .into())
    }
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The agents' per-user directories, honouring their own override variables.
fn codex_home() -> PathBuf {
    env_dir("CODEX_HOME").unwrap_or_else(|| crate::paths::home_dir().join(".codex"))
}
fn gemini_home() -> PathBuf {
    env_dir("GEMINI_CLI_HOME")
        .unwrap_or_else(crate::paths::home_dir)
        .join(".gemini")
}
fn opencode_config() -> PathBuf {
    env_dir("OPENCODE_CONFIG_DIR").unwrap_or_else(|| {
        env_dir("XDG_CONFIG_HOME")
            .unwrap_or_else(|| crate::paths::home_dir().join(".config"))
            .join("opencode")
    })
}

fn display(root: &Path, p: &Path) -> String {
    if let Ok(r) = p.strip_prefix(root) {
        return r.display().to_string();
    }
    let home = crate::paths::home_dir();
    match p.strip_prefix(&home) {
        Ok(r) => format!("~/{}", r.display()),
        Err(_) => p.display().to_string(),
    }
}

fn mcp_json_value() -> serde_json::Value {
    json!({"command": "patina", "args": ["mcp"]})
}

fn hooks_piece(agent: &str) -> Piece {
    Piece::JsonHooks(
        content::hook_events(agent)
            .iter()
            .map(|(event, state)| (*event, content::hook_group(agent, state)))
            .collect(),
    )
}

/// Every file of `agent`'s adapter for the project at `root`.
fn targets(root: &Path, agent: &str, shared: bool) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    let mut add = |path: PathBuf, role: &'static str, piece: Piece| {
        if let Some(t) = out.iter_mut().find(|t| t.path == path) {
            t.pieces.push(piece);
        } else {
            out.push(Target {
                display: display(root, &path),
                path,
                role,
                pieces: vec![piece],
            });
        }
    };
    for c in content::COMMANDS {
        let (rel, text) = match agent {
            "claude" => (
                format!(".claude/commands/{}.md", c.name),
                content::claude_command(c),
            ),
            "codex" => (
                format!(".agents/skills/patina-{}/SKILL.md", c.name),
                content::codex_skill(c),
            ),
            "gemini" => (
                format!(".gemini/commands/{}.toml", c.name),
                content::gemini_command(c),
            ),
            _ => (
                format!(".opencode/commands/{}.md", c.name),
                content::opencode_command(c),
            ),
        };
        add(root.join(rel), "command", Piece::Whole(text));
    }
    match agent {
        "claude" => {
            add(
                root.join(".mcp.json"),
                "mcp",
                Piece::JsonEntry {
                    container: vec!["mcpServers"],
                    name: "patina",
                    value: mcp_json_value(),
                },
            );
            add(
                root.join("CLAUDE.md"),
                "instructions",
                Piece::Block(content::instruction_block(
                    "/session-start, /session-update, /session-note, /session-end, /belief",
                )),
            );
            let settings = if shared {
                "settings.json"
            } else {
                "settings.local.json"
            };
            add(
                root.join(".claude").join(settings),
                "hooks",
                hooks_piece(agent),
            );
        }
        "codex" => {
            let dir = if shared {
                root.join(".codex")
            } else {
                codex_home()
            };
            let mut server = toml::Table::new();
            server.insert("command".into(), "patina".into());
            server.insert("args".into(), toml::Value::Array(vec!["mcp".into()]));
            add(
                dir.join("config.toml"),
                "mcp",
                Piece::TomlTable {
                    table: "mcp_servers",
                    name: "patina",
                    value: server,
                },
            );
            add(
                root.join("AGENTS.md"),
                "instructions",
                Piece::Block(content::instruction_block(
                    "the skills $patina-session-start, $patina-session-update, $patina-session-note, $patina-session-end, $patina-belief",
                )),
            );
            add(dir.join("hooks.json"), "hooks", hooks_piece(agent));
        }
        "gemini" => {
            add(
                root.join(".gemini/settings.json"),
                "mcp",
                Piece::JsonEntry {
                    container: vec!["mcpServers"],
                    name: "patina",
                    value: mcp_json_value(),
                },
            );
            add(
                root.join("GEMINI.md"),
                "instructions",
                Piece::Block(content::instruction_block(
                    "/session-start, /session-update, /session-note, /session-end, /belief",
                )),
            );
            let hooks = if shared {
                root.join(".gemini/settings.json")
            } else {
                gemini_home().join("settings.json")
            };
            add(hooks, "hooks", hooks_piece(agent));
        }
        _ => {
            let config = if root.join("opencode.jsonc").is_file() {
                root.join("opencode.jsonc")
            } else {
                root.join("opencode.json")
            };
            add(
                config,
                "mcp",
                Piece::JsonEntry {
                    container: vec!["mcp"],
                    name: "patina",
                    value: json!({"type": "local", "command": ["patina", "mcp"], "enabled": true}),
                },
            );
            add(
                root.join("AGENTS.md"),
                "instructions",
                Piece::Block(content::instruction_block(
                    "/session-start, /session-update, /session-note, /session-end, /belief",
                )),
            );
            let dir = if shared {
                root.join(".opencode/plugins")
            } else {
                opencode_config().join("plugins")
            };
            add(
                dir.join("patina.js"),
                "hooks",
                Piece::Whole(content::OPENCODE_PLUGIN.to_string()),
            );
        }
    }
    // Claude's per-user settings file lives in the project: keep it out of git.
    if agent == "claude" && !shared {
        let rel = ".claude/settings.local.json";
        if let Some(exclude) = crate::git::info_exclude_needed(root, rel) {
            add(exclude, "ignore", Piece::Line(rel.to_string()));
        }
    }
    out
}

fn manifest_path(root: &Path, agent: &str) -> PathBuf {
    root.join(".patina/local/adapters")
        .join(format!("{agent}.json"))
}

fn load_manifest(root: &Path, agent: &str) -> Result<Option<Manifest>> {
    let path = manifest_path(root, agent);
    match std::fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .with_context(|| format!("{}: unreadable adapter record", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_manifest(root: &Path, m: &Manifest) -> Result<()> {
    let path = manifest_path(root, &m.agent);
    if m.entries.is_empty() && m.created_dirs.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    }
    let text = serde_json::to_string_pretty(m)? + "\n";
    store::atomic_write(&path, text.as_bytes(), store::PRIVATE_FILE)
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            anyhow!(
                "{}: not UTF-8 text; patina will not edit it",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644)
}

/// One planned write: the file's text now and what it becomes (`None`: removed).
struct Change {
    path: PathBuf,
    before: Option<String>,
    after: Option<String>,
}

/// Write every change, or none: a failure restores what was already written.
fn commit(changes: &[Change]) -> Result<Vec<PathBuf>> {
    let mut created_dirs = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        if c.after.is_some() {
            let mut missing = Vec::new();
            let mut d = c.path.parent();
            while let Some(dir) = d {
                if dir.exists() {
                    break;
                }
                missing.push(dir.to_path_buf());
                d = dir.parent();
            }
            created_dirs.extend(missing.into_iter().rev());
        }
        if let Err(e) = write_one(&c.path, c.after.as_deref()) {
            for done in changes[..i].iter().rev() {
                if let Err(undo) = write_one(&done.path, done.before.as_deref()) {
                    tracing::error!(
                        "adapter rollback of {} failed: {undo:#}",
                        done.path.display()
                    );
                }
            }
            remove_empty_dirs(&created_dirs);
            return Err(e);
        }
    }
    created_dirs.dedup();
    Ok(created_dirs)
}

fn write_one(path: &Path, text: Option<&str>) -> Result<()> {
    match text {
        Some(t) => store::atomic_write(path, t.as_bytes(), file_mode(path)),
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        },
    }
}

fn remove_empty_dirs(dirs: &[PathBuf]) {
    let mut dirs: Vec<&PathBuf> = dirs.iter().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        // Fails (and stays) when not empty: exactly what we want.
        let _ = std::fs::remove_dir(d);
    }
}

/// Install `agent`'s adapter into the project at `root`.
pub fn install(root: &Path, agent: &str, opts: InstallOptions) -> Result<InstallReport> {
    check_agent(agent)?;
    let targets = targets(root, agent, opts.shared);
    let mut manifest = load_manifest(root, agent)?.unwrap_or(Manifest {
        agent: agent.to_string(),
        shared: opts.shared,
        entries: vec![],
        created_dirs: vec![],
    });
    if manifest.shared != opts.shared && !manifest.entries.is_empty() {
        return Err(Error::conflict(format!(
            "the {agent} adapter is installed {}; run `patina adapter uninstall {agent}` first to switch",
            if manifest.shared { "with --shared" } else { "per user" }
        ))
        .into());
    }
    let mut report = InstallReport {
        agent: agent.to_string(),
        root: root.to_path_buf(),
        shared: opts.shared,
        files: vec![],
        notes: vec![],
    };
    // 1. Compute every file's new text; any unreadable or broken file stops everything here.
    let mut changes = Vec::new();
    for t in &targets {
        let current = read_optional(&t.path)?;
        let mut next = current.clone();
        let mut kept = false;
        for piece in &t.pieces {
            if let (Piece::Whole(text), Some(cur)) = (piece, &next)
                && cur != text
                && !opts.force
            {
                kept = true;
                continue;
            }
            let applied = edit::apply(next.as_deref(), piece, &t.display)?;
            edit::validate(&applied, piece, &t.display)?;
            next = Some(applied);
        }
        let action = if kept {
            "kept"
        } else if next == current {
            "unchanged"
        } else if current.is_none() {
            "created"
        } else {
            "updated"
        };
        report.files.push(FileAction {
            path: t.display.clone(),
            action: action.into(),
            role: t.role.into(),
        });
        if next != current {
            changes.push(Change {
                path: t.path.clone(),
                before: current,
                after: next,
            });
        }
    }
    // 2. Write them all, or none.
    let created_dirs = commit(&changes)?;
    // 3. Record what was there before (the earliest original survives a re-install as long as
    //    nobody changed the file in between).
    for c in &changes {
        let after = c.after.as_deref().unwrap_or("");
        match manifest.entries.iter_mut().find(|e| e.path == c.path) {
            Some(e) if c.before.as_deref().map(sha).as_deref() == Some(&e.after_sha256) => {
                e.after_sha256 = sha(after);
            }
            Some(e) => {
                e.before = c.before.clone();
                e.after_sha256 = sha(after);
            }
            None => manifest.entries.push(Entry {
                path: c.path.clone(),
                before: c.before.clone(),
                after_sha256: sha(after),
            }),
        }
    }
    for d in created_dirs {
        if !manifest.created_dirs.contains(&d) {
            manifest.created_dirs.push(d);
        }
    }
    manifest.shared = opts.shared;
    save_manifest(root, &manifest)?;
    report.notes = install_notes(agent, opts.shared);
    if report.files.iter().any(|f| f.action == "kept") {
        report.notes.push(
            "command files you edited were kept; `--force` replaces them with patina's".into(),
        );
    }
    if !patina_on_path() {
        report.notes.push(
            "`patina` is not on PATH: the hooks stay silent and the MCP server cannot start until it is"
                .into(),
        );
    }
    Ok(report)
}

fn install_notes(agent: &str, shared: bool) -> Vec<String> {
    let mut notes = Vec::new();
    match agent {
        "claude" => {
            notes.push("Claude Code asks once before it uses a project's .mcp.json server: approve `patina`.".into());
            if !shared {
                notes.push("hooks are in .claude/settings.local.json (yours only); `--shared` puts them in the committed .claude/settings.json".into());
            }
        }
        "codex" => notes.push(
            "Codex runs a hook only after you trust it in /hooks (and project .codex/ files only in trusted projects); skills are invoked as $patina-session-start etc."
                .into(),
        ),
        "gemini" => notes.push(
            "Gemini CLI flags new or changed hooks as untrusted: review them when it asks.".into(),
        ),
        _ => notes.push(
            "opencode loads plugins at start: restart it to pick up patina.js.".into(),
        ),
    }
    notes
}

fn patina_on_path() -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join("patina");
            f.is_file()
        })
    })
}

/// Remove `agent`'s adapter: every file back to what it was before install (byte for byte when
/// untouched since; otherwise only patina's parts are taken out).
pub fn uninstall(root: &Path, agent: &str) -> Result<InstallReport> {
    check_agent(agent)?;
    let manifest = load_manifest(root, agent)?;
    let shared = manifest.as_ref().is_some_and(|m| m.shared);
    let own = targets(root, agent, shared);
    // Files another installed adapter also uses (AGENTS.md for Codex and opencode) stay, and
    // their record moves to that adapter.
    let mut others: Vec<(Manifest, BTreeSet<PathBuf>)> = Vec::new();
    for other in AGENTS.iter().filter(|a| **a != agent) {
        if let Some(m) = load_manifest(root, other)? {
            let paths = targets(root, other, m.shared)
                .into_iter()
                .map(|t| t.path)
                .collect();
            others.push((m, paths));
        }
    }
    let mut report = InstallReport {
        agent: agent.to_string(),
        root: root.to_path_buf(),
        shared,
        files: vec![],
        notes: vec![],
    };
    let entries = manifest
        .as_ref()
        .map(|m| m.entries.clone())
        .unwrap_or_default();
    let mut changes = Vec::new();
    for t in &own {
        let current = read_optional(&t.path)?;
        let entry = entries.iter().find(|e| e.path == t.path);
        if let Some((m, _)) = others.iter_mut().find(|(_, p)| p.contains(&t.path)) {
            if let Some(e) = entry
                && !m.entries.iter().any(|x| x.path == e.path)
            {
                m.entries.push(e.clone());
            }
            report.files.push(FileAction {
                path: t.display.clone(),
                action: "kept".into(),
                role: t.role.into(),
            });
            report.notes.push(format!(
                "{} is also used by the {} adapter: left in place",
                t.display, m.agent
            ));
            continue;
        }
        let Some(cur) = current.clone() else {
            report.files.push(FileAction {
                path: t.display.clone(),
                action: "absent".into(),
                role: t.role.into(),
            });
            continue;
        };
        let (next, action) = match entry {
            Some(e) if sha(&cur) == e.after_sha256 => (
                e.before.clone(),
                if e.before.is_some() {
                    "restored"
                } else {
                    "removed"
                },
            ),
            _ => {
                let mut text = Some(cur.clone());
                for piece in &t.pieces {
                    if let Some(tx) = &text {
                        text = edit::remove(tx, piece, &t.display)?;
                    }
                }
                // A file patina created that now holds only the user's additions stays.
                let action = match &text {
                    None => "removed",
                    Some(t) if *t == cur => "kept",
                    Some(_) => "cleaned",
                };
                (text, action)
            }
        };
        report.files.push(FileAction {
            path: t.display.clone(),
            action: action.into(),
            role: t.role.into(),
        });
        if next.as_deref() != Some(cur.as_str()) {
            changes.push(Change {
                path: t.path.clone(),
                before: current,
                after: next,
            });
        }
    }
    commit(&changes)?;
    if let Some(m) = &manifest {
        remove_empty_dirs(&m.created_dirs);
    }
    for (m, _) in &others {
        save_manifest(root, m)?;
    }
    save_manifest(
        root,
        &Manifest {
            agent: agent.to_string(),
            shared,
            entries: vec![],
            created_dirs: vec![],
        },
    )?;
    if manifest.is_none() {
        report
            .notes
            .push("no install was recorded here; removed what patina recognised".into());
    }
    Ok(report)
}

/// Whether `agent`'s adapter is in place.
pub fn status(root: &Path, agent: &str) -> Result<AdapterStatus> {
    check_agent(agent)?;
    let manifest = load_manifest(root, agent)?;
    let shared = manifest.as_ref().is_some_and(|m| m.shared);
    let mut files = Vec::new();
    for t in targets(root, agent, shared) {
        let text = read_optional(&t.path).ok().flatten();
        let state = match &text {
            None => "missing",
            Some(tx) if t.pieces.iter().all(|p| edit::present(tx, p)) => "present",
            Some(_) if t.role == "command" => "differs",
            Some(_) => "missing",
        };
        files.push(FileStatus {
            path: t.display,
            role: t.role.into(),
            state: state.into(),
        });
    }
    let installed = files.iter().all(|f| f.state != "missing");
    let mut notes = vec![];
    if !installed {
        notes.push(format!("run `patina adapter install {agent}`"));
    }
    Ok(AdapterStatus {
        agent: agent.to_string(),
        installed,
        recorded: manifest.is_some(),
        shared,
        patina_on_path: patina_on_path(),
        files,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every generated command file parses with a strict parser of its format.
    #[test]
    fn generated_commands_parse_strictly() {
        for c in content::COMMANDS {
            for (text, kind) in [
                (content::claude_command(c), "md"),
                (content::opencode_command(c), "md"),
                (content::codex_skill(c), "md"),
                (content::gemini_command(c), "toml"),
            ] {
                if kind == "toml" {
                    let v: toml::Table = toml::from_str(&text).unwrap();
                    assert!(v["prompt"].as_str().unwrap().contains("{{args}}"));
                    assert_eq!(v["description"].as_str().unwrap(), c.description);
                    continue;
                }
                let front = text
                    .strip_prefix("---\n")
                    .and_then(|r| r.split_once("\n---\n"))
                    .map(|(f, _)| f)
                    .unwrap();
                let v: serde_yaml::Mapping = serde_yaml::from_str(front).unwrap();
                let d = v.get("description").and_then(|d| d.as_str()).unwrap();
                assert!(d.starts_with(c.description), "{d}");
            }
        }
    }

    #[test]
    fn a_colon_space_in_a_description_stays_valid_yaml() {
        let c = content::Command {
            name: "x",
            description: "End it: classify, tag and archive",
            hint: "a: b",
            body: "{ARGS}",
        };
        let text = content::claude_command(&c);
        let front = text[4..].split_once("\n---\n").unwrap().0;
        let v: serde_yaml::Mapping = serde_yaml::from_str(front).unwrap();
        assert_eq!(v["description"].as_str(), Some(c.description));
        assert_eq!(v["argument-hint"].as_str(), Some("a: b"));
    }
}
