//! Who a tag or commit is by: the same rule as git itself.
//!
//! git takes the author from `GIT_AUTHOR_NAME` / `GIT_AUTHOR_EMAIL` / `GIT_AUTHOR_DATE`, the
//! committer (and a tag's tagger) from `GIT_COMMITTER_*`; without them it reads `author.*` /
//! `committer.*` from the config, then `user.*`, and for the e-mail `$EMAIL` (git-commit-tree(1),
//! "COMMIT INFORMATION"; git-config(1) `author.name`). libgit2's `Repository::signature()` reads
//! only `user.*`, so a session tag made under `GIT_COMMITTER_NAME=ci` would name someone else than
//! `git tag -a` run in the same environment. Where git would refuse to guess, we fall back to
//! `patina <patina@localhost>` so a repository without an identity still gets its tags.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset};
use git2::{Repository, Signature, Time};

/// Whose identity is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Committer,
}

impl Role {
    fn env_prefix(self) -> &'static str {
        match self {
            Role::Author => "GIT_AUTHOR",
            Role::Committer => "GIT_COMMITTER",
        }
    }
    fn config_section(self) -> &'static str {
        match self {
            Role::Author => "author",
            Role::Committer => "committer",
        }
    }
}

const FALLBACK_NAME: &str = "patina";
const FALLBACK_EMAIL: &str = "patina@localhost";

/// The signature git would use for `role` in `repo`, read from `env` (the process environment in
/// production; tests pass their own).
pub fn signature_with(
    repo: &Repository,
    role: Role,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Signature<'static>> {
    let config = repo.config().ok();
    let conf = |key: &str| -> Option<String> {
        config
            .as_ref()
            .and_then(|c| c.get_string(key).ok())
            .filter(|v| !v.trim().is_empty())
    };
    let var = |suffix: &str| -> Option<String> {
        env(&format!("{}_{suffix}", role.env_prefix())).filter(|v| !v.trim().is_empty())
    };
    let name = var("NAME")
        .or_else(|| conf(&format!("{}.name", role.config_section())))
        .or_else(|| conf("user.name"))
        .unwrap_or_else(|| FALLBACK_NAME.to_string());
    let email = var("EMAIL")
        .or_else(|| conf(&format!("{}.email", role.config_section())))
        .or_else(|| conf("user.email"))
        .or_else(|| env("EMAIL").filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| FALLBACK_EMAIL.to_string());
    let date_var = format!("{}_DATE", role.env_prefix());
    let sig = match env(&date_var).filter(|v| !v.trim().is_empty()) {
        Some(raw) => {
            let t = parse_git_date(&raw)
                .with_context(|| format!("{date_var}={raw:?} is not a date git understands"))?;
            Signature::new(&name, &email, &t)
        }
        None => Signature::now(&name, &email),
    };
    sig.with_context(|| {
        format!(
            "building the git {} signature {name} <{email}>",
            role.config_section()
        )
    })
}

/// The signature git would use for `role`, from the process environment.
pub fn signature(repo: &Repository, role: Role) -> Result<Signature<'static>> {
    signature_with(repo, role, &|k| std::env::var(k).ok())
}

/// The date formats git documents for `GIT_*_DATE` (git-commit-tree(1), "DATE FORMATS"): its
/// internal `<unix seconds> <+hhmm>` (optionally `@`-prefixed), RFC 2822 and ISO 8601.
fn parse_git_date(raw: &str) -> Result<Time> {
    let s = raw.trim();
    let internal = s.strip_prefix('@').unwrap_or(s);
    let mut parts = internal.split_whitespace();
    if let (Some(secs), tz, None) = (parts.next(), parts.next(), parts.next())
        && let Ok(secs) = secs.parse::<i64>()
    {
        let offset = match tz {
            Some(tz) => parse_offset(tz).with_context(|| format!("bad time zone {tz:?}"))?,
            None => 0,
        };
        return Ok(Time::new(secs, offset));
    }
    let zoned = DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
        .ok();
    // ISO 8601 without a zone is local time in git; the offset is the machine's.
    let local = || {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
            .ok()
            .and_then(|n| n.and_local_timezone(chrono::Local).single())
            .map(|d| d.fixed_offset())
    };
    let dt: DateTime<FixedOffset> = zoned
        .or_else(local)
        .ok_or_else(|| anyhow::anyhow!("expected `<unix> <+hhmm>`, RFC 2822 or ISO 8601"))?;
    Ok(Time::new(
        dt.timestamp(),
        dt.offset().local_minus_utc() / 60,
    ))
}

/// `+0130` → 90 minutes.
fn parse_offset(tz: &str) -> Result<i32> {
    let (sign, digits) = match tz.as_bytes().first() {
        Some(b'+') => (1, &tz[1..]),
        Some(b'-') => (-1, &tz[1..]),
        _ => bail!("expected +hhmm or -hhmm"),
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!("expected +hhmm or -hhmm");
    }
    let h: i32 = digits[..2].parse()?;
    let m: i32 = digits[2..].parse()?;
    Ok(sign * (h * 60 + m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_date_formats() {
        let t = parse_git_date("1700000000 +0130").unwrap();
        assert_eq!((t.seconds(), t.offset_minutes()), (1_700_000_000, 90));
        let t = parse_git_date("@1700000000 -0500").unwrap();
        assert_eq!((t.seconds(), t.offset_minutes()), (1_700_000_000, -300));
        let t = parse_git_date("Thu, 07 Apr 2005 22:13:13 +0200").unwrap();
        assert_eq!((t.seconds(), t.offset_minutes()), (1_112_904_793, 120));
        let t = parse_git_date("2005-04-07T22:13:13+02:00").unwrap();
        assert_eq!(t.seconds(), 1_112_904_793);
        assert!(parse_git_date("yesterday-ish").is_err());
        assert!(parse_git_date("1700000000 0130").is_err());
    }
}
