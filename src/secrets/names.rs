//! Secret names and environment variable names: validated on input and on every load.
//!
//! Why strict: env var names end up in a shell script sent to a remote host (`run --ssh`) and a
//! committed registry is input an attacker may control; the previous implementation let a
//! registry inject shell that way. Anything outside these grammars is refused.

use anyhow::{Result, bail};

/// `^[a-z](-?[a-z0-9])*$`: lower-case words joined by single hyphens.
pub fn validate_name(name: &str) -> Result<()> {
    if is_valid_name(name) {
        Ok(())
    } else {
        bail!(
            "invalid secret name {:?}: use lower-case letters, digits and single hyphens, starting with a letter (e.g. github-token)",
            truncate(name)
        )
    }
}

/// `^[A-Z][A-Z0-9_]*$`
pub fn validate_env(var: &str) -> Result<()> {
    if is_valid_env(var) {
        Ok(())
    } else {
        bail!(
            "invalid environment variable name {:?}: use upper-case letters, digits and underscores, starting with a letter (e.g. GITHUB_TOKEN)",
            truncate(var)
        )
    }
}

pub(crate) fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() {
        return false;
    }
    let mut prev_hyphen = false;
    for &c in &b[1..] {
        match c {
            b'-' if prev_hyphen => return false,
            b'-' => prev_hyphen = true,
            b'a'..=b'z' | b'0'..=b'9' => prev_hyphen = false,
            _ => return false,
        }
    }
    !prev_hyphen
}

pub(crate) fn is_valid_env(var: &str) -> bool {
    let b = var.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_uppercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

/// The default variable for a name: `github-token` → `GITHUB_TOKEN`.
pub fn default_env(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// Names in error messages are user input: keep them short (by characters, never bytes).
fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() > MAX {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "github-token", "a1-b2", "x9"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "", "A", "1a", "-a", "a-", "a--b", "a_b", "a b", "ä", "a;rm", "a.b",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn envs() {
        for ok in ["A", "GITHUB_TOKEN", "A_1", "X__"] {
            assert!(is_valid_env(ok), "{ok}");
        }
        for bad in ["", "a", "_A", "1A", "A-B", "A B", "A;B", "$(x)", "Ä"] {
            assert!(!is_valid_env(bad), "{bad}");
        }
    }

    #[test]
    fn default_env_maps_hyphens() {
        assert_eq!(default_env("github-token"), "GITHUB_TOKEN");
        assert!(is_valid_env(&default_env("a1-b2")));
    }

    #[test]
    fn truncates_by_chars() {
        let long = "ä".repeat(100);
        let msg = validate_name(&long).unwrap_err().to_string();
        assert!(msg.contains('…'));
    }
}
