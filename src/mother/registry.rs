//! `PATINA_HOME/mother/registry.toml`: the projects and remote daemons a federated query fans out
//! to. Created 0600 from the first byte (it may hold tokens), rewritten atomically under a lock,
//! validated on every load (names, absolute paths, URLs, tokens) with errors naming the file and
//! the entry.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::store;

/// A registered local project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectEntry {
    pub name: String,
    /// Canonical project root.
    pub path: PathBuf,
}

/// A registered remote daemon (its `patina serve --listen` address) with its own token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteEntry {
    pub name: String,
    /// `http://host:port` (normalised).
    pub url: String,
    /// Canonical path of a file holding this host's token (read at query time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// The token itself (when given on stdin); the registry is 0600. Never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Search only this project root on the remote host (default: the remote's own registered
    /// local projects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Deadline for this source (default: `[mother] timeout_ms`, else 3000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl std::fmt::Debug for RemoteEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteEntry")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token_file", &self.token_file)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("project", &self.project)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl RemoteEntry {
    /// Host and port of [`RemoteEntry::url`].
    pub fn host_port(&self) -> Result<(String, u16)> {
        parse_url(&self.url)
    }

    /// This host's token, read from its file or the registry; `None` when it has none.
    pub fn read_token(&self) -> Result<Option<Zeroizing<String>>> {
        if let Some(f) = &self.token_file {
            let text = Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading token file {}", f.display()))?,
            );
            let t = Zeroizing::new(text.trim().to_string());
            validate_token(&t).with_context(|| format!("token file {}", f.display()))?;
            return Ok(Some(t));
        }
        if let Some(t) = &self.token {
            validate_token(t).with_context(|| format!("stored token of remote {:?}", self.name))?;
            return Ok(Some(Zeroizing::new(t.clone())));
        }
        Ok(None)
    }

    pub fn timeout(&self, default: Duration) -> Duration {
        self.timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(default)
    }
}

/// The whole registry file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    #[serde(default, rename = "project", skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectEntry>,
    #[serde(default, rename = "remote", skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<RemoteEntry>,
}

const HEADER: &str = "# patina mother registry: projects and remote daemons that `patina scry --all` searches.\n\
# Written by `patina mother add/rm`; 0600 because remote entries may hold tokens.\n\n";

/// `PATINA_HOME/mother`.
pub fn dir() -> PathBuf {
    crate::paths::patina_home().join("mother")
}

/// `PATINA_HOME/mother/registry.toml`.
pub fn path() -> PathBuf {
    dir().join("registry.toml")
}

fn lock_path() -> PathBuf {
    dir().join("registry.lock")
}

impl Registry {
    /// Load and validate the registry; missing is empty.
    pub fn load() -> Result<Registry> {
        let p = path();
        match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registry::default()),
            Err(e) => return Err(e).with_context(|| format!("inspecting {}", p.display())),
            Ok(meta) => check_private(&p, &meta)?,
        }
        let text = store::read_to_string(&p)?;
        Registry::parse(&text, &p)
    }

    fn parse(text: &str, p: &Path) -> Result<Registry> {
        let reg: Registry =
            toml::from_str(text).with_context(|| format!("{}: invalid registry", p.display()))?;
        reg.validate()
            .with_context(|| format!("{}: invalid registry", p.display()))?;
        Ok(reg)
    }

    fn validate(&self) -> Result<()> {
        let mut names: Vec<&str> = vec![];
        for e in &self.projects {
            validate_name(&e.name)?;
            if !e.path.is_absolute() {
                bail!(
                    "project {:?}: path {} is not absolute",
                    e.name,
                    e.path.display()
                );
            }
            names.push(&e.name);
        }
        for r in &self.remotes {
            validate_name(&r.name)?;
            parse_url(&r.url).with_context(|| format!("remote {:?}", r.name))?;
            if r.token.is_some() && r.token_file.is_some() {
                bail!("remote {:?}: both token and token_file are set", r.name);
            }
            if let Some(t) = &r.token {
                validate_token(t).with_context(|| format!("remote {:?}: token", r.name))?;
            }
            if r.timeout_ms == Some(0) {
                return Err(Error::invalid_input(format!(
                    "remote {:?}: timeout_ms must be above 0",
                    r.name
                ))
                .into());
            }
            names.push(&r.name);
        }
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("the name {:?} is registered twice", w[0]);
        }
        Ok(())
    }

    fn to_toml(&self) -> Result<String> {
        Ok(format!(
            "{HEADER}{}",
            toml::to_string(self).context("serialising the registry")?
        ))
    }

    /// True when `name` is taken by any entry.
    pub fn has_name(&self, name: &str) -> bool {
        self.projects.iter().any(|p| p.name == name) || self.remotes.iter().any(|r| r.name == name)
    }

    /// Run `edit` on the current registry under the lock and write the result (0600) atomically.
    pub fn update<T>(edit: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        store::ensure_private_dir(&dir())?;
        let p = path();
        if let Ok(meta) = std::fs::symlink_metadata(&p) {
            check_private(&p, &meta)?;
        }
        store::update_locked(&p, &lock_path(), store::PRIVATE_FILE, |current| {
            let mut reg = match current {
                Some(text) => Registry::parse(&text, &p)?,
                None => Registry::default(),
            };
            let out = edit(&mut reg)?;
            reg.validate()?;
            Ok((Some(reg.to_toml()?), out))
        })
    }
}

/// The registry holds tokens: refuse it when group/others can read it or it isn't ours.
fn check_private(p: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if meta.file_type().is_symlink() || !meta.is_file() {
        bail!("{} is not a regular file; refusing to use it", p.display());
    }
    if meta.uid() != store::current_uid() {
        bail!(
            "{} is not owned by the current user; refusing to use it",
            p.display()
        );
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} has mode {mode:o}; it may hold tokens and must be private: chmod 600 {}",
            p.display(),
            p.display()
        );
    }
    Ok(())
}

/// Names: `^[a-z0-9][a-z0-9._-]{0,62}$` (they prefix hits as `remote/project`, so no `/`).
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        return Err(Error::usage(format!(
            "invalid name {name:?}: use 1-63 of a-z 0-9 . _ - starting with a letter or digit"
        ))
        .into());
    }
    Ok(())
}

/// A name derived from a directory name: lower-cased, other characters as `-`.
pub fn name_from_dir(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name
        .trim_start_matches(['.', '_', '-'])
        .chars()
        .take(63)
        .collect();
    if name.is_empty() {
        "project".into()
    } else {
        name
    }
}

/// Tokens go into an HTTP header: printable ASCII without spaces, at most 512 characters.
pub fn validate_token(t: &str) -> Result<()> {
    if t.is_empty() {
        return Err(Error::invalid_input("the token is empty").into());
    }
    if t.len() > 512 {
        bail!("the token is longer than 512 characters");
    }
    if !t.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("the token may only hold printable ASCII without spaces");
    }
    Ok(())
}

/// `http://host:port[/]` or `host:port` → (host, port). IPv6 hosts in brackets.
pub fn parse_url(url: &str) -> Result<(String, u16)> {
    let bad = |why: &str| -> anyhow::Error {
        Error::usage(format!(
            "invalid remote URL {url:?}: {why} (expected http://HOST:PORT, the address of `patina serve --listen`)"
        ))
        .into()
    };
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err(bad(
            "https is not supported (the daemon speaks plain HTTP on TCP; tunnel it, e.g. `ssh -L`)",
        ));
    } else if url.contains("://") {
        return Err(bad("only http:// is supported"));
    } else {
        url
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@']) || rest.chars().any(|c| c.is_whitespace()) {
        return Err(bad("no path, query, user or spaces allowed"));
    }
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, p) = r.split_once("]:").ok_or_else(|| bad("missing port"))?;
        (h, p)
    } else {
        rest.rsplit_once(':').ok_or_else(|| bad("missing port"))?
    };
    if host.is_empty() || host.contains(['[', ']']) {
        return Err(bad("missing host"));
    }
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// The normalised URL of a host and port.
pub fn format_url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:7420").unwrap(),
            ("127.0.0.1".into(), 7420)
        );
        assert_eq!(parse_url("Box.lan:80/").unwrap(), ("box.lan".into(), 80));
        assert_eq!(parse_url("http://[::1]:9").unwrap(), ("::1".into(), 9));
        assert_eq!(format_url("::1", 9), "http://[::1]:9");
        for bad in [
            "https://x:1",
            "ftp://x:1",
            "http://x",
            "http://x:0",
            "http://x:1/api",
            "http://u@x:1",
            "http://:1",
            "x:99999",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        for ok in ["patina", "a", "my-repo.v2", "0x_1"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "A", "-x", "a/b", "a b", &"x".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert_eq!(name_from_dir(Path::new("/x/My Repo")), "my-repo");
        assert_eq!(name_from_dir(Path::new("/x/.hidden")), "hidden");
        assert_eq!(name_from_dir(Path::new("/")), "project");
    }

    #[test]
    fn tokens() {
        validate_token("abc-DEF_0123+/=").unwrap();
        for bad in ["", "a b", "a\r\nX-Evil: 1", "é"] {
            assert!(validate_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registry_round_trip_and_duplicates() {
        let reg = Registry {
            projects: vec![ProjectEntry {
                name: "a".into(),
                path: "/x/a".into(),
            }],
            remotes: vec![RemoteEntry {
                name: "box".into(),
                url: "http://box:7420".into(),
                token_file: None,
                token: Some("t0k".into()),
                project: None,
                timeout_ms: Some(500),
            }],
        };
        let text = reg.to_toml().unwrap();
        assert_eq!(Registry::parse(&text, Path::new("r")).unwrap(), reg);
        assert!(!format!("{reg:?}").contains("t0k"));
        let mut dup = reg.clone();
        dup.remotes[0].name = "a".into();
        assert!(dup.validate().is_err());
        assert!(
            Registry::parse(
                "[[project]]\nname = \"a\"\npath = \"rel\"\n",
                Path::new("r")
            )
            .is_err()
        );
    }
}
