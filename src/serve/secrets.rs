//! `/secrets/*` handlers (Unix socket only): the TTL cache, releases with the cockpit's y/n,
//! lock, status. The cache logic itself is `secrets::cache` (pure, unit-tested).
//!
//! There is deliberately no endpoint that answers "does this text contain a secret" for
//! arbitrary text: such an oracle let one request of 100 000 guesses recover a 5-digit PIN.
//! Archives are redacted from keyed fingerprints instead (`secrets::Fingerprints`), without
//! the daemon.
//!
//! Release requests carry what a confirmation must show (requester command, cwd, project,
//! pid, names, countdown) and end in a state (`allowed`, `refused`, `withdrawn` when the
//! requester's process is gone, `expired`, `cancelled`) that stays visible in `recent` for a few
//! seconds; releases nobody was asked about are listed in `released` for the cockpit's toast.
//! Everything here is bounded: waiting requests, names per request, the recent lists.

use std::collections::{BTreeMap, VecDeque};
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
/// Most release requests waiting at once (more get 503).
const MAX_WAITING: usize = 16;
/// Most names one release may ask for.
const MAX_NAMES: usize = 64;
/// How long a finished request stays in `recent`, and a silent release in `released`.
const RECENT_FOR: Duration = Duration::from_secs(15);
const RELEASED_FOR: Duration = Duration::from_secs(60);
/// Most entries kept in each of those lists.
const MAX_RECENT: usize = 32;

struct Waiting {
    info: p::PendingRelease,
    created: Instant,
    deadline: Instant,
    /// The requester's process start time (`/proc/<pid>/stat`), to tell "gone" from a reused pid.
    started: Option<u64>,
    answer: oneshot::Sender<bool>,
}

/// The daemon's secrets state: one per daemon, created on first use.
pub(super) struct SecretsService {
    config: SecretsConfig,
    cache: Mutex<SecretCache>,
    pending: Mutex<BTreeMap<u64, Waiting>>,
    recent: Mutex<VecDeque<(Instant, p::PendingRelease)>>,
    released: Mutex<VecDeque<(Instant, p::ReleaseNotice)>>,
    next_id: AtomicU64,
    next_seq: AtomicU64,
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
            recent: Mutex::new(VecDeque::new()),
            released: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(1),
            next_seq: AtomicU64::new(1),
            cockpit_seen: Mutex::new(None),
        }
    }
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SecretsService {
    fn cache(&self) -> std::sync::MutexGuard<'_, SecretCache> {
        // A panic while holding the lock must not leave values reachable: recover the guard
        // (the cache's invariants hold between statements).
        guard(&self.cache)
    }

    fn cockpit_attached(&self, now: Instant) -> bool {
        let seen = *guard(&self.cockpit_seen);
        seen.is_some_and(|t| now.saturating_duration_since(t) < COCKPIT_ATTACHED_FOR)
    }

    /// A request ended: keep its final state visible for a few seconds.
    fn finish(&self, mut info: p::PendingRelease, state: p::ReleaseState) {
        info.state = state;
        info.expires_in_secs = 0;
        let mut recent = guard(&self.recent);
        recent.push_back((Instant::now(), info));
        while recent.len() > MAX_RECENT {
            recent.pop_front();
        }
    }

    /// A release went through without a question: the cockpit toasts it.
    fn note_release(&self, names: &[String], requester: &p::Requester, project: Option<String>) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let mut released = guard(&self.released);
        released.push_back((
            Instant::now(),
            p::ReleaseNotice {
                seq,
                names: names.to_vec(),
                requester: requester.clone(),
                project,
                ago_secs: 0,
            },
        ));
        while released.len() > MAX_RECENT {
            released.pop_front();
        }
    }

    /// Drop expired vaults (zeroized), withdraw requests whose requester is gone, forget old
    /// entries of the recent lists.
    fn sweep(&self) {
        let now = Instant::now();
        let n = self.cache().expire(now);
        if n > 0 {
            tracing::info!(vaults = n, "secrets: cache expired (zeroized)");
        }
        let gone: Vec<Waiting> = {
            let mut pending = guard(&self.pending);
            let ids: Vec<u64> = pending
                .iter()
                .filter(|(_, w)| {
                    w.answer.is_closed() || process_started(w.info.requester.pid) != w.started
                })
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| pending.remove(&id))
                .collect()
        };
        for w in gone {
            tracing::info!(
                id = w.info.id,
                pid = w.info.requester.pid,
                "secrets: release withdrawn (requester gone)"
            );
            let _ = w.answer.send(false);
            self.finish(w.info, p::ReleaseState::Withdrawn);
        }
        guard(&self.recent).retain(|(t, _)| now.saturating_duration_since(*t) < RECENT_FOR);
        guard(&self.released).retain(|(t, _)| now.saturating_duration_since(*t) < RELEASED_FOR);
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

/// Start time of a process (field 22 of `/proc/<pid>/stat`, clock ticks since boot): a pid
/// reused by another process has another start time.
fn process_started(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The requester as the kernel reports it (SO_PEERCRED pid, its cmdline and cwd), else the
/// body's claim. Reads /proc: call it off the async workers.
fn real_requester(peer: &Peer, claimed: &p::Requester) -> p::Requester {
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
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
            .ok()
            .map(|p| p.to_string_lossy().chars().take(1024).collect());
        return p::Requester {
            pid: *pid as u32,
            command: command.chars().take(200).collect(),
            cwd,
        };
    }
    p::Requester {
        pid: claimed.pid,
        command: claimed.command.chars().take(200).collect(),
        cwd: None,
    }
}

pub(super) fn routes(r: &mut Router) {
    r.get(p::STATUS, Access::LocalOnly, |cx| async move { status(cx) });
    r.post(p::CACHE, Access::LocalOnly, |cx| async move { cache(cx) })
        // A whole vault's values; every other route keeps the 64 KiB default.
        .body_limit(crate::proto::MAX_BODY_BYTES);
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
            guard(&svc.pending).clear();
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
    if req.names.len() > MAX_NAMES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_NAMES} names per release"
        )));
    }
    let project = req
        .project
        .as_ref()
        .map(|p| p.chars().take(1024).collect::<String>());
    let svc = cx.state.service::<SecretsService>();
    let (peer, claimed) = (cx.peer.clone(), req.requester.clone());
    let (requester, started) = cx
        .blocking(move || {
            let r = real_requester(&peer, &claimed);
            let started = process_started(r.pid);
            Ok((r, started))
        })
        .await?;
    let now = Instant::now();
    let (must_ask, vault_path) = {
        let mut cache = svc.cache();
        cache
            .check(now, &req.vault_id, &req.names)
            .map_err(|e| resolve_error(e, &req.vault_id))?;
        (
            svc.cockpit_attached(now)
                && cache.needs_confirmation(&req.vault_id, svc.config.confirm),
            cache.vault_path(&req.vault_id),
        )
    };
    if must_ask {
        let timeout = Duration::from_secs(svc.config.confirm_timeout_secs);
        let id = svc.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = guard(&svc.pending);
            if pending.len() >= MAX_WAITING {
                return Err(ApiError::unavailable(format!(
                    "{MAX_WAITING} releases already wait for the cockpit; retry later"
                )));
            }
            pending.insert(
                id,
                Waiting {
                    info: p::PendingRelease {
                        id,
                        vault_id: req.vault_id.clone(),
                        vault_path,
                        names: req.names.clone(),
                        requester: requester.clone(),
                        project: project.clone(),
                        waiting_secs: 0,
                        expires_in_secs: timeout.as_secs(),
                        timeout_secs: timeout.as_secs(),
                        state: p::ReleaseState::Waiting,
                    },
                    created: now,
                    deadline: now + timeout,
                    started,
                    answer: tx,
                },
            );
        }
        tracing::info!(id, names = %req.names.join(","), pid = requester.pid, "secrets: release waits for the cockpit");
        let answer = tokio::time::timeout(timeout, rx).await;
        // Still listed only when nobody answered in time (decide/lock/sweep remove it).
        if let Some(w) = guard(&svc.pending).remove(&id) {
            svc.finish(w.info, p::ReleaseState::Expired);
        }
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
    if !must_ask {
        svc.note_release(&req.names, &requester, project.clone());
    }
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
    let project = project.map(std::path::PathBuf::from);
    let who = Requester {
        pid: requester.pid,
        command: requester.command,
    };
    // File I/O (the session log) off the async workers; a logging failure never blocks a release.
    let _ = cx
        .blocking(move || {
            let log = crate::backend::session_engine()?;
            crate::secrets::log_release(&log, project.as_deref(), &names, &who, "daemon");
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
    let cancelled: Vec<Waiting> = {
        let mut pending = guard(&svc.pending);
        let ids: Vec<u64> = pending
            .iter()
            .filter(|(_, w)| {
                req.vault_id
                    .as_ref()
                    .is_none_or(|id| *id == w.info.vault_id)
            })
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| pending.remove(&id))
            .collect()
    };
    for w in cancelled {
        svc.finish(w.info, p::ReleaseState::Cancelled);
    }
    tracing::info!(dropped, "secrets: locked (zeroized)");
    ok(&p::LockAnswer {
        status: "locked".into(),
        dropped,
    })
}

fn pending(cx: Call) -> Reply {
    let svc = cx.state.service::<SecretsService>();
    let now = Instant::now();
    *guard(&svc.cockpit_seen) = Some(now);
    let list = guard(&svc.pending)
        .values()
        .filter(|w| !w.answer.is_closed())
        .map(|w| {
            let mut info = w.info.clone();
            info.waiting_secs = now.saturating_duration_since(w.created).as_secs();
            info.expires_in_secs = w.deadline.saturating_duration_since(now).as_secs();
            info
        })
        .collect();
    let recent = guard(&svc.recent)
        .iter()
        .filter(|(t, _)| now.saturating_duration_since(*t) < RECENT_FOR)
        .map(|(_, r)| r.clone())
        .collect();
    let released = guard(&svc.released)
        .iter()
        .filter(|(t, _)| now.saturating_duration_since(*t) < RELEASED_FOR)
        .map(|(t, r)| {
            let mut r = r.clone();
            r.ago_secs = now.saturating_duration_since(*t).as_secs();
            r
        })
        .collect();
    ok(&p::PendingAnswer {
        pending: list,
        recent,
        released,
    })
}

fn decide(cx: Call) -> Reply {
    let id: u64 = cx
        .param("id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::bad_request("the pending id must be a number"))?;
    let d: p::Decision = cx.json()?;
    let svc = cx.state.service::<SecretsService>();
    *guard(&svc.cockpit_seen) = Some(Instant::now());
    let Some(waiting) = guard(&svc.pending).remove(&id) else {
        // Answered by another cockpit, withdrawn, expired: say which.
        let finished = guard(&svc.recent)
            .iter()
            .find(|(_, r)| r.id == id)
            .map(|(_, r)| r.state);
        return Err(match finished {
            Some(state) => ApiError::conflict(format!(
                "release {id} is no longer waiting ({})",
                serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )),
            None => ApiError::not_found(format!("no pending release {id}")),
        });
    };
    let state = if d.allow {
        p::ReleaseState::Allowed
    } else {
        p::ReleaseState::Refused
    };
    let info = waiting.info.clone();
    if waiting.answer.send(d.allow).is_err() {
        svc.finish(info, p::ReleaseState::Withdrawn);
        return Err(ApiError::conflict(format!(
            "release {id} is no longer waiting (withdrawn)"
        )));
    }
    svc.finish(info, state);
    ok(&p::DecisionAnswer {
        status: if d.allow { "allowed" } else { "refused" }.into(),
    })
}
