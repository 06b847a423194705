//! Content-addressed vectors: one append-only log per model in `.patina/local/index/vectors/`.
//!
//! A vector depends only on the model and the text it embeds, so it is keyed by (model hash,
//! sha256 of the embed text) and by nothing else: edits elsewhere, re-chunking, a teammate's
//! clone or a lexical-only refresh never invalidate it.
//!
//! Log file `<first 16 hex digits of the model hash>.vec`:
//! header = `PATINAVL`, u32 LE dims, u32 LE length of the model hash, the model hash (ASCII);
//! then fixed-size records = chunk hash (32 bytes), `dims` f32 LE, CRC-32 of the two.
//! Appends are whole records under `<key>.lock` (held for the append only). A reader takes the
//! complete records whose CRC holds: a torn tail or a flipped byte costs that one record, which
//! is embedded again. Duplicate hashes are harmless (the first copy wins where it matters).
//!
//! Export file (`patina index --export`): `PATINAVX`, u32 LE header length, a JSON header
//! (`model_id`, `model_hash`, `dims`, `count`), `count` records in the log's format, and the
//! SHA-256 of everything before it.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::store;

/// SHA-256 of a chunk's embed text: the key of its vector.
pub type ChunkHash = [u8; 32];

/// One vector with its key.
pub type Row = (ChunkHash, Vec<f32>);

const LOG_MAGIC: &[u8; 8] = b"PATINAVL";
const EXPORT_MAGIC: &[u8; 8] = b"PATINAVX";

/// Decode a chunk's hex hash.
pub fn parse_hash(hex_hash: &str) -> Option<ChunkHash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut out).ok()?;
    Some(out)
}

fn record_len(dims: usize) -> usize {
    32 + dims * 4 + 4
}

fn encode_record(out: &mut Vec<u8>, hash: &ChunkHash, v: &[f32]) {
    let start = out.len();
    out.extend_from_slice(hash);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Decode one record; `None` when its CRC does not hold or a value is not finite.
fn decode_record(rec: &[u8], dims: usize) -> Option<(ChunkHash, Vec<f32>)> {
    let body = &rec[..32 + dims * 4];
    let crc = u32::from_le_bytes(rec[32 + dims * 4..].try_into().ok()?);
    if crc32fast::hash(body) != crc {
        return None;
    }
    let hash: ChunkHash = body[..32].try_into().ok()?;
    let v: Vec<f32> = body[32..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    v.iter().all(|x| x.is_finite()).then_some((hash, v))
}

fn log_header(model_hash: &str, dims: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(16 + model_hash.len());
    h.extend_from_slice(LOG_MAGIC);
    h.extend_from_slice(&(dims as u32).to_le_bytes());
    h.extend_from_slice(&(model_hash.len() as u32).to_le_bytes());
    h.extend_from_slice(model_hash.as_bytes());
    h
}

/// Rows of one model shared between snapshots: blocks are immutable and appended, so a new
/// set is a clone of a few `Arc`s.
#[derive(Clone)]
pub struct VectorSet {
    pub model_hash: String,
    pub dims: usize,
    blocks: Vec<Arc<Block>>,
    len: usize,
    /// The log this set mirrors: bytes consumed and the file's identity (a compaction replaces
    /// the file, and a reader then starts over).
    offset: u64,
    file_id: Option<(u64, u64)>,
    /// Records that failed their CRC (they will be embedded again).
    pub bad: usize,
}

struct Block {
    hashes: Vec<ChunkHash>,
    data: Vec<f32>,
}

impl VectorSet {
    pub fn empty(model_hash: &str, dims: usize) -> VectorSet {
        VectorSet {
            model_hash: model_hash.to_string(),
            dims,
            blocks: vec![],
            len: 0,
            offset: 0,
            file_id: None,
            bad: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every row, in log order.
    pub fn rows(&self) -> impl Iterator<Item = (&ChunkHash, &[f32])> {
        let d = self.dims;
        self.blocks
            .iter()
            .flat_map(move |b| b.hashes.iter().zip(b.data.chunks_exact(d.max(1))))
    }

    /// Every row's key with where its floats are (block, row within the block), in log order.
    pub(crate) fn row_positions(&self) -> impl Iterator<Item = (u32, u32, &ChunkHash)> {
        self.blocks.iter().enumerate().flat_map(|(b, block)| {
            block
                .hashes
                .iter()
                .enumerate()
                .map(move |(i, h)| (b as u32, i as u32, h))
        })
    }

    /// The floats of the row at a position [`row_positions`](Self::row_positions) gave.
    pub(crate) fn vector_at(&self, block: u32, row: u32) -> &[f32] {
        let d = self.dims;
        let at = row as usize * d;
        &self.blocks[block as usize].data[at..at + d]
    }

    pub fn hashes(&self) -> HashSet<ChunkHash> {
        self.rows().map(|(h, _)| *h).collect()
    }

    fn push(&mut self, hashes: Vec<ChunkHash>, data: Vec<f32>) {
        if hashes.is_empty() {
            return;
        }
        self.len += hashes.len();
        self.blocks.push(Arc::new(Block { hashes, data }));
    }
}

/// The log of `model_hash` in the index directory `dir`.
pub fn log_path(dir: &Path, model_hash: &str) -> PathBuf {
    let key: String = model_hash.chars().take(16).collect();
    dir.join("vectors").join(format!("{key}.vec"))
}

fn lock_path(log: &Path) -> PathBuf {
    log.with_extension("lock")
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

/// True when the log holds bytes `set` has not read yet (or was replaced): one stat.
pub fn has_news(dir: &Path, set: &VectorSet) -> bool {
    match std::fs::metadata(log_path(dir, &set.model_hash)) {
        Ok(m) => Some(file_id(&m)) != set.file_id || m.len() > set.offset,
        Err(_) => set.file_id.is_some(),
    }
}

/// Bring `set` up to date with its log: the new records only, or everything again when the
/// file was replaced. A log of another model or dimension under the same key is an error.
pub fn read_news(dir: &Path, set: &VectorSet) -> Result<VectorSet> {
    let path = log_path(dir, &set.model_hash);
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(VectorSet::empty(&set.model_hash, set.dims));
        }
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let meta = f.metadata()?;
    let mut out = if Some(file_id(&meta)) == set.file_id {
        set.clone()
    } else {
        VectorSet::empty(&set.model_hash, set.dims)
    };
    out.file_id = Some(file_id(&meta));
    let header = log_header(&set.model_hash, set.dims);
    if out.offset == 0 {
        let mut got = vec![0u8; header.len()];
        match f.read_exact(&mut got) {
            Ok(()) if got == header => out.offset = header.len() as u64,
            Ok(()) => bail!(
                "{} belongs to another model or dimension (expected model {})",
                path.display(),
                set.model_hash
            ),
            // Shorter than a header: being created right now; nothing to read yet.
            Err(_) => return Ok(out),
        }
    }
    f.seek(SeekFrom::Start(out.offset))?;
    let mut raw = vec![];
    f.read_to_end(&mut raw)
        .with_context(|| format!("reading {}", path.display()))?;
    let rl = record_len(set.dims);
    let whole = raw.len() / rl * rl;
    let mut hashes = Vec::with_capacity(whole / rl);
    let mut data = Vec::with_capacity(whole / rl * set.dims);
    for rec in raw[..whole].chunks_exact(rl) {
        match decode_record(rec, set.dims) {
            Some((h, v)) => {
                hashes.push(h);
                data.extend_from_slice(&v);
            }
            None => out.bad += 1,
        }
    }
    if out.bad > set.bad {
        tracing::warn!(
            log = %path.display(),
            bad = out.bad,
            "vector records failed their checksum; their chunks will be embedded again"
        );
    }
    out.offset += whole as u64;
    out.push(hashes, data);
    Ok(out)
}

/// Append whole records to the log of `model_hash` (created with its header when absent),
/// under the log's lock. A torn tail left by a crash is cut off first so records stay aligned.
pub fn append(
    dir: &Path,
    model_hash: &str,
    dims: usize,
    rows: &[(ChunkHash, &[f32])],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let path = log_path(dir, model_hash);
    let parent = path.parent().unwrap_or(dir);
    // 0700/0600 like the rest of `.patina/local` (whatever the umask).
    store::create_dirs(parent)?;
    let _lock = store::FileLock::acquire(&lock_path(&path))?;
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(store::PRIVATE_FILE)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let header = log_header(model_hash, dims);
    let len = f.metadata()?.len();
    let rl = record_len(dims) as u64;
    if len < header.len() as u64 {
        f.set_len(0)?;
        f.write_all(&header)?;
    } else {
        let mut got = vec![0u8; header.len()];
        f.read_exact(&mut got)?;
        if got != header {
            bail!(
                "{} belongs to another model or dimension (expected model {model_hash})",
                path.display()
            );
        }
        let body = len - header.len() as u64;
        if !body.is_multiple_of(rl) {
            f.set_len(len - body % rl)?;
        }
    }
    f.seek(SeekFrom::End(0))?;
    let mut buf = Vec::with_capacity(rows.len() * rl as usize);
    for (h, v) in rows {
        if v.len() != dims {
            bail!("a vector of {} values for a {dims}-dimension log", v.len());
        }
        encode_record(&mut buf, h, v);
    }
    f.write_all(&buf)
        .and_then(|_| f.sync_data())
        .with_context(|| format!("writing {}", path.display()))
}

/// Rewrite the log keeping one copy of each hash for which `keep` holds, when more than half
/// of its records would go. Returns the number of records dropped (0 = left as it was).
pub fn compact(dir: &Path, set: &VectorSet, keep: &dyn Fn(&ChunkHash) -> bool) -> Result<usize> {
    let path = log_path(dir, &set.model_hash);
    let _lock = store::FileLock::acquire(&lock_path(&path))?;
    // Re-read under the lock: another process may have appended since `set` was read.
    let current = read_news(dir, set)?;
    let mut seen = HashSet::new();
    let mut buf = log_header(&set.model_hash, set.dims);
    let mut kept = 0;
    for (h, v) in current.rows() {
        if keep(h) && seen.insert(*h) {
            encode_record(&mut buf, h, v);
            kept += 1;
        }
    }
    let dropped = current.len() - kept + current.bad;
    if dropped * 2 <= current.len() + current.bad {
        return Ok(0);
    }
    store::atomic_write(&path, &buf, store::PRIVATE_FILE)?;
    Ok(dropped)
}

/// Delete the log of `model_hash` (`index --rebuild`), under its lock.
pub fn remove(dir: &Path, model_hash: &str) -> Result<()> {
    let path = log_path(dir, model_hash);
    if !path.exists() {
        return Ok(());
    }
    let _lock = store::FileLock::acquire(&lock_path(&path))?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// The header of an export file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportHeader {
    pub model_id: String,
    pub model_hash: String,
    pub dims: usize,
    pub count: usize,
}

/// Write the rows of `set` for which `keep` holds (one per hash) to `file`, atomically.
pub fn export(
    file: &Path,
    model_id: &str,
    set: &VectorSet,
    keep: &dyn Fn(&ChunkHash) -> bool,
) -> Result<usize> {
    let mut seen = HashSet::new();
    let mut records = vec![];
    for (h, v) in set.rows() {
        if keep(h) && seen.insert(*h) {
            encode_record(&mut records, h, v);
        }
    }
    let header = serde_json::to_vec(&ExportHeader {
        model_id: model_id.to_string(),
        model_hash: set.model_hash.clone(),
        dims: set.dims,
        count: seen.len(),
    })?;
    let mut out = Vec::with_capacity(records.len() + header.len() + 48);
    out.extend_from_slice(EXPORT_MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&records);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    store::atomic_write(file, &out, 0o644)?;
    Ok(seen.len())
}

/// Read and check an export file made for `model_hash`/`dims`: its checksum, header, every
/// record's CRC, and that each value is finite and each vector of unit length.
pub fn read_export(file: &Path, model_hash: &str, dims: usize) -> Result<(ExportHeader, Vec<Row>)> {
    let shown = file.display();
    let raw = std::fs::read(file).with_context(|| format!("reading {shown}"))?;
    let bad = |why: String| -> anyhow::Error {
        Error::invalid_input(format!("{shown}: {why}"))
            .in_file(file)
            .into()
    };
    if raw.len() < 8 + 4 + 32 || &raw[..8] != EXPORT_MAGIC {
        return Err(bad("not a patina vector export (no PATINAVX header)".into()));
    }
    let (body, digest) = raw.split_at(raw.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err(bad(
            "checksum mismatch (the file is truncated or damaged)".into()
        ));
    }
    let hlen = u32::from_le_bytes(body[8..12].try_into()?) as usize;
    let header_bytes = body
        .get(12..12 + hlen)
        .ok_or_else(|| bad("header length past the end of the file".into()))?;
    let header: ExportHeader = serde_json::from_slice(header_bytes)
        .map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    if header.model_hash != model_hash {
        return Err(bad(format!(
            "made with model {} but this patina embeds with {model_hash}; vectors of two models never mix",
            header.model_hash
        )));
    }
    if header.dims != dims {
        return Err(bad(format!(
            "dims is {}, the model has {dims}",
            header.dims
        )));
    }
    let records = &body[12 + hlen..];
    let rl = record_len(dims);
    if records.len() != header.count * rl {
        return Err(bad(format!(
            "count says {} records but {} bytes follow the header",
            header.count,
            records.len()
        )));
    }
    let mut out = Vec::with_capacity(header.count);
    for (i, rec) in records.chunks_exact(rl).enumerate() {
        let (h, v) = decode_record(rec, dims)
            .ok_or_else(|| bad(format!("record {i} fails its checksum")))?;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if (norm - 1.0).abs() > 1e-3 {
            return Err(bad(format!(
                "record {i} is not a unit vector (length {norm})"
            )));
        }
        out.push((h, v));
    }
    Ok((header, out))
}

/// Load the whole log of `model_hash` (empty when absent).
#[cfg(test)]
pub fn load(dir: &Path, model_hash: &str, dims: usize) -> Result<VectorSet> {
    read_news(dir, &VectorSet::empty(model_hash, dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: f32, dims: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dims).map(|i| (i as f32 + seed).sin()).collect();
        super::super::embed::normalize(&mut v);
        v
    }

    #[test]
    fn append_read_tail_and_survive_damage() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let set = load(d, "abc", 4).unwrap();
        assert!(set.is_empty());
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let (va, vb, vc) = (unit(1.0, 4), unit(2.0, 4), unit(3.0, 4));
        append(d, "abc", 4, &[(a, &va), (b, &vb)]).unwrap();
        assert!(has_news(d, &set));
        let set = read_news(d, &set).unwrap();
        assert_eq!(set.len(), 2);
        assert!(!has_news(d, &set));
        append(d, "abc", 4, &[(c, &vc)]).unwrap();
        let set2 = read_news(d, &set).unwrap();
        assert_eq!(set2.len(), 3);
        let rows: Vec<_> = set2.rows().map(|(h, v)| (*h, v.to_vec())).collect();
        assert_eq!(rows[2], (c, vc.clone()));

        // A torn tail is ignored by readers and cut by the next append.
        let path = log_path(d, "abc");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9u8; 7]).unwrap();
        assert_eq!(load(d, "abc", 4).unwrap().len(), 3);
        append(d, "abc", 4, &[(a, &va)]).unwrap();
        assert_eq!(load(d, "abc", 4).unwrap().len(), 4);

        // A flipped byte costs that record only.
        let mut raw = std::fs::read(&path).unwrap();
        let header = log_header("abc", 4).len();
        raw[header + record_len(4) + 40] ^= 0x10;
        std::fs::write(&path, &raw).unwrap();
        let set = load(d, "abc", 4).unwrap();
        assert_eq!((set.len(), set.bad), (3, 1));

        // Another model or dimension under the same key is refused, not mixed.
        assert!(append(d, "abc", 8, &[(a, &unit(1.0, 8))]).is_err());
        append(d, "0123456789abcdef-one", 4, &[(a, &va)]).unwrap();
        assert!(load(d, "0123456789abcdef-two", 4).is_err());
    }

    #[test]
    fn compaction_keeps_live_rows_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rows: Vec<(ChunkHash, Vec<f32>)> =
            (0..10u8).map(|i| ([i; 32], unit(i as f32, 4))).collect();
        let refs: Vec<(ChunkHash, &[f32])> = rows.iter().map(|(h, v)| (*h, v.as_slice())).collect();
        append(d, "m", 4, &refs).unwrap();
        let set = load(d, "m", 4).unwrap();
        // Keeping 6 of 10: not worth a rewrite.
        assert_eq!(compact(d, &set, &|h| h[0] < 6).unwrap(), 0);
        assert_eq!(compact(d, &set, &|h| h[0] < 3).unwrap(), 7);
        let after = load(d, "m", 4).unwrap();
        assert_eq!(after.len(), 3);
        assert!(has_news(d, &set), "a replaced log is news");
    }

    #[test]
    fn export_round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rows: Vec<(ChunkHash, Vec<f32>)> =
            (0..5u8).map(|i| ([i; 32], unit(i as f32, 4))).collect();
        let refs: Vec<(ChunkHash, &[f32])> = rows.iter().map(|(h, v)| (*h, v.as_slice())).collect();
        append(d, "m", 4, &refs).unwrap();
        let set = load(d, "m", 4).unwrap();
        let file = d.join("team.vectors");
        assert_eq!(export(&file, "minilm", &set, &|h| h[0] != 2).unwrap(), 4);
        let (header, got) = read_export(&file, "m", 4).unwrap();
        assert_eq!(header.count, 4);
        assert_eq!(got[0], rows[0]);
        let err = read_export(&file, "other", 4).unwrap_err();
        assert!(format!("{err:#}").contains("made with model m"), "{err:#}");
        let mut raw = std::fs::read(&file).unwrap();
        raw[40] ^= 1;
        std::fs::write(&file, &raw).unwrap();
        let err = read_export(&file, "m", 4).unwrap_err();
        assert!(format!("{err:#}").contains("checksum"), "{err:#}");
        std::fs::write(&file, b"hello").unwrap();
        assert!(read_export(&file, "m", 4).is_err());
    }
}
