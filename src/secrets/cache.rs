//! The daemon's in-memory store of unlocked vaults (pure logic; the daemon owns one behind a lock).
//!
//! Keyed by vault id (SHA-256 of the vault file), so a changed vault never resolves against old
//! values; an entry for the same vault file under an older id is dropped when the new one is
//! cached. Sliding TTL (each release extends it) under an absolute cap counted from the unlock.
//! Every removal — lock, expiry, replacement — drops the values, which zeroizes them
//! ([`SecretValue`] wraps `Zeroizing`). Time is passed in, so the logic is testable.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::config::{ConfirmPolicy, SecretsConfig};
use super::names;
use super::vault::SecretValue;

/// Why a resolve was not answered with values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// Nothing cached for this vault id (never unlocked, locked, expired, or the vault changed).
    Locked,
    /// A requested name is not in the cached vault.
    UnknownName(String),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::Locked => f.write_str("vault is locked"),
            ResolveError::UnknownName(n) => write!(f, "no secret named {n:?} in this vault"),
        }
    }
}

struct Cached {
    /// The vault file, so that a newer id for the same file replaces this one.
    vault_path: Option<String>,
    /// name → (env var, value)
    secrets: BTreeMap<String, (String, SecretValue)>,
    unlocked_at: Instant,
    last_used: Instant,
    ttl: Duration,
    max: Duration,
    /// A release from this unlock was already approved in the cockpit (policy `first`).
    approved: bool,
}

impl Cached {
    fn expires_at(&self) -> Instant {
        let sliding = self.last_used.checked_add(self.ttl);
        let cap = self.unlocked_at.checked_add(self.max);
        match (sliding, cap) {
            (Some(s), Some(c)) => s.min(c),
            (Some(s), None) => s,
            (None, Some(c)) => c,
            (None, None) => self.unlocked_at,
        }
    }

    fn max_expires_at(&self) -> Instant {
        self.unlocked_at
            .checked_add(self.max)
            .unwrap_or(self.unlocked_at)
    }
}

/// One vault's state as `GET /secrets/status` reports it (names only).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VaultStatus {
    pub vault_id: String,
    pub locked: bool,
    pub names: Vec<String>,
    pub expires_in_secs: u64,
    pub max_expires_in_secs: u64,
}

/// What to cache: name → (env var, value).
pub type CacheInput = BTreeMap<String, (String, SecretValue)>;

#[derive(Default)]
pub struct SecretCache {
    vaults: BTreeMap<String, Cached>,
    config: SecretsConfig,
}

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCache")
            .field("vaults", &self.vaults.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SecretCache {
    pub fn new(config: SecretsConfig) -> SecretCache {
        SecretCache {
            vaults: BTreeMap::new(),
            config,
        }
    }

    pub fn config(&self) -> &SecretsConfig {
        &self.config
    }

    /// Cache a vault's values. Names and env vars are validated (they came over the wire).
    /// Returns the TTL actually applied.
    pub fn insert(
        &mut self,
        now: Instant,
        vault_id: &str,
        vault_path: Option<String>,
        secrets: CacheInput,
        ttl_secs: Option<u64>,
    ) -> Result<Duration, String> {
        if vault_id.len() != 64 || !vault_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("vault_id must be the 64-hex-digit SHA-256 of the vault file".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, (env, _)) in &secrets {
            names::validate_name(name).map_err(|e| e.to_string())?;
            names::validate_env(env).map_err(|e| e.to_string())?;
            if !seen.insert(env.clone()) {
                return Err(format!("${env} is used by two secrets"));
            }
        }
        self.expire(now);
        if let Some(p) = &vault_path {
            // The vault changed on disk: the older unlock of the same file goes (zeroized).
            self.vaults
                .retain(|id, c| id == vault_id || c.vault_path.as_ref() != Some(p));
        }
        let ttl = self.config.ttl_for(ttl_secs);
        self.vaults.insert(
            vault_id.to_string(),
            Cached {
                vault_path,
                secrets,
                unlocked_at: now,
                last_used: now,
                ttl,
                max: self.config.max_ttl(),
                approved: false,
            },
        );
        Ok(ttl)
    }

    /// Does releasing from `vault_id` need a y/n in the cockpit under `policy`?
    pub fn needs_confirmation(&self, vault_id: &str, policy: ConfirmPolicy) -> bool {
        match policy {
            ConfirmPolicy::Never => false,
            ConfirmPolicy::Always => true,
            ConfirmPolicy::First => self.vaults.get(vault_id).is_none_or(|c| !c.approved),
        }
    }

    /// The vault file a cached id was decrypted from (as the unlocking client said).
    pub fn vault_path(&self, vault_id: &str) -> Option<String> {
        self.vaults.get(vault_id).and_then(|c| c.vault_path.clone())
    }

    /// Record a cockpit approval for `vault_id` (policy `first`).
    pub fn mark_approved(&mut self, vault_id: &str) {
        if let Some(c) = self.vaults.get_mut(vault_id) {
            c.approved = true;
        }
    }

    /// Check that `names` can be released from `vault_id`, without releasing them.
    pub fn check(
        &mut self,
        now: Instant,
        vault_id: &str,
        names: &[String],
    ) -> Result<(), ResolveError> {
        self.expire(now);
        let c = self.vaults.get(vault_id).ok_or(ResolveError::Locked)?;
        for n in names {
            if !c.secrets.contains_key(n) {
                return Err(ResolveError::UnknownName(n.clone()));
            }
        }
        Ok(())
    }

    /// Release exactly `names` (env var → value) and slide the TTL.
    pub fn resolve(
        &mut self,
        now: Instant,
        vault_id: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, SecretValue>, ResolveError> {
        self.check(now, vault_id, names)?;
        let c = self.vaults.get_mut(vault_id).ok_or(ResolveError::Locked)?;
        c.last_used = now;
        Ok(names
            .iter()
            .map(|n| {
                let (env, v) = &c.secrets[n];
                (env.clone(), v.clone())
            })
            .collect())
    }

    /// Drop (zeroize) one vault or all; returns how many were dropped.
    pub fn lock(&mut self, vault_id: Option<&str>) -> usize {
        match vault_id {
            Some(id) => usize::from(self.vaults.remove(id).is_some()),
            None => {
                let n = self.vaults.len();
                self.vaults.clear();
                n
            }
        }
    }

    /// Drop (zeroize) every expired vault; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.vaults.len();
        self.vaults.retain(|_, c| c.expires_at() > now);
        before - self.vaults.len()
    }

    pub fn status(&mut self, now: Instant) -> Vec<VaultStatus> {
        self.expire(now);
        self.vaults
            .iter()
            .map(|(id, c)| VaultStatus {
                vault_id: id.clone(),
                locked: false,
                names: c.secrets.keys().cloned().collect(),
                expires_in_secs: c.expires_at().saturating_duration_since(now).as_secs(),
                max_expires_in_secs: c.max_expires_at().saturating_duration_since(now).as_secs(),
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.vaults.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    const ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const ID2: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn input() -> CacheInput {
        let mut m = CacheInput::new();
        for (n, e, v) in [("a", "A", "va"), ("b", "B", "vb")] {
            m.insert(
                n.into(),
                (
                    e.into(),
                    SecretValue::new(Zeroizing::new(v.into())).unwrap(),
                ),
            );
        }
        m
    }

    fn cfg(ttl: u64, max: u64) -> SecretsConfig {
        SecretsConfig {
            ttl_secs: ttl,
            max_ttl_secs: max,
            confirm: ConfirmPolicy::First,
            confirm_timeout_secs: 5,
        }
    }

    #[test]
    fn releases_only_what_is_asked() {
        let mut c = SecretCache::new(cfg(600, 7200));
        let t = Instant::now();
        c.insert(t, ID, None, input(), None).unwrap();
        let got = c.resolve(t, ID, &["a".into()]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got["A"].expose(), "va");
        assert_eq!(
            c.resolve(t, ID, &["zz".into()]).unwrap_err(),
            ResolveError::UnknownName("zz".into())
        );
        assert_eq!(
            c.resolve(t, ID2, &["a".into()]).unwrap_err(),
            ResolveError::Locked
        );
    }

    #[test]
    fn sliding_ttl_under_absolute_cap() {
        let mut c = SecretCache::new(cfg(10, 25));
        let t = Instant::now();
        c.insert(t, ID, None, input(), None).unwrap();
        let s = Duration::from_secs;
        assert!(c.resolve(t + s(9), ID, &["a".into()]).is_ok());
        assert!(c.resolve(t + s(18), ID, &["a".into()]).is_ok());
        // slides to 28 but the cap is 25
        assert_eq!(c.status(t + s(20))[0].expires_in_secs, 5);
        assert_eq!(
            c.resolve(t + s(25), ID, &["a".into()]).unwrap_err(),
            ResolveError::Locked
        );
        assert!(c.is_empty());
    }

    #[test]
    fn huge_ttl_is_clamped_not_overflowing() {
        let mut c = SecretCache::new(cfg(600, 7200));
        let t = Instant::now();
        let ttl = c.insert(t, ID, None, input(), Some(u64::MAX)).unwrap();
        assert_eq!(ttl, Duration::from_secs(7200));
        assert_eq!(c.status(t)[0].max_expires_in_secs, 7200);
    }

    #[test]
    fn new_vault_id_for_same_file_replaces_old() {
        let mut c = SecretCache::new(cfg(600, 7200));
        let t = Instant::now();
        c.insert(t, ID, Some("/v".into()), input(), None).unwrap();
        c.insert(t, ID2, Some("/v".into()), input(), None).unwrap();
        assert_eq!(
            c.resolve(t, ID, &["a".into()]).unwrap_err(),
            ResolveError::Locked
        );
        assert!(c.resolve(t, ID2, &["a".into()]).is_ok());
    }

    #[test]
    fn lock_drops_everything() {
        let mut c = SecretCache::new(cfg(600, 7200));
        let t = Instant::now();
        c.insert(t, ID, None, input(), None).unwrap();
        c.insert(t, ID2, None, input(), None).unwrap();
        assert_eq!(c.lock(Some(ID)), 1);
        assert_eq!(c.lock(None), 1);
        assert!(c.is_empty());
    }

    #[test]
    fn validates_wire_input() {
        let mut c = SecretCache::new(cfg(600, 7200));
        let t = Instant::now();
        assert!(c.insert(t, "short", None, input(), None).is_err());
        let mut bad = input();
        bad.insert(
            "x".into(),
            (
                "A;rm".into(),
                SecretValue::new(Zeroizing::new("v".into())).unwrap(),
            ),
        );
        assert!(c.insert(t, ID, None, bad, None).is_err());
    }

    #[test]
    fn policy() {
        let mut c = SecretCache::new(cfg(600, 7200));
        let t = Instant::now();
        c.insert(t, ID, None, input(), None).unwrap();
        assert!(!c.needs_confirmation(ID, ConfirmPolicy::Never));
        assert!(c.needs_confirmation(ID, ConfirmPolicy::First));
        c.mark_approved(ID);
        assert!(!c.needs_confirmation(ID, ConfirmPolicy::First));
        assert!(c.needs_confirmation(ID, ConfirmPolicy::Always));
    }
}
