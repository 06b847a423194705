//! `GET /api/session?project=ROOT`: the active session summary through the session engine, the
//! same JSON as `patina session status --json` (`session::status`).

use super::router::{Access, Router, ok};
use crate::proto::paths;

pub(super) fn routes(r: &mut Router) {
    r.get(paths::SESSION, Access::Token, |cx| async move {
        let project = cx.project()?;
        let status = cx
            .blocking(move || crate::backend::session_engine()?.status(&project))
            .await?;
        ok(&status)
    });
}
