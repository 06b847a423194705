//! The daemon (`patina serve`): HTTP/1.1 over a 0600 Unix socket, opt-in TCP with a token
//! (DESIGN §6). One request per connection, JSON in and out.
//!
//! # Adding an area's endpoints (scry, secrets, agent, ...)
//!
//! 1. **Wire types** in `src/proto/<area>.rs` (+ `pub mod <area>;` in `proto/mod.rs`): request and
//!    answer structs with `Serialize + Deserialize`, and the path constants. The server and the
//!    client both use these, so they cannot drift.
//! 2. **Handlers** in `src/serve/<area>.rs` (+ `mod <area>;` below) with one function
//!    `pub(super) fn routes(r: &mut Router)`:
//!    ```ignore
//!    use super::router::{Access, ApiError, Router, ok};
//!    pub(super) fn routes(r: &mut Router) {
//!        r.post(proto::scry::SCRY, Access::Token, |cx| async move {
//!            let req: proto::scry::ScryRequest = cx.json()?;          // 400 on bad JSON
//!            let project = cx.project_at(&req.project)?;              // absolute root, never cwd
//!            let svc = cx.state.service::<ScryService>();             // your long-lived state
//!            let answer = cx.blocking(move || svc.search(&project, &req)).await?; // off the workers
//!            ok(&answer)
//!        });
//!    }
//!    ```
//!    Then add **one line** to [`AREAS`]: `<area>::routes,`.
//! 3. **Typed calls** in `src/client/<area>.rs` (+ `mod <area>;` in `client/mod.rs`): an
//!    `impl Client { pub fn scry(&self, req: &ScryRequest) -> Result<ScryAnswer, ClientError> {
//!    self.post(proto::scry::SCRY, req) } }`. Every caller (CLI, cockpit, mother) uses that.
//!
//! **Access** per route: [`Access::Open`] (TCP without token: only /health, /version),
//! [`Access::Token`] (TCP with the bearer token), [`Access::LocalOnly`] (Unix socket only: secrets,
//! index, agent). Anything under `/secrets/` is refused over TCP before routing, whatever it
//! declares, and the client refuses to send it over TCP too.
//!
//! **Shared state**: `cx.state.service::<T>()` returns the one `Arc<T>` of your type (created by
//! `T::default()` on first use; `service_with` takes a constructor). Keep construction cheap and
//! load heavy things lazily inside (scry: the model once, then an index cache keyed by project
//! root; secrets: the TTL cache; agent: a per-project state map). Background work and cleanup:
//! `r.on_start(|state| ...)` runs after the sockets are bound (inside the runtime, so
//! `tokio::spawn` works), `r.on_shutdown(|state| ...)` before the socket is removed (zeroize here).
//!
//! **Per-request facts**: `cx.peer` is [`Peer::Unix`] `{uid, pid}` (uid already checked to be
//! ours; the pid is the requester's, from SO_PEERCRED) or [`Peer::Tcp`] `{addr}`; `cx.query(k)`,
//! `cx.require_query(k)`, `cx.param(name)` for `{name}` segments, `cx.json::<T>()` for the body.
//! Errors: return `Err(ApiError::bad_request(..))` etc.; an `anyhow::Error` becomes a 500 with its
//! context chain (never put secret values in errors). Limits and statuses (400, 401, 403, 404,
//! 405, 408, 411, 413, 415, 431, 501, 503) are handled before your handler runs.

mod agent;
mod core;
mod mother;
pub mod router;
mod scry;
mod secrets;
mod server;
mod session;
pub mod state;
mod token;

pub use router::{Access, ApiError, Call, Peer, Reply, Router, ok};
pub use server::{AlreadyRunning, ServeOptions, Started, read_pid_file};
pub use state::DaemonState;

/// Every area's route registration, in order. Add your area's line here.
const AREAS: &[fn(&mut Router)] = &[
    core::routes,
    session::routes,
    scry::routes,
    secrets::routes,
    agent::routes,
];

/// The full route table.
pub fn router() -> Router {
    let mut r = Router::new();
    for area in AREAS {
        area(&mut r);
    }
    r
}

/// Run the daemon in the foreground until SIGINT/SIGTERM; `on_ready` runs once it accepts
/// connections. Fails with [`AlreadyRunning`] when another daemon holds `run/serve.lock`, and
/// before binding anything when the user config is broken ([`check_config`]).
pub fn run(opts: ServeOptions, on_ready: impl FnOnce(&Started)) -> anyhow::Result<()> {
    crate::scry::embed::limit_malloc_arenas();
    check_config()?;
    server::run(router(), opts, on_ready)
}

/// Decode every user-config section the daemon reads, so a broken value (`confirm = "alwayz"`)
/// refuses the start with the file, key and value instead of running on defaults.
pub fn check_config() -> anyhow::Result<()> {
    crate::secrets::SecretsConfig::load()?;
    crate::scry::embed::configured_threads()?;
    crate::mother::FanOut::from_user_config()?;
    Ok(())
}
