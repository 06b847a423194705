//! Wire types of scry's endpoints (DESIGN §6). The answers are scry's own serde types, so the
//! daemon and the in-process path print the same JSON.

use serde::{Deserialize, Serialize};

pub use crate::scry::{
    Coverage, Hit, IndexReport, IndexStatus, Kind, Ranks, ScryAnswer, SourceError,
};

/// `POST /api/scry`
pub const SCRY: &str = "/api/scry";
/// `POST /api/index` (start) and `GET /api/index?project=ROOT` (progress).
pub const INDEX: &str = "/api/index";

/// `POST /api/scry` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScryRequest {
    /// Absolute project root.
    pub project: String,
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Kind>,
    /// `project` (default) or `all` (mother's federation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Wait for one lexical refresh before answering (never for embedding). The daemon keeps
    /// indexes fresh by watching the projects, so clients normally leave this off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

/// `POST /api/index` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexRequest {
    pub project: String,
    /// Discard the index and its vectors and embed everything again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rebuild: bool,
    /// Answer once the lexical phase is done (a no-change request then carries its report);
    /// otherwise at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
}
