//! Privacy: nothing that looks like a secret leaves an agent's log into a session file or onto
//! stdout. The values of the user's vault secrets are replaced by `[redacted: NAME]` — found by
//! their keyed fingerprints (`secrets::Fingerprints`), so this works whatever the daemon holds,
//! after lock, expiry or `serve stop` — and known token shapes by `[redacted: <kind>]`; every
//! hit is counted by kind (`secret` for vault values).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::secrets::Fingerprints;

/// Token shapes, most specific first (an Anthropic key also looks like an OpenAI one).
static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let p = |kind, re: &str| (kind, Regex::new(re).expect("redaction regex"));
    vec![
        p(
            "private-key",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        ),
        p("age-secret-key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
        p(
            "github-token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})",
        ),
        p("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
        p(
            "openai-key",
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        ),
        p("aws-access-key", r"\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b"),
        p(
            "aws-secret-key",
            r"(?i)(?:aws_secret_access_key|aws_secret_key|secret_access_key)\s*[=:]\s*[A-Za-z0-9/+]{40}",
        ),
        p(
            "jwt",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ),
    ]
});

/// Scans text for secrets and counts what it replaced.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Fingerprints of the user's secret values (none recorded: only token shapes).
    known: Option<Fingerprints>,
    pub counts: BTreeMap<String, usize>,
}

impl Redactor {
    /// A redactor that knows these fingerprints of the user's secret values (`None`: token
    /// shapes only).
    pub fn new(known: Option<Fingerprints>) -> Redactor {
        Redactor {
            known,
            counts: BTreeMap::new(),
        }
    }

    /// `text` with every secret replaced by `[redacted: <kind>]`.
    pub fn redact(&mut self, text: &str) -> String {
        let mut out = match &self.known {
            Some(f) => {
                let (out, hits) = f.redact(text);
                if !hits.is_empty() {
                    *self.counts.entry("secret".into()).or_default() += hits.len();
                }
                out
            }
            None => text.to_string(),
        };
        for (kind, re) in PATTERNS.iter() {
            let n = re.find_iter(&out).count();
            if n > 0 {
                out = re
                    .replace_all(&out, format!("[redacted: {kind}]").as_str())
                    .into_owned();
                *self.counts.entry((*kind).to_string()).or_default() += n;
            }
        }
        out
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (String, BTreeMap<String, usize>) {
        let mut r = Redactor::default();
        let out = r.redact(text);
        (out, r.counts)
    }

    #[test]
    fn known_token_shapes_are_redacted_by_kind() {
        let gh = format!("ghp_{}", "a1B2".repeat(9));
        let (out, counts) = one(&format!("token {gh} here"));
        assert_eq!(out, "token [redacted: github-token] here");
        assert_eq!(counts["github-token"], 1);

        let (out, _) = one(&format!("key=sk-ant-api03-{}", "x".repeat(30)));
        assert_eq!(out, "key=[redacted: anthropic-key]");
        let (out, _) = one(&format!("OPENAI sk-proj-{}", "Ab9".repeat(10)));
        assert_eq!(out, "OPENAI [redacted: openai-key]");
        let (out, _) = one("id AKIAIOSFODNN7EXAMPLE.");
        assert_eq!(out, "id [redacted: aws-access-key].");
        let (out, _) = one("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(out, "[redacted: aws-secret-key]");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let (out, _) = one(&format!("Bearer {jwt}"));
        assert_eq!(out, "Bearer [redacted: jwt]");
    }

    #[test]
    fn private_keys_go_whole_even_when_cut() {
        let (out, c) = one(
            "here:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\nthanks",
        );
        assert_eq!(out, "here:\n[redacted: private-key]\nthanks");
        assert_eq!(c["private-key"], 1);
        let (out, _) = one("-----BEGIN RSA PRIVATE KEY-----\nMIIEow");
        assert_eq!(out, "[redacted: private-key]");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let (out, c) =
            one("fix the sk- prefix parser; ask about AKIA rules; eyJ is base64 for {\"");
        assert_eq!(
            out,
            "fix the sk- prefix parser; ask about AKIA rules; eyJ is base64 for {\""
        );
        assert!(c.is_empty());
    }
}
