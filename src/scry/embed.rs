//! The embedder: ONNX Runtime (loaded dynamically from the verified wheel library) + tokenizers.
//!
//! Sentence embedding = mean of the last hidden state over the attention mask, L2-normalised —
//! the same arithmetic as the Python reference (benches/scry_reference.py), which the unit test
//! `reference_vectors` checks to 1e-5.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::model::{self, DIMS, VerifiedModel};

/// Longest input in tokens; longer text is truncated.
pub const MAX_TOKENS: usize = 256;
/// Default batch size.
pub const BATCH: usize = 32;

/// A loaded model, ready to embed. Not `Sync`: share it behind a mutex.
pub struct Embedder {
    session: Session,
    tokenizer: Tokenizer,
    model_hash: String,
    batch: usize,
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

    /// Load files that `model::verified` has just checked.
    pub fn load_verified(v: &VerifiedModel, threads: usize) -> Result<Embedder> {
        let env = environment(&v.runtime)?;
        // The CPU provider named explicitly (as the Python reference does) and full graph
        // optimisation: without an explicit provider ort asks ONNX Runtime for automatic
        // provider selection.
        let mut builder = Session::builder(&env)
            .map_err(|e| anyhow!("ONNX session: {e}"))?
            .with_execution_providers([ort::ep::CPU::default().build()])
            .map_err(|e| anyhow!("ONNX CPU provider: {e}"))?
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
            .map_err(|e| anyhow!("ONNX optimisation level: {e}"))?;
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
        // PITFALL (stack.md): the shipped tokenizer pads everything to 128; pad to the longest
        // input of the batch instead, and truncate at MAX_TOKENS.
        let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
        padding.strategy = PaddingStrategy::BatchLongest;
        padding.pad_to_multiple_of = None;
        tokenizer.with_padding(Some(PaddingParams { ..padding }));
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
            batch: BATCH,
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

    pub fn set_batch(&mut self, batch: usize) {
        self.batch = batch.max(1);
    }

    /// Embed texts in batches; one unit vector of `DIMS` floats per text.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with_progress(texts, &mut |_| {})
    }

    /// Like [`embed`](Self::embed), calling `done(n)` after each batch with the count so far.
    pub fn embed_with_progress(
        &mut self,
        texts: &[&str],
        done: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.batch) {
            out.extend(self.embed_batch(chunk)?);
            done(out.len());
        }
        Ok(out)
    }

    fn embed_batch(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow!("tokenizing: {e}"))?;
        let batch = encodings.len();
        let seq = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; batch * seq];
        let mut mask = vec![0i64; batch * seq];
        for (b, e) in encodings.iter().enumerate() {
            for (t, (&id, &m)) in e.get_ids().iter().zip(e.get_attention_mask()).enumerate() {
                ids[b * seq + t] = id as i64;
                mask[b * seq + t] = m as i64;
            }
        }
        let types = vec![0i64; batch * seq];
        let shape = [batch, seq];
        let t_ids = Tensor::from_array((shape, ids)).map_err(|e| anyhow!("input tensor: {e}"))?;
        let t_mask =
            Tensor::from_array((shape, mask.clone())).map_err(|e| anyhow!("input tensor: {e}"))?;
        let t_types =
            Tensor::from_array((shape, types)).map_err(|e| anyhow!("input tensor: {e}"))?;
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
        if dims != DIMS || out_shape.first().copied() != Some(batch as i64) {
            return Err(anyhow!(
                "unexpected model output shape {out_shape:?} (want [{batch}, {seq}, {DIMS}])"
            ));
        }
        let mut vecs = Vec::with_capacity(batch);
        for b in 0..batch {
            let mut acc = vec![0f32; DIMS];
            let mut count = 0f32;
            for t in 0..seq {
                if mask[b * seq + t] == 0 {
                    continue;
                }
                count += 1.0;
                let row = &data[(b * seq + t) * DIMS..(b * seq + t + 1) * DIMS];
                for (a, x) in acc.iter_mut().zip(row) {
                    *a += x;
                }
            }
            let count = count.max(1e-9);
            for a in acc.iter_mut() {
                *a /= count;
            }
            normalize(&mut acc);
            vecs.push(acc);
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
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The thread count from the user config `[scry] threads` (0 = ONNX Runtime's default). A bad
/// value is an error naming the file and key, never a silent default.
pub fn configured_threads() -> Result<usize> {
    #[derive(serde::Deserialize, Default)]
    struct ScryUser {
        #[serde(default)]
        threads: usize,
    }
    let s: ScryUser = crate::user_config::UserConfig::load()?.section("scry")?;
    Ok(s.threads.min(64))
}
