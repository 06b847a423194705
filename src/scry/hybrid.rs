//! Fusion of the semantic and lexical rankings: reciprocal rank fusion, deterministic ties.

use std::collections::HashMap;

/// RRF constant (Cormack et al.): score = Σ 1 / (K + rank), rank counted from 1.
pub const RRF_K: f64 = 60.0;

/// One fused result: the chunk ordinal, its fused score and its rank in each list.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub ord: usize,
    pub score: f64,
    pub semantic: Option<usize>,
    pub lexical: Option<usize>,
}

/// Fuse two best-first lists of chunk ordinals. `doc_id(ord)` breaks ties (ascending), so equal
/// scores always come out in the same order.
pub fn rrf<'a>(
    semantic: &[usize],
    lexical: &[usize],
    doc_id: impl Fn(usize) -> &'a str,
) -> Vec<Fused> {
    let mut by_ord: HashMap<usize, Fused> = HashMap::new();
    for (list, is_sem) in [(semantic, true), (lexical, false)] {
        for (i, &ord) in list.iter().enumerate() {
            let rank = i + 1;
            let e = by_ord.entry(ord).or_insert(Fused {
                ord,
                score: 0.0,
                semantic: None,
                lexical: None,
            });
            e.score += 1.0 / (RRF_K + rank as f64);
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

    #[test]
    fn rrf_sums_and_breaks_ties_by_doc_id() {
        let ids = ["d", "c", "b", "a"];
        // 0 and 1 each appear once at rank 1: equal scores → doc_id order ("c" < "d").
        let f = rrf(&[0], &[1], |o| ids[o]);
        assert_eq!(f.iter().map(|x| x.ord).collect::<Vec<_>>(), vec![1, 0]);
        // Appearing in both lists beats appearing once at the top.
        let f = rrf(&[0, 2], &[1, 2], |o| ids[o]);
        assert_eq!(f[0].ord, 2);
        assert_eq!(f[0].semantic, Some(2));
        assert_eq!(f[0].lexical, Some(2));
        let want = 2.0 / 62.0;
        assert!((f[0].score - want).abs() < 1e-12);
    }

    #[test]
    fn rrf_is_stable_across_runs() {
        let ids: Vec<String> = (0..50).map(|i| format!("doc{i:02}")).collect();
        let sem: Vec<usize> = (0..50).collect();
        let lex: Vec<usize> = (0..50).rev().collect();
        let a = rrf(&sem, &lex, |o| ids[o].as_str());
        for _ in 0..5 {
            assert_eq!(a, rrf(&sem, &lex, |o| ids[o].as_str()));
        }
    }
}
