//! The on-disk index in `.patina/local/index/`.
//!
//! Layout: `manifest.json` names the current generation directory `gen-<id>/`, which holds
//! `chunks.json` (chunk metadata and text, sorted by doc_id), `vectors.f32` (one little-endian
//! row of `dims` floats per chunk; absent in a lexical-only index) and `lexical/` (tantivy).
//! A refresh writes a complete new generation, fsyncs it, then replaces `manifest.json`
//! atomically and removes older generations: a reader sees the old index or the new one, never a
//! mix. Vectors are reused by chunk content hash when the model hash matches, so only new or
//! changed chunks are embedded. Anything that does not validate (schema, model, sizes, parse) is
//! treated as absent and rebuilt — never used.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::corpus::{self, Chunk};
use super::lexical::{self, Lexical};
use crate::project::Project;
use crate::store;

/// Bump when the layout or chunking changes: older indexes are rebuilt.
pub const SCHEMA_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexManifest {
    pub schema_version: u32,
    pub generation: String,
    /// `None` for a lexical-only index (no model was available).
    pub model_id: Option<String>,
    pub model_hash: Option<String>,
    pub dims: usize,
    pub chunks: usize,
    pub corpus_digest: String,
    pub built_at: String,
    pub chunks_bytes: u64,
    pub vectors_bytes: u64,
    /// SHA-256 of `chunks.json` and `vectors.f32` (empty when absent), checked on every load.
    pub chunks_sha256: String,
    pub vectors_sha256: String,
    /// A lexical-only build (no model at hand) carries the previous vectors of still-present
    /// chunks forward in `carried.f32` / `carried.json`, so the next build with the model does
    /// not embed everything again. The model those vectors came from:
    #[serde(default)]
    pub carried_model_hash: Option<String>,
    #[serde(default)]
    pub carried: usize,
    #[serde(default)]
    pub carried_sha256: String,
}

/// A loaded, validated index.
pub struct LoadedIndex {
    pub manifest: IndexManifest,
    pub chunks: Vec<Chunk>,
    /// `chunks.len() * dims` floats, or empty for a lexical-only index.
    pub vectors: Vec<f32>,
    pub lexical: Lexical,
    /// Carried vectors by chunk hash (see [`IndexManifest::carried_model_hash`]).
    pub carried: Vec<(String, Vec<f32>)>,
}

impl LoadedIndex {
    pub fn has_vectors(&self) -> bool {
        self.manifest.model_hash.is_some() && !self.vectors.is_empty()
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        let d = self.manifest.dims;
        &self.vectors[i * d..(i + 1) * d]
    }
}

/// Where vectors come from during a build: the model's hash and a batch embedder.
/// Embeds a batch of texts into unit vectors.
pub type EmbedFn<'a> = &'a mut dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>>;

pub struct VectorSource<'a> {
    pub model_id: String,
    pub model_hash: String,
    pub dims: usize,
    pub embed: EmbedFn<'a>,
}

/// Progress of a build, for bars and `GET /api/index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Scanning,
    Embedding { done: usize, total: usize },
    Writing,
}

/// What a refresh did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexReport {
    pub root: PathBuf,
    /// False when the index was already up to date (nothing written).
    pub changed: bool,
    /// `hybrid` when the index has vectors, `lexical` otherwise.
    pub mode: String,
    pub chunks: usize,
    pub embedded: usize,
    pub reused: usize,
    pub removed: usize,
    pub by_kind: HashMap<String, usize>,
    /// Why the previous index was not used, if it existed and was invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuilt_because: Option<String>,
    pub took_ms: u64,
}

pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("manifest.json")
}

fn read_manifest(dir: &Path) -> Result<Option<IndexManifest>> {
    let p = manifest_path(dir);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
    };
    let m: IndexManifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: corrupt manifest", p.display()))?;
    Ok(Some(m))
}

/// The current generation name, cheaply (for cache checks); `None` when there is no index.
pub fn current_generation(dir: &Path) -> Option<String> {
    read_manifest(dir).ok().flatten().map(|m| m.generation)
}

/// Load and validate the index in `dir`. `Ok(None)` = no index; `Err` = present but unusable.
pub fn load(dir: &Path) -> Result<Option<LoadedIndex>> {
    let Some(m) = read_manifest(dir)? else {
        return Ok(None);
    };
    if m.schema_version != SCHEMA_VERSION {
        bail!(
            "schema version {} (this patina writes {SCHEMA_VERSION})",
            m.schema_version
        );
    }
    if m.generation.contains('/') || m.generation.contains("..") || m.generation.is_empty() {
        bail!("manifest names an invalid generation {:?}", m.generation);
    }
    let gen_dir = dir.join(&m.generation);
    let chunks_path = gen_dir.join("chunks.json");
    let bytes = std::fs::read(&chunks_path)
        .with_context(|| format!("reading {}", chunks_path.display()))?;
    if bytes.len() as u64 != m.chunks_bytes {
        bail!(
            "{} has {} bytes, the manifest says {}",
            chunks_path.display(),
            bytes.len(),
            m.chunks_bytes
        );
    }
    if sha256(&bytes) != m.chunks_sha256 {
        bail!("{} does not match its checksum", chunks_path.display());
    }
    let chunks: Vec<Chunk> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: corrupt", chunks_path.display()))?;
    if chunks.len() != m.chunks {
        bail!("{} chunks, the manifest says {}", chunks.len(), m.chunks);
    }
    let mut vectors = vec![];
    if m.model_hash.is_some() {
        let vp = gen_dir.join("vectors.f32");
        let raw = std::fs::read(&vp).with_context(|| format!("reading {}", vp.display()))?;
        let want = (m.chunks * m.dims * 4) as u64;
        if raw.len() as u64 != want || m.vectors_bytes != want {
            bail!("{} has {} bytes, expected {want}", vp.display(), raw.len());
        }
        if sha256(&raw) != m.vectors_sha256 {
            bail!("{} does not match its checksum", vp.display());
        }
        vectors = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if vectors.iter().any(|x| !x.is_finite()) {
            bail!("{}: non-finite values", vp.display());
        }
    }
    let mut carried = vec![];
    if m.carried_model_hash.is_some() && m.carried > 0 {
        let raw = std::fs::read(gen_dir.join("carried.f32")).context("reading carried.f32")?;
        let hashes: Vec<String> = serde_json::from_slice(
            &std::fs::read(gen_dir.join("carried.json")).context("reading carried.json")?,
        )
        .context("carried.json: corrupt")?;
        if sha256(&raw) != m.carried_sha256
            || hashes.len() != m.carried
            || raw.len() != m.carried * m.dims.max(1) * 4
        {
            bail!("carried vectors do not match the manifest");
        }
        let floats: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        carried = hashes
            .into_iter()
            .zip(floats.chunks_exact(m.dims.max(1)).map(<[f32]>::to_vec))
            .collect();
    }
    let lexical = Lexical::open(&gen_dir.join("lexical"))?;
    if lexical.num_docs() != m.chunks as u64 {
        bail!(
            "lexical index has {} documents, the manifest says {}",
            lexical.num_docs(),
            m.chunks
        );
    }
    Ok(Some(LoadedIndex {
        manifest: m,
        chunks,
        vectors,
        lexical,
        carried,
    }))
}

fn corpus_digest(chunks: &[Chunk]) -> String {
    let mut h = Sha256::new();
    for c in chunks {
        for part in [&c.doc_id, &c.hash, &c.path, &c.kind.as_str().to_string()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(c.line_start.to_le_bytes());
        h.update(c.line_end.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// Bring the project's index up to date (or rebuild it from scratch with `rebuild`).
///
/// Without `vectors` the index is lexical-only. Serialised across processes by
/// `.patina/local/index.lock`.
pub fn refresh(
    project: &Project,
    mut vectors: Option<VectorSource<'_>>,
    rebuild: bool,
    progress: &mut dyn FnMut(Phase),
) -> Result<IndexReport> {
    let started = Instant::now();
    let dir = project.index_dir();
    // The index copies session text (0600 sources): its dirs are 0700 and its files 0600.
    store::private_dir(&project.local_dir())?;
    store::private_dir(&dir)?;
    let _lock = store::FileLock::acquire(&project.local_dir().join("index.lock"))?;
    progress(Phase::Scanning);
    let chunks = corpus::gather(project)?;
    let digest = corpus_digest(&chunks);
    let mut by_kind: HashMap<String, usize> = HashMap::new();
    for c in &chunks {
        *by_kind.entry(c.kind.as_str().to_string()).or_default() += 1;
    }
    let want_hash = vectors.as_ref().map(|v| v.model_hash.clone());
    let mode = if want_hash.is_some() {
        "hybrid"
    } else {
        "lexical"
    };

    // Nothing changed: answer from the manifest alone (no need to read the old index).
    if !rebuild
        && let Ok(Some(m)) = read_manifest(&dir)
        && m.corpus_digest == digest
        && (m.model_hash == want_hash || want_hash.is_none())
        && looks_intact(&dir, &m)
    {
        return Ok(IndexReport {
            root: project.root().to_path_buf(),
            changed: false,
            mode: mode.into(),
            chunks: chunks.len(),
            embedded: 0,
            reused: if want_hash.is_some() { chunks.len() } else { 0 },
            removed: 0,
            by_kind,
            rebuilt_because: None,
            took_ms: started.elapsed().as_millis() as u64,
        });
    }
    let (previous, rebuilt_because) = match load(&dir) {
        Ok(p) => (p, None),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "index unusable, rebuilding: {e:#}");
            (None, Some(format!("{e:#}")))
        }
    };
    // Reuse vectors by content hash when they came from the same model.
    let mut known: HashMap<&str, &[f32]> = HashMap::new();
    let mut removed = 0;
    if let Some(prev) = &previous {
        let new_ids: std::collections::HashSet<&str> =
            chunks.iter().map(|c| c.doc_id.as_str()).collect();
        removed = prev
            .chunks
            .iter()
            .filter(|c| !new_ids.contains(c.doc_id.as_str()))
            .count();
        if !rebuild && want_hash.is_some() {
            if prev.has_vectors() && prev.manifest.model_hash == want_hash {
                for (i, c) in prev.chunks.iter().enumerate() {
                    known.insert(c.hash.as_str(), prev.vector(i));
                }
            }
            if prev.manifest.carried_model_hash == want_hash {
                for (h, v) in &prev.carried {
                    known.insert(h.as_str(), v.as_slice());
                }
            }
        }
    }
    let mut embedded = 0;
    let mut reused = 0;
    let mut flat: Vec<f32> = vec![];
    let mut dims = 0;
    if let Some(src) = vectors.as_mut() {
        dims = src.dims;
        let mut fresh: HashMap<String, Vec<f32>> = HashMap::new();
        let mut todo: Vec<(&str, String)> = vec![];
        let mut queued: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for c in &chunks {
            if !known.contains_key(c.hash.as_str()) && queued.insert(c.hash.as_str()) {
                todo.push((c.hash.as_str(), c.embed_text()));
            }
        }
        let total = todo.len();
        progress(Phase::Embedding { done: 0, total });
        for batch in todo.chunks(super::embed::BATCH) {
            let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
            let vecs = (src.embed)(&texts)?;
            if vecs.len() != batch.len() || vecs.iter().any(|v| v.len() != dims) {
                bail!("the embedder returned the wrong number or size of vectors");
            }
            for ((h, _), v) in batch.iter().zip(vecs) {
                fresh.insert(h.to_string(), v);
            }
            progress(Phase::Embedding {
                done: fresh.len(),
                total,
            });
        }
        flat.reserve(chunks.len() * dims);
        for c in &chunks {
            if let Some(v) = known.get(c.hash.as_str()) {
                flat.extend_from_slice(v);
                reused += 1;
            } else {
                let v = fresh
                    .get(&c.hash)
                    .ok_or_else(|| anyhow!("no vector for chunk {}", c.doc_id))?;
                flat.extend_from_slice(v);
                embedded += 1;
            }
        }
    }
    // Lexical-only build: keep the previous model's vectors of chunks that still exist.
    let mut carry: Vec<(&str, &[f32])> = vec![];
    let mut carried_model_hash = None;
    if vectors.is_none()
        && !rebuild
        && let Some(prev) = &previous
    {
        let present: std::collections::HashSet<&str> =
            chunks.iter().map(|c| c.hash.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        if prev.has_vectors() {
            carried_model_hash = prev.manifest.model_hash.clone();
            dims = prev.manifest.dims;
            for (i, c) in prev.chunks.iter().enumerate() {
                if present.contains(c.hash.as_str()) && seen.insert(c.hash.as_str()) {
                    carry.push((c.hash.as_str(), prev.vector(i)));
                }
            }
        } else if prev.manifest.carried_model_hash.is_some() {
            carried_model_hash = prev.manifest.carried_model_hash.clone();
            dims = prev.manifest.dims;
            for (h, v) in &prev.carried {
                if present.contains(h.as_str()) && seen.insert(h.as_str()) {
                    carry.push((h.as_str(), v.as_slice()));
                }
            }
        }
        if carry.is_empty() {
            carried_model_hash = None;
            dims = 0;
        }
    }
    progress(Phase::Writing);
    let generation = format!(
        "gen-{}-{:08x}",
        chrono::Utc::now().format("%Y%m%d%H%M%S%3f"),
        rand_u32()
    );
    let gen_dir = dir.join(&generation);
    let write = || -> Result<(u64, u64, String, String, String)> {
        store::create_dirs(&gen_dir)?;
        let chunk_bytes = serde_json::to_vec(&chunks)?;
        write_synced(&gen_dir.join("chunks.json"), &chunk_bytes)?;
        let mut vbytes = 0;
        let mut vsha = String::new();
        if vectors.is_some() {
            let mut raw = Vec::with_capacity(flat.len() * 4);
            for x in &flat {
                raw.extend_from_slice(&x.to_le_bytes());
            }
            vbytes = raw.len() as u64;
            vsha = sha256(&raw);
            write_synced(&gen_dir.join("vectors.f32"), &raw)?;
        }
        let mut csha = String::new();
        if !carry.is_empty() {
            let mut raw = Vec::with_capacity(carry.len() * dims * 4);
            for (_, v) in &carry {
                for x in v.iter() {
                    raw.extend_from_slice(&x.to_le_bytes());
                }
            }
            csha = sha256(&raw);
            write_synced(&gen_dir.join("carried.f32"), &raw)?;
            let hashes: Vec<&str> = carry.iter().map(|(h, _)| *h).collect();
            write_synced(&gen_dir.join("carried.json"), &serde_json::to_vec(&hashes)?)?;
        }
        lexical::build(&gen_dir.join("lexical"), &chunks)?;
        Ok((
            chunk_bytes.len() as u64,
            vbytes,
            sha256(&chunk_bytes),
            vsha,
            csha,
        ))
    };
    let (chunks_bytes, vectors_bytes, chunks_sha256, vectors_sha256, carried_sha256) = match write()
    {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&gen_dir);
            return Err(e);
        }
    };
    let manifest = IndexManifest {
        schema_version: SCHEMA_VERSION,
        generation: generation.clone(),
        model_id: vectors.as_ref().map(|v| v.model_id.clone()),
        model_hash: want_hash,
        dims,
        chunks: chunks.len(),
        corpus_digest: digest,
        built_at: chrono::Local::now().to_rfc3339(),
        chunks_bytes,
        vectors_bytes,
        chunks_sha256,
        vectors_sha256,
        carried_model_hash,
        carried: carry.len(),
        carried_sha256,
    };
    drop(previous);
    store::atomic_write(
        &manifest_path(&dir),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
        store::PRIVATE_FILE,
    )?;
    // Old generations (and debris of interrupted builds) go only after the switch.
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("gen-") && name != generation {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(IndexReport {
        root: project.root().to_path_buf(),
        changed: true,
        mode: mode.into(),
        chunks: chunks.len(),
        embedded,
        reused,
        removed,
        by_kind,
        rebuilt_because,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cheap structural check for the no-change path: the generation's files exist with the sizes
/// the manifest records (full checksums are verified whenever the index is loaded).
fn looks_intact(dir: &Path, m: &IndexManifest) -> bool {
    if m.schema_version != SCHEMA_VERSION || m.generation.contains('/') || m.generation.is_empty() {
        return false;
    }
    let g = dir.join(&m.generation);
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).ok();
    size(g.join("chunks.json")) == Some(m.chunks_bytes)
        && (m.model_hash.is_none() || size(g.join("vectors.f32")) == Some(m.vectors_bytes))
        && g.join("lexical").join("meta.json").is_file()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // 0600 like the session text it holds.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(store::PRIVATE_FILE)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_le_bytes(b)
}
