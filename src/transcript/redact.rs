//! Privacy: nothing that looks like a secret leaves an agent's log into a session file or onto
//! stdout. Known token shapes and the values of unlocked secrets are replaced by
//! `[redacted: <kind>]`, and every hit is counted by kind.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use zeroize::Zeroizing;

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

/// Values shorter than this are not scanned for (a 3-character "secret" would redact words).
const MIN_SECRET_LEN: usize = 6;

/// Scans text for secrets and counts what it replaced.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Values of unlocked secrets, longest first so a value containing another wins.
    values: Vec<Zeroizing<String>>,
    /// Texts already scanned for secret values elsewhere (the daemon): raw → (redacted, hits).
    precomputed: HashMap<String, (String, usize)>,
    pub counts: BTreeMap<String, usize>,
}

/// Replace each of `values` (unlocked secrets) in each text by `[redacted: secret]`; returns the
/// texts and how many replacements each needed. For the daemon, which holds the values: it can
/// answer a batch of texts without the values ever leaving it.
pub fn redact_values(texts: &[String], values: &[Zeroizing<String>]) -> Vec<(String, usize)> {
    let r = Redactor::new(values.to_vec());
    texts.iter().map(|t| r.replace_values(t)).collect()
}

impl Redactor {
    pub fn new(mut values: Vec<Zeroizing<String>>) -> Redactor {
        values.retain(|v| v.chars().count() >= MIN_SECRET_LEN);
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Redactor {
            values,
            precomputed: HashMap::new(),
            counts: BTreeMap::new(),
        }
    }

    /// Use answers computed elsewhere for these raw texts (same order as `answers`).
    pub fn with_precomputed(mut self, texts: Vec<String>, answers: Vec<(String, usize)>) -> Self {
        if texts.len() == answers.len() {
            self.precomputed = texts.into_iter().zip(answers).collect();
        }
        self
    }

    fn replace_values(&self, text: &str) -> (String, usize) {
        let mut out = text.to_string();
        let mut hits = 0;
        for v in &self.values {
            let n = out.matches(v.as_str()).count();
            if n > 0 {
                out = out.replace(v.as_str(), "[redacted: secret]");
                hits += n;
            }
        }
        (out, hits)
    }

    /// `text` with every secret replaced by `[redacted: <kind>]`.
    pub fn redact(&mut self, text: &str) -> String {
        let (mut out, mut hits) = self.replace_values(text);
        if let Some((pre, n)) = self.precomputed.get(text) {
            let again = self.replace_values(pre).0;
            out = again;
            hits += *n;
        }
        if hits > 0 {
            *self.counts.entry("secret".into()).or_default() += hits;
        }
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
    fn unlocked_secret_values_are_redacted_and_short_ones_ignored() {
        let mut r = Redactor::new(vec![
            Zeroizing::new("hunter2-very-secret".to_string()),
            Zeroizing::new("abc".to_string()),
        ]);
        let out = r.redact("pw hunter2-very-secret and abc, hunter2-very-secret");
        assert_eq!(out, "pw [redacted: secret] and abc, [redacted: secret]");
        assert_eq!(r.total(), 2);
        // The daemon-side batch gives the same answer, and a redactor fed those answers counts them.
        let texts = vec!["a hunter2-very-secret b".to_string(), "clean".to_string()];
        let answers = redact_values(&texts, &[Zeroizing::new("hunter2-very-secret".to_string())]);
        assert_eq!(answers[0], ("a [redacted: secret] b".to_string(), 1));
        let mut r = Redactor::default().with_precomputed(texts, answers);
        assert_eq!(
            r.redact("a hunter2-very-secret b"),
            "a [redacted: secret] b"
        );
        assert_eq!(r.redact("clean"), "clean");
        assert_eq!(r.counts["secret"], 1);
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
