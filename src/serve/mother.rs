//! `POST /api/scry` with `scope: "all"`: mother's federated search on the daemon's hot engine
//! (model loaded once, indexes cached per root in the one `ScryService`). Called from scry's
//! handler; the fan-out, deadlines and fusion live in `crate::mother`.
//!
//! A query that arrived over TCP (from another host's mother) searches only this host's local
//! projects: federation never loops and no token is relayed onward.

use std::sync::Arc;

use super::router::{ApiError, Call, Reply, ok};
use crate::mother::{self, LocalSearch};
use crate::proto::scry::FederatedScryRequest;
use crate::scry::{Query, ScryService};

pub(super) async fn scry_all(cx: Call, req: FederatedScryRequest) -> Reply {
    // The project the query was made from, searched too (optional here).
    let here = match req.here.as_deref() {
        None => None,
        Some(root) => Some(cx.project_at(root)?),
    };
    let q = Query {
        query: req.query,
        limit: req.limit,
        kinds: req.kinds,
    };
    q.validate()
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    let svc = cx.state.service::<ScryService>();
    let refresh = req.refresh;
    let local: LocalSearch = Arc::new(move |p, q| svc.search(p, q, refresh));
    // Over TCP only the projects the owner exposed are searched (and no remotes).
    let exposed = (!cx.peer.is_unix()).then(|| cx.state.exposed().to_vec());
    let answer = cx
        .blocking(move || mother::daemon_search(here.as_ref(), &q, local, exposed.as_deref()))
        .await?;
    ok(&answer)
}
