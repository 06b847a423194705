//! Keyed fingerprints of secret values, so that archives are redacted whatever the daemon holds.
//!
//! Why: redaction that needs the plaintext works only while a vault is unlocked; after the TTL
//! or `serve stop` a value pasted into a prompt went verbatim into `sessions/<id>.md`. Instead,
//! every command that has a vault's values in hand (`secrets add`/`rm`, `unlock`, an in-process
//! `run`) records HMAC-SHA256(key, value) with the value's byte length, and archiving checks
//! the candidate substrings of a text against those fingerprints: no plaintext, no daemon.
//!
//! Files (both 0600 from the first byte, in the 0700 `PATINA_HOME`):
//! - `fingerprint.key`: 32 random bytes (hex) from the OS CSPRNG, made on first use.
//! - `fingerprints.json`: `{version, entries: [{name, scope, vault, len, hmac}], unredactable:
//!   [{name, scope, vault}]}`. Entries of older values stay (a value rotated out may still be in
//!   an agent's log), up to [`MAX_ENTRIES`], oldest dropped first.
//!
//! A fingerprint of a short or low-entropy value would be a guessing target for anyone who can
//! read both files (e.g. a process of the user's own): a 5-digit PIN falls to 10^5 HMACs. So a
//! value is fingerprinted only when [`is_fingerprintable`]: at least [`MIN_CHARS`] characters,
//! at least [`MIN_DISTINCT`] distinct ones, and an estimated strength of at least [`MIN_BITS`]
//! bits (length × log2 of the alphabet its character classes span). Others are listed as
//! *unredactable* and the user is told so at `add` and `unlock`.
//!
//! Matching ([`Fingerprints::redact`]): a candidate starts at the beginning of the text, after
//! any character that is not a letter or digit, or at any such character; for every distinct
//! recorded length it takes that many bytes from there and checks the HMAC. A hit is replaced by
//! `[redacted: NAME]` (longest first; no overlaps). Values glued to letters or digits on their
//! left are not found; this is documented in docs/ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::vault::{Scope, SecretValue, VaultPaths};
use crate::store;

/// Fewest characters a value needs to be fingerprinted.
pub const MIN_CHARS: usize = 10;
/// Fewest distinct characters (`aaaaaaaaaaaa` is not a secret a hash can keep).
pub const MIN_DISTINCT: usize = 5;
/// Least estimated strength, in bits (length × log2 of the alphabet of its character classes).
pub const MIN_BITS: f64 = 56.0;
/// Most fingerprints kept (older values of rotated secrets included).
pub const MAX_ENTRIES: usize = 4096;

const KEY_FILE: &str = "fingerprint.key";
const DB_FILE: &str = "fingerprints.json";
const LOCK_FILE: &str = "fingerprints.lock";

type HmacSha256 = Hmac<Sha256>;

/// Estimated strength of `value` in bits: characters × log2(size of the alphabet spanned by its
/// character classes: lower 26, upper 26, digits 10, anything else 33).
pub fn strength_bits(value: &str) -> f64 {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for c in value.chars() {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            _ => other = true,
        }
    }
    let alphabet = [(lower, 26), (upper, 26), (digit, 10), (other, 33)]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .sum::<u32>()
        .max(1);
    value.chars().count() as f64 * f64::from(alphabet).log2()
}

/// Can `value` be fingerprinted safely (see the module docs)?
pub fn is_fingerprintable(value: &str) -> bool {
    let distinct: BTreeSet<char> = value.chars().collect();
    value.chars().count() >= MIN_CHARS
        && distinct.len() >= MIN_DISTINCT
        && strength_bits(value) >= MIN_BITS
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    name: String,
    scope: Scope,
    vault: PathBuf,
    /// Byte length of the value.
    len: usize,
    /// HMAC-SHA256(key, value), hex.
    hmac: String,
}

/// A secret that is too weak to fingerprint: it cannot be redacted from archives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unredactable {
    pub name: String,
    pub scope: Scope,
    pub vault: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Db {
    #[serde(default = "one")]
    version: u32,
    #[serde(default)]
    entries: Vec<Entry>,
    #[serde(default)]
    unredactable: Vec<Unredactable>,
}

fn one() -> u32 {
    1
}

fn home() -> PathBuf {
    crate::paths::patina_home()
}

fn parse_db(path: &Path, text: &str) -> Result<Db> {
    let db: Db = serde_json::from_str(text)
        .with_context(|| format!("{}: not a patina fingerprint file", path.display()))?;
    if db.version != 1 {
        bail!(
            "{}: fingerprint format version {} is not supported",
            path.display(),
            db.version
        );
    }
    Ok(db)
}

/// The HMAC key, created (0600, from the OS CSPRNG) when missing and `create` is set.
fn key(create: bool) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let path = home().join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let raw = Zeroizing::new(
                hex::decode(text.trim())
                    .ok()
                    .filter(|k| k.len() == 32)
                    .with_context(|| format!("{}: not a 32-byte hex key", path.display()))?,
            );
            Ok(Some(raw))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Ok(None);
            }
            let mut raw = Zeroizing::new(vec![0u8; 32]);
            getrandom::fill(&mut raw).context("reading the OS random number generator")?;
            let mut text = Zeroizing::new(hex::encode(&raw[..]));
            text.push('\n');
            match store::create_private_new(&path, text.as_bytes()) {
                Ok(()) => Ok(Some(raw)),
                // Another command made it first: use theirs.
                Err(_) if path.exists() => key(false),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn mac_of(key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(value);
    m.finalize().into_bytes().into()
}

/// Record the fingerprints of `values` (all of one vault's current values) and which of them are
/// too weak to fingerprint. Returns the names of the unredactable ones.
pub fn record(paths: &VaultPaths, values: &BTreeMap<String, SecretValue>) -> Result<Vec<String>> {
    let key = key(true)?.expect("created");
    let vault = std::path::absolute(&paths.vault).unwrap_or_else(|_| paths.vault.clone());
    let mut fresh = Vec::new();
    let mut weak = Vec::new();
    for (name, v) in values {
        if is_fingerprintable(v.expose()) {
            fresh.push(Entry {
                name: name.clone(),
                scope: paths.scope,
                vault: vault.clone(),
                len: v.expose().len(),
                hmac: hex::encode(mac_of(&key, v.expose().as_bytes())),
            });
        } else {
            weak.push(name.clone());
        }
    }
    let db_path = home().join(DB_FILE);
    let scope = paths.scope;
    let weak_names = weak.clone();
    store::update_locked(
        &db_path,
        &home().join(LOCK_FILE),
        store::PRIVATE_FILE,
        |cur| {
            let mut db = match cur {
                Some(text) => parse_db(&db_path, &text)?,
                None => Db {
                    version: 1,
                    ..Db::default()
                },
            };
            let before = (db.entries.clone(), db.unredactable.clone());
            for e in fresh {
                // The same value under the same name: keep one, moved to the newest place.
                db.entries
                    .retain(|o| !(o.hmac == e.hmac && o.name == e.name));
                db.entries.push(e);
            }
            if db.entries.len() > MAX_ENTRIES {
                let extra = db.entries.len() - MAX_ENTRIES;
                db.entries.drain(..extra);
            }
            db.unredactable.retain(|u| u.vault != vault);
            db.unredactable
                .extend(weak_names.into_iter().map(|name| Unredactable {
                    name,
                    scope,
                    vault: vault.clone(),
                }));
            db.unredactable.sort();
            if (db.entries.clone(), db.unredactable.clone()) == before {
                return Ok((None, ()));
            }
            let text = serde_json::to_string_pretty(&db).context("serialising fingerprints")?;
            Ok((Some(text + "\n"), ()))
        },
    )?;
    Ok(weak)
}

/// Secrets that cannot be redacted (too short or too weak to fingerprint), as last recorded.
pub fn unredactable() -> Result<Vec<Unredactable>> {
    let path = home().join(DB_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_db(&path, &text)?.unredactable),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The recorded fingerprints, ready to check texts against.
pub struct Fingerprints {
    key: Zeroizing<Vec<u8>>,
    by_mac: HashMap<[u8; 32], String>,
    /// Distinct byte lengths, longest first.
    lengths: Vec<usize>,
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fingerprints")
            .field("count", &self.by_mac.len())
            .finish_non_exhaustive()
    }
}

impl Fingerprints {
    /// The user's fingerprints; `None` when nothing was ever recorded.
    pub fn load() -> Result<Option<Fingerprints>> {
        let path = home().join(DB_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let db = parse_db(&path, &text)?;
        let Some(key) = key(false)? else {
            bail!(
                "{} exists but {} is missing: fingerprints cannot be checked",
                path.display(),
                home().join(KEY_FILE).display()
            );
        };
        let mut by_mac = HashMap::new();
        let mut lengths = BTreeSet::new();
        for e in db.entries {
            let Some(mac) = hex::decode(&e.hmac)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
            else {
                bail!("{}: malformed hmac for {}", path.display(), e.name);
            };
            if e.len == 0 {
                continue;
            }
            lengths.insert(e.len);
            by_mac.insert(mac, e.name);
        }
        Ok(Some(Fingerprints {
            key,
            by_mac,
            lengths: lengths.into_iter().rev().collect(),
        }))
    }

    pub fn is_empty(&self) -> bool {
        self.by_mac.is_empty()
    }

    /// A digest of what [`redact`](Self::redact) would replace (the keyed MACs and the names
    /// they stand for, never a value): text redacted under the same digest redacts the same.
    pub fn digest(&self) -> Vec<u8> {
        use sha2::Digest;
        let mut entries: Vec<(&[u8; 32], &String)> = self.by_mac.iter().collect();
        entries.sort();
        let mut h = Sha256::new();
        for (mac, name) in entries {
            h.update(mac);
            h.update(name.as_bytes());
            h.update([0]);
        }
        h.finalize().to_vec()
    }

    /// `text` with every recorded value replaced by `[redacted: NAME]`, and the names hit (one per
    /// replacement, in order).
    pub fn redact(&self, text: &str) -> (String, Vec<String>) {
        if self.by_mac.is_empty() || text.is_empty() {
            return (text.to_string(), vec![]);
        }
        let keyed = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut hits = Vec::new();
        let mut copied = 0;
        let mut prev: Option<char> = None;
        let mut iter = text.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            let boundary = prev.is_none_or(|p| !p.is_alphanumeric()) || !c.is_alphanumeric();
            prev = Some(c);
            if !boundary || i < copied {
                continue;
            }
            for &len in &self.lengths {
                let end = i + len;
                if end > bytes.len() || !text.is_char_boundary(end) {
                    continue;
                }
                let mut m = keyed.clone();
                m.update(&bytes[i..end]);
                let mac: [u8; 32] = m.finalize().into_bytes().into();
                if let Some(name) = self.by_mac.get(&mac) {
                    out.push_str(&text[copied..i]);
                    out.push_str(&format!("[redacted: {name}]"));
                    hits.push(name.clone());
                    copied = end;
                    // Skip what was replaced; the next candidate starts after it.
                    while iter.peek().is_some_and(|(j, _)| *j < end) {
                        iter.next();
                    }
                    prev = text[..end].chars().next_back();
                    break;
                }
            }
        }
        out.push_str(&text[copied..]);
        (out, hits)
    }
}

/// `text` with every fingerprinted secret value replaced by `[redacted: NAME]` and how many were
/// replaced; `text` unchanged when nothing was recorded. A broken fingerprint file is an error:
/// archiving must not silently skip redaction.
pub fn redact_known(text: &str) -> Result<(String, usize)> {
    match Fingerprints::load()? {
        Some(f) => {
            let (t, hits) = f.redact(text);
            Ok((t, hits.len()))
        }
        None => Ok((text.to_string(), 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(values: &[(&str, &str)]) -> Fingerprints {
        let key = Zeroizing::new(vec![7u8; 32]);
        let mut by_mac = HashMap::new();
        let mut lengths = BTreeSet::new();
        for (n, v) in values {
            by_mac.insert(mac_of(&key, v.as_bytes()), n.to_string());
            lengths.insert(v.len());
        }
        Fingerprints {
            key,
            by_mac,
            lengths: lengths.into_iter().rev().collect(),
        }
    }

    #[test]
    fn strength_rule() {
        for weak in [
            "12345",
            "hunter2",
            "aaaaaaaaaaaaaaaaaaaa",
            "password12",
            "0123456789",
        ] {
            assert!(!is_fingerprintable(weak), "{weak}");
        }
        for strong in [
            "ghp_a1B2c3D4e5F6g7H8i9J0",
            "correct-horse-battery-staple",
            "7f3a9c2e11b84d06",
            "Tr0ub4dor&3x",
        ] {
            assert!(is_fingerprintable(strong), "{strong}");
        }
    }

    #[test]
    fn finds_values_at_token_boundaries_only() {
        let f = fp(&[("api-key", "s3cr3t-V4lue-42"), ("db", "Zx9!Qw8@Er7#")]);
        let (out, hits) =
            f.redact("export API=s3cr3t-V4lue-42; pw:\"Zx9!Qw8@Er7#\" again s3cr3t-V4lue-42.");
        assert_eq!(
            out,
            "export API=[redacted: api-key]; pw:\"[redacted: db]\" again [redacted: api-key]."
        );
        assert_eq!(hits, vec!["api-key", "db", "api-key"]);
        // Glued to a letter on the left: not a candidate (documented limit).
        let (out, hits) = f.redact("xs3cr3t-V4lue-42");
        assert_eq!(out, "xs3cr3t-V4lue-42");
        assert!(hits.is_empty());
        // Multi-byte text around a value.
        let (out, _) = f.redact("clé→s3cr3t-V4lue-42←fin");
        assert_eq!(out, "clé→[redacted: api-key]←fin");
    }

    #[test]
    fn longest_value_wins() {
        let f = fp(&[("short", "abcdefghij12"), ("long", "abcdefghij12-and-more")]);
        let (out, _) = f.redact("x abcdefghij12-and-more y abcdefghij12");
        assert_eq!(out, "x [redacted: long] y [redacted: short]");
    }
}
