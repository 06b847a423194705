//! Wire types of `/secrets/*` (Unix socket only; DESIGN §6). Shared by `serve/secrets.rs` and
//! `client/secrets.rs`.
//!
//! Values travel only in [`CacheRequest`] (CLI → daemon, at unlock) and [`ResolveAnswer`]
//! (daemon → `secrets run`), as [`WireSecret`]: zeroized on drop, `***` in Debug. No endpoint
//! tells whether a text contains a secret (that would be a guessing oracle).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub const STATUS: &str = "/secrets/status";
pub const CACHE: &str = "/secrets/cache";
pub const RESOLVE: &str = "/secrets/resolve";
pub const LOCK: &str = "/secrets/lock";
pub const PENDING: &str = "/secrets/pending";
pub const PENDING_ID: &str = "/secrets/pending/{id}";

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

/// Who asks for a release. The daemon prefers what the kernel says (SO_PEERCRED pid, its
/// `/proc/<pid>/cmdline` and `/proc/<pid>/cwd`) over these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub pid: u32,
    /// The command line, at most 200 characters.
    pub command: String,
    /// The requester's working directory (from the kernel), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
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

/// Where a release request stands. Only `waiting` ones can be answered; the others are shown
/// for a few seconds (in [`PendingAnswer::recent`]) so a cockpit can take its banner down and
/// say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    /// Waits for a cockpit's answer.
    Waiting,
    /// A cockpit allowed it (maybe another one).
    Allowed,
    /// A cockpit refused it (maybe another one).
    Refused,
    /// The requester went away (its process exited) before an answer.
    Withdrawn,
    /// Nobody answered within the timeout: refused.
    Expired,
    /// The vault was locked while it waited.
    Cancelled,
}

/// A release waiting for a cockpit's answer: everything the confirmation shows (requester's
/// command, cwd, project, pid, the names, a countdown). The cockpit's rules for showing and
/// answering it are in docs/ARCHITECTURE.md ("Release confirmation").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRelease {
    pub id: u64,
    pub vault_id: String,
    /// The vault file the values come from, when the daemon knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_path: Option<String>,
    pub names: Vec<String>,
    pub requester: Requester,
    /// The project root the requester runs in (its claim, else none): a cockpit shows requests
    /// of its own project first and marks the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub waiting_secs: u64,
    /// Seconds left before it is refused for lack of an answer (the countdown).
    pub expires_in_secs: u64,
    /// The whole window, for a countdown bar.
    #[serde(default)]
    pub timeout_secs: u64,
    #[serde(default = "waiting")]
    pub state: ReleaseState,
}

fn waiting() -> ReleaseState {
    ReleaseState::Waiting
}

/// A release that went through without a question (policy `first` after its first yes, or
/// `never`): a cockpit shows it as a toast, so no release is silent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseNotice {
    /// Increases with every release; a cockpit toasts each `seq` once.
    pub seq: u64,
    pub names: Vec<String>,
    pub requester: Requester,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub ago_secs: u64,
}

/// `GET /secrets/pending` (polling it marks the cockpit as attached).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAnswer {
    /// Requests that wait for an answer (state `waiting`), oldest first.
    pub pending: Vec<PendingRelease>,
    /// Requests answered, withdrawn or expired in the last few seconds (their final state).
    #[serde(default)]
    pub recent: Vec<PendingRelease>,
    /// Releases of the last minute that nobody was asked about.
    #[serde(default)]
    pub released: Vec<ReleaseNotice>,
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
