//! The session file format (DESIGN §4), read in both header formats: YAML frontmatter
//! (patina ≥ 0.9.2) and the legacy `# Session: title` + `**ID**: …` bold lines with `### HH:MM`
//! headings (patina ≤ 0.9.1). Files with neither (notes kept in the archive) take their id from
//! the file name. This is the one reader of session files; the session engine edits them.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_yaml::Mapping;

use super::document::{Document, Fence, Section, line_text};
use crate::error::Error;

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

    /// The header part of a file in patina's own format (no body read).
    pub fn from_frontmatter(fm: Frontmatter) -> SessionDoc {
        let mut d = SessionDoc::empty(fm.id, fm.title, fm.status, HeaderFormat::Yaml);
        d.llm = fm.llm;
        d.created = fm.created;
        d.start_timestamp = fm.start_timestamp;
        d.git = fm.git;
        d.ended = fm.ended;
        d.classification = fm.classification;
        d
    }

    fn empty(id: String, title: String, status: String, format: HeaderFormat) -> SessionDoc {
        SessionDoc {
            id,
            title,
            status,
            llm: None,
            created: None,
            start_timestamp: None,
            git: GitMeta::default(),
            ended: None,
            classification: None,
            format,
            path: None,
            previous_context: None,
            goals: vec![],
            activity: vec![],
            beliefs_captured: None,
            beliefs: vec![],
            sections: vec![],
            warnings: vec![],
        }
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

/// The frontmatter of a session file in patina's own format; errors are invalid input naming the
/// file, the line and the field.
pub fn frontmatter(path: &Path, doc: &Document) -> Result<Frontmatter> {
    let invalid = |message: String| Error::invalid_input(message).in_file(path);
    let fm = doc
        .frontmatter()
        .ok_or_else(|| invalid("no YAML frontmatter (expected a `---` block at the top)".into()))?;
    let fm: Frontmatter = fm
        .deserialize()
        .map_err(|e| invalid(format!("invalid session frontmatter: {e}")))?;
    if fm.id.trim().is_empty() {
        return Err(invalid("field `id` is empty".into()).into());
    }
    Ok(fm)
}

/// The file stem: the id of a file whose header names none.
fn stem_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::archive::id_of_stem(&stem).to_string()
}

/// Parse a session file in either header format. Errors (malformed YAML, a missing `id`/`title`
/// in a YAML header, a frontmatter past the limits) name the file and the field; odd but
/// readable files parse with `warnings`.
pub fn parse(path: &Path, text: &str) -> Result<SessionDoc> {
    read(path, &Document::parse(text))
}

/// [`parse`] over an already split document.
pub fn read(path: &Path, doc: &Document) -> Result<SessionDoc> {
    let mut warnings = Vec::new();
    let mut out = if doc.frontmatter().is_some() {
        let fm = frontmatter(path, doc)?;
        if fm.kind != "session" {
            warnings.push(format!(
                "frontmatter type is {:?}, not \"session\"",
                fm.kind
            ));
        }
        SessionDoc::from_frontmatter(fm)
    } else {
        legacy_header(&stem_of(path), &doc.preamble, &mut warnings)
    };
    out.path = Some(path.to_path_buf());
    fill_body(&mut out, &doc.sections, &mut warnings);
    out.warnings.extend(warnings);
    Ok(out)
}

fn bold_field(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("**")?;
    let end = rest.find("**")?;
    let name = &rest[..end];
    let value = rest[end + 2..].trim_start().strip_prefix(':')?.trim();
    // `**ID:** x` variant
    Some((name.trim_end_matches(':'), value))
}

/// The `# Session: title` + `**Field**: value` header (the lines before the first `## `).
fn legacy_header(stem: &str, preamble: &[String], warnings: &mut Vec<String>) -> SessionDoc {
    let mut title = None;
    let mut id = None;
    let mut created = None;
    let mut llm = None;
    let mut git = GitMeta::default();
    let mut start_ts = None;
    let mut status = None;
    for raw in preamble {
        let l = line_text(raw);
        if title.is_none()
            && let Some(t) = h1_text(l)
        {
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
    let mut d = SessionDoc::empty(
        id.clone(),
        title.unwrap_or(id),
        status.unwrap_or_else(|| "archived".into()),
        format,
    );
    d.llm = llm;
    // Legacy headers wrote `created` in UTC while the id (and HH:MM headings) are local time.
    d.created = created.map(|c| normalise_time(&c));
    d.start_timestamp = start_ts;
    d.git = git;
    d
}

/// `# title` → `title` (a `#` then a space or a tab).
fn h1_text(l: &str) -> Option<&str> {
    let rest = l.strip_prefix('#')?;
    rest.starts_with([' ', '\t']).then(|| rest.trim())
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
/// entry heading → (date, time, time as written, rest).
pub(crate) fn split_heading(h: &str) -> (Option<NaiveDate>, Option<NaiveTime>, String, String) {
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

/// A `### ` entry of a log section: its heading text and file lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySpan {
    /// The heading after `### `, trimmed.
    pub heading: String,
    /// 1-based line of the heading.
    pub line: usize,
    /// The body lines as written (terminators included).
    pub body: Vec<String>,
}

/// The `### ` entries of a section, fence-aware (a `### ` inside a code fence is body).
pub fn entries(section: &Section) -> Vec<EntrySpan> {
    let mut out: Vec<EntrySpan> = Vec::new();
    let mut fence = Fence::default();
    for (i, raw) in section.body.iter().enumerate() {
        let heading = if fence.is_open() {
            None
        } else {
            let t = line_text(raw);
            t.strip_prefix("###")
                .filter(|r| r.starts_with([' ', '\t']))
                .map(str::trim)
        };
        match heading {
            Some(h) => out.push(EntrySpan {
                heading: h.to_string(),
                line: section.line + 1 + i,
                body: vec![],
            }),
            None => {
                fence.step(raw);
                if let Some(e) = out.last_mut() {
                    e.body.push(raw.clone());
                }
            }
        }
    }
    out
}

/// The sections whose `### ` entries are the session's log: `## Activity Log` and the
/// `## Timeline` some 0.11 files used.
pub fn is_log_section(title: &str) -> bool {
    title.eq_ignore_ascii_case("Activity Log") || title.eq_ignore_ascii_case("Timeline")
}

/// A note's body line that was escaped with `\` so it could not read as a heading.
fn unescape_line(l: &str) -> &str {
    match l.strip_prefix('\\') {
        Some(rest) if rest.trim_start().starts_with('#') => rest,
        _ => l,
    }
}

/// A `- [ ] text` / `- [x] text` line.
pub(crate) fn parse_goal(line: &str, index: usize) -> Option<Goal> {
    let line = line_text(line);
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

fn fill_body(doc: &mut SessionDoc, sections: &[Section], warnings: &mut Vec<String>) {
    let (session_date, offset) = session_clock(doc);
    let mut legacy_date = session_date;
    let mut prev_time: Option<NaiveTime> = None;
    for section in sections {
        let title = section.title.as_str();
        let content: Vec<&str> = section.body.iter().map(|l| line_text(l)).collect();
        doc.sections.push(title.to_string());
        if title == "Previous Session Context" {
            let t = content.join("\n").trim().to_string();
            if !t.is_empty() {
                doc.previous_context = Some(t);
            }
        } else if title == "Goals" {
            for l in &content {
                let idx = doc.goals.len() + 1;
                if let Some(g) = parse_goal(l, idx) {
                    doc.goals.push(g);
                }
            }
        } else if title == "Activity Log" {
            for span in entries(section) {
                let (date, time, time_text, heading) = split_heading(&span.heading);
                let timestamp = match (time, date.or(legacy_date), offset) {
                    (Some(t), Some(d), Some(off)) => {
                        let mut d = d;
                        if date.is_none() {
                            // legacy HH:MM: a time earlier than the previous one is the next day
                            if prev_time
                                .is_some_and(|p| p.signed_duration_since(t) > Duration::minutes(1))
                            {
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
                let body: Vec<&str> = span
                    .body
                    .iter()
                    .map(|l| unescape_line(line_text(l)))
                    .collect();
                doc.activity.push(ActivityEntry {
                    timestamp,
                    time_text,
                    heading,
                    body: body.join("\n").trim().to_string(),
                });
            }
        } else if let Some(n) = title.strip_prefix("Beliefs Captured:") {
            doc.beliefs_captured = n.trim().parse().ok();
            doc.beliefs = content
                .iter()
                .filter_map(|l| l.strip_prefix("- "))
                .map(|l| l.trim().to_string())
                .collect();
        } else if title == "Session Classification" && doc.classification.is_none() {
            let mut c = Classification::default();
            let mut any = false;
            for l in &content {
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
    if sections.is_empty() && doc.format != HeaderFormat::Yaml {
        warnings.push("no `## ` sections".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "---\ntype: session\nid: 20261129-141503\ntitle: 'review: \"quotes\" é'\nstatus: active\nllm: claude\ncreated: 2026-11-29T14:15:03+01:00\nstart_timestamp: 1764422103000\ngit:\n  branch: main\n  starting_commit: abc\n  start_tag: session-20261129-141503-claude-start\ncustom: kept\n---\n\n## Previous Session Context\nprev\n\n## Goals\n- [x] fix bug 2\n- [ ] review phase 3\n  - [ ] sub\n\n## Activity Log\n### 2026-11-29 14:15 - Session Start\nstarted\n\n### 2026-11-29 14:40 - Note [main@0dd3b9c]\ntext\n```\n### not a heading\n```\n";

    const LEGACY: &str = "# Session: old one\n**ID**: 20250728-182427\n**Started**: 2025-07-28T22:24:27Z\n**LLM**: claude\n**Git Branch**: feat\n**Session Tag**: session-20250728-182427-claude-start\n**Starting Commit**: 377bd54\n\n## Goals\n- [ ] a\n\n## Activity Log\n### 18:24 - Session Start\nx\n\n### 23:59 - Note\ny\n\n### 00:10 - Update (covering since 23:59)\nz\n\n## Session Classification\n- Work Type: exploration\n- Files Changed: 3\n- Commits: 1\n- Patterns Modified: 0\n- Beliefs Captured: 0\n- Session Tags: a..session-20250728-182427-claude-end\n";

    #[test]
    fn parses_yaml_format() {
        let d = parse(Path::new("x.md"), YAML).unwrap();
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
        let d = parse(Path::new("20250728-182427.md"), LEGACY).unwrap();
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
    fn crlf_bom_tabs_and_trailing_spaces_read_like_lf() {
        for text in [YAML, LEGACY] {
            let lf = parse(Path::new("20250728-182427.md"), text).unwrap();
            let variants = [
                text.replace('\n', "\r\n"),
                format!("\u{feff}{text}"),
                format!("\u{feff}{}", text.replace('\n', "\r\n")),
                text.replace("## ", "##\t").replace("\n", "  \n"),
                // mixed: every other line CRLF
                text.split_inclusive('\n')
                    .enumerate()
                    .map(|(i, l)| {
                        if i % 2 == 0 {
                            l.replace('\n', "\r\n")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect(),
            ];
            for v in variants {
                let d = parse(Path::new("20250728-182427.md"), &v).unwrap();
                assert_eq!(
                    (&d.id, d.title.trim_end(), &d.status, d.format),
                    (&lf.id, lf.title.as_str(), &lf.status, lf.format),
                    "{v:?}"
                );
                assert_eq!(d.goals.len(), lf.goals.len());
                assert_eq!(d.activity.len(), lf.activity.len());
                assert_eq!(d.sections, lf.sections);
            }
        }
    }

    #[test]
    fn malformed_yaml_names_file_and_field() {
        let bad = "---\ntype: session\ntitle: x\n---\n";
        let e = parse(Path::new("/s/bad.md"), bad).unwrap_err().to_string();
        assert!(e.contains("/s/bad.md") && e.contains("id"), "{e}");
        let bad = "---\nid: [\ntitle: x\n---\n";
        let e = parse(Path::new("/s/bad2.md"), bad).unwrap_err().to_string();
        assert!(e.contains("/s/bad2.md"), "{e}");
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
