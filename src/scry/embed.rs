//! The embedder: ONNX Runtime (loaded dynamically from the verified wheel library) + tokenizers.
//!
//! Sentence embedding = mean of the last hidden state over the attention mask, L2-normalised —
//! the same arithmetic as the Python reference (benches/scry_reference.py), which the unit test
//! `reference_vectors` checks to 1e-5.
//!
//! Throughput (issue 17, measured in benches/scry.rs against the Python script): texts are
//! tokenized first, ordered by token count and cut into batches that fill a token budget, so a
//! batch pads almost nothing and long texts do not share a batch with hundreds of short ones;
//! vectors are scattered back to the caller's order. ONNX Runtime's CPU memory arena and memory
//! patterns are on (with the arena off every batch maps and unmaps its activations: a third of
//! the time in the kernel), and the input buffers live in the embedder and are reused.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use ort::session::Session;
use ort::value::TensorRef;
use tokenizers::{Tokenizer, TruncationParams};

use super::model::{self, DIMS, VerifiedModel};

/// Longest input in tokens (the model's window, special tokens included); longer text is cut.
/// The chunker keeps chunks under it (corpus.rs), so in the index nothing is cut.
pub const MAX_TOKENS: usize = 256;
/// Default token budget of one batch (rows × padded length). 2048 = 16 rows of 128 tokens or 8 of
/// 256. ONNX Runtime's working memory grows with the batch (at 256 tokens the attention scores
/// alone are rows × 12 × 256² floats) and its arena keeps the high-water mark: on the bench
/// corpus 4096 peaked ~200 MB higher than 2048 for no throughput gain on 2 cores.
pub const TOKEN_BUDGET: usize = 2048;
/// Most rows in one batch, whatever the budget (very short texts).
pub const MAX_ROWS: usize = 128;
/// Texts tokenized per call to the tokenizer (bounds the transient `Encoding`s, which hold
/// strings and offsets per token; only the ids are kept).
const TOKENIZE_GROUP: usize = 256;

/// Texts tokenized and grouped into batches: what [`Embedder::embed_planned`] runs. Holds only
/// token ids (4 bytes per token), so planning a whole corpus is cheap.
#[derive(Debug, Clone, Default)]
pub struct EmbedPlan {
    /// Token ids per input text, in the caller's order (special tokens included).
    ids: Vec<Vec<u32>>,
    /// Input indexes sorted by token count (ties by index).
    order: Vec<usize>,
    /// Batches as ranges of `order`.
    batches: Vec<Range<usize>>,
    /// Texts longer than [`MAX_TOKENS`] (cut to the window).
    truncated: usize,
}

impl EmbedPlan {
    /// Number of batches.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Number of texts planned.
    pub fn texts(&self) -> usize {
        self.ids.len()
    }

    /// Token count of text `i` (special tokens included, after truncation).
    pub fn tokens(&self, i: usize) -> usize {
        self.ids[i].len()
    }

    /// How many texts were longer than the model's window and cut.
    pub fn truncated(&self) -> usize {
        self.truncated
    }

    /// Input indexes of batch `b`, shortest first.
    pub fn batch(&self, b: usize) -> &[usize] {
        &self.order[self.batches[b].clone()]
    }

    /// Sort `ids` by length and cut them into batches of at most `budget` padded tokens.
    fn new(ids: Vec<Vec<u32>>, budget: usize) -> EmbedPlan {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| (ids[i].len(), i));
        let mut batches = vec![];
        let mut start = 0;
        for k in 0..order.len() {
            // Sorted ascending: the row being added is the longest so far.
            let rows = k - start + 1;
            let longest = ids[order[k]].len().max(1);
            if rows > 1 && (rows * longest > budget || rows > MAX_ROWS) {
                batches.push(start..k);
                start = k;
            }
        }
        if start < order.len() {
            batches.push(start..order.len());
        }
        EmbedPlan {
            ids,
            order,
            batches,
            truncated: 0,
        }
    }
}

/// How a loaded model keeps its weights. The pinned model stores them as int8 with a
/// Cast + Mul in front of every use (the word-embedding table alone is 11.7 M of them); ONNX
/// Runtime's constant folding turns those into fp32 copies at load. Measured with the Python
/// wheel on this model (RSS above the interpreter, 1 thread):
///
/// | weights | loaded | after use | one short query | one 8×256 batch (2 threads) |
/// |---|---|---|---|---|
/// | `Int8` (folding off) | +37 MB | +234 MB (queries) / +300 MB (batches) | 15.9 ms | 266 ms |
/// | `Dequantized` (folding on) | +160 MB | +163 MB (queries) / +441 MB (batches) | 4.4 ms | 251 ms |
///
/// A query of ten tokens still dequantizes the whole table when folding is off, and the
/// arena keeps those fp32 temporaries: queries are both faster and smaller `Dequantized`.
/// Builds run batches whose activations dwarf the table: `Int8` keeps their peak 140 MB lower
/// for 6 % of throughput. The vectors are the same either way (the Python-reference test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    Int8,
    Dequantized,
}

/// A loaded model, ready to embed. Not `Sync`: share it behind a mutex.
pub struct Embedder {
    session: Session,
    tokenizer: Tokenizer,
    model_hash: String,
    budget: usize,
    /// Input buffers reused by every batch (grown, never shrunk below the largest batch).
    ids: Vec<i64>,
    mask: Vec<i64>,
    types: Vec<i64>,
    _env: ort::environment::Environment,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model_hash", &self.model_hash)
            .finish()
    }
}

impl Embedder {
    /// Verify the model files and load them. `threads` = ONNX Runtime intra-op threads (0 = its default).
    pub fn load(threads: usize, allow_unpinned: bool) -> Result<Embedder> {
        let verified = model::verified(allow_unpinned)?;
        Self::load_verified(&verified, threads)
    }

    /// The embedder a daemon keeps for queries: one thread, and the weights dequantized once
    /// at load (see [`Weights`]).
    pub fn load_for_queries(allow_unpinned: bool) -> Result<Embedder> {
        let verified = model::verified(allow_unpinned)?;
        Self::load_with(&verified, 1, Weights::Dequantized)
    }

    /// Load files that `model::verified` has just checked, for builds ([`Weights::Int8`]).
    pub fn load_verified(v: &VerifiedModel, threads: usize) -> Result<Embedder> {
        Self::load_with(v, threads, Weights::Int8)
    }

    /// Load files that `model::verified` has just checked, keeping the weights as `weights` says.
    pub fn load_with(v: &VerifiedModel, threads: usize, weights: Weights) -> Result<Embedder> {
        let env = environment(&v.runtime)?;
        // The CPU provider named explicitly (as the Python reference does), with its memory
        // arena ON: `ep::CPU::default()` registers it with the arena off (stack note PITFALL).
        // Memory patterns on too (ONNX Runtime's default, as in Python), full graph optimisation.
        let mut builder = Session::builder(&env)
            .map_err(|e| anyhow!("ONNX session: {e}"))?
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(true).build()])
            .map_err(|e| anyhow!("ONNX CPU provider: {e}"))?
            .with_memory_pattern(true)
            .map_err(|e| anyhow!("ONNX memory pattern: {e}"))?
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
            .map_err(|e| anyhow!("ONNX optimisation level: {e}"))?;
        if weights == Weights::Int8 {
            builder = builder
                .with_config_entry(
                    "optimization.disable_specified_optimizers",
                    "ConstantFolding",
                )
                .map_err(|e| anyhow!("ONNX optimiser settings: {e}"))?;
        }
        if threads > 0 {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| anyhow!("setting ONNX threads: {e}"))?;
        }
        let session = builder
            .commit_from_file(&v.model)
            .map_err(|e| anyhow!("loading model {}: {e}", v.model.display()))?;
        let mut tokenizer = Tokenizer::from_file(&v.tokenizer)
            .map_err(|e| anyhow!("loading tokenizer {}: {e}", v.tokenizer.display()))?;
        // PITFALL (stack.md): the shipped tokenizer pads everything to 128. We pad ourselves,
        // per batch, to the batch's longest text, so the tokenizer does not pad at all.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| anyhow!("configuring truncation: {e}"))?;
        Ok(Embedder {
            session,
            tokenizer,
            model_hash: v.model_hash.clone(),
            budget: TOKEN_BUDGET,
            ids: vec![],
            mask: vec![],
            types: vec![],
            _env: env,
        })
    }

    /// Which model files produced this embedder's vectors.
    pub fn model_hash(&self) -> &str {
        &self.model_hash
    }

    pub fn dims(&self) -> usize {
        DIMS
    }

    /// Token budget of one batch (rows × padded length); at least [`MAX_TOKENS`].
    pub fn set_token_budget(&mut self, budget: usize) {
        self.budget = budget.max(MAX_TOKENS);
    }

    /// Tokenize `texts` and group them into length-sorted, token-budget batches. Cheap next to
    /// embedding; callers that must not hold the embedder for long (the index, with queries
    /// waiting) plan once and run [`embed_planned`](Self::embed_planned) batch by batch.
    pub fn plan(&self, texts: &[&str]) -> Result<EmbedPlan> {
        let mut ids = Vec::with_capacity(texts.len());
        let mut truncated = 0;
        for group in texts.chunks(TOKENIZE_GROUP) {
            let encodings = self
                .tokenizer
                .encode_batch_fast(group.to_vec(), true)
                .map_err(|e| anyhow!("tokenizing: {e}"))?;
            for e in encodings {
                truncated += usize::from(!e.get_overflowing().is_empty());
                ids.push(e.get_ids().to_vec());
            }
        }
        if truncated > 0 {
            // The chunker keeps index chunks under the window (corpus.rs); this is for
            // anything else (a very long query) — cut, but never silently.
            tracing::warn!(
                truncated,
                "texts longer than {MAX_TOKENS} tokens were cut to the model's window"
            );
        }
        let mut plan = EmbedPlan::new(ids, self.budget);
        plan.truncated = truncated;
        Ok(plan)
    }

    /// Embed texts; one unit vector of `DIMS` floats per text, in the order given.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with_progress(texts, &mut |_| {})
    }

    /// Like [`embed`](Self::embed), calling `done(n)` after each batch with the count so far.
    pub fn embed_with_progress(
        &mut self,
        texts: &[&str],
        done: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let plan = self.plan(texts)?;
        let mut out: Vec<Vec<f32>> = vec![vec![]; texts.len()];
        let mut count = 0;
        for b in 0..plan.len() {
            for (i, v) in self.embed_planned(&plan, b)? {
                out[i] = v;
                count += 1;
            }
            done(count);
        }
        Ok(out)
    }

    /// Run batch `b` of `plan`: `(input index, unit vector)` per text of the batch.
    pub fn embed_planned(&mut self, plan: &EmbedPlan, b: usize) -> Result<Vec<(usize, Vec<f32>)>> {
        let rows = plan.batch(b);
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let batch = rows.len();
        let seq = rows
            .iter()
            .map(|&i| plan.ids[i].len())
            .max()
            .unwrap_or(0)
            .max(1);
        let n = batch * seq;
        for buf in [&mut self.ids, &mut self.mask, &mut self.types] {
            buf.clear();
            buf.resize(n, 0);
        }
        for (r, &i) in rows.iter().enumerate() {
            let row = &plan.ids[i];
            for (t, &id) in row.iter().enumerate() {
                self.ids[r * seq + t] = id as i64;
                self.mask[r * seq + t] = 1;
            }
        }
        let shape = [batch, seq];
        let t_ids = TensorRef::from_array_view((shape, self.ids.as_slice()))
            .map_err(|e| anyhow!("input tensor: {e}"))?;
        let t_mask = TensorRef::from_array_view((shape, self.mask.as_slice()))
            .map_err(|e| anyhow!("input tensor: {e}"))?;
        let t_types = TensorRef::from_array_view((shape, self.types.as_slice()))
            .map_err(|e| anyhow!("input tensor: {e}"))?;
        let outputs = self
            .session
            .run(ort::inputs![
                "input_ids" => t_ids,
                "attention_mask" => t_mask,
                "token_type_ids" => t_types,
            ])
            .map_err(|e| anyhow!("running the model: {e}"))?;
        let (out_shape, data) = outputs["last_hidden_state"]
            .try_extract_tensor::<f32>()
            .map_err(|e| anyhow!("reading the model output: {e}"))?;
        let dims = out_shape.get(2).copied().unwrap_or(0) as usize;
        if dims != DIMS
            || out_shape.first().copied() != Some(batch as i64)
            || out_shape.get(1).copied() != Some(seq as i64)
        {
            return Err(anyhow!(
                "unexpected model output shape {out_shape:?} (want [{batch}, {seq}, {DIMS}])"
            ));
        }
        let mut vecs = Vec::with_capacity(batch);
        for (r, &i) in rows.iter().enumerate() {
            // Right padding: the text's tokens are the first `len` positions of its row.
            let len = plan.ids[i].len();
            let mut acc = vec![0f32; DIMS];
            for t in 0..len {
                let at = (r * seq + t) * DIMS;
                for (a, x) in acc.iter_mut().zip(&data[at..at + DIMS]) {
                    *a += x;
                }
            }
            let count = (len as f32).max(1e-9);
            for a in acc.iter_mut() {
                *a /= count;
            }
            normalize(&mut acc);
            vecs.push((i, acc));
        }
        Ok(vecs)
    }
}

/// ONNX Runtime allows one environment per process: it is created on the first load (from the
/// first verified library) and shared by every embedder after that.
fn environment(runtime: &Path) -> Result<ort::environment::Environment> {
    static ENV: OnceLock<Result<(ort::environment::Environment, PathBuf), String>> =
        OnceLock::new();
    let got = ENV.get_or_init(|| {
        let env = ort::init_from(runtime)
            .map_err(|e| format!("loading ONNX Runtime from {}: {e}", runtime.display()))?
            .with_name("patina")
            .build()
            .map_err(|e| format!("starting ONNX Runtime: {e}"))?;
        Ok((env, runtime.to_path_buf()))
    });
    match got {
        Ok((env, path)) => {
            if path != runtime {
                tracing::warn!(
                    loaded = %path.display(),
                    requested = %runtime.display(),
                    "ONNX Runtime already loaded from another file in this process"
                );
            }
            Ok(env.clone())
        }
        Err(e) => Err(anyhow!("{e}")),
    }
}

/// L2-normalise in place (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
}

/// Dot product (= cosine for unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent partial sums: a single running sum is one long dependency chain the
    // compiler may not reorder (float addition is not associative), so it stays scalar; lanes
    // let it use SIMD. The scan of 20k vectors per query is this loop.
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Intra-op threads when neither the caller nor the user config says: one per core the process
/// may use (2 on the 2-core machines this was measured on), at most 8 — ONNX Runtime's own
/// default counts physical cores and may pick 1 where hyper-threads are all there is.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
}

/// The thread count from the user config `[scry] threads` (0 = not set: [`default_threads`]). A
/// bad value is an error naming the file and key, never a silent default.
pub fn configured_threads() -> Result<usize> {
    #[derive(serde::Deserialize, Default)]
    struct ScryUser {
        #[serde(default)]
        threads: usize,
    }
    let s: ScryUser = crate::user_config::UserConfig::load()?.section("scry")?;
    Ok(s.threads.min(64))
}

/// Hand the heap freed by a dropped build model back to the system. glibc keeps freed memory
/// for reuse (its arenas only shrink from the top), so without this a daemon that finished a
/// build kept the build's high-water mark as its idle RSS.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Run the calling thread (and the threads it creates from now on, such as ONNX Runtime's
/// intra-op pool, which inherit it) at the lowest CPU priority. The daemon's build embeds for
/// minutes on every core; at the same priority a query's own embedding and scoring wait for
/// their time slice behind it (p99 156 ms during a build on 2 cores). At nice 19 the
/// scheduler gives the build what queries leave, and an idle machine still builds at full speed.
pub fn deprioritize_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: on Linux, PRIO_PROCESS with who = 0 sets the calling thread's nice value only.
    unsafe {
        if libc::setpriority(libc::PRIO_PROCESS, 0, 19) != 0 {
            tracing::debug!(
                "lowering the build's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// At most two malloc arenas in this process. glibc gives each thread that contends for the
/// heap its own arena (up to 8 per core) and memory freed in one is not reused by another, so
/// the daemon's request threads, the build and ONNX Runtime's workers each kept a high-water
/// mark of their own. Call before any thread starts.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: a process-wide allocator setting, made before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(lens: &[usize]) -> Vec<Vec<u32>> {
        lens.iter().map(|&n| vec![7; n]).collect()
    }

    #[test]
    fn plan_sorts_by_length_and_fills_the_budget() {
        let lens = [10, 256, 3, 128, 128, 40, 2, 255];
        let plan = EmbedPlan::new(ids(&lens), 512);
        let mut seen: Vec<usize> = vec![];
        let mut last_len = 0;
        for b in 0..plan.len() {
            let rows = plan.batch(b);
            let longest = rows.iter().map(|&i| lens[i]).max().unwrap();
            assert!(
                rows.len() == 1 || rows.len() * longest <= 512,
                "batch {b}: {rows:?}"
            );
            for &i in rows {
                assert!(lens[i] >= last_len, "not sorted");
                last_len = lens[i];
            }
            seen.extend(rows);
        }
        seen.sort();
        assert_eq!(seen, (0..lens.len()).collect::<Vec<_>>());
        // 2,3,10,40 | 128,128 | 255,256  (5 × 128 and 3 × 255 are over 512; 2 × 256 is not)
        assert_eq!(plan.len(), 3);
        assert_eq!(plan.batch(0), &[6, 2, 0, 5]);
    }

    #[test]
    fn plan_caps_rows_and_handles_empty_input() {
        let plan = EmbedPlan::new(ids(&vec![2; 300]), 1 << 20);
        assert!((0..plan.len()).all(|b| plan.batch(b).len() <= MAX_ROWS));
        assert_eq!(
            (0..plan.len()).map(|b| plan.batch(b).len()).sum::<usize>(),
            300
        );
        assert!(EmbedPlan::new(vec![], 4096).is_empty());
    }
}
