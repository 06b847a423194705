//! `/secrets/*` handlers (Unix socket only): the TTL cache, releases with the cockpit's y/n,
//! lock, status, redaction. The cache logic itself is `secrets::cache` (pure, unit-tested).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::router::{Access, ApiError, Call, Peer, Reply, Router, ok};
use crate::proto::secrets as p;
use crate::secrets::cache::{CacheInput, ResolveError, SecretCache};
use crate::secrets::{ConfirmPolicy, Requester, SecretValue, SecretsConfig, default_env};

/// A cockpit counts as attached while it has polled `/secrets/pending` this recently.
const COCKPIT_ATTACHED_FOR: Duration = Duration::from_secs(10);

struct Waiting {
    info: p::PendingRelease,
    created: Instant,
    deadline: Instant,
    answer: oneshot::Sender<bool>,
}

/// The daemon's secrets state: one per daemon, created on first use.
pub(super) struct SecretsService {
    config: SecretsConfig,
    cache: Mutex<SecretCache>,
    pending: Mutex<BTreeMap<u64, Waiting>>,
    next_id: AtomicU64,
    cockpit_seen: Mutex<Option<Instant>>,
}

impl Default for SecretsService {
    fn default() -> Self {
        // `serve::check_config` refused to start on a broken config; if it broke since, ask
        // before every release rather than fall back to a laxer default.
        let config = SecretsConfig::load().unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "secrets: bad [secrets] config; asking before every release");
            SecretsConfig {
                confirm: crate::secrets::ConfirmPolicy::Always,
                ..SecretsConfig::default()
            }
        });
        SecretsService {
            config,
            cache: Mutex::new(SecretCache::new(config)),
            pending: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            cockpit_seen: Mutex::new(None),
        }
    }
}

impl SecretsService {
    fn cache(&self) -> std::sync::MutexGuard<'_, SecretCache> {
        // A panic while holding the lock must not leave values reachable: recover the guard
        // (the cache's invariants hold between statements).
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cockpit_attached(&self, now: Instant) -> bool {
        let seen = *self.cockpit_seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.is_some_and(|t| now.saturating_duration_since(t) < COCKPIT_ATTACHED_FOR)
    }

    /// Drop expired vaults (zeroized) and forget refused-by-timeout waiters.
    fn sweep(&self) {
        let now = Instant::now();
        let n = self.cache().expire(now);
        if n > 0 {
            tracing::info!(vaults = n, "secrets: cache expired (zeroized)");
        }
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, w| w.deadline > now && !w.answer.is_closed());
    }
}

fn policy_name(p: ConfirmPolicy) -> &'static str {
    match p {
        ConfirmPolicy::Never => "never",
        ConfirmPolicy::First => "first",
        ConfirmPolicy::Always => "always",
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The requester as the kernel reports it (SO_PEERCRED pid, its cmdline), else the body's claim.
fn real_requester(peer: &Peer, claimed: &p::Requester) -> Requester {
    if let Peer::Unix { pid: Some(pid), .. } = peer
        && *pid > 0
    {
        let command = std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| claimed.command.clone());
        return Requester {
            pid: *pid as u32,
            command: command.chars().take(200).collect(),
        };
    }
    Requester {
        pid: claimed.pid,
        command: claimed.command.chars().take(200).collect(),
    }
}

pub(super) fn routes(r: &mut Router) {
    r.get(p::STATUS, Access::LocalOnly, |cx| async move { status(cx) });
    r.post(p::CACHE, Access::LocalOnly, |cx| async move { cache(cx) });
    r.post(p::RESOLVE, Access::LocalOnly, resolve);
    r.post(p::LOCK, Access::LocalOnly, |cx| async move { lock(cx) });
    r.get(
        p::PENDING,
        Access::LocalOnly,
        |cx| async move { pending(cx) },
    );
    r.post(
        p::PENDING_ID,
        Access::LocalOnly,
        |cx| async move { decide(cx) },
    );
    r.post(p::REDACT, Access::LocalOnly, |cx| async move { redact(cx) });
    r.on_start(|state| {
        let svc = state.service::<SecretsService>();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                svc.sweep();
            }
        });
    });
    r.on_shutdown(|state| {
        if let Some(svc) = state.existing_service::<SecretsService>() {
            let n = svc.cache().lock(None);
            svc.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            tracing::info!(vaults = n, "secrets: locked on shutdown (zeroized)");
        }
    });
}

fn status(cx: Call) -> Reply {
    let svc = cx.state.service::<SecretsService>();
    let now = Instant::now();
    let vaults = svc
        .cache()
        .status(now)
        .into_iter()
        .map(|v| p::VaultState {
            vault_id: v.vault_id,
            locked: v.locked,
            names: v.names,
            expires_in_secs: v.expires_in_secs,
            max_expires_in_secs: v.max_expires_in_secs,
        })
        .collect();
    ok(&p::StatusAnswer {
        vaults,
        confirm: policy_name(svc.config.confirm).into(),
        cockpit_attached: svc.cockpit_attached(now),
    })
}

fn cache(cx: Call) -> Reply {
    let req: p::CacheRequest = cx.json()?;
    let svc = cx.state.service::<SecretsService>();
    for name in req.env.keys() {
        if !req.secrets.contains_key(name) {
            return Err(ApiError::bad_request(format!(
                "env names {name:?}, which has no value"
            )));
        }
    }
    let mut input = CacheInput::new();
    for (name, value) in req.secrets {
        let env = req
            .env
            .get(&name)
            .cloned()
            .unwrap_or_else(|| default_env(&name));
        let v =
            SecretValue::new(value.0).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
        input.insert(name, (env, v));
    }
    let count = input.len();
    let ttl = svc
        .cache()
        .insert(
            Instant::now(),
            &req.vault_id,
            req.vault_path,
            input,
            req.ttl_secs,
        )
        .map_err(ApiError::bad_request)?;
    tracing::info!(
        vault = short(&req.vault_id),
        secrets = count,
        ttl_secs = ttl.as_secs(),
        "secrets: cached"
    );
    ok(&p::CacheAnswer {
        status: "cached".into(),
        ttl_secs: ttl.as_secs(),
    })
}

fn resolve_error(e: ResolveError, vault_id: &str) -> ApiError {
    match e {
        ResolveError::Locked => ApiError::locked(format!("vault {} is locked", short(vault_id))),
        ResolveError::UnknownName(n) => {
            ApiError::bad_request(format!("no secret named {n:?} in this vault"))
        }
    }
}

async fn resolve(cx: Call) -> Reply {
    let req: p::ResolveRequest = cx.json()?;
    if req.names.is_empty() {
        return Err(ApiError::bad_request(
            "`names` must list the secrets to release",
        ));
    }
    let svc = cx.state.service::<SecretsService>();
    let requester = real_requester(&cx.peer, &req.requester);
    let now = Instant::now();
    let must_ask = {
        let mut cache = svc.cache();
        cache
            .check(now, &req.vault_id, &req.names)
            .map_err(|e| resolve_error(e, &req.vault_id))?;
        svc.cockpit_attached(now) && cache.needs_confirmation(&req.vault_id, svc.config.confirm)
    };
    if must_ask {
        let timeout = Duration::from_secs(svc.config.confirm_timeout_secs);
        let id = svc.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        svc.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                Waiting {
                    info: p::PendingRelease {
                        id,
                        vault_id: req.vault_id.clone(),
                        names: req.names.clone(),
                        requester: p::Requester {
                            pid: requester.pid,
                            command: requester.command.clone(),
                        },
                        waiting_secs: 0,
                        expires_in_secs: timeout.as_secs(),
                    },
                    created: now,
                    deadline: now + timeout,
                    answer: tx,
                },
            );
        tracing::info!(id, names = %req.names.join(","), pid = requester.pid, "secrets: release waits for the cockpit");
        let answer = tokio::time::timeout(timeout, rx).await;
        svc.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        match answer {
            Ok(Ok(true)) => svc.cache().mark_approved(&req.vault_id),
            Ok(Ok(false)) => {
                tracing::info!(id, names = %req.names.join(","), "secrets: release refused in the cockpit");
                return Err(ApiError::forbidden("release refused in the cockpit"));
            }
            Ok(Err(_)) => {
                return Err(ApiError::forbidden(
                    "release cancelled (the vault was locked)",
                ));
            }
            Err(_) => {
                tracing::info!(id, "secrets: no answer from the cockpit; refused");
                return Err(ApiError::forbidden(format!(
                    "no answer in the cockpit within {} s: release refused",
                    timeout.as_secs()
                )));
            }
        }
    }
    let released = svc
        .cache()
        .resolve(Instant::now(), &req.vault_id, &req.names)
        .map_err(|e| resolve_error(e, &req.vault_id))?;
    let env: BTreeMap<String, p::WireSecret> = released
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                p::WireSecret(zeroize::Zeroizing::new(v.expose().to_string())),
            )
        })
        .collect();
    let names = req.names.clone();
    let project = req.project.clone().map(std::path::PathBuf::from);
    // File I/O (the session log) off the async workers; a logging failure never blocks a release.
    let _ = cx
        .blocking(move || {
            let log = crate::backend::session_engine()?;
            crate::secrets::log_release(&log, project.as_deref(), &names, &requester, "daemon");
            Ok(())
        })
        .await;
    ok(&p::ResolveAnswer { env })
}

fn lock(cx: Call) -> Reply {
    let req: p::LockRequest = if cx.request.body.is_empty() {
        p::LockRequest::default()
    } else {
        cx.json()?
    };
    let svc = cx.state.service::<SecretsService>();
    let dropped = svc.cache().lock(req.vault_id.as_deref());
    // Releases waiting for the cockpit on a locked vault are cancelled (their sender drops).
    svc.pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|_, w| {
            req.vault_id
                .as_ref()
                .is_some_and(|id| *id != w.info.vault_id)
        });
    tracing::info!(dropped, "secrets: locked (zeroized)");
    ok(&p::LockAnswer {
        status: "locked".into(),
        dropped,
    })
}

fn pending(cx: Call) -> Reply {
    let svc = cx.state.service::<SecretsService>();
    let now = Instant::now();
    *svc.cockpit_seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
    let list = svc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|w| !w.answer.is_closed())
        .map(|w| {
            let mut info = w.info.clone();
            info.waiting_secs = now.saturating_duration_since(w.created).as_secs();
            info.expires_in_secs = w.deadline.saturating_duration_since(now).as_secs();
            info
        })
        .collect();
    ok(&p::PendingAnswer { pending: list })
}

fn decide(cx: Call) -> Reply {
    let id: u64 = cx
        .param("id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::bad_request("the pending id must be a number"))?;
    let d: p::Decision = cx.json()?;
    let svc = cx.state.service::<SecretsService>();
    *svc.cockpit_seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    let waiting = svc
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id)
        .ok_or_else(|| {
            ApiError::not_found(format!("no pending release {id} (answered or timed out)"))
        })?;
    if waiting.answer.send(d.allow).is_err() {
        return Err(ApiError::not_found(format!(
            "pending release {id} is gone (timed out)"
        )));
    }
    ok(&p::DecisionAnswer {
        status: if d.allow { "allowed" } else { "refused" }.into(),
    })
}

fn redact(cx: Call) -> Reply {
    let req: p::RedactRequest = cx.json()?;
    let svc = cx.state.service::<SecretsService>();
    let (text, redactions) = svc.cache().redact(Instant::now(), &req.text);
    ok(&p::RedactAnswer { text, redactions })
}
