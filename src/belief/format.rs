//! A belief file as text: frontmatter entries and body sections kept verbatim.
//!
//! Why verbatim: patina 0.11 files carry keys (`confidence:`) and sections (`## Related`,
//! `## Verification`) this version does not model. Parsing keeps every line as it was, so
//! `render(parse(x)) == x` byte for byte, and an edit (a new link, a revision) touches only the
//! lines it means to. Known fields are read from the parsed YAML and the known sections.

use std::sync::LazyLock;

use regex::Regex;

/// A parse failure: 1-based line, the field concerned (if any) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormatError {
    pub line: usize,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: field `{field}`: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// One top-level frontmatter entry: the key line and its continuation lines (nested maps,
/// block sequences). Lines before the first key (comments) form an entry without a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FmEntry {
    pub key: Option<String>,
    pub lines: Vec<String>,
    /// 1-based line of the first line in the file (as parsed).
    pub line: usize,
}

/// One `## Title` section: the heading line and the lines up to the next `## ` heading.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub title: String,
    pub heading: String,
    pub line: usize,
    pub body: Vec<String>,
}

/// A whole belief file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    fm_open: String,
    pub fm: Vec<FmEntry>,
    fm_close: String,
    /// Lines between the frontmatter and the first `## ` heading (`# id`, the statement).
    pub preamble: Vec<String>,
    /// 1-based line of the first preamble line.
    pub preamble_line: usize,
    pub sections: Vec<Section>,
    /// The frontmatter as YAML (a mapping; empty when the frontmatter is empty).
    pub yaml: serde_yaml::Mapping,
}

static KEY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:").unwrap());
static LINK_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[\[([^\[\]\n]+?)\]\]").unwrap());
static AT_LINE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"at line (\d+) column (\d+)").unwrap());
static WHILE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"while parsing [^,]*? at line (\d+)").unwrap());
static WEIGHT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(weight:\s*(-?[0-9]*\.?[0-9]+)\s*\)").unwrap());

fn is_delim(line: &str) -> bool {
    line.trim_end() == "---"
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

fn heading_title(line: &str) -> Option<String> {
    let t = line.trim_end_matches(['\n', '\r']);
    if t == "##" {
        return Some(String::new());
    }
    t.strip_prefix("## ").map(|s| s.trim().to_string())
}

impl Doc {
    /// Parse a belief file. Fails only when the frontmatter is missing, unterminated, not YAML
    /// or not a mapping; everything else is the checker's business.
    pub fn parse(text: &str) -> Result<Doc, FormatError> {
        let lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
        if lines.first().is_none_or(|l| !is_delim(l)) {
            return Err(FormatError {
                line: 1,
                field: None,
                message: "no frontmatter: the file must start with a `---` line".into(),
            });
        }
        let close = lines
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, l)| is_delim(l))
            .map(|(i, _)| i)
            .ok_or_else(|| FormatError {
                line: 1,
                field: None,
                message: "frontmatter is not closed by a `---` line".into(),
            })?;

        let mut fm: Vec<FmEntry> = Vec::new();
        for (i, line) in lines[1..close].iter().enumerate() {
            let line_no = i + 2;
            match KEY_RE.captures(line) {
                Some(c) => fm.push(FmEntry {
                    key: Some(c[1].to_string()),
                    lines: vec![line.clone()],
                    line: line_no,
                }),
                None => match fm.last_mut() {
                    Some(e) => e.lines.push(line.clone()),
                    None => fm.push(FmEntry {
                        key: None,
                        lines: vec![line.clone()],
                        line: line_no,
                    }),
                },
            }
        }
        let yaml_text: String = lines[1..close].concat();
        let yaml = if yaml_text.trim().is_empty() {
            serde_yaml::Mapping::new()
        } else {
            match serde_yaml::from_str::<serde_yaml::Value>(&yaml_text) {
                Ok(serde_yaml::Value::Mapping(m)) => m,
                Ok(serde_yaml::Value::Null) => serde_yaml::Mapping::new(),
                Ok(_) => {
                    return Err(FormatError {
                        line: 2,
                        field: None,
                        message: "frontmatter is not a YAML mapping of `key: value` lines".into(),
                    });
                }
                Err(e) => {
                    // libyaml counts lines within the frontmatter; the file has `---` first.
                    // When it names where the failing construct began ("while parsing a flow
                    // sequence at line 3"), that is where the mistake is.
                    let raw = e.to_string();
                    let mut line = e.location().map(|l| l.line() + 1).unwrap_or(2);
                    if let Some(c) = WHILE_RE.captures(&raw)
                        && let Ok(n) = c[1].parse::<usize>()
                    {
                        line = n + 1;
                    }
                    let e = AT_LINE_RE.replace_all(&raw, |c: &regex::Captures| {
                        let n = c[1].parse::<usize>().unwrap_or(0) + 1;
                        format!("at line {n} column {}", &c[2])
                    });
                    // Name the key whose entry holds the failing line, when there is one.
                    let field = fm
                        .iter()
                        .rev()
                        .find(|en| en.line <= line && en.key.is_some())
                        .and_then(|en| en.key.clone());
                    return Err(FormatError {
                        line,
                        field,
                        message: format!("invalid YAML: {e}"),
                    });
                }
            }
        };

        let mut preamble = Vec::new();
        let mut sections: Vec<Section> = Vec::new();
        let mut in_fence = false;
        for (i, line) in lines.iter().enumerate().skip(close + 1) {
            let line_no = i + 1;
            if !in_fence && let Some(title) = heading_title(line) {
                sections.push(Section {
                    title,
                    heading: line.clone(),
                    line: line_no,
                    body: vec![],
                });
                continue;
            }
            if is_fence(line) {
                in_fence = !in_fence;
            }
            match sections.last_mut() {
                Some(s) => s.body.push(line.clone()),
                None => preamble.push(line.clone()),
            }
        }
        Ok(Doc {
            fm_open: lines[0].clone(),
            fm,
            fm_close: lines[close].clone(),
            preamble,
            preamble_line: close + 2,
            sections,
            yaml,
        })
    }

    /// The file text. For an unedited document this is exactly the parsed text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.fm_open);
        for e in &self.fm {
            for l in &e.lines {
                out.push_str(l);
            }
        }
        out.push_str(&self.fm_close);
        for l in &self.preamble {
            out.push_str(l);
        }
        for s in &self.sections {
            out.push_str(&s.heading);
            for l in &s.body {
                out.push_str(l);
            }
        }
        out
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
        self.fm
            .iter()
            .find(|e| e.key.as_deref() == Some(key))
            .map(|e| e.line)
            .unwrap_or(1)
    }

    /// Set `key: value` (value already YAML), replacing the key's lines or appending it.
    pub fn set_key(&mut self, key: &str, value: &str) {
        let line = format!("{key}: {value}\n");
        if let Some(e) = self.fm.iter_mut().find(|e| e.key.as_deref() == Some(key)) {
            e.lines = vec![line];
        } else {
            if let Some(last) = self.fm.last_mut().and_then(|e| e.lines.last_mut())
                && !last.ends_with('\n')
            {
                last.push('\n');
            }
            self.fm.push(FmEntry {
                key: Some(key.to_string()),
                lines: vec![line],
                line: 0,
            });
        }
        if let Ok(v) = serde_yaml::from_str::<serde_yaml::Value>(value) {
            self.yaml.insert(serde_yaml::Value::String(key.into()), v);
        }
    }

    /// The first section with this title (case-insensitive).
    pub fn section(&self, title: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.title.eq_ignore_ascii_case(title))
    }

    /// The `# heading` of the preamble, with its line.
    pub fn h1(&self) -> Option<(usize, String)> {
        self.preamble.iter().enumerate().find_map(|(i, l)| {
            l.strip_prefix("# ")
                .map(|h| (self.preamble_line + i, h.trim().to_string()))
        })
    }

    /// The one-line statement: the first non-empty line after `# id`, else the first
    /// non-empty line of `## Statement`.
    pub fn statement(&self) -> Option<(usize, String)> {
        let mut seen_h1 = false;
        for (i, l) in self.preamble.iter().enumerate() {
            let t = l.trim();
            if l.starts_with("# ") {
                seen_h1 = true;
                continue;
            }
            if seen_h1 && !t.is_empty() && !is_comment_line(t) {
                return Some((self.preamble_line + i, t.to_string()));
            }
        }
        let s = self.section("Statement")?;
        s.body.iter().enumerate().find_map(|(i, l)| {
            let t = l.trim();
            (!t.is_empty() && !is_comment_line(t)).then(|| (s.line + 1 + i, t.to_string()))
        })
    }

    /// Append `bullet` (without the leading `- `) to section `title`. A section holding only a
    /// placeholder comment gets the bullet instead of the comment; a missing section is added
    /// before `## Revision Log` (or at the end).
    pub fn append_bullet(&mut self, title: &str, bullet: &str) {
        let item = format!("- {bullet}\n");
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
                        heading: format!("## {title}\n"),
                        line: 0,
                        body: vec!["\n".into(), "\n".into()],
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
            let mut new_body = vec!["\n".to_string(), item];
            if !at_end {
                new_body.push("\n".into());
            }
            self.sections[idx].body = new_body;
            return;
        }
        let last = body.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(0);
        if !body[last].ends_with('\n') {
            body[last].push('\n');
        }
        body.insert(last + 1, item);
    }

    fn ensure_trailing_blank(&mut self) {
        if self.sections.is_empty() && self.preamble.is_empty() {
            if !self.fm_close.ends_with('\n') {
                self.fm_close.push('\n');
            }
            return;
        }
        let tail = match self.sections.last_mut() {
            Some(s) => &mut s.body,
            None => &mut self.preamble,
        };
        if let Some(l) = tail.last_mut()
            && !l.ends_with('\n')
        {
            l.push('\n');
        }
        if tail.last().is_some_and(|l| !l.trim().is_empty()) {
            tail.push("\n".into());
        }
    }

    /// Bulleted items of a section (a `- ` line plus its continuation lines).
    pub fn items(&self, title: &str) -> Vec<Item> {
        let Some(s) = self.section(title) else {
            return vec![];
        };
        let mut items: Vec<Item> = Vec::new();
        let mut in_fence = false;
        let mut in_comment = false;
        for (i, l) in s.body.iter().enumerate() {
            let line_no = s.line + 1 + i;
            if is_fence(l) {
                in_fence = !in_fence;
                continue;
            }
            if in_fence {
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
        let mut in_fence = false;
        let mut in_comment = false;
        let mut scan = |line_no: usize, l: &str, section: &str| {
            if is_fence(l) {
                in_fence = !in_fence;
                return;
            }
            if in_fence {
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
