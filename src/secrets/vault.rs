//! Vault files: `vault.age` (age-encrypted TOML `{meta, values}`) and its name registry
//! `secrets.toml` (names → env vars, no values), for the global and the project scope.
//!
//! Crash safety between the two files. They cannot be renamed together, so the registry carries
//! the SHA-256 of the vault file it describes, and a write goes in three atomic steps:
//! 1. the registry gains a `[pending]` table: the new entries and the hash of the new ciphertext
//!    (computed in memory before anything is written);
//! 2. `vault.age` is replaced;
//! 3. the registry is rewritten with the new entries and hash, `[pending]` removed.
//!
//! A load hashes `vault.age` and takes the registry's entries whose hash matches (the current
//! ones or the pending ones), so a crash at any point leaves a readable, agreeing pair. Anything
//! else (a vault replaced by `git pull` or the `age` CLI, or tampered) is reported as out of sync
//! and never trusted; commands that decrypt rebuild the registry from the vault's own `meta`,
//! which is authenticated by age.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::identity::{self, Identity};
use super::names;
use crate::error::Error;
use crate::project::Project;
use crate::store;

/// Which vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `PATINA_HOME/vault.age`, encrypted to the user's own recipient.
    Global,
    /// `.patina/vault.age`, encrypted to every recipient in `.patina/recipients.txt` (committed).
    Project,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Project => "project",
        }
    }
}

/// The files of one vault.
#[derive(Debug, Clone)]
pub struct VaultPaths {
    pub scope: Scope,
    pub vault: PathBuf,
    pub registry: PathBuf,
    /// Project scope only: `.patina/recipients.txt`.
    pub recipients: Option<PathBuf>,
    /// Project root (project scope), for logs.
    pub project_root: Option<PathBuf>,
    lock: PathBuf,
}

impl VaultPaths {
    pub fn global() -> VaultPaths {
        let home = crate::paths::patina_home();
        VaultPaths {
            scope: Scope::Global,
            vault: home.join("vault.age"),
            registry: home.join("secrets.toml"),
            recipients: None,
            project_root: None,
            lock: home.join("secrets.lock"),
        }
    }

    pub fn project(project: &Project) -> VaultPaths {
        let dir = project.patina_dir();
        VaultPaths {
            scope: Scope::Project,
            vault: dir.join("vault.age"),
            registry: dir.join("secrets.toml"),
            recipients: Some(dir.join("recipients.txt")),
            project_root: Some(project.root().to_path_buf()),
            lock: project.local_dir().join("secrets.lock"),
        }
    }

    /// True when neither the vault nor the registry exists.
    pub fn is_empty(&self) -> bool {
        !self.vault.exists() && !self.registry.exists()
    }
}

/// A secret's value. Zeroized on drop; its Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Accept a value: non-empty, no NUL (it must fit in an environment variable).
    pub fn new(value: Zeroizing<String>) -> Result<SecretValue> {
        if value.is_empty() {
            return Err(Error::invalid_input("empty secret value refused").into());
        }
        if value.contains('\0') {
            bail!(
                "secret value contains a NUL byte; it cannot be passed in an environment variable"
            );
        }
        Ok(SecretValue(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// A name and the environment variable it is released into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub env: String,
}

/// How the registry relates to the vault file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryState {
    /// The registry describes this exact vault file.
    Ok,
    /// Neither file exists.
    Empty,
    /// The vault changed outside patina (or was tampered with): names are not trusted until a
    /// command that decrypts rebuilds the registry.
    OutOfSync,
}

/// The registry's view of a vault, without decrypting anything.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub vault: Scope,
    pub path: PathBuf,
    /// SHA-256 of the vault file (empty when there is none): the daemon cache key.
    pub vault_id: String,
    pub state: RegistryState,
    pub secrets: Vec<Entry>,
}

// ---------------------------------------------------------------------------------------------
// The registry file

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    vault_sha256: String,
    #[serde(default)]
    secrets: BTreeMap<String, RegistryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<PendingWrite>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingWrite {
    vault_sha256: String,
    #[serde(default)]
    secrets: BTreeMap<String, RegistryEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryEntry {
    env: String,
}

const REGISTRY_HEADER: &str = "# patina secrets registry: names and environment variables of the secrets in vault.age\n\
# (never values). Written by patina together with vault.age; vault_sha256 ties the two together.\n";

fn entries_of(map: &BTreeMap<String, RegistryEntry>) -> Vec<Entry> {
    map.iter()
        .map(|(name, e)| Entry {
            name: name.clone(),
            env: e.env.clone(),
        })
        .collect()
}

fn map_of(entries: &[Entry]) -> BTreeMap<String, RegistryEntry> {
    entries
        .iter()
        .map(|e| (e.name.clone(), RegistryEntry { env: e.env.clone() }))
        .collect()
}

fn load_registry(path: &Path) -> Result<Option<RegistryFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let reg: RegistryFile = toml::from_str(&text)
        .map_err(|e| anyhow!("{}: invalid registry: {}", path.display(), e.message()))?;
    let check = |map: &BTreeMap<String, RegistryEntry>| -> Result<()> {
        let entries = entries_of(map);
        validate_entries(&entries).with_context(|| format!("{}", path.display()))
    };
    check(&reg.secrets)?;
    if let Some(p) = &reg.pending {
        check(&p.secrets)?;
    }
    Ok(Some(reg))
}

fn write_registry(path: &Path, reg: &RegistryFile) -> Result<()> {
    let body = toml::to_string(reg).context("serializing the registry")?;
    store::atomic_write(
        path,
        format!("{REGISTRY_HEADER}{body}").as_bytes(),
        store::PRIVATE_FILE,
    )
}

/// Names and env vars valid, no variable used twice.
fn validate_entries(entries: &[Entry]) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for e in entries {
        names::validate_name(&e.name)?;
        names::validate_env(&e.env).with_context(|| format!("secret {}", e.name))?;
        if let Some(other) = seen.insert(&e.env, &e.name) {
            bail!(
                "secrets {other} and {} both map to ${}; each variable may be used once",
                e.name,
                e.env
            );
        }
    }
    Ok(())
}

/// SHA-256 of the vault file, hex; "" when it does not exist.
fn vault_hash(path: &Path) -> Result<(String, Option<Vec<u8>>)> {
    match std::fs::read(path) {
        Ok(bytes) => Ok((hex::encode(Sha256::digest(&bytes)), Some(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((String::new(), None)),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The registry's view of the vault (no decryption).
pub fn list(paths: &VaultPaths) -> Result<Listing> {
    let (hash, _) = vault_hash(&paths.vault)?;
    let reg = load_registry(&paths.registry)?;
    let (state, secrets) = match reg {
        None if hash.is_empty() => (RegistryState::Empty, vec![]),
        None => (RegistryState::OutOfSync, vec![]),
        Some(r) => {
            if r.vault_sha256 == hash {
                let st = if hash.is_empty() && r.secrets.is_empty() {
                    RegistryState::Empty
                } else {
                    RegistryState::Ok
                };
                (st, entries_of(&r.secrets))
            } else if let Some(p) = r.pending.filter(|p| p.vault_sha256 == hash) {
                // A write was interrupted after the vault was replaced: the pending entries
                // describe this vault exactly.
                (RegistryState::Ok, entries_of(&p.secrets))
            } else {
                (RegistryState::OutOfSync, entries_of(&r.secrets))
            }
        }
    };
    if state == RegistryState::OutOfSync && !hash.is_empty() {
        tracing::warn!(vault = %paths.vault.display(), "secrets: registry does not match the vault file");
    }
    Ok(Listing {
        vault: paths.scope,
        path: paths.vault.clone(),
        vault_id: hash,
        state,
        secrets,
    })
}

// ---------------------------------------------------------------------------------------------
// The vault plaintext

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plain {
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    #[serde(default = "one")]
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    /// name → variable; a name without an entry uses its default (`github-token` → GITHUB_TOKEN).
    #[serde(default)]
    env: BTreeMap<String, String>,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            version: 1,
            updated: None,
            env: BTreeMap::new(),
        }
    }
}

fn one() -> u32 {
    1
}

/// A decrypted vault: entries and values, zeroized on drop.
pub struct Unlocked {
    pub paths: VaultPaths,
    /// SHA-256 of the vault file that was decrypted (the daemon cache key).
    pub vault_id: String,
    pub entries: Vec<Entry>,
    pub values: BTreeMap<String, SecretValue>,
    /// Set when the registry was rebuilt from the vault (it was missing or out of sync).
    pub repaired: Option<String>,
    /// Names whose values are too short or weak to fingerprint (cannot be redacted).
    pub unredactable: Vec<String>,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked")
            .field("vault", &self.paths.vault)
            .field("vault_id", &self.vault_id)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl Unlocked {
    fn empty(paths: &VaultPaths) -> Unlocked {
        Unlocked {
            paths: paths.clone(),
            vault_id: String::new(),
            entries: vec![],
            values: BTreeMap::new(),
            repaired: None,
            unredactable: vec![],
        }
    }

    pub fn env_of(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.env.as_str())
    }
}

/// Parse and validate decrypted plaintext. Errors never quote the plaintext (it holds values):
/// only a fixed description and a line number.
fn parse_plain(text: &str, origin: &Path) -> Result<(Vec<Entry>, BTreeMap<String, SecretValue>)> {
    let plain: Plain = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        anyhow!(
            "{}: the decrypted vault is not TOML of the form {{meta, values}}{}",
            origin.display(),
            line.map(|l| format!(" (line {l})")).unwrap_or_default()
        )
    })?;
    if plain.meta.version != 1 {
        bail!(
            "{}: vault format version {} is not supported (this patina reads version 1)",
            origin.display(),
            plain.meta.version
        );
    }
    for name in plain.meta.env.keys() {
        if !plain.values.contains_key(name) {
            bail!(
                "{}: meta.env names {name:?}, which has no value",
                origin.display()
            );
        }
    }
    let mut entries = Vec::new();
    let mut values = BTreeMap::new();
    for (name, value) in plain.values {
        let value = Zeroizing::new(value);
        names::validate_name(&name).with_context(|| format!("{}", origin.display()))?;
        let env = plain
            .meta
            .env
            .get(&name)
            .cloned()
            .unwrap_or_else(|| names::default_env(&name));
        let v = SecretValue::new(value)
            .with_context(|| format!("{}: secret {name}", origin.display()))?;
        entries.push(Entry {
            name: name.clone(),
            env,
        });
        values.insert(name, v);
    }
    validate_entries(&entries).with_context(|| format!("{}", origin.display()))?;
    Ok((entries, values))
}

fn serialize_plain(entries: &[Entry], values: &BTreeMap<String, SecretValue>) -> Zeroizing<String> {
    let plain = Plain {
        meta: Meta {
            version: 1,
            updated: Some(chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
            env: entries
                .iter()
                .map(|e| (e.name.clone(), e.env.clone()))
                .collect(),
        },
        values: values
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string()))
            .collect(),
    };
    let text = Zeroizing::new(toml::to_string(&plain).expect("vault plaintext serializes"));
    // The temporary copies inside `plain` are wiped too.
    let Plain { values, .. } = plain;
    for (_, v) in values {
        drop(Zeroizing::new(v));
    }
    text
}

fn decrypt_bytes(
    bytes: &[u8],
    identity: &Identity,
    paths: &VaultPaths,
) -> Result<Zeroizing<String>> {
    let origin = paths.vault.display();
    let decryptor =
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(bytes)).map_err(|e| {
            anyhow!("{origin}: not a readable age file ({e}); was it tampered with or truncated?")
        })?;
    if decryptor.is_scrypt() {
        bail!(
            "{origin}: encrypted with a passphrase, not to recipients; re-encrypt it to your recipient (age -r)"
        );
    }
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity.key as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                let hint = match paths.scope {
                    Scope::Project => format!(
                        "; ask a teammate to run `patina secrets recipients add {}`",
                        identity.recipient()
                    ),
                    Scope::Global => String::new(),
                };
                anyhow::Error::from(Error::unavailable(format!(
                    "{origin}: not encrypted to your identity ({}){hint}",
                    identity.recipient()
                )))
            }
            other => anyhow!(
                "{origin}: cannot decrypt ({other}); the file was tampered with or is corrupted"
            ),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plain).map_err(|e| {
        anyhow!("{origin}: cannot decrypt ({e}); the file was tampered with or is corrupted")
    })?;
    let text = String::from_utf8(std::mem::take(&mut *plain)).map_err(|e| {
        // Wipe the bytes we are about to drop.
        drop(Zeroizing::new(e.into_bytes()));
        anyhow!("{origin}: the decrypted vault is not UTF-8 text")
    })?;
    Ok(Zeroizing::new(text))
}

/// Decrypt a vault and check it against its registry (rebuilding the registry when it was
/// missing or out of sync). A missing vault is an empty one.
pub fn unlock(paths: &VaultPaths, identity: &Identity) -> Result<Unlocked> {
    let _lock = store::FileLock::acquire(&lock_path(paths)?)?;
    unlock_locked(paths, identity)
}

fn lock_path(paths: &VaultPaths) -> Result<PathBuf> {
    if let Some(dir) = paths.lock.parent() {
        store::create_dirs(dir)?;
    }
    Ok(paths.lock.clone())
}

fn unlock_locked(paths: &VaultPaths, identity: &Identity) -> Result<Unlocked> {
    let (hash, bytes) = vault_hash(&paths.vault)?;
    let reg = load_registry(&paths.registry)?;
    let Some(bytes) = bytes else {
        if let Some(r) = &reg
            && (!r.secrets.is_empty() || r.vault_sha256 != hash)
            && r.pending.as_ref().is_none_or(|p| p.vault_sha256 != hash)
        {
            bail!(
                "{} lists {} secret(s) but {} is missing; restore the vault or delete the registry",
                paths.registry.display(),
                r.secrets.len(),
                paths.vault.display()
            );
        }
        return Ok(Unlocked::empty(paths));
    };
    let text = decrypt_bytes(&bytes, identity, paths)?;
    let (entries, values) = parse_plain(&text, &paths.vault)?;
    drop(text);
    let matching = reg.as_ref().and_then(|r| {
        if r.vault_sha256 == hash {
            Some(entries_of(&r.secrets))
        } else {
            r.pending
                .as_ref()
                .filter(|p| p.vault_sha256 == hash)
                .map(|p| entries_of(&p.secrets))
        }
    });
    let mut repaired = None;
    match matching {
        Some(listed) if listed == entries => {
            if reg.as_ref().is_some_and(|r| r.pending.is_some()) {
                // Finish the interrupted write (step 3).
                write_registry(&paths.registry, &final_registry(&hash, &entries))?;
            }
        }
        Some(_) => {
            write_registry(&paths.registry, &final_registry(&hash, &entries))?;
            let msg = format!(
                "{} did not match the vault's contents (edited by hand?); rebuilt it from the vault",
                paths.registry.display()
            );
            tracing::warn!("secrets: {msg}");
            repaired = Some(msg);
        }
        None => {
            let why = if reg.is_none() {
                "was missing"
            } else {
                "did not match the vault file (changed outside patina)"
            };
            write_registry(&paths.registry, &final_registry(&hash, &entries))?;
            let msg = format!(
                "{} {why}; rebuilt it from the vault",
                paths.registry.display()
            );
            tracing::info!("secrets: {msg}");
            repaired = Some(msg);
        }
    }
    Ok(Unlocked {
        paths: paths.clone(),
        vault_id: hash,
        entries,
        values,
        repaired,
        unredactable: vec![],
    })
}

fn final_registry(hash: &str, entries: &[Entry]) -> RegistryFile {
    RegistryFile {
        vault_sha256: hash.to_string(),
        secrets: map_of(entries),
        pending: None,
    }
}

/// The recipients a vault is encrypted to: the project's `recipients.txt` (created with our own
/// recipient when missing) or our own recipient for the global vault.
pub(crate) fn recipients_for(
    paths: &VaultPaths,
    identity: &Identity,
) -> Result<Vec<age::x25519::Recipient>> {
    match &paths.recipients {
        None => Ok(vec![identity.recipient()]),
        Some(file) => {
            let list = read_recipients(file)?;
            if list.is_empty() {
                Ok(vec![identity.recipient()])
            } else {
                Ok(list)
            }
        }
    }
}

/// Parse `recipients.txt`: one `age1…` per line, `#` comments and blank lines ignored.
pub(crate) fn read_recipients(file: &Path) -> Result<Vec<age::x25519::Recipient>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        out.push(
            identity::parse_recipient(l)
                .with_context(|| format!("{}:{}", file.display(), i + 1))?,
        );
    }
    Ok(out)
}

pub(crate) fn write_recipients(file: &Path, list: &[age::x25519::Recipient]) -> Result<()> {
    let mut text = String::from(
        "# age recipients of .patina/vault.age (one public key per line); change with `patina secrets recipients`\n",
    );
    for r in list {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    store::atomic_write(file, text.as_bytes(), 0o644)
}

/// Read-modify-write a vault under its lock: decrypt, let `edit` change entries and values,
/// re-encrypt to the vault's recipients and write both files crash-safely. Returns the new
/// vault id and `edit`'s result.
pub(crate) fn modify<T>(
    paths: &VaultPaths,
    identity: &Identity,
    recipients_override: Option<Vec<age::x25519::Recipient>>,
    edit: impl FnOnce(&mut Vec<Entry>, &mut BTreeMap<String, SecretValue>) -> Result<T>,
) -> Result<(String, String, T)> {
    let _lock = store::FileLock::acquire(&lock_path(paths)?)?;
    let mut current = unlock_locked(paths, identity)?;
    let old_id = current.vault_id.clone();
    let out = edit(&mut current.entries, &mut current.values)?;
    current.entries.sort_by(|a, b| a.name.cmp(&b.name));
    validate_entries(&current.entries)?;
    let recipients = match recipients_override {
        Some(r) => r,
        None => {
            let r = recipients_for(paths, identity)?;
            // The first project secret records who it is encrypted to.
            if let Some(file) = &paths.recipients
                && read_recipients(file)?.is_empty()
            {
                write_recipients(file, &r)?;
            }
            r
        }
    };
    if recipients.is_empty() {
        bail!("no recipients to encrypt {} to", paths.vault.display());
    }
    let plain = serialize_plain(&current.entries, &current.values);
    let dyn_recipients: Vec<&dyn age::Recipient> = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .collect();
    let armored = identity::encrypt_armored(&dyn_recipients, plain.as_bytes())?;
    drop(plain);
    let new_id = hex::encode(Sha256::digest(armored.as_bytes()));

    // Step 1: announce the write in the registry.
    let mut reg = load_registry(&paths.registry)?.unwrap_or_default();
    if reg.vault_sha256 != old_id {
        // The registry was rebuilt by unlock_locked or is being replaced anyway.
        reg = final_registry(&old_id, &current.entries);
    }
    reg.pending = Some(PendingWrite {
        vault_sha256: new_id.clone(),
        secrets: map_of(&current.entries),
    });
    write_registry(&paths.registry, &reg)?;
    // Step 2: the vault.
    store::atomic_write(&paths.vault, armored.as_bytes(), store::PRIVATE_FILE)?;
    // Step 3: the registry describes the new vault.
    write_registry(&paths.registry, &final_registry(&new_id, &current.entries))?;
    Ok((old_id, new_id, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> VaultPaths {
        VaultPaths {
            scope: Scope::Global,
            vault: dir.join("vault.age"),
            registry: dir.join("secrets.toml"),
            recipients: None,
            project_root: None,
            lock: dir.join("secrets.lock"),
        }
    }

    fn ident() -> Identity {
        Identity {
            key: age::x25519::Identity::generate(),
            source: identity::IdentitySource::Env,
        }
    }

    fn val(s: &str) -> SecretValue {
        SecretValue::new(Zeroizing::new(s.to_string())).unwrap()
    }

    fn add(p: &VaultPaths, id: &Identity, name: &str, env: &str, v: &str) {
        modify(p, id, None, |entries, values| {
            entries.push(Entry {
                name: name.into(),
                env: env.into(),
            });
            values.insert(name.into(), val(v));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn round_trip_and_registry_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        let id = ident();
        add(&p, &id, "api-key", "API_KEY", "v1");
        add(&p, &id, "db", "DB_PASS", "v2");
        let l = list(&p).unwrap();
        assert_eq!(l.state, RegistryState::Ok);
        assert_eq!(l.secrets.len(), 2);
        let u = unlock(&p, &id).unwrap();
        assert_eq!(u.values["db"].expose(), "v2");
        assert_eq!(u.env_of("db"), Some("DB_PASS"));
        assert!(u.repaired.is_none());
        assert_eq!(u.vault_id, l.vault_id);
    }

    #[test]
    fn crash_between_steps_leaves_agreeing_pair() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        let id = ident();
        add(&p, &id, "one", "ONE", "v1");
        let before_reg = std::fs::read_to_string(&p.registry).unwrap();
        add(&p, &id, "two", "TWO", "v2");
        // Simulate a crash after step 2: registry with pending = new hash, old entries current.
        let (hash, _) = vault_hash(&p.vault).unwrap();
        let mut reg: RegistryFile = toml::from_str(&before_reg).unwrap();
        let mut pending = reg.secrets.clone();
        pending.insert("two".into(), RegistryEntry { env: "TWO".into() });
        reg.pending = Some(PendingWrite {
            vault_sha256: hash.clone(),
            secrets: pending,
        });
        write_registry(&p.registry, &reg).unwrap();
        let l = list(&p).unwrap();
        assert_eq!(l.state, RegistryState::Ok);
        assert_eq!(l.secrets.len(), 2);
        // A crash after step 1 (vault not replaced): the old entries still describe the vault.
        let u = unlock(&p, &id).unwrap();
        assert!(u.repaired.is_none());
        let text = std::fs::read_to_string(&p.registry).unwrap();
        assert!(!text.contains("[pending"), "{text}");
    }

    #[test]
    fn out_of_sync_detected_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        let id = ident();
        add(&p, &id, "one", "ONE", "v1");
        std::fs::remove_file(&p.registry).unwrap();
        assert_eq!(list(&p).unwrap().state, RegistryState::OutOfSync);
        let u = unlock(&p, &id).unwrap();
        assert!(u.repaired.is_some());
        assert_eq!(list(&p).unwrap().state, RegistryState::Ok);
    }

    #[test]
    fn plaintext_errors_never_quote_values() {
        let err = parse_plain("[values]\nx = \"hunter2\"\ny = 5\n", Path::new("v")).unwrap_err();
        let err = format!("{err:#}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse_plain("[values]\nBad = \"hunter2\"\n", Path::new("v")).unwrap_err();
        let err = format!("{err:#}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse_plain("[values]\nx = \"hun\nter2", Path::new("v")).unwrap_err();
        let err = format!("{err:#}");
        assert!(!err.contains("hun"), "{err}");
    }

    #[test]
    fn duplicate_env_refused() {
        let err = parse_plain(
            "[meta.env]\na = \"X\"\nb = \"X\"\n[values]\na = \"1\"\nb = \"2\"\n",
            Path::new("v"),
        )
        .unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("both map"), "{err}");
    }

    #[test]
    fn debug_hides_values() {
        assert_eq!(format!("{:?}", val("hunter2")), "SecretValue(***)");
    }
}
