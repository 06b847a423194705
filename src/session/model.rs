//! The session file: parse both header formats (YAML frontmatter, legacy `**ID**:` bold
//! headers), and edit the one format patina writes (DESIGN §4) line by line so nothing the user
//! or another writer put in the file is ever dropped.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_yaml::Mapping;

/// Which header a session file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderFormat {
    /// `---` YAML frontmatter (patina ≥ 0.9.2 and this version).
    Yaml,
    /// `# Session: title` + `**ID**: ...` bold lines (patina ≤ 0.9.1).
    Legacy,
    /// Neither (notes and summaries kept in the sessions dir): id from the file name.
    None,
}

/// The git part of the header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GitMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_commit: Option<String>,
}

/// `## Session Classification` (and the frontmatter `classification:` map).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Classification {
    pub work_type: String,
    #[serde(default)]
    pub files_changed: usize,
    #[serde(default)]
    pub commits: usize,
    #[serde(default)]
    pub patterns_modified: usize,
    #[serde(default)]
    pub beliefs_captured: usize,
}

/// One goal checkbox; `index` is 1-based in file order (what `goal done <n>` takes).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Goal {
    pub index: usize,
    pub text: String,
    pub done: bool,
    /// Nesting depth (0 = top level).
    pub depth: usize,
}

/// One `### <time> - <heading>` entry of the activity log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActivityEntry {
    /// RFC 3339 with offset when the heading's time could be placed (date from the heading, or the
    /// session's date for legacy `### HH:MM` headings; offset from the header).
    pub timestamp: Option<String>,
    /// The time exactly as written in the heading (`2026-11-29 14:15`, `18:24`, `[01:25:09]`).
    pub time_text: String,
    pub heading: String,
    pub body: String,
}

/// A parsed session file (either format). This is what `session show --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDoc {
    pub id: String,
    pub title: String,
    pub status: String,
    pub llm: Option<String>,
    pub created: Option<String>,
    pub start_timestamp: Option<i64>,
    pub git: GitMeta,
    pub ended: Option<String>,
    pub classification: Option<Classification>,
    pub format: HeaderFormat,
    pub path: Option<PathBuf>,
    pub previous_context: Option<String>,
    pub goals: Vec<Goal>,
    pub activity: Vec<ActivityEntry>,
    /// `N` of `## Beliefs Captured: N`, with the listed belief lines.
    pub beliefs_captured: Option<usize>,
    pub beliefs: Vec<String>,
    /// Every `## ` section title in order.
    pub sections: Vec<String>,
    /// Things that were odd but not fatal (missing legacy fields, unknown headings).
    pub warnings: Vec<String>,
}

impl SessionDoc {
    /// The time of the newest activity entry that has one, else `created`.
    pub fn last_activity(&self) -> Option<DateTime<FixedOffset>> {
        let last = self
            .activity
            .iter()
            .rev()
            .filter_map(|e| e.timestamp.as_deref())
            .find_map(|t| DateTime::parse_from_rfc3339(t).ok());
        match (last, self.created_time()) {
            (Some(l), Some(c)) => Some(l.max(c)),
            (l, c) => l.or(c),
        }
    }

    pub fn created_time(&self) -> Option<DateTime<FixedOffset>> {
        self.created
            .as_deref()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
    }
}

/// The YAML frontmatter patina writes. Unknown keys are kept in `extra` and written back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Frontmatter {
    #[serde(rename = "type", default = "session_type")]
    pub kind: String,
    pub id: String,
    pub title: String,
    #[serde(default = "active_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<i64>,
    #[serde(default)]
    pub git: GitMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    #[serde(flatten)]
    pub extra: Mapping,
}

fn session_type() -> String {
    "session".into()
}
fn active_status() -> String {
    "active".into()
}

/// A session file that patina edits: frontmatter + body lines.
#[derive(Debug, Clone)]
pub struct SessionFile {
    pub fm: Frontmatter,
    pub body: Vec<String>,
}

/// Split `---\n<yaml>\n---\n<body>`; `None` when the text has no frontmatter.
fn split_frontmatter(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    // the closing fence: a line that is exactly `---`
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = &rest[..pos];
            let body = &rest[pos + line.len()..];
            return Some((yaml, body));
        }
        pos += line.len();
    }
    None
}

/// Describe a YAML error with the field it concerns.
fn yaml_error(path: &Path, e: serde_yaml::Error) -> anyhow::Error {
    anyhow!("{}: invalid session frontmatter: {e}", path.display())
}

impl SessionFile {
    /// Parse a file in patina's own format (YAML frontmatter). Errors name the file and field.
    pub fn parse(path: &Path, text: &str) -> Result<SessionFile> {
        let (yaml, body) = split_frontmatter(text).ok_or_else(|| {
            anyhow!(
                "{}: no YAML frontmatter (expected a `---` block at the top)",
                path.display()
            )
        })?;
        let fm: Frontmatter = serde_yaml::from_str(yaml).map_err(|e| yaml_error(path, e))?;
        if fm.id.trim().is_empty() {
            bail!("{}: field `id` is empty", path.display());
        }
        Ok(SessionFile {
            fm,
            body: body.lines().map(str::to_string).collect(),
        })
    }

    pub fn render(&self) -> Result<String> {
        let yaml = serde_yaml::to_string(&self.fm).context("rendering session frontmatter")?;
        let mut out = String::with_capacity(yaml.len() + self.body.len() * 40 + 16);
        out.push_str("---\n");
        out.push_str(&yaml);
        if !yaml.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("---\n");
        for l in &self.body {
            out.push_str(l);
            out.push('\n');
        }
        Ok(out)
    }

    /// Line range `[start, end)` of section `## <title>` (start = the heading line).
    fn section(&self, title: &str) -> Option<(usize, usize)> {
        let heads = section_heads(&self.body);
        let i = heads.iter().position(|(_, t)| t == title)?;
        let start = heads[i].0;
        let end = heads.get(i + 1).map(|h| h.0).unwrap_or(self.body.len());
        Some((start, end))
    }

    /// Insert `lines` at the end of section `title` (trailing blank lines stay after them),
    /// creating the section at the end of the file when missing.
    fn append_to_section(&mut self, title: &str, lines: Vec<String>) {
        match self.section(title) {
            Some((start, end)) => {
                let mut at = end;
                while at > start + 1 && self.body[at - 1].trim().is_empty() {
                    at -= 1;
                }
                let n = lines.len();
                self.body.splice(at..at, lines);
                // one blank line between this section and the next
                if at + n < self.body.len() && !self.body[at + n].trim().is_empty() {
                    self.body.insert(at + n, String::new());
                }
            }
            None => {
                while self.body.last().is_some_and(|l| l.trim().is_empty()) {
                    self.body.pop();
                }
                if !self.body.is_empty() {
                    self.body.push(String::new());
                }
                self.body.push(format!("## {title}"));
                self.body.extend(lines);
            }
        }
    }

    /// Append `### <when> - <heading>` + body to `## Activity Log`.
    pub fn append_activity(&mut self, when: &str, heading: &str, body: &str) {
        let mut lines = vec![String::new(), format!("### {when} - {}", one_line(heading))];
        lines.extend(escape_body(body));
        self.append_to_section("Activity Log", lines);
    }

    /// Append `- [ ] text` to `## Goals`; returns the new goal's index.
    pub fn add_goal(&mut self, text: &str) -> usize {
        let line = format!("- [ ] {}", one_line(text));
        match self.section("Goals") {
            Some((start, end)) => {
                let mut at = end;
                while at > start + 1 && self.body[at - 1].trim().is_empty() {
                    at -= 1;
                }
                // drop a "_none yet_" placeholder line
                if at == start + 2 && self.body[start + 1].trim() == NO_GOALS {
                    self.body[start + 1] = line;
                } else {
                    self.body.insert(at, line);
                }
            }
            None => self.append_to_section("Goals", vec![line]),
        }
        self.goals().len()
    }

    /// The goals with their line numbers.
    fn goal_lines(&self) -> Vec<(usize, Goal)> {
        let Some((start, end)) = self.section("Goals") else {
            return vec![];
        };
        let mut out = Vec::new();
        for (i, l) in self.body[start + 1..end].iter().enumerate() {
            if let Some(g) = parse_goal(l, out.len() + 1) {
                out.push((start + 1 + i, g));
            }
        }
        out
    }

    pub fn goals(&self) -> Vec<Goal> {
        self.goal_lines().into_iter().map(|(_, g)| g).collect()
    }

    /// Set goal `index` to `done`; returns the goal as it is now.
    pub fn set_goal(&mut self, index: usize, done: bool) -> Option<Goal> {
        let (line, mut g) = self
            .goal_lines()
            .into_iter()
            .find(|(_, g)| g.index == index)?;
        let l = &self.body[line];
        let pos = l.find("- [")?;
        let mark = if done { "x" } else { " " };
        let new = format!("{}- [{mark}{}", &l[..pos], &l[pos + 4..]);
        self.body[line] = new;
        g.done = done;
        Some(g)
    }

    /// Append a whole section (`## title` + lines) at the end of the file.
    pub fn push_section(&mut self, heading: &str, lines: &[String]) {
        while self.body.last().is_some_and(|l| l.trim().is_empty()) {
            self.body.pop();
        }
        self.body.push(String::new());
        self.body.push(format!("## {heading}"));
        self.body.extend(lines.iter().cloned());
    }

    /// Append raw markdown (e.g. transcript sections) at the end of the file.
    pub fn push_markdown(&mut self, md: &str) {
        while self.body.last().is_some_and(|l| l.trim().is_empty()) {
            self.body.pop();
        }
        self.body.push(String::new());
        self.body.extend(md.trim_end().lines().map(str::to_string));
    }

    /// Full parsed view (for show/status/the cockpit).
    pub fn doc(&self, path: Option<&Path>) -> SessionDoc {
        let text = self.render().unwrap_or_default();
        parse_any(path.unwrap_or(Path::new("active-session.md")), &text)
            .map(|mut d| {
                d.path = path.map(Path::to_path_buf);
                d
            })
            .unwrap_or_else(|_| {
                // render/parse round-trip cannot fail for a file we built; be safe anyway
                SessionDoc {
                    id: self.fm.id.clone(),
                    title: self.fm.title.clone(),
                    status: self.fm.status.clone(),
                    llm: self.fm.llm.clone(),
                    created: self.fm.created.clone(),
                    start_timestamp: self.fm.start_timestamp,
                    git: self.fm.git.clone(),
                    ended: self.fm.ended.clone(),
                    classification: self.fm.classification.clone(),
                    format: HeaderFormat::Yaml,
                    path: path.map(Path::to_path_buf),
                    previous_context: None,
                    goals: self.goals(),
                    activity: vec![],
                    beliefs_captured: None,
                    beliefs: vec![],
                    sections: vec![],
                    warnings: vec![],
                }
            })
    }
}

pub const NO_GOALS: &str = "_No goals yet: `patina session goal add \"...\"`_";

/// Titles and headings are one line: newlines and runs of whitespace become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Body lines of an activity entry. A line that would read as a markdown heading (`#`, `##`, ...)
/// is escaped with `\` so a note can never open a new section or entry; parsing removes it again.
fn escape_body(body: &str) -> Vec<String> {
    body.trim_end()
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') || l.trim_start().starts_with("\\#") {
                format!("\\{l}")
            } else {
                l.to_string()
            }
        })
        .collect()
}

fn unescape_line(l: &str) -> &str {
    match l.strip_prefix('\\') {
        Some(rest) if rest.trim_start().starts_with('#') => rest,
        _ => l,
    }
}

/// `(line index, title)` of each `## ` heading outside code fences.
fn section_heads(lines: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence = false;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        if let Some(title) = l.strip_prefix("## ") {
            out.push((i, title.trim().to_string()));
        }
    }
    out
}

fn parse_goal(line: &str, index: usize) -> Option<Goal> {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim_start();
    let rest = t.strip_prefix("- [").or_else(|| t.strip_prefix("* ["))?;
    let mut chars = rest.chars();
    let mark = chars.next()?;
    let rest = chars.as_str().strip_prefix(']')?;
    let done = match mark {
        'x' | 'X' => true,
        ' ' => false,
        _ => return None,
    };
    Some(Goal {
        index,
        text: rest.trim().to_string(),
        done,
        depth: indent / 2,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading any session file
// ---------------------------------------------------------------------------------------------

/// Parse a session file in either header format. Errors (malformed YAML, a missing `id`/`title`
/// in a YAML header) name the file and the field; odd but readable files parse with `warnings`.
pub fn parse_any(path: &Path, text: &str) -> Result<SessionDoc> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut warnings = Vec::new();
    let (mut doc, body_start) = if let Some((yaml, body)) = split_frontmatter(text) {
        let fm: Frontmatter = serde_yaml::from_str(yaml).map_err(|e| yaml_error(path, e))?;
        if fm.kind != "session" {
            warnings.push(format!(
                "frontmatter type is {:?}, not \"session\"",
                fm.kind
            ));
        }
        let body_start = text[..text.len() - body.len()].lines().count();
        (
            SessionDoc {
                id: fm.id,
                title: fm.title,
                status: fm.status,
                llm: fm.llm,
                created: fm.created,
                start_timestamp: fm.start_timestamp,
                git: fm.git,
                ended: fm.ended,
                classification: fm.classification,
                format: HeaderFormat::Yaml,
                path: Some(path.to_path_buf()),
                previous_context: None,
                goals: vec![],
                activity: vec![],
                beliefs_captured: None,
                beliefs: vec![],
                sections: vec![],
                warnings: vec![],
            },
            body_start,
        )
    } else {
        parse_legacy_header(path, &stem, &lines, &mut warnings)
    };
    let body = &lines[body_start.min(lines.len())..];
    fill_body(&mut doc, body, &mut warnings);
    doc.warnings.extend(warnings);
    Ok(doc)
}

/// Read and parse a session file from disk.
pub fn read_doc(path: &Path) -> Result<SessionDoc> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading session file {}", path.display()))?;
    parse_any(path, &text)
}

fn bold_field(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("**")?;
    let end = rest.find("**")?;
    let name = &rest[..end];
    let value = rest[end + 2..].trim_start().strip_prefix(':')?.trim();
    // `**ID:** x` variant
    Some((name.trim_end_matches(':'), value))
}

fn parse_legacy_header(
    path: &Path,
    stem: &str,
    lines: &[String],
    warnings: &mut Vec<String>,
) -> (SessionDoc, usize) {
    let mut title = None;
    let mut id = None;
    let mut created = None;
    let mut llm = None;
    let mut git = GitMeta::default();
    let mut start_ts = None;
    let mut status = None;
    let mut end = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("## ") {
            break;
        }
        end = i + 1;
        if title.is_none()
            && let Some(t) = l.strip_prefix("# ")
        {
            let t = t.trim();
            title = Some(t.strip_prefix("Session:").unwrap_or(t).trim().to_string());
            continue;
        }
        if let Some((name, value)) = bold_field(l) {
            let v = value.trim_matches('`').to_string();
            match name.to_ascii_lowercase().as_str() {
                "id" => id = Some(v),
                "started" => created = Some(v),
                "llm" => llm = Some(v),
                "git branch" | "branch" => git.branch = Some(v),
                "starting commit" | "commit" => git.starting_commit = Some(v),
                "session tag" => git.start_tag = Some(v),
                "start timestamp" => start_ts = v.parse().ok(),
                "status" => status = Some(v.to_ascii_lowercase()),
                _ => {}
            }
        }
    }
    let format = if id.is_some() {
        HeaderFormat::Legacy
    } else {
        warnings.push("no **ID** header; id taken from the file name".into());
        HeaderFormat::None
    };
    if title.is_none() {
        warnings.push("no `# ` title line".into());
    }
    let id = id.unwrap_or_else(|| stem.to_string());
    // Legacy headers wrote `created` in UTC while the id (and HH:MM headings) are local time.
    let created = created.map(|c| normalise_time(&c));
    (
        SessionDoc {
            title: title.unwrap_or_else(|| id.clone()),
            id,
            status: status.unwrap_or_else(|| "archived".into()),
            llm,
            created,
            start_timestamp: start_ts,
            git,
            ended: None,
            classification: None,
            format,
            path: Some(path.to_path_buf()),
            previous_context: None,
            goals: vec![],
            activity: vec![],
            beliefs_captured: None,
            beliefs: vec![],
            sections: vec![],
            warnings: vec![],
        },
        end,
    )
}

/// RFC 3339 when the text is one (kept as written), else as written.
fn normalise_time(s: &str) -> String {
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => t.to_rfc3339(),
        Err(_) => s.trim().to_string(),
    }
}

/// The session's local date and UTC offset, used to place `### HH:MM` headings in time.
fn session_clock(doc: &SessionDoc) -> (Option<NaiveDate>, Option<FixedOffset>) {
    let id_local =
        NaiveDateTime::parse_from_str(doc.id.get(..15).unwrap_or(""), "%Y%m%d-%H%M%S").ok();
    let created = doc.created_time();
    let offset = match (id_local, created) {
        (Some(local), Some(c)) => {
            if c.offset().local_minus_utc() != 0 {
                Some(*c.offset())
            } else {
                // id is local time, created is UTC: the difference is the offset (15-min grid)
                let diff = (local - c.naive_utc()).num_seconds();
                let q = ((diff as f64) / 900.0).round() as i32 * 900;
                if q.abs() <= 14 * 3600 {
                    FixedOffset::east_opt(q)
                } else {
                    None
                }
            }
        }
        (None, Some(c)) => Some(*c.offset()),
        _ => None,
    };
    let date = id_local
        .map(|d| d.date())
        .or_else(|| created.map(|c| c.naive_local().date()));
    (date, offset)
}

/// `2026-11-29 14:15`, `14:15`, `[01:25:09]`, `14:15:03`, `12:00-13:00` at the start of an
/// entry heading → (date, time, rest).
fn split_heading(h: &str) -> (Option<NaiveDate>, Option<NaiveTime>, String, String) {
    let s = h.trim();
    let mut date = None;
    let mut rest = s;
    if s.len() >= 10
        && let Some(d) = s
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        date = Some(d);
        rest = s[10..].trim_start();
    }
    let r = rest.trim_start_matches('[');
    let tlen = r
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == ':')
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    let ttext = &r[..tlen];
    let time = NaiveTime::parse_from_str(ttext, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(ttext, "%H:%M"))
        .ok();
    if time.is_none() {
        return (date, None, String::new(), s.to_string());
    }
    let after = r[tlen..].trim_start_matches(']');
    // drop an end time of a `12:00-13:00` span
    let after = after
        .strip_prefix('-')
        .filter(|a| a.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|a| a.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':'))
        .unwrap_or(after);
    let heading = after
        .trim_start()
        .trim_start_matches(['-', '–', '—', ':'])
        .trim()
        .to_string();
    let time_text = s[..s.len() - after.len()].trim().to_string();
    (date, time, time_text, heading)
}

fn fill_body(doc: &mut SessionDoc, body: &[String], warnings: &mut Vec<String>) {
    let heads = section_heads(body);
    let (session_date, offset) = session_clock(doc);
    let mut legacy_date = session_date;
    let mut prev_time: Option<NaiveTime> = None;
    for (k, (start, title)) in heads.iter().enumerate() {
        let end = heads.get(k + 1).map(|h| h.0).unwrap_or(body.len());
        let content = &body[start + 1..end];
        doc.sections.push(title.clone());
        if title == "Previous Session Context" {
            let t = content.join("\n").trim().to_string();
            if !t.is_empty() {
                doc.previous_context = Some(t);
            }
        } else if title == "Goals" {
            for l in content {
                let idx = doc.goals.len() + 1;
                if let Some(g) = parse_goal(l, idx) {
                    doc.goals.push(g);
                }
            }
        } else if title == "Activity Log" {
            let mut fence = false;
            let mut cur: Option<(ActivityEntry, Vec<&str>)> = None;
            for l in content {
                let t = l.trim_start();
                if t.starts_with("```") || t.starts_with("~~~") {
                    fence = !fence;
                }
                let heading = if fence { None } else { l.strip_prefix("### ") };
                if let Some(h) = heading {
                    if let Some((e, b)) = cur.take() {
                        doc.activity.push(finish_entry(e, b));
                    }
                    let (date, time, time_text, heading) = split_heading(h);
                    let timestamp = match (time, date.or(legacy_date), offset) {
                        (Some(t), Some(d), Some(off)) => {
                            let mut d = d;
                            if date.is_none() {
                                // legacy HH:MM: a time earlier than the previous one is the next day
                                if prev_time.is_some_and(|p| {
                                    p.signed_duration_since(t) > Duration::minutes(1)
                                }) {
                                    d = d.succ_opt().unwrap_or(d);
                                    legacy_date = Some(d);
                                }
                                prev_time = Some(t);
                            }
                            off.from_local_datetime(&d.and_time(t))
                                .single()
                                .map(|x| x.to_rfc3339())
                        }
                        _ => None,
                    };
                    cur = Some((
                        ActivityEntry {
                            timestamp,
                            time_text,
                            heading,
                            body: String::new(),
                        },
                        vec![],
                    ));
                } else if let Some((_, b)) = cur.as_mut() {
                    b.push(unescape_line(l));
                }
            }
            if let Some((e, b)) = cur.take() {
                doc.activity.push(finish_entry(e, b));
            }
        } else if let Some(n) = title.strip_prefix("Beliefs Captured:") {
            doc.beliefs_captured = n.trim().parse().ok();
            doc.beliefs = content
                .iter()
                .filter(|l| l.starts_with("- "))
                .map(|l| l[2..].trim().to_string())
                .collect();
        } else if title == "Session Classification" && doc.classification.is_none() {
            let mut c = Classification::default();
            let mut any = false;
            for l in content {
                let Some(item) = l.trim().strip_prefix("- ") else {
                    continue;
                };
                let Some((k, v)) = item.split_once(':') else {
                    continue;
                };
                let v = v.trim();
                let n = || v.parse::<usize>().unwrap_or(0);
                match k.trim() {
                    "Work Type" => {
                        c.work_type = v.to_string();
                        any = true
                    }
                    "Files Changed" => c.files_changed = n(),
                    "Commits" => c.commits = n(),
                    "Patterns Modified" => c.patterns_modified = n(),
                    "Beliefs Captured" => c.beliefs_captured = n(),
                    "Session Tags" => {
                        if doc.git.end_tag.is_none()
                            && let Some((_, e)) = v.split_once("..")
                        {
                            doc.git.end_tag = Some(e.trim().to_string());
                        }
                    }
                    _ => {}
                }
            }
            if any {
                doc.classification = Some(c);
            }
        }
    }
    if heads.is_empty() && doc.format != HeaderFormat::Yaml {
        warnings.push("no `## ` sections".into());
    }
}

fn finish_entry(mut e: ActivityEntry, body: Vec<&str>) -> ActivityEntry {
    e.body = body.join("\n").trim().to_string();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "---\ntype: session\nid: 20261129-141503\ntitle: 'review: \"quotes\" é'\nstatus: active\nllm: claude\ncreated: 2026-11-29T14:15:03+01:00\nstart_timestamp: 1764422103000\ngit:\n  branch: main\n  starting_commit: abc\n  start_tag: session-20261129-141503-claude-start\ncustom: kept\n---\n\n## Previous Session Context\nprev\n\n## Goals\n- [x] fix bug 2\n- [ ] review phase 3\n  - [ ] sub\n\n## Activity Log\n### 2026-11-29 14:15 - Session Start\nstarted\n\n### 2026-11-29 14:40 - Note [main@0dd3b9c]\ntext\n```\n### not a heading\n```\n";

    const LEGACY: &str = "# Session: old one\n**ID**: 20250728-182427\n**Started**: 2025-07-28T22:24:27Z\n**LLM**: claude\n**Git Branch**: feat\n**Session Tag**: session-20250728-182427-claude-start\n**Starting Commit**: 377bd54\n\n## Goals\n- [ ] a\n\n## Activity Log\n### 18:24 - Session Start\nx\n\n### 23:59 - Note\ny\n\n### 00:10 - Update (covering since 23:59)\nz\n\n## Session Classification\n- Work Type: exploration\n- Files Changed: 3\n- Commits: 1\n- Patterns Modified: 0\n- Beliefs Captured: 0\n- Session Tags: a..session-20250728-182427-claude-end\n";

    #[test]
    fn parses_yaml_format() {
        let d = parse_any(Path::new("x.md"), YAML).unwrap();
        assert_eq!(d.format, HeaderFormat::Yaml);
        assert_eq!(d.title, "review: \"quotes\" é");
        assert_eq!(d.goals.len(), 3);
        assert!(d.goals[0].done && !d.goals[1].done);
        assert_eq!(d.goals[2].depth, 1);
        assert_eq!(d.activity.len(), 2);
        assert_eq!(d.activity[1].heading, "Note [main@0dd3b9c]");
        assert!(d.activity[1].body.contains("### not a heading"));
        assert_eq!(
            d.activity[0].timestamp.as_deref(),
            Some("2026-11-29T14:15:00+01:00")
        );
        assert_eq!(d.previous_context.as_deref(), Some("prev"));
    }

    #[test]
    fn parses_legacy_format_and_places_times() {
        let d = parse_any(Path::new("20250728-182427.md"), LEGACY).unwrap();
        assert_eq!(d.format, HeaderFormat::Legacy);
        assert_eq!(d.title, "old one");
        assert_eq!(d.git.branch.as_deref(), Some("feat"));
        assert_eq!(d.activity.len(), 3);
        // id 18:24:27 local vs 22:24:27Z → -04:00
        assert_eq!(
            d.activity[0].timestamp.as_deref(),
            Some("2025-07-28T18:24:00-04:00")
        );
        // past midnight rolls over to the next day
        assert_eq!(
            d.activity[2].timestamp.as_deref(),
            Some("2025-07-29T00:10:00-04:00")
        );
        assert_eq!(d.activity[2].heading, "Update (covering since 23:59)");
        let c = d.classification.unwrap();
        assert_eq!((c.work_type.as_str(), c.files_changed), ("exploration", 3));
        assert_eq!(
            d.git.end_tag.as_deref(),
            Some("session-20250728-182427-claude-end")
        );
    }

    #[test]
    fn malformed_yaml_names_file_and_field() {
        let bad = "---\ntype: session\ntitle: x\n---\n";
        let e = parse_any(Path::new("/s/bad.md"), bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/s/bad.md") && e.contains("id"), "{e}");
        let bad = "---\nid: [\ntitle: x\n---\n";
        let e = parse_any(Path::new("/s/bad2.md"), bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/s/bad2.md"), "{e}");
    }

    #[test]
    fn edits_round_trip_and_keep_unknown_keys() {
        let mut f = SessionFile::parse(Path::new("x.md"), YAML).unwrap();
        f.append_activity("2026-11-29 15:00", "Note [m@1]", "## not a section\nplain");
        assert_eq!(f.add_goal("third\ngoal"), 4);
        f.set_goal(2, true).unwrap();
        let text = f.render().unwrap();
        assert!(text.contains("custom: kept"), "{text}");
        let d = parse_any(Path::new("x.md"), &text).unwrap();
        assert_eq!(d.activity.len(), 3);
        assert_eq!(d.activity[2].body, "## not a section\nplain");
        assert_eq!(d.goals[3].text, "third goal");
        assert!(d.goals[1].done);
        assert_eq!(
            d.sections,
            ["Previous Session Context", "Goals", "Activity Log"]
        );
    }

    #[test]
    fn heading_variants() {
        let (_, t, tt, h) = split_heading("[01:25:09] User");
        assert!(t.is_some());
        assert_eq!((tt.as_str(), h.as_str()), ("[01:25:09]", "User"));
        let (_, t, _, h) = split_heading("12:00-13:00 — E9.9a Step");
        assert!(t.is_some());
        assert_eq!(h, "E9.9a Step");
        let (_, t, _, h) = split_heading("Something else");
        assert!(t.is_none());
        assert_eq!(h, "Something else");
    }
}
