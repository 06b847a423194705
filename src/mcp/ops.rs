//! What each MCP tool does, behind one seam: [`Ops`] takes the tool's arguments and answers with
//! serialisable data or the same error the CLI would print. The rmcp glue in `server.rs` knows
//! nothing of the domain, and the domain knows nothing of MCP. Scry goes through the shared
//! `Backend` (daemon | in-process) like the CLI and the cockpit.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::backend::{Auto, Backend, Daemon, InProcess, session_engine};
use crate::belief::{self, NewBelief};
use crate::error::Error;
use crate::mother;
use crate::project::Project;
use crate::proto::scry::{FederatedScryRequest, ScryRequest};
use crate::scry::{self, Hit, Kind, Query};
use crate::session;

/// Longest snippet handed back to the agent, in characters.
const SNIPPET_CHARS: usize = 300;
/// `context`: hits kept per part (beliefs, layer docs, sessions).
const CONTEXT_PER_PART: usize = 5;
/// `context`: the whole answer stays below this many bytes of JSON.
pub const CONTEXT_MAX_BYTES: usize = 12 * 1024;
/// How long a tool waits for the daemon (a first query may build the index).
const DAEMON_TIMEOUT: Duration = Duration::from_secs(600);

// ----------------------------------------------------------------------------------------------
// Arguments (their doc comments become the tools' JSON Schema descriptions)
// ----------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// This project only.
    #[default]
    Project,
    /// Every project and remote daemon registered with `patina mother`, and this one.
    All,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScryArgs {
    /// What to look for, in plain words (never parsed as query syntax).
    pub query: String,
    /// Only these kinds: session, belief, layer, commit, code (all when absent).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Number of results, 1..=1000 (default 10).
    #[serde(default)]
    pub limit: Option<usize>,
    /// `project` (default) or `all` registered projects.
    #[serde(default)]
    pub scope: Scope,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextArgs {
    /// The subject you are about to work on, in plain words.
    pub topic: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteArgs {
    /// The note for the active session's activity log (markdown; one line or several).
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureArgs {
    /// Short id: lowercase words joined by dashes, e.g. `measure-before-optimising`.
    pub id: String,
    /// The belief in one line.
    pub statement: String,
    /// What showed it (each becomes an evidence line).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Ids of beliefs (or layer docs) this one supports.
    #[serde(default)]
    pub supports: Vec<String>,
    /// Ids of beliefs this one attacks.
    #[serde(default)]
    pub attacks: Vec<String>,
    /// Facets (tags).
    #[serde(default)]
    pub facets: Vec<String>,
    /// low, medium (default), high or very-high.
    #[serde(default)]
    pub entrenchment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowArgs {
    /// The belief's id.
    pub id: String,
}

// ----------------------------------------------------------------------------------------------
// Answers
// ----------------------------------------------------------------------------------------------

/// One scry result, as the agent needs it.
#[derive(Debug, Clone, Serialize)]
pub struct ScryHit {
    /// `path:line` (a commit: its id).
    pub location: String,
    pub kind: Kind,
    pub title: String,
    pub snippet: String,
    pub score: f64,
    /// With scope `all`: the registered project the hit comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScryResult {
    /// `hybrid` or `lexical` (no embedding model).
    pub mode: String,
    pub results: Vec<ScryHit>,
    /// Sources that failed (the others still answered).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContextBelief {
    pub id: String,
    pub statement: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContextDoc {
    pub title: String,
    pub location: String,
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContextResult {
    pub topic: String,
    /// The active session (id and title), if any.
    pub active_session: Option<ActiveBrief>,
    pub beliefs: Vec<ContextBelief>,
    pub layer_docs: Vec<ContextDoc>,
    pub sessions: Vec<ContextDoc>,
    /// True when parts were dropped to stay within the size bound.
    pub truncated: bool,
    pub mode: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActiveBrief {
    pub id: String,
    pub title: String,
}

// ----------------------------------------------------------------------------------------------
// The seam
// ----------------------------------------------------------------------------------------------

/// The domain, as the MCP tools see it. One per server process: the in-process scry engine (and
/// its model) is loaded once and kept for the process's life.
pub struct Ops {
    cwd: PathBuf,
    /// Daemon first, else in-process (`crate::backend`'s one rule).
    backend: Auto,
}

impl Ops {
    pub fn new(cwd: PathBuf) -> Ops {
        let daemon = Daemon::local().with_timeout(DAEMON_TIMEOUT);
        Ops {
            cwd,
            backend: Auto::new(daemon, InProcess::default().refreshing_first()),
        }
    }

    fn project(&self) -> Result<Project> {
        Project::discover(&self.cwd)
    }

    pub fn scry(&self, a: ScryArgs) -> Result<ScryResult> {
        let kinds = a
            .kinds
            .iter()
            .map(|k| k.parse::<Kind>().map_err(Error::usage))
            .collect::<Result<Vec<_>, _>>()?;
        let q = Query {
            query: a.query,
            limit: a.limit,
            kinds,
        };
        q.validate()?;
        match a.scope {
            Scope::Project => {
                let project = self.project()?;
                let answer = self.search(&project, &q)?;
                Ok(ScryResult {
                    mode: answer.mode,
                    results: answer.results.iter().map(|h| hit(h, None)).collect(),
                    errors: answer
                        .errors
                        .iter()
                        .filter(|e| e.source != "semantic")
                        .map(|e| format!("{}: {}", e.source, e.message))
                        .collect(),
                })
            }
            Scope::All => {
                let here = self.project().ok();
                let answer = self.search_all(here.as_ref(), &q)?;
                Ok(ScryResult {
                    mode: answer.mode,
                    results: answer
                        .results
                        .iter()
                        .map(|h| hit(&h.hit, Some(h.source.clone())))
                        .collect(),
                    errors: answer
                        .errors
                        .iter()
                        .filter(|e| e.source != "semantic")
                        .map(|e| format!("{}: {}", e.source, e.message))
                        .collect(),
                })
            }
        }
    }

    pub fn context(&self, a: ContextArgs) -> Result<ContextResult> {
        let project = self.project()?;
        let q = Query {
            query: a.topic.clone(),
            limit: Some(CONTEXT_PER_PART * 6),
            kinds: vec![Kind::Belief, Kind::Layer, Kind::Session],
        };
        q.validate()?;
        let answer = self.search(&project, &q)?;
        let active_session = session_engine()?.status(&project).ok().and_then(|s| {
            Some(ActiveBrief {
                id: s.id?,
                title: s.title.unwrap_or_default(),
            })
        });
        let mut out = ContextResult {
            topic: a.topic,
            active_session,
            beliefs: vec![],
            layer_docs: vec![],
            sessions: vec![],
            truncated: false,
            mode: answer.mode.clone(),
        };
        for h in &answer.results {
            let location = format!("{}:{}", h.path, h.best_line());
            match h.kind {
                Kind::Belief if out.beliefs.len() < CONTEXT_PER_PART => {
                    // The hit's title is the belief's statement (layer titles beliefs so); the id
                    // is the file stem.
                    let id = std::path::Path::new(&h.path)
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if out.beliefs.iter().any(|b| b.id == id) {
                        continue;
                    }
                    out.beliefs.push(ContextBelief {
                        id,
                        statement: clip(&h.title, SNIPPET_CHARS),
                        location,
                    });
                }
                Kind::Layer if out.layer_docs.len() < CONTEXT_PER_PART => {
                    out.layer_docs.push(doc(h, location))
                }
                Kind::Session if out.sessions.len() < CONTEXT_PER_PART => {
                    out.sessions.push(doc(h, location))
                }
                _ => {}
            }
        }
        bound_context(&mut out);
        Ok(out)
    }

    pub fn session_status(&self) -> Result<session::SessionStatus> {
        session_engine()?.status(&self.project()?)
    }

    pub fn session_note(&self, a: NoteArgs) -> Result<session::NoteReport> {
        session_engine()?.note(&self.project()?, &a.text)
    }

    pub fn belief_capture(&self, a: CaptureArgs) -> Result<belief::Created> {
        let project = self.project()?;
        let mut nb = NewBelief {
            id: a.id,
            statement: a.statement,
            evidence: a.evidence,
            supports: a.supports,
            attacks: a.attacks,
            facets: a.facets,
            ..NewBelief::default()
        };
        if let Some(e) = a.entrenchment {
            nb.entrenchment = e;
        }
        belief::create(&project, &nb, None, &session_engine()?)
    }

    pub fn belief_show(&self, a: ShowArgs) -> Result<belief::Belief> {
        belief::load(&self.project()?, &a.id)
    }

    /// This project, through the one backend: the daemon when it answers (model hot there),
    /// else this server's own engine, refreshing the index first.
    fn search(&self, project: &Project, q: &Query) -> Result<scry::ScryAnswer> {
        let req = ScryRequest {
            project: project.root().to_string_lossy().into_owned(),
            query: q.query.clone(),
            limit: q.limit,
            kinds: q.kinds.clone(),
            refresh: false,
        };
        Ok(self.backend.scry(&req)?.answer)
    }

    fn search_all(&self, here: Option<&Project>, q: &Query) -> Result<mother::FederatedAnswer> {
        let req = FederatedScryRequest {
            here: here.map(|p| p.root().to_string_lossy().into_owned()),
            query: q.query.clone(),
            limit: q.limit,
            kinds: q.kinds.clone(),
            refresh: true,
        };
        Ok(self.backend.scry_all(&req)?.answer)
    }
}

fn hit(h: &Hit, source: Option<String>) -> ScryHit {
    let location = if h.kind == Kind::Commit {
        h.path.clone()
    } else {
        format!("{}:{}", h.path, h.best_line())
    };
    ScryHit {
        location,
        kind: h.kind,
        title: clip(&h.title, SNIPPET_CHARS),
        snippet: clip(&h.snippet, SNIPPET_CHARS),
        score: h.score,
        source,
    }
}

fn doc(h: &Hit, location: String) -> ContextDoc {
    ContextDoc {
        title: clip(&h.title, 120),
        location,
        snippet: clip(&h.snippet, SNIPPET_CHARS),
    }
}

/// At most `max` characters (never bytes), `…` marking a cut.
fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Drop the least relevant entries (the last of the longest part) until the answer fits
/// [`CONTEXT_MAX_BYTES`].
fn bound_context(c: &mut ContextResult) {
    let size = |c: &ContextResult| serde_json::to_vec(c).map(|v| v.len()).unwrap_or(0);
    while size(c) > CONTEXT_MAX_BYTES {
        c.truncated = true;
        let (b, l, s) = (c.beliefs.len(), c.layer_docs.len(), c.sessions.len());
        if b == 0 && l == 0 && s == 0 {
            c.topic = clip(&c.topic, 200);
            break;
        }
        if s >= l && s >= b {
            c.sessions.pop();
        } else if l >= b {
            c.layer_docs.pop();
        } else {
            c.beliefs.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_stays_within_its_bound() {
        let big = "x".repeat(SNIPPET_CHARS);
        let d = ContextDoc {
            title: big.clone(),
            location: "a.md:1".into(),
            snippet: big.clone(),
        };
        let mut c = ContextResult {
            topic: "t".into(),
            active_session: None,
            beliefs: vec![],
            layer_docs: vec![d.clone(); 40],
            sessions: vec![d; 40],
            truncated: false,
            mode: "lexical".into(),
        };
        bound_context(&mut c);
        assert!(serde_json::to_vec(&c).unwrap().len() <= CONTEXT_MAX_BYTES);
        assert!(c.truncated);
        assert!(!c.layer_docs.is_empty() && !c.sessions.is_empty());
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
