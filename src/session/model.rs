//! The session file as patina edits it: frontmatter + body lines, changed line by line so
//! nothing the user or another writer put in the file is ever dropped. Reading (both header
//! formats) is the document layer's (`doc::session`).

use std::path::Path;

use anyhow::{Context, Result};

pub use crate::doc::session::{
    ActivityEntry, Classification, Frontmatter, GitMeta, Goal, HeaderFormat, SessionDoc,
};
use crate::doc::{self, Document, TextStyle};

/// A session file that patina edits: frontmatter + body lines (without line terminators), and
/// the file's own BOM and line ending, which `render` keeps.
#[derive(Debug, Clone)]
pub struct SessionFile {
    pub fm: Frontmatter,
    pub body: Vec<String>,
    pub style: TextStyle,
}

impl SessionFile {
    /// A new file in patina's format (LF, no BOM).
    pub fn new(fm: Frontmatter, body: Vec<String>) -> SessionFile {
        SessionFile {
            fm,
            body,
            style: TextStyle::default(),
        }
    }

    /// Parse a file in patina's own format (YAML frontmatter). Errors name the file and field.
    pub fn parse(path: &Path, text: &str) -> Result<SessionFile> {
        // Only the frontmatter needs the document layer; the body is kept line by line as it is
        // (the same lines `Document::body_lines` gives, without building every section twice:
        // a note parses the whole file, so this cost grows with the session).
        let bare = doc::strip_bom(text);
        if let Some(n) = doc::frontmatter_len(bare) {
            let head = &text[..text.len() - bare.len() + n];
            let d = Document::parse(head);
            let fm = doc::session::frontmatter(path, &d)?;
            let body = bare[n..]
                .split_inclusive('\n')
                .map(|l| doc::line_text(l).to_string())
                .collect();
            return Ok(SessionFile {
                fm,
                body,
                style: TextStyle::of(text),
            });
        }
        Self::parse_whole(path, text)
    }

    /// The document layer's whole reading: what [`parse`](Self::parse) falls back to when the
    /// text has no closed frontmatter (the layer then reports what is wrong with it).
    fn parse_whole(path: &Path, text: &str) -> Result<SessionFile> {
        let d = Document::parse(text);
        let fm = doc::session::frontmatter(path, &d)?;
        let body = d
            .body_lines()
            .map(|(_, l)| doc::line_text(l).to_string())
            .collect();
        Ok(SessionFile {
            fm,
            body,
            style: d.style(),
        })
    }

    /// The file text, in the file's own style (BOM, line ending).
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
        Ok(self.style.apply(&out))
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
    ///
    /// A code fence is never left open, or every later entry would read as code: one the body
    /// opens is closed at its end, and one the file already ends in (an entry cut short by a
    /// writer killed mid-append) is closed before the new entry.
    pub fn append_activity(&mut self, when: &str, heading: &str, body: &str) {
        let mut lines = Vec::new();
        if let Some(closer) = open_fence_closer(&self.body) {
            lines.push(closer);
        }
        lines.push(String::new());
        lines.push(format!("### {when} - {}", one_line(heading)));
        let body = escape_body(body);
        let closer = open_fence_closer(&body);
        lines.extend(body);
        lines.extend(closer);
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
            if let Some(g) = doc::session::parse_goal(l, out.len() + 1) {
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
        let mut d = doc::session::parse(path.unwrap_or(Path::new("active-session.md")), &text)
            // render/parse round-trip cannot fail for a file we built; be safe anyway
            .unwrap_or_else(|_| {
                let mut d = SessionDoc::from_frontmatter(self.fm.clone());
                d.goals = self.goals();
                d
            });
        d.path = path.map(Path::to_path_buf);
        d
    }
}

pub const NO_GOALS: &str = "_No goals yet: `patina session goal add \"...\"`_";

/// Titles and headings are one line: newlines and runs of whitespace become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The line closing a code fence that `lines` leave open, if they do.
fn open_fence_closer(lines: &[String]) -> Option<String> {
    let mut fence = doc::Fence::default();
    for l in lines {
        fence.step(l);
    }
    fence.closer()
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

/// `(line index, title)` of each `## ` heading outside code fences.
fn section_heads(lines: &[String]) -> Vec<(usize, String)> {
    let mut fence = doc::Fence::default();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !fence.is_open()
            && let Some(title) = doc::heading_title(l)
        {
            out.push((i, title.to_string()));
            continue;
        }
        fence.step(l);
    }
    out
}

/// Read and parse a session file from disk.
pub fn read_doc(path: &Path) -> Result<SessionDoc> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading session file {}", path.display()))?;
    doc::session::parse(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_what_the_whole_document_reads() {
        let base = "---\ntype: session\nid: 20260101-000000\ntitle: t\nstatus: active\n---\n";
        let bodies = [
            "",
            "\n",
            "# T\n\n## Goals\n- [ ] a\n\n## Activity Log\n\n### x - Note\ntext\n",
            "preamble\n## A\n```\n## not a heading\n```\n## B\nlast line without newline",
            "## A\n~~~~\nunclosed fence\n## B\n",
        ];
        for body in bodies {
            for crlf in [false, true] {
                for bom in [false, true] {
                    let mut text = format!("{base}{body}");
                    if crlf {
                        text = text.replace('\n', "\r\n");
                    }
                    if bom {
                        text.insert(0, '\u{feff}');
                    }
                    let path = Path::new("s.md");
                    let (a, b) = (
                        SessionFile::parse(path, &text).unwrap(),
                        SessionFile::parse_whole(path, &text).unwrap(),
                    );
                    assert_eq!(a.body, b.body, "{text:?}");
                    assert_eq!(a.style, b.style, "{text:?}");
                    assert_eq!(a.fm.id, b.fm.id);
                    assert_eq!(a.render().unwrap(), b.render().unwrap(), "{text:?}");
                }
            }
        }
        for bad in ["no frontmatter\n", "---\nid: x\n", "---\n---\nbody\n"] {
            assert!(
                SessionFile::parse(Path::new("s.md"), bad).is_err(),
                "{bad:?}"
            );
        }
    }

    const YAML: &str = "---\ntype: session\nid: 20261129-141503\ntitle: 'review: \"quotes\" é'\nstatus: active\ncreated: 2026-11-29T14:15:03+01:00\ncustom: kept\n---\n\n## Goals\n- [x] fix bug 2\n- [ ] review phase 3\n  - [ ] sub\n\n## Activity Log\n### 2026-11-29 14:15 - Session Start\nstarted\n```\n## not a section\n```\n";

    #[test]
    fn edits_round_trip_and_keep_unknown_keys() {
        let mut f = SessionFile::parse(Path::new("x.md"), YAML).unwrap();
        f.append_activity("2026-11-29 15:00", "Note [m@1]", "## not a section\nplain");
        assert_eq!(f.add_goal("third\ngoal"), 4);
        f.set_goal(2, true).unwrap();
        let text = f.render().unwrap();
        assert!(text.contains("custom: kept"), "{text}");
        let d = doc::session::parse(Path::new("x.md"), &text).unwrap();
        assert_eq!(d.activity.len(), 2);
        assert_eq!(d.activity[1].body, "## not a section\nplain");
        assert_eq!(d.goals[3].text, "third goal");
        assert!(d.goals[1].done);
        assert_eq!(d.sections, ["Goals", "Activity Log"]);
    }

    #[test]
    fn edits_keep_crlf_and_bom() {
        let crlf = format!("\u{feff}{}", YAML.replace('\n', "\r\n"));
        let mut f = SessionFile::parse(Path::new("x.md"), &crlf).unwrap();
        f.append_activity("2026-11-29 15:00", "Note", "a\nb");
        let text = f.render().unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{text:?}"
        );
        let lf = SessionFile::parse(Path::new("x.md"), YAML).unwrap();
        assert_eq!(f.body[..lf.body.len()], lf.body[..]);
    }
}
