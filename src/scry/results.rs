//! From fused chunk rankings to rows a person can use: one row per document region (adjacent
//! chunks of a file merged, at most [`ROWS_PER_FILE`] rows per file), the best-matching line,
//! the query's words marked in the snippet, and a relevance floor so a query that matches
//! nothing says so instead of filling a page.

use std::collections::HashMap;

use super::corpus::Chunk;
use super::hybrid::Fused;
use super::lexical;
use super::{Explain, Hit, Ranks};

/// At most this many rows come from one file: a top 10 then spans at least 5 files, and a
/// file whose best region is not the one you want still shows its second one.
pub const ROWS_PER_FILE: usize = 2;
/// A chunk whose cosine to the query reaches this is a semantic match. all-MiniLM-L6-v2 puts
/// paraphrases of a passage at 0.35–0.7 and unrelated text at 0–0.25 (measured on the
/// labelled fixture and the 0.11 corpus; docs/ARCHITECTURE.md, Scry, Results).
pub const SEMANTIC_FLOOR: f32 = 0.30;
/// A chunk holding at least this share of the query's content terms is a lexical match.
pub const LEXICAL_FLOOR: f64 = 0.5;
/// Rows shown, marked weak, when nothing clears the floor.
pub const WEAK_ROWS: usize = 3;
/// Snippet length in characters.
const SNIPPET_CHARS: usize = 200;

/// What the sources said about each chunk: cosine and BM25 by chunk ordinal.
pub struct Evidence {
    pub cosine: HashMap<usize, f32>,
    pub bm25: HashMap<usize, f32>,
}

/// The rows of an answer and whether nothing cleared the floor.
pub fn rows(
    chunks: &[Chunk],
    fused: &[Fused],
    ev: &Evidence,
    query: &str,
    root: &str,
    limit: usize,
) -> (Vec<Hit>, bool) {
    let terms = lexical::analyze(query);
    struct Region {
        best: usize,
        fused: usize,
        start: usize,
        end: usize,
        merged: usize,
    }
    let mut regions: Vec<Region> = vec![];
    let mut per_file: HashMap<&str, usize> = HashMap::new();
    for (fi, f) in fused.iter().enumerate() {
        let c = &chunks[f.ord];
        // Adjacent or overlapping chunks of the same file join the region already shown.
        if c.kind != super::Kind::Commit
            && let Some(r) = regions.iter_mut().find(|r| {
                let b = &chunks[r.best];
                b.path == c.path
                    && b.kind == c.kind
                    && c.line_start <= r.end + 1
                    && c.line_end + 1 >= r.start
            })
        {
            r.start = r.start.min(c.line_start);
            r.end = r.end.max(c.line_end);
            r.merged += 1;
            continue;
        }
        let n = per_file.entry(c.path.as_str()).or_default();
        if *n >= ROWS_PER_FILE {
            continue;
        }
        *n += 1;
        regions.push(Region {
            best: f.ord,
            fused: fi,
            start: c.line_start,
            end: c.line_end,
            merged: 1,
        });
    }
    let confident = |ord: usize| {
        let cos_ok = ev
            .cosine
            .get(&ord)
            .is_some_and(|&cos| cos >= SEMANTIC_FLOOR);
        cos_ok || term_share(&chunks[ord], &terms) >= LEXICAL_FLOOR
    };
    let any_confident = regions.iter().any(|r| confident(r.best));
    let mut out = vec![];
    for r in regions {
        let weak = !confident(r.best);
        if any_confident && weak {
            continue;
        }
        if out.len()
            >= if any_confident {
                limit
            } else {
                WEAK_ROWS.min(limit)
            }
        {
            break;
        }
        let c = &chunks[r.best];
        let f = &fused[r.fused];
        let (line, snippet, highlights) = best_line(c, &terms);
        out.push(Hit {
            doc_id: c.doc_id.clone(),
            kind: c.kind,
            project: root.to_string(),
            path: c.path.clone(),
            title: c.title.clone(),
            line_start: r.start,
            line_end: r.end,
            line,
            snippet,
            highlights,
            score: round6(f.score),
            ranks: Ranks {
                semantic: f.semantic,
                lexical: f.lexical,
            },
            weak,
            explain: Some(Explain {
                fused: round6(f.score),
                cosine: ev.cosine.get(&r.best).map(|&x| round6(x as f64)),
                bm25: ev.bm25.get(&r.best).map(|&x| round6(x as f64)),
                matched: matched_terms(c, &terms),
                chunks: r.merged,
            }),
        });
    }
    (out, !any_confident)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Share of the query's terms found in the chunk's title and text.
fn term_share(c: &Chunk, terms: &[String]) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    matched_terms(c, terms).len() as f64 / terms.len() as f64
}

fn matched_terms(c: &Chunk, terms: &[String]) -> Vec<String> {
    let have = lexical::analyze(&format!("{}\n{}", c.title, c.text));
    terms.iter().filter(|t| have.contains(t)).cloned().collect()
}

/// The chunk line with the most query terms (the first non-blank line when none matches), as
/// (absolute line, snippet from it, highlighted char ranges of the snippet).
pub(crate) fn best_line(c: &Chunk, terms: &[String]) -> (usize, String, Vec<[usize; 2]>) {
    let lines: Vec<&str> = c.text.lines().collect();
    let score = |l: &str| {
        let mut seen: Vec<&str> = vec![];
        for r in lexical::term_spans(l, terms) {
            let w = &l[r];
            if !seen.contains(&w) {
                seen.push(w);
            }
        }
        seen.len()
    };
    let mut best = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let mut best_score = 0;
    for (i, l) in lines.iter().enumerate() {
        let s = score(l);
        if s > best_score {
            best = i;
            best_score = s;
        }
    }
    let mut snippet = String::new();
    for l in lines.iter().skip(best).filter(|l| !l.trim().is_empty()) {
        if !snippet.is_empty() {
            snippet.push_str(" ⏎ ");
        }
        snippet.push_str(&l.split_whitespace().collect::<Vec<_>>().join(" "));
        if snippet.chars().count() >= SNIPPET_CHARS {
            break;
        }
    }
    if snippet.chars().count() > SNIPPET_CHARS {
        snippet = snippet.chars().take(SNIPPET_CHARS - 1).collect::<String>() + "…";
    }
    let chars = |byte: usize| snippet[..byte].chars().count();
    let highlights = lexical::term_spans(&snippet, terms)
        .into_iter()
        .map(|r| [chars(r.start), chars(r.end)])
        .collect();
    (c.line_start + best, snippet, highlights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scry::Kind;

    fn chunk(path: &str, lines: (usize, usize), text: &str) -> Chunk {
        Chunk {
            doc_id: format!("code:{path}:{}", lines.0),
            kind: Kind::Code,
            path: path.into(),
            title: path.into(),
            line_start: lines.0,
            line_end: lines.1,
            text: text.into(),
            hash: String::new(),
        }
    }

    fn fused(ords: &[usize]) -> Vec<Fused> {
        ords.iter()
            .enumerate()
            .map(|(i, &ord)| Fused {
                ord,
                score: 1.0 / (61.0 + i as f64),
                semantic: Some(i + 1),
                lexical: None,
            })
            .collect()
    }

    fn ev(cos: &[(usize, f32)]) -> Evidence {
        Evidence {
            cosine: cos.iter().copied().collect(),
            bm25: HashMap::new(),
        }
    }

    #[test]
    fn adjacent_chunks_merge_and_files_are_capped() {
        let chunks = vec![
            chunk("a.rs", (1, 10), "fn one() {}\nthe stale socket"),
            chunk("a.rs", (11, 20), "fn two() {}"),
            chunk("a.rs", (40, 50), "fn three() {}"),
            chunk("a.rs", (80, 90), "fn four() {}"),
            chunk("b.rs", (1, 5), "fn other() {}"),
        ];
        let e = ev(&[(0, 0.6), (1, 0.5), (2, 0.5), (3, 0.5), (4, 0.4)]);
        let (got, none) = rows(
            &chunks,
            &fused(&[0, 1, 2, 3, 4]),
            &e,
            "stale socket",
            "/p",
            10,
        );
        assert!(!none);
        let spans: Vec<(&str, usize, usize)> = got
            .iter()
            .map(|h| (h.path.as_str(), h.line_start, h.line_end))
            .collect();
        // 0 and 1 merged; 2 is the second row of a.rs; 3 is over the cap; b.rs still shows.
        assert_eq!(
            spans,
            vec![("a.rs", 1, 20), ("a.rs", 40, 50), ("b.rs", 1, 5)]
        );
        assert_eq!(got[0].explain.as_ref().unwrap().chunks, 2);
        // The best line is the one with the query's words, marked in the snippet.
        assert_eq!(got[0].line, 2);
        assert_eq!(got[0].snippet, "the stale socket");
        assert_eq!(got[0].highlights, vec![[4, 9], [10, 16]]);
    }

    #[test]
    fn below_the_floor_only_a_few_weak_rows() {
        let chunks: Vec<Chunk> = (0..20)
            .map(|i| chunk(&format!("f{i}.rs"), (1, 3), "fn unrelated() {}"))
            .collect();
        let cos: Vec<(usize, f32)> = (0..20).map(|i| (i, 0.12)).collect();
        let ords: Vec<usize> = (0..20).collect();
        let (got, none) = rows(&chunks, &fused(&ords), &ev(&cos), "florp blargh", "/p", 10);
        assert!(none);
        assert_eq!(got.len(), WEAK_ROWS);
        assert!(got.iter().all(|h| h.weak));
        // One confident row: the weak ones are not shown beside it.
        let mut cos = cos;
        cos[5].1 = 0.55;
        let (got, none) = rows(&chunks, &fused(&ords), &ev(&cos), "florp blargh", "/p", 10);
        assert!(!none);
        assert_eq!(got.len(), 1);
        assert!(!got[0].weak);
    }

    #[test]
    fn lexical_evidence_clears_the_floor() {
        let chunks = vec![chunk("peer.rs", (1, 3), "let cred = SO_PEERCRED;")];
        let e = Evidence {
            cosine: HashMap::new(),
            bm25: [(0, 3.2)].into_iter().collect(),
        };
        let (got, none) = rows(&chunks, &fused(&[0]), &e, "SO_PEERCRED", "/p", 10);
        assert!(!none);
        assert!(!got[0].explain.as_ref().unwrap().matched.is_empty());
    }
}
