//! Remote daemons over TCP through the typed client, each with its own token.
//!
//! The token is bound to the host:port of the entry it came from (`client::TcpToken`), and the
//! client refuses to send a token anywhere else — so host A's token cannot reach host B even if
//! an entry were edited between load and send. A remote's answer is federated (`scope: "all"`,
//! its own registered projects) unless the entry pins one `project` root.

use std::time::Duration;

use super::{FederatedAnswer, FederatedHit, Outcome, RemoteEntry};
use crate::client::{Client, TcpToken};
use crate::proto::scry::{FederatedScryRequest, ScryRequest};
use crate::scry::{Query, SourceError};
use anyhow::{Context, Result};

pub(super) fn search(r: &RemoteEntry, q: &Query, timeout: Duration) -> Result<Outcome> {
    let (host, port) = r.host_port()?;
    let token = r
        .read_token()?
        .map(|t| TcpToken::new(&host, port, t.as_str()));
    let client = Client::tcp(&host, port, token).with_timeout(timeout);
    // Pinned to one project: that project's scry answer, its hits all of this remote;
    // otherwise the remote's own registered projects (no "here" over there).
    let answer: FederatedAnswer = match &r.project {
        Some(root) => {
            let a = client
                .scry(&ScryRequest {
                    project: root.clone(),
                    query: q.query.clone(),
                    limit: q.limit,
                    kinds: q.kinds.clone(),
                    refresh: false,
                })
                .with_context(|| format!("searching {}", r.url))?;
            FederatedAnswer {
                query_id: a.query_id,
                took_ms: a.took_ms,
                mode: a.mode,
                scope: String::new(),
                results: a
                    .results
                    .into_iter()
                    .map(|hit| FederatedHit {
                        source: String::new(),
                        source_rank: 0,
                        source_score: 0.0,
                        hit,
                    })
                    .collect(),
                errors: a.errors,
                sources: vec![],
            }
        }
        None => client
            .scry_all(&FederatedScryRequest {
                here: None,
                query: q.query.clone(),
                limit: q.limit,
                kinds: q.kinds.clone(),
                refresh: false,
            })
            .with_context(|| format!("searching {}", r.url))?,
    };
    // A remote's hits are named `remote/its-source` (or just `remote` for a pinned project).
    let prefix = |s: &str| {
        if s.is_empty() {
            r.name.clone()
        } else {
            format!("{}/{s}", r.name)
        }
    };
    Ok(Outcome {
        hits: answer
            .results
            .into_iter()
            .map(|h| {
                let mut hit = h.hit;
                // A federated remote's `score` is its own fusion's; rank ties here by the
                // project-level score it kept in `source_score`.
                if h.source_score > 0.0 {
                    hit.score = h.source_score;
                }
                FederatedHit {
                    source: prefix(&h.source),
                    source_rank: 0,
                    source_score: 0.0,
                    hit,
                }
            })
            .collect(),
        mode: answer.mode,
        errors: answer
            .errors
            .into_iter()
            .map(|e| SourceError {
                source: prefix(&e.source),
                message: e.message,
            })
            .collect(),
    })
}
