//! The daemon-backed [`SecretRedactor`] for transcripts: raw texts go to `POST /secrets/redact`
//! on the Unix socket and come back masked, so unlocked secret values never leave the daemon.
//! Without a daemon nothing is unlocked, and there is nothing to redact. Daemon-only by nature
//! (never an in-process fallback): the values live nowhere else.

use std::time::Duration;

use crate::client::Client;
use crate::project::Project;
use crate::transcript::SecretRedactor;

/// Between texts of one batch (no prompt contains these control characters).
const BATCH_SEP: &str = "\n\u{1e}\u{1f}\n";
/// Keep each request well under the daemon's 1 MiB body limit.
const BATCH_BYTES: usize = 512 * 1024;

static DAEMON_MARK: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"\[REDACTED:[^\]\n]*\]").expect("regex"));

/// Asks the local daemon (when its socket exists) to redact unlocked secret values.
#[derive(Debug, Clone, Copy, Default)]
pub struct DaemonRedactor;

impl SecretRedactor for DaemonRedactor {
    fn redact(&self, _project: &Project, texts: &[String]) -> Option<Vec<(String, usize)>> {
        redact_via_daemon(texts)
    }
}

fn redact_via_daemon(texts: &[String]) -> Option<Vec<(String, usize)>> {
    if texts.is_empty() {
        return Some(vec![]);
    }
    if !crate::client::socket_path().exists() {
        return None;
    }
    let client = Client::local().with_timeout(Duration::from_secs(3));
    let mut out = Vec::with_capacity(texts.len());
    let mut i = 0;
    while i < texts.len() {
        let mut j = i;
        let mut size = 0;
        while j < texts.len() && (j == i || size + texts[j].len() < BATCH_BYTES) {
            size += texts[j].len() + BATCH_SEP.len();
            j += 1;
        }
        let answer = match client.secrets_redact(&texts[i..j].join(BATCH_SEP)) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("secret values not redacted from transcripts: {e}");
                return None;
            }
        };
        let parts: Vec<&str> = answer.text.split(BATCH_SEP).collect();
        if parts.len() != j - i {
            tracing::warn!("secret redaction: the daemon's answer does not split back");
            return None;
        }
        for (raw, part) in texts[i..j].iter().zip(parts) {
            let hits = DAEMON_MARK
                .find_iter(part)
                .count()
                .saturating_sub(DAEMON_MARK.find_iter(raw).count());
            let masked = DAEMON_MARK
                .replace_all(part, "[redacted: secret]")
                .into_owned();
            out.push((masked, hits));
        }
        i = j;
    }
    Some(out)
}
