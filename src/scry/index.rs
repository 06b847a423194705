//! The on-disk index in `.patina/local/index/` (schema 4; docs/ARCHITECTURE.md, "Index").
//!
//! - `manifest.json` names the current generation: `chunks-<gen>.json` (every chunk, sorted by
//!   doc_id, with its byte size and SHA-256) and the corpus digest; replaced atomically.
//! - `lexical/`: one tantivy index updated in place (changed chunks deleted and re-added); each
//!   commit records the generation it belongs to, checked against the manifest on load.
//! - `vectors/`: content-addressed vector logs, one per model (see [`super::vectors`]).
//!
//! This module does the lexical phase of a refresh (gather, diff, write, commit) and says which
//! chunks still need a vector and in which order; the engine (`mod.rs`) runs the embedding
//! phase and keeps the snapshots queries read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::corpus::{self, Chunk};
use super::lexical::{Lexical, LexicalSearcher};
use super::vectors::{self, ChunkHash, VectorSet};
use super::{Coverage, Kind};
use crate::project::Project;
use crate::store;

/// Bump when the layout changes: older indexes are rebuilt (their vectors are kept).
pub const SCHEMA_VERSION: u32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexManifest {
    pub schema_version: u32,
    pub generation: String,
    pub chunks: usize,
    pub corpus_digest: String,
    pub built_at: String,
    /// Size and SHA-256 of `chunks-<generation>.json`, checked on every load.
    pub chunks_bytes: u64,
    pub chunks_sha256: String,
    pub by_kind: BTreeMap<String, usize>,
    /// Digest of everything the corpus was cut from (`corpus::Sources`): a refresh that reads
    /// the same stops before chunking. Absent in indexes written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources_digest: Option<String>,
    /// SHA-256 of `hashes-<generation>.bin` (every chunk's text hash, in chunk order), which
    /// answers coverage for an unchanged corpus without loading the chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes_sha256: Option<String>,
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
    /// False when nothing was written: the corpus was unchanged and every chunk had a vector.
    pub changed: bool,
    /// `hybrid` when every chunk has a vector, `lexical` otherwise.
    pub mode: String,
    pub chunks: usize,
    /// Texts embedded by this refresh.
    pub embedded: usize,
    /// Chunks that already had a vector.
    pub reused: usize,
    /// Chunks of the previous generation that are gone.
    pub removed: usize,
    pub by_kind: BTreeMap<String, usize>,
    /// Whether this refresh needed (and so loaded or used) the embedding model.
    #[serde(default)]
    pub model_loaded: bool,
    /// Chunks with a vector after this refresh.
    #[serde(default)]
    pub coverage: Coverage,
    /// Vectors taken from `--import FILE` (absent without `--import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<usize>,
    /// Why the previous index was not used, if it existed and was invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuilt_because: Option<String>,
    pub took_ms: u64,
}

/// A loaded, validated generation: what a query reads (shared as `Arc`, never mutated).
pub struct Generation {
    pub manifest: IndexManifest,
    pub chunks: Vec<Chunk>,
    by_id: HashMap<String, usize>,
    /// Chunk ordinals by the hash of their text (several chunks may share one text).
    by_hash: HashMap<ChunkHash, Vec<usize>>,
    pub lexical: LexicalSearcher,
}

impl Generation {
    fn new(manifest: IndexManifest, chunks: Vec<Chunk>, lexical: LexicalSearcher) -> Generation {
        let mut by_id = HashMap::with_capacity(chunks.len());
        let mut by_hash: HashMap<ChunkHash, Vec<usize>> = HashMap::with_capacity(chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            by_id.insert(c.doc_id.clone(), i);
            if let Some(h) = vectors::parse_hash(&c.hash) {
                by_hash.entry(h).or_default().push(i);
            }
        }
        Generation {
            manifest,
            chunks,
            by_id,
            by_hash,
            lexical,
        }
    }

    pub fn ord(&self, doc_id: &str) -> Option<usize> {
        self.by_id.get(doc_id).copied()
    }

    /// The chunks whose text is `hash`.
    pub fn ords_of(&self, hash: &ChunkHash) -> &[usize] {
        self.by_hash.get(hash).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn has_hash(&self, hash: &ChunkHash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The chunks without a vector, one per distinct text, in embedding priority order: beliefs,
    /// layer docs, sessions (newest first), commits, code.
    pub fn missing(&self, known: &HashSet<ChunkHash>) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut out: Vec<(usize, ChunkHash)> = vec![];
        for (i, c) in self.chunks.iter().enumerate() {
            if let Some(h) = vectors::parse_hash(&c.hash)
                && !known.contains(&h)
                && seen.insert(h)
            {
                out.push((i, h));
            }
        }
        let priority = |k: Kind| match k {
            Kind::Belief => 0,
            Kind::Layer => 1,
            Kind::Session => 2,
            Kind::Commit => 3,
            Kind::Code => 4,
        };
        // `session:<id>:<n>`: ids are timestamps, so the newest sessions come first.
        let session_id = |c: &Chunk| c.doc_id.split(':').nth(1).unwrap_or("").to_string();
        out.sort_by(|(a, _), (b, _)| {
            let (ca, cb) = (&self.chunks[*a], &self.chunks[*b]);
            priority(ca.kind).cmp(&priority(cb.kind)).then_with(|| {
                if ca.kind == Kind::Session && cb.kind == Kind::Session {
                    session_id(cb)
                        .cmp(&session_id(ca))
                        .then_with(|| ca.doc_id.cmp(&cb.doc_id))
                } else {
                    ca.doc_id.cmp(&cb.doc_id)
                }
            })
        });
        out.into_iter().map(|(i, _)| i).collect()
    }
}

pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("manifest.json")
}

fn lexical_dir(dir: &Path) -> PathBuf {
    dir.join("lexical")
}

fn hashes_path(dir: &Path, generation: &str) -> PathBuf {
    dir.join(format!("hashes-{generation}.bin"))
}

/// Write the chunks' text hashes beside their generation; returns the file's SHA-256.
fn write_hashes(dir: &Path, generation: &str, chunks: &[Chunk]) -> Result<String> {
    let mut bytes = Vec::with_capacity(chunks.len() * 32);
    for c in chunks {
        bytes.extend_from_slice(&vectors::parse_hash(&c.hash).unwrap_or([0; 32]));
    }
    write_synced(&hashes_path(dir, generation), &bytes)?;
    Ok(sha256(&bytes))
}

/// The hashes file of `m`'s generation, when it is there and matches the manifest.
fn read_hashes(dir: &Path, m: &IndexManifest) -> Option<CorpusHashes> {
    let want = m.hashes_sha256.as_deref()?;
    let bytes = std::fs::read(hashes_path(dir, &m.generation)).ok()?;
    if bytes.len() != m.chunks * 32 || sha256(&bytes) != want {
        return None;
    }
    let mut counts: HashMap<ChunkHash, usize> = HashMap::with_capacity(m.chunks);
    for h in bytes.chunks_exact(32) {
        let h: ChunkHash = h.try_into().ok()?;
        if h != [0; 32] {
            *counts.entry(h).or_default() += 1;
        }
    }
    Some(CorpusHashes {
        counts,
        total: m.chunks,
    })
}

fn chunks_path(dir: &Path, generation: &str) -> PathBuf {
    dir.join(format!("chunks-{generation}.json"))
}

/// The lock the lexical phase holds (never the embedding phase, never a query).
pub fn lock_path(project: &Project) -> PathBuf {
    project.local_dir().join("index.lock")
}

fn read_manifest_value(dir: &Path) -> Result<Option<serde_json::Value>> {
    let p = manifest_path(dir);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
    };
    let v = serde_json::from_str(&text)
        .with_context(|| format!("{}: corrupt manifest", p.display()))?;
    Ok(Some(v))
}

fn read_manifest(dir: &Path) -> Result<Option<IndexManifest>> {
    let Some(v) = read_manifest_value(dir)? else {
        return Ok(None);
    };
    let schema = v.get("schema_version").and_then(|s| s.as_u64());
    if schema != Some(SCHEMA_VERSION as u64) {
        bail!(
            "schema version {} (this patina writes {SCHEMA_VERSION})",
            schema.map_or("none".to_string(), |s| s.to_string())
        );
    }
    let m: IndexManifest = serde_json::from_value(v)
        .with_context(|| format!("{}: corrupt manifest", manifest_path(dir).display()))?;
    if !valid_generation_name(&m.generation) {
        bail!("manifest names an invalid generation {:?}", m.generation);
    }
    Ok(Some(m))
}

fn valid_generation_name(g: &str) -> bool {
    !g.is_empty() && g.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The current generation's name, cheaply (one small read); `None` when there is no usable
/// manifest.
pub fn current_generation(dir: &Path) -> Option<String> {
    read_manifest(dir).ok().flatten().map(|m| m.generation)
}

/// Load and validate the current generation. `Ok(None)` = no index; `Err` = present but
/// unusable (the caller rebuilds it).
pub fn load(dir: &Path) -> Result<Option<Generation>> {
    let Some(m) = read_manifest(dir)? else {
        return Ok(None);
    };
    let path = chunks_path(dir, &m.generation);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 != m.chunks_bytes {
        bail!(
            "{} has {} bytes, the manifest says {}",
            path.display(),
            bytes.len(),
            m.chunks_bytes
        );
    }
    if sha256(&bytes) != m.chunks_sha256 {
        bail!("{} does not match its checksum", path.display());
    }
    let chunks: Vec<Chunk> =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: corrupt", path.display()))?;
    if chunks.len() != m.chunks {
        bail!("{} chunks, the manifest says {}", chunks.len(), m.chunks);
    }
    let lexical = Lexical::open(&lexical_dir(dir))?;
    let committed = lexical.generation()?;
    if committed.as_deref() != Some(m.generation.as_str()) {
        bail!(
            "the lexical index belongs to generation {committed:?}, the manifest to {:?}",
            m.generation
        );
    }
    let searcher = lexical.searcher()?;
    if searcher.num_docs() != m.chunks as u64 {
        bail!(
            "lexical index has {} documents, the manifest says {}",
            searcher.num_docs(),
            m.chunks
        );
    }
    Ok(Some(Generation::new(m, chunks, searcher)))
}

fn corpus_digest(chunks: &[Chunk]) -> String {
    let mut h = Sha256::new();
    for c in chunks {
        for part in [
            c.doc_id.as_str(),
            c.hash.as_str(),
            c.path.as_str(),
            c.kind.as_str(),
            c.title.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(c.line_start.to_le_bytes());
        h.update(c.line_end.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// The chunk hashes of a gathered corpus, for coverage without loading a generation.
pub struct CorpusHashes {
    counts: HashMap<ChunkHash, usize>,
    total: usize,
}

impl CorpusHashes {
    fn of(chunks: &[Chunk]) -> CorpusHashes {
        let mut counts: HashMap<ChunkHash, usize> = HashMap::with_capacity(chunks.len());
        for c in chunks {
            if let Some(h) = vectors::parse_hash(&c.hash) {
                *counts.entry(h).or_default() += 1;
            }
        }
        CorpusHashes {
            counts,
            total: chunks.len(),
        }
    }

    fn of_generation(g: &Generation) -> CorpusHashes {
        CorpusHashes {
            counts: g.by_hash.iter().map(|(h, o)| (*h, o.len())).collect(),
            total: g.chunks.len(),
        }
    }

    /// How many of the corpus's chunks have a vector in `set`.
    pub fn coverage(&self, set: Option<&VectorSet>) -> Coverage {
        let mut seen = HashSet::new();
        let mut n = 0;
        for (h, _) in set.into_iter().flat_map(|s| s.rows()) {
            if let Some(c) = self.counts.get(h)
                && seen.insert(*h)
            {
                n += c;
            }
        }
        Coverage::new(n, self.total)
    }
}

/// What the lexical phase did.
pub struct LexicalRound {
    /// The new generation when the round wrote one, or the caller's own when it is still
    /// current; `None` when nothing changed and the caller had none in memory (it is not loaded
    /// just to be compared: the manifest's digest says enough).
    pub generation: Option<Arc<Generation>>,
    pub hashes: CorpusHashes,
    pub by_kind: BTreeMap<String, usize>,
    pub changed: bool,
    pub removed: usize,
    pub rebuilt_because: Option<String>,
}

/// The lexical phase of a refresh: gather the corpus and, when it differs from the current
/// generation, write a new one (tantivy updated with the changed chunks only). `current` is the
/// caller's in-memory generation, used when it is still the one on disk. `rebuild` starts the
/// lexical index from scratch. Serialised by `.patina/local/index.lock`.
pub fn refresh_lexical(
    project: &Project,
    current: Option<Arc<Generation>>,
    rebuild: bool,
) -> Result<LexicalRound> {
    let dir = project.index_dir();
    // The index copies session text (0600 sources): its dirs are 0700 and its files 0600.
    store::private_dir(&project.local_dir())?;
    store::private_dir(&dir)?;
    let _lock = store::FileLock::acquire(&lock_path(project))?;
    let sources = corpus::Sources::read(project)?;
    let on_disk = read_manifest(&dir);
    // The same sources as the current generation: nothing to chunk, compare or write. Coverage
    // comes from the generation in memory, else from its hashes file.
    if !rebuild
        && let Ok(Some(m)) = &on_disk
        && m.sources_digest.as_deref() == Some(sources.digest.as_str())
        && looks_intact(&dir, m)
    {
        let generation = current
            .clone()
            .filter(|c| c.manifest.generation == m.generation);
        let hashes = match &generation {
            Some(g) => Some(CorpusHashes::of_generation(g)),
            None => read_hashes(&dir, m),
        };
        if let Some(hashes) = hashes {
            return Ok(LexicalRound {
                generation,
                hashes,
                by_kind: m.by_kind.clone(),
                changed: false,
                removed: 0,
                rebuilt_because: None,
            });
        }
    }
    let chunks = sources.chunks();
    let digest = corpus_digest(&chunks);
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for c in &chunks {
        *by_kind.entry(c.kind.as_str().to_string()).or_default() += 1;
    }

    // The chunks did not change (the sources did only where chunking ignores it, or the index
    // predates the sources digest): answer from the manifest without reading the old
    // generation, and record the sources so that the next refresh stops before chunking.
    if !rebuild
        && let Ok(Some(m)) = &on_disk
        && m.corpus_digest == digest
        && looks_intact(&dir, m)
    {
        let mut m = m.clone();
        m.sources_digest = Some(sources.digest.clone());
        m.hashes_sha256 = Some(write_hashes(&dir, &m.generation, &chunks)?);
        store::atomic_write(
            &manifest_path(&dir),
            serde_json::to_string_pretty(&m)?.as_bytes(),
            store::PRIVATE_FILE,
        )?;
        // The generation in memory keeps its manifest: same generation, same chunks.
        let generation = current.filter(|c| c.manifest.generation == m.generation);
        return Ok(LexicalRound {
            generation,
            hashes: CorpusHashes::of(&chunks),
            by_kind,
            changed: false,
            removed: 0,
            rebuilt_because: None,
        });
    }
    let mut rebuilt_because = None;
    let previous: Option<Arc<Generation>> = match &on_disk {
        Ok(Some(m)) => match current {
            Some(c) if c.manifest.generation == m.generation => Some(c),
            _ => match load(&dir) {
                Ok(g) => g.map(Arc::new),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "index unusable, rebuilding: {e:#}");
                    rebuilt_because = Some(format!("{e:#}"));
                    None
                }
            },
        },
        Ok(None) => None,
        Err(e) => {
            // An index of an older schema keeps its vectors: they are content-addressed.
            if let Err(m) = migrate_v3_vectors(&dir) {
                tracing::warn!("keeping the vectors of the old index failed: {m:#}");
            }
            rebuilt_because = Some(format!("{e:#}"));
            None
        }
    };

    let new_ids: HashSet<&str> = chunks.iter().map(|c| c.doc_id.as_str()).collect();
    let removed = previous.as_ref().map_or(0, |p| {
        p.chunks
            .iter()
            .filter(|c| !new_ids.contains(c.doc_id.as_str()))
            .count()
    });
    let generation = format!(
        "gen-{}-{:08x}",
        chrono::Utc::now().format("%Y%m%d%H%M%S%3f"),
        rand_u32()
    );
    let (lexical, remove, add): (Lexical, Vec<&str>, Vec<&Chunk>) = match previous
        .as_ref()
        .filter(|_| !rebuild)
        .and_then(|p| Lexical::open(&lexical_dir(&dir)).ok().map(|l| (p, l)))
    {
        Some((prev, lexical)) => {
            let mut remove: Vec<&str> = vec![];
            let mut add: Vec<&Chunk> = vec![];
            for c in &chunks {
                match prev.ord(&c.doc_id) {
                    Some(o) if prev.chunks[o] == *c => {}
                    Some(_) => {
                        remove.push(c.doc_id.as_str());
                        add.push(c);
                    }
                    None => add.push(c),
                }
            }
            for c in &prev.chunks {
                if !new_ids.contains(c.doc_id.as_str()) {
                    remove.push(c.doc_id.as_str());
                }
            }
            (lexical, remove, add)
        }
        None => (
            Lexical::create(&lexical_dir(&dir))?,
            vec![],
            chunks.iter().collect(),
        ),
    };
    let chunk_bytes = serde_json::to_vec(&chunks)?;
    let cpath = chunks_path(&dir, &generation);
    write_synced(&cpath, &chunk_bytes)?;
    let hashes_sha256 = write_hashes(&dir, &generation, &chunks)?;
    if let Err(e) = lexical.update(&remove, &add, &generation) {
        let _ = std::fs::remove_file(&cpath);
        return Err(e);
    }
    let manifest = IndexManifest {
        schema_version: SCHEMA_VERSION,
        generation: generation.clone(),
        chunks: chunks.len(),
        corpus_digest: digest,
        built_at: chrono::Local::now().to_rfc3339(),
        chunks_bytes: chunk_bytes.len() as u64,
        chunks_sha256: sha256(&chunk_bytes),
        by_kind: by_kind.clone(),
        sources_digest: Some(sources.digest.clone()),
        hashes_sha256: Some(hashes_sha256),
    };
    store::atomic_write(
        &manifest_path(&dir),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
        store::PRIVATE_FILE,
    )?;
    // Older chunk files (and schema-3 generation directories) go only after the switch.
    let keep = [
        format!("chunks-{generation}.json"),
        format!("hashes-{generation}.bin"),
    ];
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if (name.starts_with("chunks-") || name.starts_with("hashes-")) && !keep.contains(&name)
            {
                let _ = std::fs::remove_file(e.path());
            } else if name.starts_with("gen-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let searcher = lexical.searcher()?;
    let hashes = CorpusHashes::of(&chunks);
    Ok(LexicalRound {
        generation: Some(Arc::new(Generation::new(manifest, chunks, searcher))),
        hashes,
        by_kind,
        changed: true,
        removed,
        rebuilt_because,
    })
}

/// A schema-3 index kept its vectors in `gen-*/vectors.f32` beside `chunks.json`; move them into
/// the content-addressed log so an upgrade does not embed everything again.
fn migrate_v3_vectors(dir: &Path) -> Result<()> {
    let Some(v) = read_manifest_value(dir)? else {
        return Ok(());
    };
    if v.get("schema_version").and_then(|s| s.as_u64()) != Some(3) {
        return Ok(());
    }
    let (Some(generation), Some(model_hash), Some(dims), Some(vsha)) = (
        v.get("generation").and_then(|g| g.as_str()),
        v.get("model_hash").and_then(|g| g.as_str()),
        v.get("dims").and_then(|g| g.as_u64()).map(|d| d as usize),
        v.get("vectors_sha256").and_then(|g| g.as_str()),
    ) else {
        return Ok(());
    };
    if !valid_generation_name(generation) || dims == 0 {
        return Ok(());
    }
    #[derive(Deserialize)]
    struct OldChunk {
        hash: String,
    }
    let g = dir.join(generation);
    let old: Vec<OldChunk> = serde_json::from_slice(&std::fs::read(g.join("chunks.json"))?)?;
    let raw = std::fs::read(g.join("vectors.f32"))?;
    if sha256(&raw) != vsha || raw.len() != old.len() * dims * 4 {
        bail!("the old index's vectors do not match its manifest");
    }
    let floats: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let rows: Vec<(ChunkHash, &[f32])> = old
        .iter()
        .zip(floats.chunks_exact(dims))
        .filter_map(|(c, v)| vectors::parse_hash(&c.hash).map(|h| (h, v)))
        .collect();
    vectors::append(dir, model_hash, dims, &rows)?;
    tracing::info!(vectors = rows.len(), "kept the vectors of a schema-3 index");
    Ok(())
}

/// The generation's files exist with the sizes the manifest records (the checksums are
/// verified whenever it is loaded).
fn looks_intact(dir: &Path, m: &IndexManifest) -> bool {
    std::fs::metadata(chunks_path(dir, &m.generation)).is_ok_and(|f| f.len() == m.chunks_bytes)
        && lexical_dir(dir).join("meta.json").is_file()
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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
