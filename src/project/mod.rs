//! A patina project: its root, its layout and its tracked configuration.
//!
//! Root discovery (DESIGN §3): the nearest ancestor of the working directory that has `.patina/`,
//! else the git work-tree root. Never the bare cwd: a command run from `src/deep/dir` acts on the
//! root and creates nothing in the subdirectory.

mod config;
mod init;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::Error;

pub use config::ProjectConfig;
pub use init::{InitReport, init};

/// Where a project lives and what its layout is.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    config: ProjectConfig,
}

impl Project {
    /// Find the project that `cwd` belongs to (see the module docs).
    pub fn discover(cwd: &Path) -> Result<Project> {
        let root = find_root(cwd)?;
        Project::open(&root)
    }

    /// The project a request names by its root (`?project=`, a body field, a backend call):
    /// the path must be absolute (usage error otherwise) and an existing directory (not found),
    /// then it is discovered like a cwd. One rule for the daemon and the in-process backend.
    pub fn named(root: &Path) -> Result<Project> {
        if !root.is_absolute() {
            return Err(Error::usage(format!(
                "project must be an absolute path, got {:?}",
                root.display().to_string()
            ))
            .into());
        }
        if !root.is_dir() {
            return Err(Error::not_found(format!("no directory at {}", root.display())).into());
        }
        Project::discover(root)
    }

    /// Open the project rooted exactly at `root` (no search upwards).
    pub fn open(root: &Path) -> Result<Project> {
        let root = root
            .canonicalize()
            .with_context(|| format!("resolving project root {}", root.display()))?;
        let config_path = root.join(".patina").join("config.toml");
        let config = ProjectConfig::load(&config_path)?;
        if let Some(dir) = config.sessions_dir() {
            inside_root(&root, dir).map_err(|why| {
                crate::error::Error::invalid_input(format!(
                    "{}: key `project.sessions_dir` = {dir:?} {why}; use a path inside the project, such as \"sessions\"",
                    config_path.display()
                ))
                .in_file(&config_path)
                .at_field("project.sessions_dir")
            })?;
        }
        Ok(Project { root, config })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &ProjectConfig {
        &self.config
    }

    /// True when `.patina/` exists (the project was initialised).
    pub fn is_initialized(&self) -> bool {
        self.root.join(".patina").is_dir()
    }

    /// `.patina/`
    pub fn patina_dir(&self) -> PathBuf {
        self.root.join(".patina")
    }

    /// `.patina/local/` — git-ignored per-checkout state.
    pub fn local_dir(&self) -> PathBuf {
        self.root.join(".patina").join("local")
    }

    /// `.patina/local/active-session.md`
    pub fn active_session_path(&self) -> PathBuf {
        self.local_dir().join("active-session.md")
    }

    /// `.patina/local/session.lock` — serialises every writer of the active session.
    pub fn session_lock_path(&self) -> PathBuf {
        self.local_dir().join("session.lock")
    }

    /// `.patina/local/last-session.md` — pointer to the last ended session.
    pub fn last_session_path(&self) -> PathBuf {
        self.local_dir().join("last-session.md")
    }

    /// `.patina/local/index/` — scry's index.
    pub fn index_dir(&self) -> PathBuf {
        self.local_dir().join("index")
    }

    /// The sessions archive: the configured dir, else `layer/sessions/` when it exists (patina
    /// 0.11 layout), else `sessions/`.
    pub fn sessions_dir(&self) -> PathBuf {
        if let Some(dir) = self.config.sessions_dir() {
            // Checked by `open` to stay inside the root.
            return inside_root(&self.root, dir).unwrap_or_else(|_| self.root.join("sessions"));
        }
        let legacy = self.root.join("layer").join("sessions");
        if legacy.is_dir() {
            legacy
        } else {
            self.root.join("sessions")
        }
    }

    /// `layer/`
    pub fn layer_dir(&self) -> PathBuf {
        self.root.join("layer")
    }

    /// `layer/core/`
    pub fn core_dir(&self) -> PathBuf {
        self.layer_dir().join("core")
    }

    /// `layer/surface/`
    pub fn surface_dir(&self) -> PathBuf {
        self.layer_dir().join("surface")
    }

    /// `layer/surface/epistemic/beliefs/`
    pub fn beliefs_dir(&self) -> PathBuf {
        self.surface_dir().join("epistemic").join("beliefs")
    }
}

/// Check that the configured relative path `rel` stays inside `root` once `..` and symlinks are
/// resolved (a committed config must not make patina read or write elsewhere). `root` is
/// canonical. The error says why not.
fn inside_root(root: &Path, rel: &str) -> std::result::Result<PathBuf, &'static str> {
    let rel_path = Path::new(rel);
    if rel.trim().is_empty() {
        return Err("is empty");
    }
    if rel_path.is_absolute() {
        return Err("is an absolute path");
    }
    // Resolve the longest prefix that exists (symlinks included), then the rest lexically.
    let mut resolved = root.to_path_buf();
    let mut components = rel_path.components().peekable();
    while let Some(c) = components.next() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !resolved.pop() {
                    return Err("leaves the project root");
                }
            }
            std::path::Component::Normal(part) => {
                let next = resolved.join(part);
                resolved = match next.canonicalize() {
                    Ok(real) => real,
                    Err(_) => next,
                };
            }
            _ => return Err("is not a plain relative path"),
        }
        if !resolved.starts_with(root) {
            return Err(
                if components.peek().is_some() || c == std::path::Component::ParentDir {
                    "leaves the project root"
                } else {
                    "resolves (through a symlink) outside the project root"
                },
            );
        }
    }
    if resolved == root {
        return Err("is the project root itself");
    }
    Ok(resolved)
}

fn find_root(cwd: &Path) -> Result<PathBuf> {
    let cwd = cwd
        .canonicalize()
        .with_context(|| format!("resolving {}", cwd.display()))?;
    for dir in cwd.ancestors() {
        if dir.join(".patina").is_dir() {
            return Ok(dir.to_path_buf());
        }
    }
    crate::git::discover_workdir(&cwd).ok_or_else(|| not_a_project(&cwd))
}

fn not_a_project(cwd: &Path) -> anyhow::Error {
    Error::not_in_project(format!(
        "{} is not inside a patina project or a git repository; run `git init` and `patina init` first",
        cwd.display()
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_patina_dir_from_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".patina")).unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        let p = Project::discover(&dir.path().join("a/b")).unwrap();
        assert_eq!(p.root(), dir.path().canonicalize().unwrap());
    }

    #[test]
    fn configured_paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("inner")).unwrap();
        assert!(inside_root(&root, "sessions").is_ok());
        assert!(inside_root(&root, "layer/sessions").is_ok());
        assert!(inside_root(&root, "inner/../sessions").is_ok());
        assert_eq!(
            inside_root(&root, "../../x"),
            Err("leaves the project root")
        );
        assert_eq!(inside_root(&root, "/tmp/x"), Err("is an absolute path"));
        assert_eq!(inside_root(&root, "."), Err("is the project root itself"));
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        assert!(inside_root(&root, "link").is_err());
        assert!(inside_root(&root, "link/sub").is_err());
    }

    #[test]
    fn outside_git_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::discover(dir.path()).unwrap_err();
        assert_eq!(
            crate::error::kind_of(&err),
            crate::error::ErrorKind::NotInProject
        );
    }
}
