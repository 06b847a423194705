//! Scry's endpoints: `POST /api/scry`, `POST /api/index`, `GET /api/index`. The model is loaded
//! once per daemon (lazily, on the first query) inside the one [`ScryService`]; indexes are
//! cached per project root; re-indexing runs on a background thread.

use super::router::{Access, ApiError, Router, ok};
use crate::proto::scry::{INDEX, IndexRequest, SCRY, ScryCall};
use crate::scry::{Query, ScryService};

pub(super) fn routes(r: &mut Router) {
    r.post(SCRY, Access::Token, |cx| async move {
        let req = match cx.json::<ScryCall>()? {
            ScryCall::Project(r) => r,
            ScryCall::All(r) => return super::mother::scry_all(cx, r).await,
        };
        let q = Query {
            query: req.query,
            limit: req.limit,
            kinds: req.kinds,
        };
        q.validate()
            .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
        let project = cx.project_at(&req.project)?;
        let svc = cx.state.service::<ScryService>();
        let refresh = req.refresh;
        let answer = cx
            .blocking(move || svc.search(&project, &q, refresh))
            .await?;
        ok(&answer)
    });
    r.post(INDEX, Access::LocalOnly, |cx| async move {
        let req: IndexRequest = cx.json()?;
        let project = cx.project_at(&req.project)?;
        let svc = cx.state.service::<ScryService>();
        let (rebuild, wait) = (req.rebuild, req.wait);
        let status = cx
            .blocking(move || Ok(svc.start_index(&project, rebuild, wait)))
            .await?;
        ok(&status)
    });
    r.get(INDEX, Access::LocalOnly, |cx| async move {
        let project = cx.project()?;
        let svc = cx.state.service::<ScryService>();
        let status = cx.blocking(move || Ok(svc.index_status(&project))).await?;
        ok(&status)
    });
}
