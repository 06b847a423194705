//! The daemon's wire contract (DESIGN §6): the types both `serve/` and `client/` use, and the one
//! HTTP/1.1 framing implementation ([`framing`]) both sides parse with.
//!
//! Why one module: the previous implementation had four hand-written clients that drifted from the
//! server three times. Here a request or answer type exists once; the server serialises it and the
//! client deserialises the very same struct.
//!
//! Adding an area (scry, secrets, agent): put its request/answer types in `proto/<area>.rs`, add
//! `pub mod <area>;` below, and see the recipe at the top of `src/serve/mod.rs`.
//!
//! Wire rules: one request per connection, `Connection: close`, JSON bodies with an exact
//! `Content-Length`, chunked refused; every answer carries `X-Patina-Protocol: <PROTOCOL>` so a
//! client can tell a protocol mismatch from a missing endpoint.

pub mod agent;
pub mod framing;
pub mod scry;
pub mod secrets;
pub mod session;

use serde::{Deserialize, Serialize};

/// The kind an error answer carries (the domain's own type: one list of kinds on both ends).
pub use crate::error::ErrorKind;

/// The protocol version. Bump it when a request or answer changes incompatibly; clients compare it
/// with the daemon's (`X-Patina-Protocol` header and `/health`) and say "protocol mismatch".
pub const PROTOCOL: u32 = 1;

/// Response header carrying [`PROTOCOL`] on every answer.
pub const PROTOCOL_HEADER: &str = "X-Patina-Protocol";

/// Limits of DESIGN §6.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Largest accepted request body (413 above).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest `limit` a search may ask for.
pub const MAX_LIMIT: usize = 1000;
/// Largest answer body a client accepts (scry results with snippets can be big).
pub const MAX_RESPONSE_BODY_BYTES: usize = 64 * 1024 * 1024;

/// File names under `PATINA_HOME/run/`.
pub const SOCKET_FILE: &str = "serve.sock";
pub const LOCK_FILE: &str = "serve.lock";
pub const PID_FILE: &str = "serve.pid";
pub const TOKEN_FILE: &str = "serve.token";
pub const START_LOCK_FILE: &str = "start.lock";

/// Paths of the core endpoints (areas keep theirs in `proto/<area>.rs`).
pub mod paths {
    pub const HEALTH: &str = "/health";
    pub const VERSION: &str = "/version";
    pub const SESSION: &str = "/api/session";
    /// Everything under this prefix is served on the Unix socket only.
    pub const SECRETS_PREFIX: &str = "/secrets/";
}

/// `GET /health`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the daemon answers.
    pub status: String,
    pub version: String,
    pub protocol: u32,
    pub pid: u32,
    pub uptime_secs: u64,
}

/// `GET /version`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub name: String,
    pub version: String,
    pub protocol: u32,
}

/// Every error answer: `{"error": "...", "kind": "not_found"}` with the matching status. `kind`
/// is the domain's [`ErrorKind`] (optional on read, so an answer without it still decodes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
}

/// The crate version the daemon and client were built from.
pub fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
