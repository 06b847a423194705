//! Reciprocal-rank fusion across sources (pure, deterministic).
//!
//! Each source's list is already ranked (and fused within the source). Scores from different
//! projects are not comparable, ranks are: a hit at rank r scores 1/(k + r), k = 60 as in scry.
//! Ties (equal rank in different sources) are broken by the source's own score (higher first, so
//! a hit both semantic and lexical search agreed on comes before one only one of them found),
//! then by source name, then by doc_id — never by arrival order or hash-map order.

use std::cmp::Ordering;

use super::FederatedHit;

/// RRF constant, the same as scry's.
pub const K: f64 = 60.0;

/// One source's ranked hits (best first).
pub struct SourceList {
    pub hits: Vec<FederatedHit>,
}

/// Fuse `lists` into one ranking of at most `limit` hits.
pub fn fuse(lists: Vec<SourceList>, limit: usize) -> Vec<FederatedHit> {
    let mut all: Vec<FederatedHit> = vec![];
    for list in lists {
        for (i, mut h) in list.hits.into_iter().enumerate() {
            let rank = i + 1;
            h.source_rank = rank;
            h.source_score = h.hit.score;
            h.hit.score = round6(1.0 / (K + rank as f64));
            all.push(h);
        }
    }
    all.sort_by(order);
    all.truncate(limit);
    all
}

fn order(a: &FederatedHit, b: &FederatedHit) -> Ordering {
    b.hit
        .score
        .partial_cmp(&a.hit.score)
        .unwrap_or(Ordering::Equal)
        .then(
            b.source_score
                .partial_cmp(&a.source_score)
                .unwrap_or(Ordering::Equal),
        )
        .then_with(|| a.source.cmp(&b.source))
        .then_with(|| a.hit.doc_id.cmp(&b.hit.doc_id))
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scry::{Hit, Kind, Ranks};

    fn h(source: &str, doc: &str, score: f64) -> FederatedHit {
        FederatedHit {
            source: source.into(),
            source_rank: 0,
            source_score: 0.0,
            hit: Hit {
                doc_id: doc.into(),
                kind: Kind::Code,
                project: format!("/p/{source}"),
                path: "x.rs".into(),
                title: doc.into(),
                line_start: 1,
                line_end: 1,
                line: 1,
                snippet: String::new(),
                highlights: vec![],
                score,
                ranks: Ranks::default(),
                weak: false,
                explain: None,
            },
        }
    }

    #[test]
    fn interleaves_by_rank_with_deterministic_ties() {
        let a = SourceList {
            hits: vec![h("b-proj", "b1", 0.03), h("b-proj", "b2", 0.01)],
        };
        let b = SourceList {
            hits: vec![h("a-proj", "a1", 0.016), h("a-proj", "a2", 0.01)],
        };
        let c = SourceList {
            hits: vec![h("c-proj", "c1", 0.03)],
        };
        let fused = fuse(vec![a, b, c], 10);
        let order: Vec<&str> = fused.iter().map(|f| f.hit.doc_id.as_str()).collect();
        // rank 1: b1 and c1 tie on source score 0.03 → source name; a1 lower source score.
        // rank 2: a2 and b2 tie completely → source name.
        assert_eq!(order, ["b1", "c1", "a1", "a2", "b2"]);
        assert_eq!(fused[0].source_rank, 1);
        assert!((fused[0].hit.score - 1.0 / 61.0).abs() < 1e-6);
        assert_eq!(fused[0].source_score, 0.03);
        // Input order does not matter.
        let again = fuse(
            vec![
                SourceList {
                    hits: vec![h("c-proj", "c1", 0.03)],
                },
                SourceList {
                    hits: vec![h("a-proj", "a1", 0.016), h("a-proj", "a2", 0.01)],
                },
                SourceList {
                    hits: vec![h("b-proj", "b1", 0.03), h("b-proj", "b2", 0.01)],
                },
            ],
            3,
        );
        let order2: Vec<&str> = again.iter().map(|f| f.hit.doc_id.as_str()).collect();
        assert_eq!(order2, ["b1", "c1", "a1"]);
    }
}
