//! Reading agent files leniently: JSON lines (a bad line is counted, never fatal), files listed
//! by modification time, and "is this path inside the project" with a small cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// Call `f` with every JSON line of `path`; returns the number of malformed lines (not JSON, or
/// not valid UTF-8). Blank lines are ignored. An unreadable file is an `Err` the caller turns into
/// a note.
pub(crate) fn for_each_json_line(path: &Path, mut f: impl FnMut(Value)) -> std::io::Result<usize> {
    let file = std::fs::File::open(path)?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut malformed = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(s) => s.trim(),
            Err(_) => {
                malformed += 1;
                continue;
            }
        };
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => f(v),
            Err(_) => malformed += 1,
        }
    }
    Ok(malformed)
}

/// Files under `dir` (recursively up to `depth` levels) whose name satisfies `keep` and which
/// were modified at or after `since` (a file last written before the session began cannot hold
/// anything from it). Sorted by path for a stable order. A missing dir is empty.
pub(crate) fn files_since(
    dir: &Path,
    depth: usize,
    since: DateTime<Utc>,
    keep: &dyn Fn(&str) -> bool,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, depth, since, keep, &mut out);
    out.sort();
    out
}

fn walk(
    dir: &Path,
    depth: usize,
    since: DateTime<Utc>,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<PathBuf>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            if depth > 0 {
                walk(&path, depth - 1, since, keep, out);
            }
        } else if ft.is_file() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !keep(name) {
                continue;
            }
            let modified = e.metadata().and_then(|m| m.modified()).ok();
            if modified.is_none_or(|m| to_utc(m) >= since) {
                out.push(path);
            }
        }
    }
}

fn to_utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

/// An RFC 3339 / ISO-8601 timestamp (with offset or `Z`), as UTC.
pub(crate) fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            // Epoch milliseconds (Claude's history) or seconds (Codex's history).
            let n = n.as_f64()?;
            let ms = if n > 1e11 { n } else { n * 1000.0 };
            Utc.timestamp_millis_opt(ms as i64).single()
        }
        _ => None,
    }
}

/// Decides whether a directory an agent recorded belongs to the project (the root or below).
pub(crate) struct ProjectMatcher {
    root: PathBuf,
    cache: RefCell<HashMap<String, bool>>,
}

impl ProjectMatcher {
    pub fn new(root: &Path) -> ProjectMatcher {
        ProjectMatcher {
            root: root.to_path_buf(),
            cache: RefCell::new(HashMap::new()),
        }
    }

    pub fn contains(&self, dir: &str) -> bool {
        if dir.is_empty() {
            return false;
        }
        if let Some(&hit) = self.cache.borrow().get(dir) {
            return hit;
        }
        let p = Path::new(dir);
        // Recorded paths may be spelled through a symlink (/tmp vs /private/tmp): compare the
        // canonical form when the directory still exists.
        let hit = p.is_absolute()
            && (p.starts_with(&self.root)
                || p.canonicalize().is_ok_and(|c| c.starts_with(&self.root)));
        self.cache.borrow_mut().insert(dir.to_string(), hit);
        hit
    }
}

/// Wrappers the agents write under the person's name that are not something the person typed:
/// Claude Code's slash-command echoes (`<command-name>`, `<command-message>`, `<command-args>`,
/// `<local-command-stdout|stderr|caveat>`), its bash-mode lines (`<bash-input>`,
/// `<bash-stdout>`, `<bash-stderr>`), injected reminders and hook output, and task notices.
const WRAPPER_TAGS: &[&str] = &[
    "command-name",
    "command-message",
    "command-args",
    "command-contents",
    "local-command-stdout",
    "local-command-stderr",
    "local-command-caveat",
    "bash-input",
    "bash-stdout",
    "bash-stderr",
    "system-reminder",
    "user-prompt-submit-hook",
    "task-notification",
];

static SYSTEM_REMINDER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?s)<system-reminder>.*?(</system-reminder>|\z)").expect("regex")
});

/// A slash command as typed (`/model`, `/clear`, `/compact keep tests`, `/pt:note x`): a `/`,
/// a name without another `/` (so `/etc/hosts is broken` stays a prompt), then a space or the
/// end.
static SLASH_COMMAND: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^/[A-Za-z][A-Za-z0-9_:.-]*(\s|$)").expect("regex")
});

/// What the person typed, or `None` when the line is not a prompt: a slash command, a shell-mode
/// line (`!ls`), an agent's wrapper (see [`WRAPPER_TAGS`]), an interrupt notice, or nothing
/// left once injected `<system-reminder>` blocks are cut out.
pub(crate) fn clean_prompt(text: &str) -> Option<String> {
    let without = SYSTEM_REMINDER.replace_all(text, "");
    let t = without.trim();
    if t.is_empty()
        || SLASH_COMMAND.is_match(t)
        || t.starts_with('!')
        || t.starts_with("[Request interrupted")
        || t.starts_with(
            "Caveat: The messages below were generated by the user while running local commands",
        )
    {
        return None;
    }
    if let Some(rest) = t.strip_prefix('<') {
        let tag: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if WRAPPER_TAGS.contains(&tag.as_str()) {
            return None;
        }
    }
    Some(t.to_string())
}

/// A string field, or "".
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An unsigned field, or 0.
pub(crate) fn u64_of(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// The first line of `s`, at most `max` characters (for error messages and actions).
pub(crate) fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    super::render::truncate_chars(line, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, b"{\"a\":1}\nnot json\n\n{\"a\":2}\n\xff\xfe\n{\"a\":").unwrap();
        let mut seen = vec![];
        let bad = for_each_json_line(&p, |v| seen.push(v["a"].as_i64().unwrap())).unwrap();
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(bad, 3);
    }

    #[test]
    fn times_in_any_offset_compare_as_instants() {
        let a = parse_time(&Value::from("2026-03-14T23:30:00+01:00")).unwrap();
        let b = parse_time(&Value::from("2026-03-14T22:30:00Z")).unwrap();
        assert_eq!(a, b);
        let ms = parse_time(&serde_json::json!(1_773_527_400_000_u64)).unwrap();
        let s = parse_time(&serde_json::json!(1_773_527_400_u64)).unwrap();
        assert_eq!(ms, s);
    }

    #[test]
    fn noise_is_not_a_prompt() {
        for noise in [
            "/model",
            "/clear",
            "/compact keep the tests",
            "!ls -la",
            "<command-name>/model</command-name>\n            <command-message>model</command-message>",
            "<local-command-stdout>Set model to Opus</local-command-stdout>",
            "<bash-input>git status</bash-input>",
            "<bash-stdout>clean</bash-stdout><bash-stderr></bash-stderr>",
            "<system-reminder>the todo list is empty</system-reminder>",
            "  \n<task-notification><status>completed</status></task-notification>",
            "[Request interrupted by user]",
        ] {
            assert_eq!(clean_prompt(noise), None, "{noise:?}");
        }
        assert_eq!(
            clean_prompt("fix the test<system-reminder>x</system-reminder>").as_deref(),
            Some("fix the test")
        );
        assert_eq!(
            clean_prompt("/etc/hosts is broken").as_deref(),
            Some("/etc/hosts is broken")
        );
        assert_eq!(
            clean_prompt("<div> is unclosed").as_deref(),
            Some("<div> is unclosed")
        );
    }

    #[test]
    fn matcher_accepts_root_and_below_only() {
        let m = ProjectMatcher::new(Path::new("/home/me/app"));
        assert!(m.contains("/home/me/app"));
        assert!(m.contains("/home/me/app/src/deep"));
        assert!(!m.contains("/home/me/app2"));
        assert!(!m.contains("/home/me"));
        assert!(!m.contains("app"));
    }
}
