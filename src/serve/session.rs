//! `GET /api/session?project=ROOT`: the active session summary through the session engine, the
//! same JSON as `patina session status --json`.

use super::router::{Access, Router, ok};
use crate::proto::paths;

pub(super) fn routes(r: &mut Router) {
    r.get(paths::SESSION, Access::Token, |cx| async move {
        let project = cx.project()?;
        let status = cx
            .blocking(move || {
                let id = crate::session::active_id(&project)?;
                Ok(serde_json::json!({
                    "project": project.root(),
                    "active": id.is_some(),
                    "id": id,
                }))
            })
            .await?;
        ok(&status)
    });
}
