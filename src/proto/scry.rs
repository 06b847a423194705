//! Wire types of scry's endpoints (DESIGN §6). The answers are scry's own serde types, so the
//! daemon and the in-process path print the same JSON.

use serde::{Deserialize, Serialize};

pub use crate::scry::{Hit, IndexReport, IndexStatus, Kind, Ranks, ScryAnswer, SourceError};

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
    /// Bring the index up to date before answering (the CLI sets this; the cockpit does not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

/// `POST /api/index` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexRequest {
    pub project: String,
}
