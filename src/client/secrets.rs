//! Typed calls for `/secrets/*`. Unix socket only: the client refuses to send these over TCP.

use super::{Client, ClientError};
use crate::proto::secrets as p;

impl Client {
    /// `GET /secrets/status`: unlocked vaults (names and TTLs only).
    pub fn secrets_status(&self) -> Result<p::StatusAnswer, ClientError> {
        self.require_unix("secrets")?;
        self.get(p::STATUS, &[])
    }

    /// `POST /secrets/cache`: hand decrypted values to the daemon (`secrets unlock`).
    pub fn secrets_cache(&self, req: &p::CacheRequest) -> Result<p::CacheAnswer, ClientError> {
        self.require_unix("secrets")?;
        self.post(p::CACHE, req)
    }

    /// `POST /secrets/resolve`: exactly the names asked for, as env var → value. 404 when the
    /// vault is not cached (locked/expired/changed), 403 when refused in the cockpit. Use a
    /// client whose timeout covers the cockpit's confirmation window.
    pub fn secrets_resolve(
        &self,
        req: &p::ResolveRequest,
    ) -> Result<p::ResolveAnswer, ClientError> {
        self.require_unix("secrets")?;
        self.post(p::RESOLVE, req)
    }

    /// `POST /secrets/lock`: drop (zeroize) one vault or, with `None`, all of them.
    pub fn secrets_lock(&self, vault_id: Option<&str>) -> Result<p::LockAnswer, ClientError> {
        self.require_unix("secrets")?;
        self.post(
            p::LOCK,
            &p::LockRequest {
                vault_id: vault_id.map(str::to_string),
            },
        )
    }

    /// `GET /secrets/pending`: releases waiting for a y/n. Polling this marks a cockpit as
    /// attached (releases then wait for it, per the `[secrets] confirm` policy).
    pub fn secrets_pending(&self) -> Result<p::PendingAnswer, ClientError> {
        self.require_unix("secrets")?;
        self.get(p::PENDING, &[])
    }

    /// `POST /secrets/pending/{id}`: the cockpit's answer.
    pub fn secrets_decide(&self, id: u64, allow: bool) -> Result<p::DecisionAnswer, ClientError> {
        self.require_unix("secrets")?;
        self.post(&format!("{}/{id}", p::PENDING), &p::Decision { allow })
    }
}
