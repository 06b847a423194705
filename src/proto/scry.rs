//! Wire types of scry's endpoints (DESIGN §6). The answers are scry's own serde types, so the
//! daemon and the in-process path print the same JSON.
//!
//! `POST /api/scry` carries one of two requests, told apart by `scope`: a [`ScryRequest`] (one
//! project; `scope` absent or `"project"`) or a [`FederatedScryRequest`] (mother's fan-out over the
//! registered projects and remotes; `scope: "all"`). The server decodes a [`ScryCall`]; an unknown
//! scope is a 400 naming the value.

use serde::{Deserialize, Serialize};

pub use crate::scry::{
    Coverage, Hit, IndexReport, IndexStatus, Kind, Ranks, ScryAnswer, SourceError,
};

/// `POST /api/scry`
pub const SCRY: &str = "/api/scry";
/// `POST /api/index` (start) and `GET /api/index?project=ROOT` (progress).
pub const INDEX: &str = "/api/index";

/// What a scry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One project (the request's `project`).
    #[default]
    Project,
    /// Every project and remote registered with mother (and the request's project, if any).
    All,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Project => "project",
            Scope::All => "all",
        }
    }
}

/// `POST /api/scry` for one project (`scope` absent or `"project"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScryRequest {
    /// Absolute project root.
    pub project: String,
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Kind>,
    /// Wait for one lexical refresh before answering (never for embedding). The daemon keeps
    /// indexes fresh by watching the projects, so clients normally leave this off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

/// `POST /api/scry` with `scope: "all"`: mother's federated search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "WireScry", try_from = "WireScry")]
pub struct FederatedScryRequest {
    /// The project the query was made from (searched too, unless registered); on the wire the
    /// field `project`, `""` when there is none.
    pub here: Option<String>,
    pub query: String,
    pub limit: Option<usize>,
    pub kinds: Vec<Kind>,
    /// Refresh each local index before answering.
    pub refresh: bool,
}

/// The body of `POST /api/scry`, as the server reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum ScryCall {
    Project(ScryRequest),
    All(FederatedScryRequest),
}

impl ScryCall {
    pub fn scope(&self) -> Scope {
        match self {
            ScryCall::Project(_) => Scope::Project,
            ScryCall::All(_) => Scope::All,
        }
    }
}

/// The flat JSON object both requests travel as (the shape docs/json.md documents).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireScry {
    #[serde(default)]
    project: String,
    query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    kinds: Vec<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    refresh: bool,
}

impl From<FederatedScryRequest> for WireScry {
    fn from(r: FederatedScryRequest) -> Self {
        WireScry {
            // Always present: a protocol-1 daemon of an older build requires the field.
            project: r.here.unwrap_or_default(),
            query: r.query,
            limit: r.limit,
            kinds: r.kinds,
            scope: Some(Scope::All),
            refresh: r.refresh,
        }
    }
}

impl TryFrom<WireScry> for FederatedScryRequest {
    type Error = String;
    fn try_from(w: WireScry) -> Result<Self, String> {
        match ScryCall::from(w) {
            ScryCall::All(r) => Ok(r),
            ScryCall::Project(_) => Err("a federated request needs \"scope\": \"all\"".into()),
        }
    }
}

impl From<WireScry> for ScryCall {
    fn from(w: WireScry) -> Self {
        match w.scope.unwrap_or_default() {
            Scope::Project => ScryCall::Project(ScryRequest {
                project: w.project,
                query: w.query,
                limit: w.limit,
                kinds: w.kinds,
                refresh: w.refresh,
            }),
            Scope::All => ScryCall::All(FederatedScryRequest {
                here: Some(w.project).filter(|p| !p.is_empty()),
                query: w.query,
                limit: w.limit,
                kinds: w.kinds,
                refresh: w.refresh,
            }),
        }
    }
}

impl<'de> Deserialize<'de> for ScryCall {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        WireScry::deserialize(d).map(ScryCall::from)
    }
}

impl Serialize for ScryCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ScryCall::Project(r) => r.serialize(s),
            ScryCall::All(r) => r.serialize(s),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Federated answers (`scope: "all"`)
// ---------------------------------------------------------------------------------------------

/// One fused hit: scry's hit (its `project` is the root on the host that answered) plus the
/// source it came from — the registry name, `remote/name` for a remote's projects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederatedHit {
    #[serde(default)]
    pub source: String,
    /// Rank within its source (1 = best).
    #[serde(default)]
    pub source_rank: usize,
    /// The score the source gave it (`score` is the federated RRF score).
    #[serde(default)]
    pub source_score: f64,
    #[serde(flatten)]
    pub hit: Hit,
}

/// How one source fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    /// `project` or `remote`.
    pub kind: String,
    /// Project root or remote URL.
    pub location: String,
    /// `ok`, `error` or `timeout`.
    pub status: String,
    pub hits: usize,
    pub took_ms: u64,
    /// `hybrid` or `lexical` when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// The answer to a federated query: the same shape as a scry answer (DESIGN §6), plus
/// `scope: "all"`, a `source` on every hit and the per-source `sources` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederatedAnswer {
    pub query_id: String,
    pub took_ms: u64,
    /// `hybrid` when every source that answered was hybrid, else `lexical`.
    pub mode: String,
    #[serde(default)]
    pub scope: String,
    pub results: Vec<FederatedHit>,
    pub errors: Vec<SourceError>,
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_picks_the_request_type_and_the_wire_shape_stays_flat() {
        let p: ScryCall = serde_json::from_str(r#"{"project":"/r","query":"q"}"#).unwrap();
        assert!(matches!(p, ScryCall::Project(ref r) if r.project == "/r"));
        let p: ScryCall =
            serde_json::from_str(r#"{"project":"/r","query":"q","scope":"project"}"#).unwrap();
        assert_eq!(p.scope(), Scope::Project);
        let a: ScryCall =
            serde_json::from_str(r#"{"project":"","query":"q","scope":"all","limit":3}"#).unwrap();
        assert!(matches!(a, ScryCall::All(ref r) if r.here.is_none() && r.limit == Some(3)));
        let e = serde_json::from_str::<ScryCall>(r#"{"project":"/r","query":"q","scope":"al"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `al`"), "{e}");
        assert!(serde_json::from_str::<ScryCall>(r#"{"query":"q","bogus":1}"#).is_err());
        let fed = FederatedScryRequest {
            here: None,
            query: "q".into(),
            limit: None,
            kinds: vec![],
            refresh: true,
        };
        assert_eq!(
            serde_json::to_value(&fed).unwrap(),
            serde_json::json!({"project": "", "query": "q", "scope": "all", "refresh": true})
        );
    }
}
