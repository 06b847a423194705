//! Chunking: cut one document into pieces the model sees whole, with boundaries that survive
//! edits.
//!
//! Every splitter works the same way. A document is a list of lines; a splitter finds *block*
//! boundaries from the document's own structure — items and their children for code (tree-sitter),
//! headings then paragraphs for markdown, `[tables]` for TOML, blank-line paragraphs for anything
//! else. Blocks cover every line (nothing is dropped), and a block over the token budget is split
//! again one level down (an `impl` into its methods, a function into its statements, a section
//! into its paragraphs, a paragraph into lines, a line into words). Then small neighbouring blocks
//! are merged up to the budget — but only inside *groups* whose first block is content-defined: a
//! block starts a group when it is big or when the hash of its text says so, with a chance
//! proportional to its size, so a group holds about one budget of text. An edit changes the chunks
//! of its own group and no others: inserting a line at the top of a file re-embeds the first chunk
//! or two, never every window below it. Chunk text
//! is hashed without line numbers, so chunks that only moved keep their vectors.

use std::ops::Range;

use sha2::{Digest, Sha256};

use super::embed::MAX_TOKENS;

/// Budget of one chunk in *estimated* tokens (title and text). The model's window is
/// [`MAX_TOKENS`] = 256 with [CLS] and [SEP]; [`estimate_tokens`] over-counts real text (see its
/// doc), and the 14 tokens of slack cover the title separator.
pub const CHUNK_TOKENS: usize = MAX_TOKENS - 16;
/// A block at least this share of the budget is a group of its own (never merged).
const BIG_SHARE: usize = 2;

/// A conservative estimate of the model's token count for `text` (its BERT WordPiece tokenizer,
/// lower-cased, accents stripped), without the tokenizer, so chunk boundaries never depend on
/// whether the model is installed. Punctuation, symbols and CJK characters count one token each
/// (WordPiece splits them off one by one); a run of letters counts one token plus one per started
/// 3 characters after its first 3 (most English words are one token, identifiers are cut into
/// pieces of 2–4 characters); a run with digits, or longer than 20, counts 2 tokens per 3
/// characters (hex, base64, numbers). Calibrated against the real tokenizer on 8 564 12-line
/// windows of the bench corpus (benches/scry_corpus.sh): real ÷ estimate ≤ 1.06 everywhere and
/// 0.73 at the median, and the slack below covers the 6 %; tests/scry.rs
/// `chunks_fit_the_model_window` checks every chunk of a real corpus with the real tokenizer.
pub fn estimate_tokens(text: &str) -> usize {
    let mut n = 0;
    let mut word = 0usize;
    let mut digits = false;
    let flush = |word: &mut usize, digits: &mut bool, n: &mut usize| {
        if *word > 0 {
            *n += word_tokens(*word, *digits);
            *word = 0;
            *digits = false;
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() && !is_cjk(c) {
            word += 1;
            digits |= c.is_ascii_digit();
            continue;
        }
        flush(&mut word, &mut digits, &mut n);
        if !c.is_whitespace() {
            n += 1;
        }
    }
    flush(&mut word, &mut digits, &mut n);
    n
}

/// Estimated WordPiece tokens of one run of `len` letters/digits.
fn word_tokens(len: usize, digits: bool) -> usize {
    if digits || len > 20 {
        // Hex, base64, numbers, ids: pieces of one to two characters.
        (2 * len).div_ceil(3)
    } else {
        1 + len.saturating_sub(3).div_ceil(3)
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// One chunk of a document: 0-based line range `[start, end)`, its text (whole lines, except
/// when one line alone is over the budget) and the heading or item it sits in, for the title.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub lines: Range<usize>,
    pub text: String,
    pub context: Option<String>,
}

/// The structure a document is split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Markdown; `sections_apart`: every heading starts a chunk (session entries), else small
    /// sections are merged (layer docs).
    Markdown { sections_apart: bool },
    /// TOML: `[table]` / `[[array]]` headers, then paragraphs.
    Toml,
    /// Source code in a language we have a grammar for.
    Code(Lang),
    /// Anything else: blank-line paragraphs.
    Text,
}

/// Languages with a tree-sitter grammar (few on purpose: each one is C to compile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    Go,
    TypeScript,
    /// TSX, also used for JavaScript and JSX (TypeScript's grammar is a superset).
    Tsx,
}

impl Lang {
    pub fn from_path(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.')?.1;
        Some(match ext {
            "rs" => Lang::Rust,
            "py" | "pyi" => Lang::Python,
            "go" => Lang::Go,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" | "js" | "jsx" | "mjs" | "cjs" => Lang::Tsx,
            _ => return None,
        })
    }

    fn language(self) -> tree_sitter::Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }
}

/// Split `lines` (a whole document, or its body after frontmatter) into pieces of at most
/// `budget` estimated tokens each (`title_tokens` of the budget go to the chunk's title).
pub fn split(lines: &[&str], shape: Shape, title_tokens: usize) -> Vec<Piece> {
    let budget = CHUNK_TOKENS.saturating_sub(title_tokens).max(32);
    let doc = Doc::new(lines, budget);
    let mut out = vec![];
    let all = 0..lines.len();
    match shape {
        Shape::Code(lang) => match parse(lines, lang) {
            Some(tree) => doc.code(tree.root_node(), all, None, &mut out),
            None => doc.text(all, None, &mut out),
        },
        Shape::Markdown { sections_apart } => doc.markdown(all, sections_apart, &mut out),
        Shape::Toml => doc.toml(all, &mut out),
        Shape::Text => doc.text(all, None, &mut out),
    }
    out.retain(|p| !p.text.trim().is_empty());
    out
}

fn parse(lines: &[&str], lang: Lang) -> Option<tree_sitter::Tree> {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&lang.language()).ok()?;
    parser.parse(lines.join("\n"), None)
}

struct Doc<'a> {
    lines: &'a [&'a str],
    /// Estimated tokens per line.
    tokens: Vec<usize>,
    budget: usize,
}

/// A block: a line range and whether it must stand alone (a heading of a session entry).
struct Block {
    lines: Range<usize>,
    alone: bool,
}

impl<'a> Doc<'a> {
    fn new(lines: &'a [&'a str], budget: usize) -> Doc<'a> {
        Doc {
            tokens: lines.iter().map(|l| estimate_tokens(l)).collect(),
            lines,
            budget,
        }
    }

    fn cost(&self, r: &Range<usize>) -> usize {
        self.tokens[r.clone()].iter().sum()
    }

    /// The budget of a piece's text once its context (part of the title) is paid for.
    fn limit(&self, context: &Option<String>) -> usize {
        let ctx = context.as_deref().map_or(0, |c| estimate_tokens(c) + 2);
        self.budget.saturating_sub(ctx).max(16)
    }

    fn fits(&self, r: &Range<usize>, context: &Option<String>) -> bool {
        self.cost(r) <= self.limit(context)
    }

    fn blank(&self, i: usize) -> bool {
        self.lines[i].trim().is_empty()
    }

    fn piece(&self, r: Range<usize>, context: &Option<String>) -> Piece {
        Piece {
            text: self.lines[r.clone()].join("\n"),
            lines: r,
            context: context.clone(),
        }
    }

    /// Merge small neighbouring blocks up to the budget, inside content-defined groups.
    /// Every block must already fit.
    fn pack(&self, blocks: Vec<Block>, context: &Option<String>, out: &mut Vec<Piece>) {
        let limit = self.limit(context);
        let big = |b: &Block| b.alone || self.cost(&b.lines) * BIG_SHARE >= limit;
        let mut current: Option<Range<usize>> = None;
        let mut prev_big = true;
        for b in blocks {
            let is_big = big(&b);
            let starts_group = prev_big || is_big || self.anchor(&b.lines);
            prev_big = is_big;
            current = match current {
                Some(c) if !starts_group && self.cost(&c) + self.cost(&b.lines) <= limit => {
                    Some(c.start..b.lines.end)
                }
                Some(c) => {
                    out.push(self.piece(c, context));
                    Some(b.lines)
                }
                None => Some(b.lines),
            };
        }
        if let Some(c) = current {
            out.push(self.piece(c, context));
        }
    }

    /// Does this block start a merge group? Content-defined: by the hash of its text, with a
    /// chance proportional to its size (cost ÷ budget), so a group holds about one budget of
    /// text on average whatever the block size — lines, statements or sections.
    fn anchor(&self, r: &Range<usize>) -> bool {
        let mut h = Sha256::new();
        for l in &self.lines[r.clone()] {
            h.update(l.trim().as_bytes());
            h.update(b"\n");
        }
        let d = h.finalize();
        let draw = u16::from_le_bytes([d[0], d[1]]) as usize;
        draw * self.budget < self.cost(r) * 65536
    }

    /// Blocks from sorted boundary rows inside `r` (each boundary starts a block).
    fn blocks_at(&self, r: &Range<usize>, mut cuts: Vec<usize>) -> Vec<Range<usize>> {
        cuts.retain(|&c| c > r.start && c < r.end);
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = vec![];
        let mut s = r.start;
        for c in cuts {
            out.push(s..c);
            s = c;
        }
        out.push(s..r.end);
        out
    }

    /// Plain text: paragraphs (a non-blank line after a blank one starts a block), then lines.
    fn text(&self, r: Range<usize>, context: Option<String>, out: &mut Vec<Piece>) {
        if r.is_empty() {
            return;
        }
        if self.fits(&r, &context) {
            out.push(self.piece(r, &context));
            return;
        }
        let cuts: Vec<usize> = (r.start + 1..r.end)
            .filter(|&i| !self.blank(i) && self.blank(i - 1))
            .collect();
        let paras = self.blocks_at(&r, cuts);
        if paras.len() == 1 {
            return self.lines_of(r, context, out);
        }
        self.fit_and_pack(paras, &context, out, |doc, p, ctx, out| {
            doc.lines_of(p, ctx.clone(), out)
        });
    }

    /// One block per line; a line over the budget is cut between words.
    fn lines_of(&self, r: Range<usize>, context: Option<String>, out: &mut Vec<Piece>) {
        let limit = self.limit(&context);
        let mut blocks = vec![];
        for i in r {
            if self.tokens[i] <= limit {
                blocks.push(Block {
                    lines: i..i + 1,
                    alone: false,
                });
                continue;
            }
            // Flush what we have, then the long line in word runs under the budget.
            self.pack(std::mem::take(&mut blocks), &context, out);
            let mut part = String::new();
            let mut cost = 0;
            for w in self.lines[i].split_inclusive(char::is_whitespace) {
                let c = estimate_tokens(w);
                if cost + c > limit && !part.is_empty() {
                    out.push(Piece {
                        lines: i..i + 1,
                        text: std::mem::take(&mut part),
                        context: context.clone(),
                    });
                    cost = 0;
                }
                // A single "word" over the budget (a minified blob) is cut by characters.
                if c > limit {
                    let chars: Vec<char> = w.chars().collect();
                    for piece in chars.chunks(limit) {
                        out.push(Piece {
                            lines: i..i + 1,
                            text: piece.iter().collect(),
                            context: context.clone(),
                        });
                    }
                    continue;
                }
                part.push_str(w);
                cost += c;
            }
            if !part.trim().is_empty() {
                out.push(Piece {
                    lines: i..i + 1,
                    text: part,
                    context: context.clone(),
                });
            }
        }
        self.pack(blocks, &context, out);
    }

    /// Split the blocks that do not fit with `deeper`, then pack the rest (in order).
    fn fit_and_pack(
        &self,
        blocks: Vec<Range<usize>>,
        context: &Option<String>,
        out: &mut Vec<Piece>,
        deeper: impl Fn(&Self, Range<usize>, &Option<String>, &mut Vec<Piece>),
    ) {
        let mut run = vec![];
        for b in blocks {
            if self.fits(&b, context) {
                run.push(Block {
                    lines: b,
                    alone: false,
                });
            } else {
                self.pack(std::mem::take(&mut run), context, out);
                deeper(self, b, context, out);
            }
        }
        self.pack(run, context, out);
    }

    /// Markdown: heading sections (outside code fences), then paragraphs, then lines.
    fn markdown(&self, r: Range<usize>, sections_apart: bool, out: &mut Vec<Piece>) {
        let mut in_fence = false;
        let mut headings = vec![];
        let mut para_cuts = vec![];
        for i in r.clone() {
            let t = self.lines[i].trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                in_fence = !in_fence;
            }
            if in_fence {
                continue;
            }
            if t.starts_with('#') && t.trim_start_matches('#').starts_with(' ') {
                headings.push(i);
            } else if i > r.start && !self.blank(i) && self.blank(i - 1) {
                para_cuts.push(i);
            }
        }
        let heading_of = |s: usize| -> Option<String> {
            headings
                .iter()
                .rev()
                .find(|&&h| h <= s)
                .map(|&h| self.lines[h].trim_start_matches('#').trim().to_string())
        };
        let sections = self.blocks_at(&r, headings.clone());
        let mut run: Vec<Block> = vec![];
        let mut run_ctx: Option<String> = None;
        for s in sections {
            let ctx = heading_of(s.start);
            if self.fits(&s, &ctx) && !sections_apart {
                if run.is_empty() {
                    run_ctx = ctx;
                }
                run.push(Block {
                    lines: s,
                    alone: false,
                });
                continue;
            }
            self.pack(std::mem::take(&mut run), &run_ctx, out);
            if self.fits(&s, &ctx) {
                out.push(self.piece(s, &ctx));
                continue;
            }
            // Paragraphs of this section (cuts outside fences), each split further if needed.
            let paras = self.blocks_at(&s, para_cuts.clone());
            self.fit_and_pack(paras, &ctx, out, |doc, p, ctx, out| {
                doc.lines_of(p, ctx.clone(), out)
            });
        }
        self.pack(run, &run_ctx, out);
        // Pieces merged from several sections carry the first one's heading; fix pieces that
        // start at a later heading.
        for p in out.iter_mut() {
            if headings.contains(&p.lines.start) {
                p.context = heading_of(p.lines.start);
            }
        }
    }

    /// TOML: a `[table]` or `[[array]]` header starts a block; big tables split as text.
    fn toml(&self, r: Range<usize>, out: &mut Vec<Piece>) {
        let header = |i: usize| {
            let t = self.lines[i].trim_start();
            t.starts_with('[')
        };
        let cuts: Vec<usize> = r.clone().filter(|&i| header(i)).collect();
        let tables = self.blocks_at(&r, cuts);
        let name =
            |b: &Range<usize>| header(b.start).then(|| self.lines[b.start].trim().to_string());
        let mut run = vec![];
        let mut ctx = None;
        for t in tables {
            if self.fits(&t, &name(&t)) {
                if run.is_empty() {
                    ctx = name(&t);
                }
                run.push(Block {
                    lines: t,
                    alone: false,
                });
            } else {
                self.pack(std::mem::take(&mut run), &ctx, out);
                let c = name(&t);
                self.text(t, c, out);
            }
        }
        self.pack(run, &ctx, out);
    }

    /// Code: the node's named children start blocks (leading comments and attributes stay with
    /// the item after them); a block over the budget is split by its own children, and at the
    /// bottom as text.
    fn code(
        &self,
        node: tree_sitter::Node<'_>,
        r: Range<usize>,
        context: Option<String>,
        out: &mut Vec<Piece>,
    ) {
        if r.is_empty() {
            return;
        }
        if self.fits(&r, &context) {
            out.push(self.piece(r, &context));
            return;
        }
        let Some((cuts, kids)) = self.child_cuts(node, &r) else {
            return self.text(r, context, out);
        };
        let blocks = self.blocks_at(&r, cuts);
        let mut run = vec![];
        for b in blocks {
            if self.fits(&b, &context) {
                run.push(Block {
                    lines: b,
                    alone: false,
                });
                continue;
            }
            self.pack(std::mem::take(&mut run), &context, out);
            // The child node that starts this block (the widest one starting in it).
            let kid = kids
                .iter()
                .filter(|k| {
                    let s = k.start_position().row;
                    s >= b.start && s < b.end
                })
                .max_by_key(|k| k.end_position().row - k.start_position().row)
                .copied();
            match kid {
                Some(k) if k.end_position().row > k.start_position().row => {
                    let ctx = self.item_context(&context, k);
                    self.code(k, b, ctx, out)
                }
                _ => self.text(b, context.clone(), out),
            }
        }
        self.pack(run, &context, out);
    }

    /// Rows where `node`'s structure cuts `r`: the named children's starts (a run of comments /
    /// attributes / decorators cuts before itself, not before the item it annotates). When every
    /// child starts on the node's first row (`impl X {` → its body), descend into the widest child.
    fn child_cuts<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        r: &Range<usize>,
    ) -> Option<(Vec<usize>, Vec<tree_sitter::Node<'t>>)> {
        let mut n = node;
        for _ in 0..16 {
            let mut cursor = n.walk();
            let kids: Vec<tree_sitter::Node<'t>> = n.named_children(&mut cursor).collect();
            let mut cuts = vec![];
            let mut pending: Option<usize> = None;
            for k in &kids {
                let row = k.start_position().row;
                let kind = k.kind();
                if kind.contains("comment") || kind.contains("attribute") || kind == "decorator" {
                    pending.get_or_insert(row);
                    continue;
                }
                cuts.push(pending.take().unwrap_or(row));
            }
            cuts.extend(pending);
            if cuts.iter().any(|&c| c > r.start && c < r.end) {
                return Some((cuts, kids));
            }
            n = kids
                .into_iter()
                .max_by_key(|k| k.end_position().row - k.start_position().row)
                .filter(|k| k.end_position().row > k.start_position().row)?;
        }
        None
    }

    /// "outer › first line of the item", for the titles of pieces inside a big item: the two
    /// innermost levels (an `impl` and its method, a function and its `match`), never the same
    /// line twice.
    fn item_context(&self, outer: &Option<String>, k: tree_sitter::Node<'_>) -> Option<String> {
        let line = self.lines.get(k.start_position().row)?.trim();
        let line: String = line.trim_end_matches('{').trim().chars().take(60).collect();
        let mut parts: Vec<&str> = outer
            .as_deref()
            .map_or(vec![], |o| o.split(" › ").collect());
        if line.is_empty() || parts.last() == Some(&line.as_str()) {
            return outer.clone();
        }
        parts.push(&line);
        let keep = parts.len().saturating_sub(2);
        Some(parts[keep..].join(" › "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<&str> {
        s.lines().collect()
    }

    fn covered(pieces: &[Piece], n: usize) {
        let mut at = 0;
        for p in pieces {
            assert!(p.lines.start >= at || p.lines.start + 1 == at, "{pieces:?}");
            at = p.lines.end;
        }
        assert!(at <= n);
    }

    #[test]
    fn estimate_counts_punctuation_and_long_words() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("the cat sat"), 3);
        assert_eq!(estimate_tokens("fn main() {}"), 7);
        // A sha-like run: 2 tokens per 3 characters.
        assert_eq!(estimate_tokens("8199be6f"), 6);
        // 12 letters: 1 + ceil(9/3) = 4
        assert_eq!(estimate_tokens("tokenization"), 4);
        assert_eq!(estimate_tokens("東京"), 2);
    }

    #[test]
    fn small_text_is_one_piece_and_big_text_fits_the_budget() {
        let small = lines("a\nb\n\nc");
        let p = split(&small, Shape::Text, 0);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].lines, 0..4);
        let para = "word ".repeat(30);
        let big: String = (0..40).map(|i| format!("{para}{i}\n\n")).collect();
        let big = lines(&big);
        let p = split(&big, Shape::Text, 0);
        assert!(p.len() > 1);
        for x in &p {
            assert!(estimate_tokens(&x.text) <= CHUNK_TOKENS, "{}", x.text.len());
        }
        covered(&p, big.len());
        // Nothing dropped: every word is in some piece.
        let words: usize = p.iter().map(|x| x.text.matches("word").count()).sum();
        assert_eq!(words, 40 * 30);
    }

    #[test]
    fn one_long_line_is_cut_between_words() {
        let line = "alpha ".repeat(1000);
        let doc = [line.as_str()];
        let p = split(&doc, Shape::Text, 0);
        assert!(p.len() > 3);
        assert!(p.iter().all(|x| estimate_tokens(&x.text) <= CHUNK_TOKENS));
        let total: usize = p.iter().map(|x| x.text.matches("alpha").count()).sum();
        assert_eq!(total, 1000);
    }

    fn rust_file(fns: usize) -> String {
        let mut s = String::from("use std::io;\nuse std::fmt;\n\n");
        for i in 0..fns {
            s.push_str(&format!(
                "/// Doc of function {i}.\n#[inline]\nfn function_{i}(x: u32) -> u32 {{\n    let y = x * {i} + 1;\n    let z = y.wrapping_mul(31) ^ 0x{i:x};\n    if z % 3 == 0 {{\n        return z;\n    }}\n    z + y\n}}\n\n"
            ));
        }
        s
    }

    #[test]
    fn rust_items_keep_their_doc_comments() {
        let src = rust_file(40);
        let l = lines(&src);
        let p = split(&l, Shape::Code(Lang::Rust), 4);
        assert!(p.len() > 3);
        for x in &p {
            // A piece never starts inside a function: it starts at a doc comment or a `use`.
            let first = x.text.lines().find(|l| !l.trim().is_empty()).unwrap();
            assert!(
                first.starts_with("///") || first.starts_with("use "),
                "piece starts with {first:?}"
            );
            assert!(estimate_tokens(&x.text) <= CHUNK_TOKENS);
        }
        covered(&p, l.len());
    }

    #[test]
    fn a_line_inserted_at_the_top_changes_at_most_three_pieces() {
        for (shape, text) in [
            (Shape::Code(Lang::Rust), rust_file(120)),
            (
                Shape::Text,
                (0..300)
                    .map(|i| format!("paragraph {i} says something about item {}\n\n", i * 7))
                    .collect::<String>(),
            ),
            (
                Shape::Markdown {
                    sections_apart: false,
                },
                (0..80)
                    .map(|i| {
                        format!(
                            "## Section {i}\n\nSome prose for section {i}, long enough to matter.\n\n- a point\n- another point {i}\n\n"
                        )
                    })
                    .collect::<String>(),
            ),
        ] {
            let before = lines(&text);
            let edited = format!("// a new first line\n{text}");
            let after = lines(&edited);
            let a: std::collections::HashSet<String> =
                split(&before, shape, 0).into_iter().map(|p| p.text).collect();
            let b: Vec<String> = split(&after, shape, 0).into_iter().map(|p| p.text).collect();
            let changed = b.iter().filter(|t| !a.contains(*t)).count();
            assert!(
                changed <= 3,
                "{shape:?}: {changed} of {} pieces changed",
                b.len()
            );
        }
    }

    #[test]
    fn markdown_sections_apart_and_fences_kept() {
        let md = "# T\n\nintro\n\n## Activity Log\n### 10:00 - Start\nstarted\n\n### 10:30 - Note\n```\ncode\n\n# not a heading\n```\n";
        let l = lines(md);
        let p = split(
            &l,
            Shape::Markdown {
                sections_apart: true,
            },
            0,
        );
        let ctx: Vec<Option<&str>> = p.iter().map(|x| x.context.as_deref()).collect();
        assert_eq!(
            ctx,
            vec![
                Some("T"),
                Some("Activity Log"),
                Some("10:00 - Start"),
                Some("10:30 - Note")
            ]
        );
        assert!(p[3].text.contains("# not a heading"));
    }

    #[test]
    fn toml_tables_are_blocks() {
        let t = "[item]\nid = \"a\"\ntitle = \"first\"\n\n[[task]]\nname = \"x\"\n";
        let l = lines(t);
        let p = split(&l, Shape::Toml, 0);
        assert_eq!(p.len(), 1, "small file: one piece");
        let big: String = (0..60)
            .map(|i| format!("[[task]]\nname = \"task number {i}\"\nstatus = \"open\"\nnote = \"something to do about {i}\"\n\n"))
            .collect();
        let l = lines(&big);
        let p = split(&l, Shape::Toml, 0);
        assert!(p.len() > 1);
        assert!(
            p.iter()
                .all(|x| x.text.trim_start().starts_with("[[task]]"))
        );
    }
}
