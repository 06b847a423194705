//! A markdown document as lines: optional `---` frontmatter, the preamble before the first `## `
//! heading, and the `## ` sections. Every line is kept as written, terminator included, so
//! `Document::parse(t).render() == t` for any text.

use super::yaml::{self, FormatError};

/// The line ending a file uses. Lines an edit adds are written with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eol {
    #[default]
    Lf,
    CrLf,
}

impl Eol {
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
        }
    }
}

/// How a file is written: a leading UTF-8 byte order mark and its line ending (the first line
/// terminator found; LF when there is none). A writer that renders a file anew keeps both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    pub bom: bool,
    pub eol: Eol,
}

const BOM: char = '\u{feff}';

impl TextStyle {
    pub fn of(text: &str) -> TextStyle {
        let bom = text.starts_with(BOM);
        let eol = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => Eol::CrLf,
            _ => Eol::Lf,
        };
        TextStyle { bom, eol }
    }

    /// `text` (written with `\n` line ends) in this style: BOM in front, `\r\n` for CRLF files.
    /// Line ends already written as `\r\n` stay as they are.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 32 + 3);
        if self.bom && !text.starts_with(BOM) {
            out.push(BOM);
        }
        match self.eol {
            Eol::Lf => out.push_str(text),
            Eol::CrLf => {
                for line in text.split_inclusive('\n') {
                    match line.strip_suffix('\n') {
                        Some(l) if !l.ends_with('\r') => {
                            out.push_str(l);
                            out.push_str("\r\n");
                        }
                        _ => out.push_str(line),
                    }
                }
            }
        }
        out
    }
}

/// The text without a leading byte order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

/// A raw line without its terminator (`\n` or `\r\n`).
pub fn line_text(raw: &str) -> &str {
    let l = raw.strip_suffix('\n').unwrap_or(raw);
    l.strip_suffix('\r').unwrap_or(l)
}

/// The byte length of the frontmatter block at the top of `text` (BOM already stripped): the
/// opening `---` line through the closing one, as [`Document::parse`] finds them. `None` when the
/// text does not start with a closed frontmatter.
pub fn frontmatter_len(text: &str) -> Option<usize> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().filter(|l| is_delimiter(l))?;
    let mut len = first.len();
    for l in lines {
        len += l.len();
        if is_delimiter(l) {
            return Some(len);
        }
    }
    None
}

/// True for a frontmatter delimiter: `---` and nothing after it but whitespace.
fn is_delimiter(raw: &str) -> bool {
    line_text(raw).trim_end() == "---"
}

/// The title of a `## ` heading line (`##` then a space or a tab; a bare `##` has an empty
/// title). `###` and deeper are not section headings.
pub fn heading_title(raw: &str) -> Option<&str> {
    let t = line_text(raw);
    let rest = t.strip_prefix("##")?;
    if rest.trim().is_empty() {
        return Some("");
    }
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

/// Tracks fenced code blocks (```` ``` ```` / `~~~`, closed by the same character) line by line,
/// so a heading inside a fence is not a heading.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fence {
    open: Option<(u8, usize)>,
}

impl Fence {
    /// Feed one line; true when the line is inside a fence or is a fence line itself.
    pub fn step(&mut self, raw: &str) -> bool {
        let t = line_text(raw).trim_start();
        let marker = |c: u8| t.bytes().take_while(|b| *b == c).count();
        match self.open {
            Some((c, n)) => {
                if marker(c) >= n && t[marker(c)..].trim().is_empty() {
                    self.open = None;
                }
                true
            }
            None => {
                for c in [b'`', b'~'] {
                    let n = marker(c);
                    if n >= 3 {
                        self.open = Some((c, n));
                        return true;
                    }
                }
                false
            }
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The line that closes the open fence (`None` when none is open).
    pub fn closer(&self) -> Option<String> {
        self.open.map(|(c, n)| char::from(c).to_string().repeat(n))
    }
}

/// One top-level frontmatter entry: the key line and its continuation lines (nested maps, block
/// sequences). Lines before the first key (comments) form an entry without a key.
#[derive(Debug, Clone, PartialEq)]
pub struct FmEntry {
    pub key: Option<String>,
    pub lines: Vec<String>,
    /// 1-based line of the entry's first line in the file (0 for an entry an edit added).
    pub line: usize,
}

/// The `---` block at the top of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Frontmatter {
    open: String,
    pub entries: Vec<FmEntry>,
    close: String,
}

/// A top-level key at the start of a line: `name:` (letters, digits, `_`, `-`).
fn top_level_key(raw: &str) -> Option<&str> {
    let first = raw.bytes().next()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let end = raw
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        .unwrap_or(raw.len());
    let rest = raw[end..].trim_start_matches([' ', '\t']);
    rest.starts_with(':').then(|| &raw[..end])
}

impl Frontmatter {
    /// The YAML text between the delimiters, as written.
    pub fn text(&self) -> String {
        self.entries
            .iter()
            .flat_map(|e| e.lines.iter())
            .map(String::as_str)
            .collect()
    }

    /// 1-based line of a top-level key.
    pub fn key_line(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .find(|e| e.key.as_deref() == Some(key))
            .map(|e| e.line)
    }

    /// The frontmatter as a YAML mapping (empty frontmatter → empty mapping), within the limits
    /// of [`super::limits`]. Errors carry the file line and the key whose entry holds it.
    pub fn mapping(&self) -> Result<serde_yaml::Mapping, FormatError> {
        let text = self.text();
        let value: serde_yaml::Value = self.deserialize_text(&text)?;
        match value {
            serde_yaml::Value::Mapping(m) => Ok(m),
            serde_yaml::Value::Null => Ok(serde_yaml::Mapping::new()),
            _ => Err(FormatError {
                line: 2,
                field: None,
                message: "frontmatter is not a YAML mapping of `key: value` lines".into(),
            }),
        }
    }

    /// The frontmatter deserialised into `T`, within the same limits.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, FormatError> {
        self.deserialize_text(&self.text())
    }

    fn deserialize_text<T: serde::de::DeserializeOwned>(
        &self,
        text: &str,
    ) -> Result<T, FormatError> {
        yaml::from_frontmatter(text).map_err(|mut e| {
            // Name the key whose entry holds the failing line, when there is one.
            if e.field.is_none() {
                e.field = self
                    .entries
                    .iter()
                    .rev()
                    .find(|en| en.line <= e.line && en.key.is_some())
                    .and_then(|en| en.key.clone());
            }
            e
        })
    }
}

/// One `## Title` section: the heading line and the lines up to the next `## ` heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    /// The heading line as written (terminator included).
    pub heading: String,
    /// 1-based line of the heading (0 for a section an edit added).
    pub line: usize,
    /// The lines after the heading, as written.
    pub body: Vec<String>,
}

/// A parsed document. Parsing never fails: what is not frontmatter is preamble or sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    style: TextStyle,
    frontmatter: Option<Frontmatter>,
    unclosed: bool,
    /// Lines between the frontmatter (or the top) and the first `## ` heading.
    pub preamble: Vec<String>,
    /// 1-based line of the first preamble line.
    pub preamble_line: usize,
    pub sections: Vec<Section>,
}

impl Document {
    /// Split `text` into frontmatter, preamble and sections. Linear in the text.
    pub fn parse(text: &str) -> Document {
        let style = TextStyle::of(text);
        let text = strip_bom(text);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut frontmatter = None;
        let mut unclosed = false;
        let mut body_start = 0;
        if lines.first().is_some_and(|l| is_delimiter(l)) {
            match lines.iter().skip(1).position(|l| is_delimiter(l)) {
                Some(k) => {
                    let close = k + 1;
                    let mut entries: Vec<FmEntry> = Vec::new();
                    for (i, line) in lines[1..close].iter().enumerate() {
                        let line_no = i + 2;
                        match top_level_key(line) {
                            Some(key) => entries.push(FmEntry {
                                key: Some(key.to_string()),
                                lines: vec![line.to_string()],
                                line: line_no,
                            }),
                            None => match entries.last_mut() {
                                Some(e) => e.lines.push(line.to_string()),
                                None => entries.push(FmEntry {
                                    key: None,
                                    lines: vec![line.to_string()],
                                    line: line_no,
                                }),
                            },
                        }
                    }
                    frontmatter = Some(Frontmatter {
                        open: lines[0].to_string(),
                        entries,
                        close: lines[close].to_string(),
                    });
                    body_start = close + 1;
                }
                None => unclosed = true,
            }
        }
        let mut preamble = Vec::new();
        let mut sections: Vec<Section> = Vec::new();
        let mut fence = Fence::default();
        for (i, line) in lines.iter().enumerate().skip(body_start) {
            if !fence.is_open()
                && let Some(title) = heading_title(line)
            {
                sections.push(Section {
                    title: title.to_string(),
                    heading: line.to_string(),
                    line: i + 1,
                    body: vec![],
                });
                continue;
            }
            fence.step(line);
            match sections.last_mut() {
                Some(s) => s.body.push(line.to_string()),
                None => preamble.push(line.to_string()),
            }
        }
        Document {
            style,
            frontmatter,
            unclosed,
            preamble,
            preamble_line: body_start + 1,
            sections,
        }
    }

    /// The file text. For an unedited document this is exactly the parsed text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.style.bom {
            out.push(BOM);
        }
        if let Some(fm) = &self.frontmatter {
            out.push_str(&fm.open);
            for e in &fm.entries {
                for l in &e.lines {
                    out.push_str(l);
                }
            }
            out.push_str(&fm.close);
        }
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

    pub fn style(&self) -> TextStyle {
        self.style
    }

    /// `text` as a new line of this document (with the file's line ending).
    pub fn line(&self, text: &str) -> String {
        format!("{text}{}", self.style.eol.as_str())
    }

    pub fn frontmatter(&self) -> Option<&Frontmatter> {
        self.frontmatter.as_ref()
    }

    /// True when the first line is `---` but no closing `---` follows (the whole text is then
    /// preamble and sections).
    pub fn frontmatter_unclosed(&self) -> bool {
        self.unclosed
    }

    /// Set `key: value` (value already YAML) in the frontmatter, replacing the key's lines or
    /// appending it. A document without frontmatter gets one.
    pub fn set_key(&mut self, key: &str, value: &str) {
        let eol = self.style.eol.as_str();
        let line = format!("{key}: {value}{eol}");
        let fm = self.frontmatter.get_or_insert_with(|| Frontmatter {
            open: format!("---{eol}"),
            entries: vec![],
            close: format!("---{eol}"),
        });
        if let Some(e) = fm
            .entries
            .iter_mut()
            .find(|e| e.key.as_deref() == Some(key))
        {
            e.lines = vec![line];
        } else {
            if let Some(last) = fm.entries.last_mut().and_then(|e| e.lines.last_mut())
                && !last.ends_with('\n')
            {
                last.push_str(eol);
            }
            fm.entries.push(FmEntry {
                key: Some(key.to_string()),
                lines: vec![line],
                line: 0,
            });
        }
    }

    /// Make sure the closing `---` ends with a line ending (before text is added after it).
    pub(crate) fn terminate_frontmatter(&mut self) {
        let eol = self.style.eol.as_str();
        if let Some(fm) = self.frontmatter.as_mut()
            && !fm.close.ends_with('\n')
        {
            fm.close.push_str(eol);
        }
    }

    /// The first section with this title (ASCII case-insensitive).
    pub fn section(&self, title: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.title.eq_ignore_ascii_case(title))
    }

    /// The first `# heading` of the preamble: (1-based line, title).
    pub fn h1(&self) -> Option<(usize, String)> {
        self.preamble.iter().enumerate().find_map(|(i, l)| {
            let t = line_text(l);
            let rest = t.strip_prefix('#')?;
            rest.starts_with([' ', '\t'])
                .then(|| (self.preamble_line + i, rest.trim().to_string()))
        })
    }

    /// Every body line (preamble and sections, headings included) with its 1-based line.
    pub fn body_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let pre = self
            .preamble
            .iter()
            .enumerate()
            .map(|(i, l)| (self.preamble_line + i, l.as_str()));
        let secs = self.sections.iter().flat_map(|s| {
            std::iter::once((s.line, s.heading.as_str())).chain(
                s.body
                    .iter()
                    .enumerate()
                    .map(move |(i, l)| (s.line + 1 + i, l.as_str())),
            )
        });
        pre.chain(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines that exercise every rule: delimiters, headings, fences, keys, odd whitespace.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("---".to_string()),
            Just("---  ".to_string()),
            Just("## Evidence".to_string()),
            Just("##\tTabbed".to_string()),
            Just("##".to_string()),
            Just("### entry".to_string()),
            Just("```".to_string()),
            Just("````rust".to_string()),
            Just("~~~".to_string()),
            Just("# Title".to_string()),
            Just("key: v".to_string()),
            Just("  nested: 1".to_string()),
            Just("- item".to_string()),
            Just("\u{feff}".to_string()),
            Just("\r".to_string()),
            Just(String::new()),
            "[ -~é—\t]{0,12}",
        ]
    }

    fn text(lines: &[String], ends: &[u8], final_eol: bool) -> String {
        let mut t = String::new();
        for (i, l) in lines.iter().enumerate() {
            t.push_str(l);
            if i + 1 < lines.len() || final_eol {
                t.push_str(match ends.get(i).copied().unwrap_or(0) % 3 {
                    0 => "\n",
                    1 => "\r\n",
                    _ => "\r\r\n",
                });
            }
        }
        t
    }

    proptest! {
        /// Any text renders back byte for byte, BOM and CRLF included.
        #[test]
        fn parse_render_is_identity(
            lines in proptest::collection::vec(line(), 0..30),
            ends in proptest::collection::vec(any::<u8>(), 30),
            final_eol in any::<bool>(),
            bom in any::<bool>(),
        ) {
            let mut t = text(&lines, &ends, final_eol);
            if bom {
                t.insert(0, '\u{feff}');
            }
            prop_assert_eq!(Document::parse(&t).render(), t);
        }

        /// CRLF, a BOM and mixed endings split exactly like LF.
        #[test]
        fn line_endings_do_not_change_the_structure(
            lines in proptest::collection::vec(line(), 0..30),
            ends in proptest::collection::vec(0u8..2, 30),
        ) {
            let lines: Vec<String> = lines.into_iter().map(|l| l.replace(['\r', '\u{feff}'], "")).collect();
            let lf = Document::parse(&text(&lines, &[], true));
            let mut mixed = text(&lines, &ends, true);
            mixed.insert(0, '\u{feff}');
            let other = Document::parse(&mixed);
            let titles = |d: &Document| d.sections.iter().map(|s| (s.title.clone(), s.line, s.body.len())).collect::<Vec<_>>();
            prop_assert_eq!(titles(&lf), titles(&other));
            prop_assert_eq!(lf.preamble.len(), other.preamble.len());
            let fm = |d: &Document| d.frontmatter().map(|f| f.entries.iter().map(|e| (e.key.clone(), e.line)).collect::<Vec<_>>());
            prop_assert_eq!(fm(&lf), fm(&other));
            prop_assert_eq!(lf.h1(), other.h1());
        }
    }

    #[test]
    fn style_is_detected_and_applied() {
        let s = TextStyle::of("\u{feff}a\r\nb\n");
        assert_eq!(
            s,
            TextStyle {
                bom: true,
                eol: Eol::CrLf
            }
        );
        assert_eq!(s.apply("x\ny\r\n"), "\u{feff}x\r\ny\r\n");
        assert_eq!(TextStyle::of("a").eol, Eol::Lf);
    }

    #[test]
    fn set_key_uses_the_files_line_ending() {
        let mut d = Document::parse("---\r\nid: a\r\n---\r\nbody\r\n");
        d.set_key("revised", "2026-01-01");
        d.set_key("id", "b");
        assert_eq!(
            d.render(),
            "---\r\nid: b\r\nrevised: 2026-01-01\r\n---\r\nbody\r\n"
        );
    }

    #[test]
    fn fences_close_only_with_their_own_marker() {
        let d = Document::parse("```\n~~~\n## inside\n```\n## outside\n");
        let titles: Vec<&str> = d.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["outside"]);
    }
}
