//! Frontmatter YAML within limits, and parse errors located at a file line.
//!
//! Why limits: the YAML parser's cost grows faster than the input on deep nesting, so a hostile
//! or broken frontmatter could stall every command that lists beliefs or sessions. A linear
//! pre-scan measures size and nesting depth first; past a limit the file is refused with a clear
//! error (`docs/ARCHITECTURE.md`, "The document layer"). No real frontmatter comes near them.

use std::sync::LazyLock;

use regex::Regex;

use super::document::line_text;

/// Largest frontmatter (bytes between the `---` lines) that is parsed.
pub const MAX_FRONTMATTER_BYTES: usize = 64 * 1024;
/// Deepest nesting of block levels (indentation, `- ` items) plus flow brackets (`[`, `{`).
pub const MAX_FRONTMATTER_DEPTH: usize = 32;

/// A parse failure: 1-based file line, the field concerned (if any) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
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

impl std::error::Error for FormatError {}

static AT_LINE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"at line (\d+) column (\d+)").unwrap());
static WHILE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"while parsing [^,]*? at line (\d+)").unwrap());

/// Deserialise frontmatter text (the lines after the opening `---`, which is file line 1).
pub(crate) fn from_frontmatter<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<T, FormatError> {
    check_limits(text)?;
    serde_yaml::from_str(text).map_err(locate)
}

/// libyaml counts lines within the frontmatter; the file has `---` first. When the message
/// names where the failing construct began ("while parsing a flow sequence at line 3"), that is
/// where the mistake is.
fn locate(e: serde_yaml::Error) -> FormatError {
    let raw = e.to_string();
    let mut line = e.location().map(|l| l.line() + 1).unwrap_or(2);
    if let Some(c) = WHILE_RE.captures(&raw)
        && let Ok(n) = c[1].parse::<usize>()
    {
        line = n + 1;
    }
    let message = AT_LINE_RE.replace_all(&raw, |c: &regex::Captures| {
        let n = c[1].parse::<usize>().unwrap_or(0) + 1;
        format!("at line {n} column {}", &c[2])
    });
    FormatError {
        line,
        field: None,
        message: format!("invalid YAML: {message}"),
    }
}

fn check_limits(text: &str) -> Result<(), FormatError> {
    if text.len() > MAX_FRONTMATTER_BYTES {
        return Err(FormatError {
            line: 1,
            field: None,
            message: format!(
                "frontmatter is {} bytes; the limit is {MAX_FRONTMATTER_BYTES} \
                 (docs/ARCHITECTURE.md, \"The document layer\")",
                text.len()
            ),
        });
    }
    if let Some((line, depth)) = too_deep(text) {
        return Err(FormatError {
            line,
            field: None,
            message: format!(
                "frontmatter nests {depth} levels deep here; the limit is \
                 {MAX_FRONTMATTER_DEPTH} (docs/ARCHITECTURE.md, \"The document layer\")"
            ),
        });
    }
    Ok(())
}

/// The first file line where the nesting depth passes the limit, with that depth. One pass over
/// the text. It over-counts a little (a continued plain scalar counts as a level), never much.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut block: Vec<usize> = Vec::new();
    let mut flow = Flow::default();
    // A block scalar (`|`, `>`): lines indented deeper than its key line are text.
    let mut scalar_indent: Option<usize> = None;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let file_line = i + 2;
        let line = line_text(raw);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        if rest.trim().is_empty() {
            continue;
        }
        if let Some(p) = scalar_indent {
            if indent > p {
                continue;
            }
            scalar_indent = None;
        }
        if flow.open() {
            flow.scan(rest);
            if block.len() + flow.max > MAX_FRONTMATTER_DEPTH {
                return Some((file_line, block.len() + flow.max));
            }
            continue;
        }
        if rest.starts_with('#') {
            continue;
        }
        // One block level for the line's column and one more per `- ` item indicator.
        let mut r = rest.trim_start();
        loop {
            let col = line.len() - r.len();
            while block.last().is_some_and(|&c| c >= col) {
                block.pop();
            }
            block.push(col);
            match r.strip_prefix('-') {
                Some(after) if after.is_empty() || after.starts_with([' ', '\t']) => {
                    r = after.trim_start();
                    if r.is_empty() {
                        break;
                    }
                }
                _ => break,
            }
        }
        if block.len() > MAX_FRONTMATTER_DEPTH {
            return Some((file_line, block.len()));
        }
        let value = value_part(r);
        if value.starts_with(['[', '{']) {
            flow = Flow::default();
            flow.scan(value);
            if block.len() + flow.max > MAX_FRONTMATTER_DEPTH {
                return Some((file_line, block.len() + flow.max));
            }
        } else if is_block_scalar(value) {
            scalar_indent = Some(indent);
        }
    }
    None
}

/// What follows `key:` on a line (or the whole rest when it is not a `key: value` line).
fn value_part(r: &str) -> &str {
    let bytes = r.as_bytes();
    // A quoted key: skip it before looking for the `:`.
    let mut start = 0;
    if let Some(q @ (b'"' | b'\'')) = bytes.first().copied() {
        match r[1..].find(q as char) {
            Some(end) => start = end + 2,
            None => return r,
        }
    }
    if r.starts_with(['[', '{']) {
        return r;
    }
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b':' && (i + 1 == bytes.len() || matches!(bytes[i + 1], b' ' | b'\t')) {
            return r[i + 1..].trim_start();
        }
        i += 1;
    }
    r
}

fn is_block_scalar(value: &str) -> bool {
    let v = value.split(" #").next().unwrap_or(value).trim_end();
    let mut chars = v.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| c == '-' || c == '+' || c.is_ascii_digit())
}

/// Bracket depth of a flow collection, across lines, outside quoted scalars and comments.
#[derive(Debug, Default)]
struct Flow {
    depth: usize,
    max: usize,
    quote: Option<u8>,
}

impl Flow {
    fn open(&self) -> bool {
        self.depth > 0 || self.quote.is_some()
    }

    fn scan(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        let mut token_start = true;
        while i < b.len() {
            let c = b[i];
            match self.quote {
                Some(b'"') => match c {
                    b'\\' => i += 1,
                    b'"' => self.quote = None,
                    _ => {}
                },
                Some(_) => {
                    if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            self.quote = None;
                        }
                    }
                }
                None => match c {
                    b'[' | b'{' => {
                        self.depth += 1;
                        self.max = self.max.max(self.depth);
                    }
                    b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                    b'"' | b'\'' if token_start => self.quote = Some(c),
                    b'#' if i == 0 || matches!(b[i - 1], b' ' | b'\t') => return,
                    _ => {}
                },
            }
            token_start = matches!(c, b' ' | b'\t' | b'[' | b'{' | b',' | b':');
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str) -> Option<usize> {
        too_deep(text).map(|(_, d)| d)
    }

    #[test]
    fn ordinary_frontmatter_is_shallow() {
        let fm = "type: belief\nid: x\nfacets: [a, b]\nconfidence:\n  score: 0.88\nlist:\n- a\n- b: c\n  d: e\ntitle: 'a [b' # c [\ndesc: |\n  deep\n                  text [[[[\n";
        assert_eq!(depth_error(fm), None);
        let v: serde_yaml::Value = from_frontmatter(fm).unwrap();
        assert!(v.get("desc").is_some());
    }

    #[test]
    fn deep_block_and_flow_nesting_is_refused() {
        let mut block = String::new();
        for d in 0..40 {
            block.push_str(&format!("{}k{d}:\n", "  ".repeat(d)));
        }
        let e = from_frontmatter::<serde_yaml::Value>(&block).unwrap_err();
        assert!(e.message.contains("limit is 32"), "{e}");
        assert_eq!(e.line, 2 + MAX_FRONTMATTER_DEPTH);

        let flow = format!("x: {}1{}\n", "[".repeat(40), "]".repeat(40));
        assert_eq!(depth_error(&flow), Some(41));
        let dashes = format!("x:\n{}a\n", "- ".repeat(40));
        assert!(depth_error(&dashes).is_some());
        // brackets in quotes and comments do not count
        let quoted = format!(
            "x: [\"{}\", '{}'] # {}\n",
            "[".repeat(40),
            "{".repeat(40),
            "[".repeat(40)
        );
        assert_eq!(depth_error(&quoted), None);
    }

    #[test]
    fn oversize_is_refused() {
        let big = "k: v\n".repeat(MAX_FRONTMATTER_BYTES / 5 + 1);
        let e = from_frontmatter::<serde_yaml::Value>(&big).unwrap_err();
        assert!(e.message.contains("bytes; the limit is"), "{e}");
    }

    #[test]
    fn errors_are_located_in_the_file() {
        let e = from_frontmatter::<serde_yaml::Value>("type: belief\nfacets: [a, b\nid: z\n")
            .unwrap_err();
        assert!(e.line >= 3, "{e}");
        assert!(e.message.contains("invalid YAML"), "{e}");
    }

    #[derive(Debug, Clone, Copy)]
    enum Level {
        Map,
        Seq,
        /// `key:` then `- item:` at the key's own column (YAML allows it; counts 3 levels).
        SameColumnSeq,
    }

    /// YAML nesting `levels` deep, ending in `flow` brackets; (text, true depth).
    fn nested(levels: &[Level], flow: usize) -> (String, usize) {
        let mut out = String::new();
        let mut ind = 0;
        let mut depth = 0;
        for (n, l) in levels.iter().enumerate() {
            let pad = " ".repeat(ind);
            match l {
                Level::Map => {
                    out.push_str(&format!("{pad}k{n}:\n"));
                    ind += 2;
                    depth += 1;
                }
                Level::Seq => {
                    out.push_str(&format!("{pad}- k{n}:\n"));
                    ind += 4;
                    depth += 2;
                }
                Level::SameColumnSeq => {
                    out.push_str(&format!("{pad}k{n}:\n{pad}- s{n}:\n"));
                    ind += 4;
                    depth += 3;
                }
            }
        }
        let pad = " ".repeat(ind);
        out.push_str(&format!(
            "{pad}leaf: {}1{}\n",
            "[".repeat(flow),
            "]".repeat(flow)
        ));
        (out, depth + flow)
    }

    proptest::proptest! {
        /// Shallow nesting parses; nesting past twice the limit is refused by the pre-scan (the
        /// scan under-counts same-column sequences by at most half, never over-counts by more
        /// than the leaf).
        #[test]
        fn nesting_is_bounded(
            levels in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(Level::Map),
                    proptest::strategy::Just(Level::Seq),
                    proptest::strategy::Just(Level::SameColumnSeq),
                ],
                0..60,
            ),
            flow in 0usize..80,
        ) {
            let (text, depth) = nested(&levels, flow);
            let r = from_frontmatter::<serde_yaml::Value>(&text);
            if depth < MAX_FRONTMATTER_DEPTH {
                proptest::prop_assert!(r.is_ok(), "depth {depth}: {r:?}\n{text}");
            }
            if depth > 2 * MAX_FRONTMATTER_DEPTH + 1 {
                let e = r.expect_err("deep nesting must be refused");
                proptest::prop_assert!(e.message.contains("the limit is 32"), "{e}");
            }
        }
    }
}
