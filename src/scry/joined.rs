//! A generation's chunks joined with the vectors that cover them, computed once per pair of
//! snapshots instead of per query.
//!
//! Both snapshots are immutable `Arc`s, so the join is keyed by their identity. Before it,
//! every query hashed each vector's key to find its chunks twice (once for the coverage, once
//! for the cosine scan): on 20.8k chunks that was 46 % of the daemon's time per query.

use std::sync::Arc;

use super::Coverage;
use super::Kind;
use super::embed::dot;
use super::index::Generation;
use super::vectors::VectorSet;

pub(crate) struct Joined {
    generation: Arc<Generation>,
    vectors: Option<Arc<VectorSet>>,
    /// One per distinct chunk text that has a vector.
    rows: Vec<Row>,
    /// The chunk ordinals of all rows, each row's contiguous.
    ords: Vec<u32>,
    pub coverage: Coverage,
}

/// A vector (where the set keeps it) and the chunks that have it (`ords[first..first + count]`).
struct Row {
    block: u32,
    offset: u32,
    first: u32,
    count: u32,
}

impl Joined {
    pub fn new(generation: Arc<Generation>, vectors: Option<Arc<VectorSet>>) -> Joined {
        let mut covered = vec![false; generation.chunks.len()];
        let mut rows = vec![];
        let mut ords = vec![];
        let mut n = 0;
        if let Some(set) = &vectors {
            for (block, offset, h) in set.row_positions() {
                let first = ords.len() as u32;
                for &o in generation.ords_of(h) {
                    // A text embedded twice (two appends racing) counts and ranks once.
                    if !covered[o] {
                        covered[o] = true;
                        ords.push(o as u32);
                        n += 1;
                    }
                }
                let count = ords.len() as u32 - first;
                if count > 0 {
                    rows.push(Row {
                        block,
                        offset,
                        first,
                        count,
                    });
                }
            }
        }
        let coverage = Coverage::new(n, generation.chunks.len());
        Joined {
            generation,
            vectors,
            rows,
            ords,
            coverage,
        }
    }

    /// True when this join is of exactly these snapshots.
    pub fn is_of(&self, g: &Arc<Generation>, set: Option<&Arc<VectorSet>>) -> bool {
        Arc::ptr_eq(&self.generation, g)
            && match (&self.vectors, set) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }

    pub fn vectors(&self) -> Option<&VectorSet> {
        self.vectors.as_deref()
    }

    /// Cosine of `query` (a unit vector) with every chunk of the wanted kinds that has a
    /// vector (all kinds when `kinds` is empty): (chunk ordinal, score), unordered.
    pub fn cosines(&self, query: &[f32], kinds: &[Kind]) -> Vec<(usize, f32)> {
        let Some(set) = &self.vectors else {
            return vec![];
        };
        let chunks = &self.generation.chunks;
        let mut scored = Vec::with_capacity(self.ords.len());
        for r in &self.rows {
            let ords = &self.ords[r.first as usize..(r.first + r.count) as usize];
            let wanted = |o: &u32| kinds.is_empty() || kinds.contains(&chunks[*o as usize].kind);
            if !ords.iter().any(wanted) {
                continue;
            }
            let s = dot(query, set.vector_at(r.block, r.offset));
            scored.extend(ords.iter().filter(|o| wanted(o)).map(|&o| (o as usize, s)));
        }
        scored
    }
}
