//! Wire types of `/secrets/*` (Unix socket only; DESIGN §6). Shared by `serve/secrets.rs` and
//! `client/secrets.rs`.
//!
//! Values travel only in [`CacheRequest`] (CLI → daemon, at unlock) and [`ResolveAnswer`]
//! (daemon → `secrets run`), as [`WireSecret`]: zeroized on drop, `***` in Debug. Redaction
//! (`/secrets/redact`) sends text in and gets it back with values masked: values never leave
//! the daemon for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub const STATUS: &str = "/secrets/status";
pub const CACHE: &str = "/secrets/cache";
pub const RESOLVE: &str = "/secrets/resolve";
pub const LOCK: &str = "/secrets/lock";
pub const PENDING: &str = "/secrets/pending";
pub const PENDING_ID: &str = "/secrets/pending/{id}";
pub const REDACT: &str = "/secrets/redact";

/// A secret value on the wire: zeroized on drop, never shown by Debug.
#[derive(Clone, PartialEq, Eq)]
pub struct WireSecret(pub Zeroizing<String>);

impl WireSecret {
    pub fn new(s: &str) -> WireSecret {
        WireSecret(Zeroizing::new(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WireSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for WireSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for WireSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(WireSecret(Zeroizing::new(String::deserialize(d)?)))
    }
}

/// Who asks for a release. The daemon prefers what the kernel says (SO_PEERCRED pid and its
/// `/proc/<pid>/cmdline`) over these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub pid: u32,
    pub command: String,
}

/// `POST /secrets/cache`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheRequest {
    /// SHA-256 (hex) of the vault file the values were decrypted from.
    pub vault_id: String,
    /// name → value
    pub secrets: BTreeMap<String, WireSecret>,
    /// name → environment variable (default: the name upper-cased, `-` → `_`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The vault file: a newer id for the same file replaces (zeroizes) the older one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_path: Option<String>,
    /// Sliding TTL; clamped to 1 ..= the configured absolute cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheAnswer {
    pub status: String,
    pub ttl_secs: u64,
}

/// `POST /secrets/resolve`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub vault_id: String,
    pub names: Vec<String>,
    pub requester: Requester,
    /// Project root whose active session logs the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// env var → value, exactly the names asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResolveAnswer {
    pub env: BTreeMap<String, WireSecret>,
}

/// `POST /secrets/lock`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockAnswer {
    pub status: String,
    /// How many unlocked vaults were dropped.
    pub dropped: usize,
}

/// One unlocked vault (names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultState {
    pub vault_id: String,
    pub locked: bool,
    pub names: Vec<String>,
    pub expires_in_secs: u64,
    pub max_expires_in_secs: u64,
}

/// `GET /secrets/status`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusAnswer {
    pub vaults: Vec<VaultState>,
    /// `never` | `first` | `always`
    pub confirm: String,
    /// A cockpit polled `/secrets/pending` recently, so releases may wait for its y/n.
    pub cockpit_attached: bool,
}

/// A release waiting for the cockpit's y/n.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRelease {
    pub id: u64,
    pub vault_id: String,
    pub names: Vec<String>,
    pub requester: Requester,
    pub waiting_secs: u64,
    /// Seconds left before it is refused for lack of an answer.
    pub expires_in_secs: u64,
}

/// `GET /secrets/pending` (polling it marks the cockpit as attached).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAnswer {
    pub pending: Vec<PendingRelease>,
}

/// `POST /secrets/pending/{id}`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub allow: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionAnswer {
    /// `allowed` | `refused`
    pub status: String,
}

/// `POST /secrets/redact`: `text` with every unlocked value replaced by `[REDACTED:name]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactRequest {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedactAnswer {
    pub text: String,
    pub redactions: usize,
}
