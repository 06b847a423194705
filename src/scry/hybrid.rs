//! Fusion of the semantic and lexical rankings: reciprocal rank fusion in which a source that
//! is sure of its best document weighs more for that document; deterministic ties.
//!
//! Why the "sure" weight (docs/ARCHITECTURE.md, Scry, "Relevance, per kind"): with equal weights,
//! a short commit subject or a doc section that BM25 finds first by a wide margin but the model
//! ranks 2nd–3rd lost to a chunk the model ranks 1st and BM25 also lists; and the lexical gate
//! (enough of the query's terms) dropped a commit matching one rare query word. A source is sure
//! when its best document leads the next *other document* clearly: BM25 by a ratio, cosine by a
//! gap (cosines of one model are on one scale; BM25 scores are not, so only their ratio means
//! anything across queries).

use std::collections::HashMap;

/// RRF constant (Cormack et al.): score = Σ w / (K + rank), rank counted from 1.
pub const RRF_K: f64 = 60.0;
/// BM25's best document is sure when it scores this many times the next other document.
pub const LEXICAL_SURE_RATIO: f32 = 1.4;
/// The model's best document is sure when its cosine leads the next other document's by this.
pub const SEMANTIC_SURE_GAP: f32 = 0.10;
/// Weight of a sure source's best document (every other entry weighs 1).
pub const SURE_WEIGHT: f64 = 2.0;

/// One fused result: the chunk ordinal, its fused score and its rank in each list.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub ord: usize,
    pub score: f64,
    pub semantic: Option<usize>,
    pub lexical: Option<usize>,
}

/// The rankings to fuse: chunk ordinals with their source's score, best first.
pub struct Sources<'a> {
    pub semantic: &'a [(usize, f32)],
    /// What lexical contributes to the fusion (beside a complete semantic ranking, only the
    /// documents holding enough of the query's terms).
    pub lexical: &'a [(usize, f32)],
    /// Every lexical match, for judging whether BM25 is sure of its best document (which then
    /// joins the fusion even when the gate left it out).
    pub lexical_all: &'a [(usize, f32)],
}

/// The best entry of `list` when it leads the next entry of another document by `clear`.
fn sure_best<'a>(
    list: &[(usize, f32)],
    document: &impl Fn(usize) -> &'a str,
    clear: impl Fn(f32, f32) -> bool,
) -> Option<(usize, f32)> {
    let &(best, score) = list.first()?;
    let runner_up = list
        .iter()
        .find(|(o, _)| document(*o) != document(best))
        .map(|&(_, s)| s);
    match runner_up {
        Some(next) if !clear(score, next) => None,
        _ => Some((best, score)),
    }
}

/// Fuse the two rankings. `document(ord)` names the document a chunk belongs to (a sure lead
/// is over other documents, not over the same file's next chunk); `doc_id(ord)` breaks ties
/// (ascending), so equal scores always come out in the same order.
pub fn fuse<'a>(
    src: &Sources<'_>,
    document: impl Fn(usize) -> &'a str,
    doc_id: impl Fn(usize) -> &'a str,
) -> Vec<Fused> {
    let sure_semantic = sure_best(src.semantic, &document, |best, next| {
        best - next >= SEMANTIC_SURE_GAP
    })
    .map(|(o, _)| o);
    let sure_lexical = sure_best(src.lexical_all, &document, |best, next| {
        best > 0.0 && best >= LEXICAL_SURE_RATIO * next
    });
    let mut lexical: Vec<usize> = Vec::with_capacity(src.lexical.len() + 1);
    if let Some((o, _)) = sure_lexical
        && !src.lexical.iter().any(|(x, _)| *x == o)
    {
        lexical.push(o);
    }
    lexical.extend(src.lexical.iter().map(|(o, _)| *o));
    let semantic: Vec<usize> = src.semantic.iter().map(|(o, _)| *o).collect();
    let sure_lexical = sure_lexical.map(|(o, _)| o);

    let mut by_ord: HashMap<usize, Fused> = HashMap::new();
    for (list, is_sem, sure) in [
        (&semantic, true, sure_semantic),
        (&lexical, false, sure_lexical),
    ] {
        for (i, &ord) in list.iter().enumerate() {
            let rank = i + 1;
            let weight = if Some(ord) == sure { SURE_WEIGHT } else { 1.0 };
            let e = by_ord.entry(ord).or_insert(Fused {
                ord,
                score: 0.0,
                semantic: None,
                lexical: None,
            });
            e.score += weight / (RRF_K + rank as f64);
            if is_sem {
                e.semantic = Some(rank);
            } else {
                e.lexical = Some(rank);
            }
        }
    }
    let mut out: Vec<Fused> = by_ord.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| doc_id(a.ord).cmp(doc_id(b.ord)))
    });
    out
}

/// Sort scored ordinals best first, ties by doc_id, keep `limit`.
pub fn rank_scored<'a>(
    mut scored: Vec<(usize, f32)>,
    limit: usize,
    doc_id: impl Fn(usize) -> &'a str,
) -> Vec<(usize, f32)> {
    scored.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| doc_id(a.0).cmp(doc_id(b.0)))
    });
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fuse_plain(sem: &[(usize, f32)], lex: &[(usize, f32)], docs: &[&'static str]) -> Vec<Fused> {
        fuse(
            &Sources {
                semantic: sem,
                lexical: lex,
                lexical_all: lex,
            },
            |o| docs[o],
            |o| docs[o],
        )
    }

    #[test]
    fn rrf_sums_and_breaks_ties_by_doc_id() {
        let ids = ["d", "c", "b", "a"];
        // 0 and 1 each appear once at rank 1: equal scores → doc_id order ("c" < "d"). Each is
        // alone in its list, so each source is sure of it: equal weights again.
        let f = fuse_plain(&[(0, 0.5)], &[(1, 3.0)], &ids);
        assert_eq!(f.iter().map(|x| x.ord).collect::<Vec<_>>(), vec![1, 0]);
        // Appearing in both lists beats appearing once at the top (no source is sure here:
        // the cosines are close and BM25's lead is small).
        let f = fuse_plain(&[(0, 0.50), (2, 0.49)], &[(1, 3.0), (2, 2.9)], &ids);
        assert_eq!(f[0].ord, 2);
        assert_eq!(f[0].semantic, Some(2));
        assert_eq!(f[0].lexical, Some(2));
        let want = 2.0 / 62.0;
        assert!((f[0].score - want).abs() < 1e-12);
    }

    #[test]
    fn a_clear_lexical_lead_outweighs_a_close_semantic_first() {
        let docs = ["commit", "file", "other"];
        // The model puts `file` first by a hair, `commit` second; BM25 puts `commit` first at
        // twice the next document's score.
        let sem = [(1, 0.50), (0, 0.47), (2, 0.30)];
        let lex = [(0, 10.0), (1, 5.0)];
        let f = fuse_plain(&sem, &lex, &docs);
        assert_eq!(f[0].ord, 0, "{f:?}");
        // With a small lead BM25 is not sure: plain RRF, where the two tie.
        let lex = [(0, 10.0), (1, 9.0)];
        let f = fuse_plain(&sem, &lex, &docs);
        let plain = 1.0 / 61.0 + 1.0 / 62.0;
        assert!(
            f[..2].iter().all(|x| (x.score - plain).abs() < 1e-12),
            "{f:?}"
        );
    }

    #[test]
    fn a_sure_lexical_best_joins_even_when_the_gate_left_it_out() {
        let docs = ["a", "b", "c"];
        let f = fuse(
            &Sources {
                semantic: &[(1, 0.5), (2, 0.45)],
                lexical: &[],
                lexical_all: &[(0, 9.0), (2, 3.0)],
            },
            |o| docs[o],
            |o| docs[o],
        );
        let got = f
            .iter()
            .find(|x| x.ord == 0)
            .expect("the sure lexical best");
        assert_eq!(got.lexical, Some(1));
    }

    #[test]
    fn the_lead_is_over_other_documents_not_the_same_files_next_chunk() {
        // Chunks 0 and 1 are the same file: BM25's best leads the next *document* (chunk 2)
        // by 3×, although its own next chunk is close behind.
        // Unweighted, chunk 2 (in both lists) would come first.
        let docs = ["f", "f", "g", "h"];
        let sem = [(3, 0.50), (2, 0.45)];
        let lex = [(0, 9.0), (1, 8.5), (2, 3.0)];
        let f = fuse_plain(&sem, &lex, &docs);
        assert_eq!(f[0].ord, 0, "{f:?}");
    }

    #[test]
    fn fusion_is_stable_across_runs() {
        let ids: Vec<String> = (0..50).map(|i| format!("doc{i:02}")).collect();
        let sem: Vec<(usize, f32)> = (0..50).map(|i| (i, 1.0 - i as f32 / 100.0)).collect();
        let lex: Vec<(usize, f32)> = (0..50).rev().map(|i| (i, 1.0 + i as f32)).collect();
        let run = || {
            fuse(
                &Sources {
                    semantic: &sem,
                    lexical: &lex,
                    lexical_all: &lex,
                },
                |o| ids[o].as_str(),
                |o| ids[o].as_str(),
            )
        };
        let a = run();
        for _ in 0..5 {
            assert_eq!(a, run());
        }
    }
}
