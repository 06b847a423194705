//! A belief file as text: frontmatter entries and body sections kept verbatim.
//!
//! Why verbatim: patina 0.11 files carry keys (`confidence:`) and sections (`## Related`,
//! `## Verification`) this version does not model. Parsing keeps every line as it was, so
//! `render(parse(x)) == x` byte for byte, and an edit (a new link, a revision) touches only the
//! lines it means to. Known fields are read from the parsed YAML and the known sections.

use std::ops::{Deref, DerefMut};
use std::sync::LazyLock;

use regex::Regex;

use crate::doc::{self, Document, Fence};

pub(crate) use crate::doc::{FormatError, Section};

/// A whole belief file: the document (frontmatter entries, preamble, sections, all verbatim)
/// and its frontmatter as YAML. Derefs to the [`Document`] for sections and rendering.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    doc: Document,
    /// The frontmatter as YAML (a mapping; empty when the frontmatter is empty).
    pub yaml: serde_yaml::Mapping,
}

impl Deref for Doc {
    type Target = Document;
    fn deref(&self) -> &Document {
        &self.doc
    }
}

impl DerefMut for Doc {
    fn deref_mut(&mut self) -> &mut Document {
        &mut self.doc
    }
}

static LINK_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[\[([^\[\]\n]+?)\]\]").unwrap());
static WEIGHT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(weight:\s*(-?[0-9]*\.?[0-9]+)\s*\)").unwrap());

impl Doc {
    /// Parse a belief file. Fails only when the frontmatter is missing, unterminated, past the
    /// document layer's limits, not YAML or not a mapping; everything else is the checker's.
    pub fn parse(text: &str) -> Result<Doc, FormatError> {
        let doc = Document::parse(text);
        let Some(fm) = doc.frontmatter() else {
            let message = if doc.frontmatter_unclosed() {
                "frontmatter is not closed by a `---` line"
            } else {
                "no frontmatter: the file must start with a `---` line"
            };
            return Err(FormatError {
                line: 1,
                field: None,
                message: message.into(),
            });
        };
        let yaml = fm.mapping()?;
        Ok(Doc { doc, yaml })
    }

    /// A frontmatter value by key.
    pub fn get(&self, key: &str) -> Option<&serde_yaml::Value> {
        self.yaml.get(key)
    }

    /// A frontmatter value as a string (numbers and booleans are not strings).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| v.as_str())
    }

    /// 1-based line of a frontmatter key, or the opening `---` when it is absent.
    pub fn key_line(&self, key: &str) -> usize {
        self.frontmatter()
            .and_then(|f| f.key_line(key))
            .filter(|l| *l > 0)
            .unwrap_or(1)
    }

    /// Set `key: value` (value already YAML), replacing the key's lines or appending it.
    pub fn set_key(&mut self, key: &str, value: &str) {
        self.doc.set_key(key, value);
        if let Ok(v) = serde_yaml::from_str::<serde_yaml::Value>(value) {
            self.yaml.insert(serde_yaml::Value::String(key.into()), v);
        }
    }

    /// The one-line statement: the first non-empty line after `# id`, else the first
    /// non-empty line of `## Statement`.
    pub fn statement(&self) -> Option<(usize, String)> {
        doc::header::belief_statement(&self.doc)
    }

    /// Append `bullet` (without the leading `- `) to section `title`. A section holding only a
    /// placeholder comment gets the bullet instead of the comment; a missing section is added
    /// before `## Revision Log` (or at the end).
    pub fn append_bullet(&mut self, title: &str, bullet: &str) {
        let item = self.line(&format!("- {bullet}"));
        let blank = self.line("");
        let eol = self.doc.style().eol.as_str();
        let heading = self.line(&format!("## {title}"));
        let idx = match self
            .sections
            .iter()
            .position(|s| s.title.eq_ignore_ascii_case(title))
        {
            Some(i) => i,
            None => {
                let at = self
                    .sections
                    .iter()
                    .position(|s| s.title.eq_ignore_ascii_case("Revision Log"))
                    .unwrap_or(self.sections.len());
                if at == self.sections.len() {
                    self.ensure_trailing_blank();
                }
                self.sections.insert(
                    at,
                    Section {
                        title: title.to_string(),
                        heading,
                        line: 0,
                        body: vec![blank.clone(), blank.clone()],
                    },
                );
                at
            }
        };
        let body = &mut self.sections[idx].body;
        let placeholder_only = body
            .iter()
            .all(|l| l.trim().is_empty() || is_comment_line(l.trim()));
        if placeholder_only {
            let at_end = idx + 1 == self.sections.len();
            let mut new_body = vec![blank.clone(), item];
            if !at_end {
                new_body.push(blank);
            }
            self.sections[idx].body = new_body;
            return;
        }
        let last = body.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(0);
        if !body[last].ends_with('\n') {
            body[last].push_str(eol);
        }
        body.insert(last + 1, item);
    }

    fn ensure_trailing_blank(&mut self) {
        if self.sections.is_empty() && self.preamble.is_empty() {
            self.doc.terminate_frontmatter();
            return;
        }
        let eol = self.doc.style().eol.as_str();
        let doc = &mut self.doc;
        let tail = match doc.sections.last_mut() {
            Some(s) => &mut s.body,
            None => &mut doc.preamble,
        };
        if let Some(l) = tail.last_mut()
            && !l.ends_with('\n')
        {
            l.push_str(eol);
        }
        if tail.last().is_some_and(|l| !l.trim().is_empty()) {
            tail.push(eol.to_string());
        }
    }

    /// Bulleted items of a section (a `- ` line plus its continuation lines).
    pub fn items(&self, title: &str) -> Vec<Item> {
        let Some(s) = self.section(title) else {
            return vec![];
        };
        let mut items: Vec<Item> = Vec::new();
        let mut fence = Fence::default();
        let mut in_comment = false;
        for (i, l) in s.body.iter().enumerate() {
            let line_no = s.line + 1 + i;
            if fence.step(l) {
                continue;
            }
            let visible = strip_comments(l, &mut in_comment);
            let t = visible.trim_end();
            if let Some(rest) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
                items.push(Item {
                    text: rest.trim().to_string(),
                    links: vec![],
                    weight: None,
                    line: line_no,
                });
            } else if !t.trim().is_empty()
                && (l.starts_with(' ') || l.starts_with('\t'))
                && let Some(it) = items.last_mut()
            {
                it.text.push(' ');
                it.text.push_str(t.trim());
            } else if t.trim().is_empty() {
                continue;
            }
        }
        for it in &mut items {
            it.links = links_in_text(&it.text);
            it.weight = WEIGHT_RE
                .captures(&it.text)
                .and_then(|c| c[1].parse::<f64>().ok());
        }
        items
    }

    /// Every `[[link]]` of the body outside code and HTML comments: (line, target, section).
    pub fn links(&self) -> Vec<(usize, String, String)> {
        let mut out = Vec::new();
        let mut fence = Fence::default();
        let mut in_comment = false;
        let mut scan = |line_no: usize, l: &str, section: &str| {
            if fence.step(l) {
                return;
            }
            let visible = strip_comments(l, &mut in_comment);
            for t in links_in_text(&visible) {
                out.push((line_no, t, section.to_string()));
            }
        };
        for (i, l) in self.preamble.iter().enumerate() {
            scan(self.preamble_line + i, l, "");
        }
        for s in &self.sections {
            for (i, l) in s.body.iter().enumerate() {
                scan(s.line + 1 + i, l, &s.title);
            }
        }
        out
    }
}

/// One bullet of a list section.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    /// The bullet's text without the leading `- `.
    pub text: String,
    /// `[[link]]` targets in it (outside inline code).
    pub links: Vec<String>,
    /// `(weight: 0.9)`, when present.
    pub weight: Option<f64>,
    /// 1-based line in the file.
    pub line: usize,
}

fn is_comment_line(t: &str) -> bool {
    t.starts_with("<!--") && t.ends_with("-->")
}

/// Remove HTML comments (possibly spanning lines, tracked by `in_comment`) from a line.
fn strip_comments(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(i) => {
                    rest = &rest[i + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        } else {
            match rest.find("<!--") {
                Some(i) => {
                    out.push_str(&rest[..i]);
                    rest = &rest[i + 4..];
                    *in_comment = true;
                }
                None => {
                    out.push_str(rest);
                    return out;
                }
            }
        }
    }
}

/// `[[target]]` links of a line, ignoring inline code spans; `[[a|alias]]` and `[[a#h]]` give `a`.
pub(crate) fn links_in_text(text: &str) -> Vec<String> {
    let mut visible = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        if c == '`' {
            in_code = !in_code;
            visible.push(' ');
        } else if in_code {
            visible.push(' ');
        } else {
            visible.push(c);
        }
    }
    LINK_RE
        .captures_iter(&visible)
        .filter_map(|c| {
            let t = c[1].split(['|', '#']).next().unwrap_or("").trim();
            (!t.is_empty()).then(|| t.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\ntype: belief\nid: x\nconfidence:\n  score: 0.88\nfacets: [a, b]\n---\n\n# x\n\nOne line.\n\n## Statement\n\nOne line.\n\n## Evidence\n\n- [[session-1]]: saw it (weight: 0.9)\n- `[[not-a-link]]` in code\n\n## Verification\n\n```verify\n## not a heading [[nope]]\n```\n\n## Supports\n\n<!-- None -->\n\n## Custom\n\nkept\n";

    #[test]
    fn round_trip_is_byte_exact() {
        let d = Doc::parse(SAMPLE).unwrap();
        assert_eq!(d.render(), SAMPLE);
        assert_eq!(d.sections.len(), 5);
        assert_eq!(d.statement().unwrap().1, "One line.");
        let ev = d.items("Evidence");
        assert_eq!(ev[0].links, vec!["session-1"]);
        assert_eq!(ev[0].weight, Some(0.9));
        assert!(ev[1].links.is_empty());
        let links: Vec<String> = d.links().into_iter().map(|l| l.1).collect();
        assert_eq!(links, vec!["session-1"]);
    }

    #[test]
    fn no_trailing_newline_round_trips_and_edits() {
        let t = "---\nid: y\n---\n# y\n\nS\n\n## Supports\n\n- [[a]]";
        let mut d = Doc::parse(t).unwrap();
        assert_eq!(d.render(), t);
        d.append_bullet("Supports", "[[b]]");
        assert!(d.render().ends_with("- [[a]]\n- [[b]]\n"), "{}", d.render());
    }

    #[test]
    fn placeholder_is_replaced_and_unknown_kept() {
        let mut d = Doc::parse(SAMPLE).unwrap();
        d.append_bullet("Supports", "[[y]]");
        d.set_key("revised", "2026-01-01");
        let r = d.render();
        assert!(
            r.contains("## Supports\n\n- [[y]]\n\n## Custom\n\nkept\n"),
            "{r}"
        );
        assert!(r.contains("confidence:\n  score: 0.88\n"), "{r}");
        assert!(r.contains("revised: 2026-01-01\n---\n"), "{r}");
        let again = Doc::parse(&r).unwrap();
        assert_eq!(again.render(), r);
    }

    #[test]
    fn broken_yaml_names_line_and_field() {
        let e = Doc::parse("---\ntype: belief\nfacets: [a, b\nid: z\n---\n").unwrap_err();
        assert!(e.line >= 3, "{e}");
        assert!(e.message.contains("invalid YAML"), "{e}");
        assert!(Doc::parse("no frontmatter\n").is_err());
        assert!(Doc::parse("---\nid: a\n").is_err());
    }

    #[test]
    fn links_strip_alias_heading_and_comments() {
        assert_eq!(links_in_text("[[a|A]] and [[b#h]] `[[c]]`"), vec!["a", "b"]);
        let mut c = false;
        assert_eq!(strip_comments("x <!-- [[a]] --> y", &mut c), "x  y");
    }

    proptest::proptest! {
        /// Whatever parses renders back byte for byte, and stays stable under an edit.
        #[test]
        fn parse_render_is_identity(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("---".to_string()),
                    proptest::strategy::Just("## Evidence".to_string()),
                    proptest::strategy::Just("## Supports".to_string()),
                    proptest::strategy::Just("```".to_string()),
                    proptest::strategy::Just("- [[a]] x".to_string()),
                    proptest::strategy::Just("<!-- c -->".to_string()),
                    proptest::strategy::Just("key: v".to_string()),
                    proptest::strategy::Just("  nested: 1".to_string()),
                    proptest::strategy::Just(String::new()),
                    "[ -~é—]{0,12}",
                ],
                0..24,
            ),
            trailing_newline in proptest::bool::ANY,
        ) {
            let mut text = String::from("---\n");
            text.push_str(&lines.join("\n"));
            if trailing_newline {
                text.push('\n');
            }
            if let Ok(mut doc) = Doc::parse(&text) {
                proptest::prop_assert_eq!(doc.render(), text);
                doc.append_bullet("Supports", "[[z]]");
                let once = doc.render();
                let again = Doc::parse(&once).expect("an edited document parses");
                proptest::prop_assert_eq!(again.render(), once);
            }
        }
    }
}
