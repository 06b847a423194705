//! Core endpoints: `GET /health`, `GET /version`.

use super::router::{Access, Router, ok};
use crate::proto::{self, Health, Version, paths};

pub(super) fn routes(r: &mut Router) {
    r.get(paths::HEALTH, Access::Open, |cx| async move {
        ok(&Health {
            status: "ok".to_string(),
            version: proto::crate_version().to_string(),
            protocol: proto::PROTOCOL,
            pid: cx.state.pid(),
            uptime_secs: cx.state.uptime_secs(),
        })
    });
    r.get(paths::VERSION, Access::Open, |_cx| async move {
        ok(&Version {
            name: "patina".to_string(),
            version: proto::crate_version().to_string(),
            protocol: proto::PROTOCOL,
        })
    });
}
