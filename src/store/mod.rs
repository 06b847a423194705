//! Durable file primitives shared by every domain module.
//!
//! Why one place: the previous implementation overwrote files in place, chmodded secrets after
//! creating them (a window at umask permissions) and had no locks where two writers meet. Every
//! write that matters goes through here: temp file in the same directory, fsync, rename, fsync of
//! the directory; files holding secrets are created 0600 from the first byte; read-modify-write
//! cycles run under an exclusive advisory lock on a sidecar lock file.
//!
//! Directories are created with an explicit mode, never the umask's (under `umask 000` a plain
//! `create_dir_all` makes 0777 directories): 0700 inside `PATINA_HOME` and inside a project's
//! `.patina/local/` (they hold session text, indexes, logs, sockets), 0755 elsewhere. See
//! [`create_dirs`], [`private_dir`] and [`ensure_private_dir`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Mode for files that may hold secrets or tokens.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode for directories that hold private files or sockets.
pub const PRIVATE_DIR: u32 = 0o700;
/// Mode for directories of shared project files (layer/, sessions/, .patina/).
pub const SHARED_DIR: u32 = 0o755;

/// The mode a directory patina creates at `dir` gets: [`PRIVATE_DIR`] for `PATINA_HOME` and
/// everything in it, and for a project's `.patina/local` and everything in it; [`SHARED_DIR`]
/// elsewhere.
pub fn dir_mode_for(dir: &Path) -> u32 {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let home = crate::paths::patina_home();
    let home = std::path::absolute(&home).unwrap_or(home);
    if dir.starts_with(&home) {
        return PRIVATE_DIR;
    }
    let parts: Vec<Component<'_>> = dir.components().collect();
    let in_local = parts.windows(2).any(|w| {
        w[0] == Component::Normal(std::ffi::OsStr::new(".patina"))
            && w[1] == Component::Normal(std::ffi::OsStr::new("local"))
    });
    if in_local { PRIVATE_DIR } else { SHARED_DIR }
}

/// Create `dir` and its missing parents, each with [`dir_mode_for`] its path, set by mkdir(2)
/// itself (no chmod window; the umask can only remove bits). Existing directories are left as
/// they are.
pub fn create_dirs(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = dir;
    loop {
        match fs::symlink_metadata(cur) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(cur.to_path_buf());
                match cur.parent() {
                    Some(p) if !p.as_os_str().is_empty() => cur = p,
                    _ => break,
                }
            }
            Err(e) => return Err(e).with_context(|| format!("inspecting {}", cur.display())),
        }
    }
    for d in missing.iter().rev() {
        let mut b = fs::DirBuilder::new();
        b.mode(dir_mode_for(d));
        match b.create(d) {
            Ok(()) => {}
            // Another process made it first: fine, it is checked by whoever needs it private.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating directory {}", d.display())),
        }
    }
    Ok(())
}

/// Make `dir` a private directory (0700, ours, not a symlink) for files we own: create it
/// (and its parents, see [`create_dirs`]) when missing; narrow the mode of an existing one of
/// ours that is wider (an older patina or the umask made it). Refuses symlinks, non-directories
/// and directories of other users. For `run/`, where a directory that was ever open to others
/// cannot be trusted again, use [`ensure_private_dir`], which refuses instead of narrowing.
pub fn private_dir(dir: &Path) -> Result<()> {
    create_dirs(dir)?;
    let meta = check_own_dir(dir)?;
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR))
            .with_context(|| format!("making {} private (mode 700)", dir.display()))?;
    }
    Ok(())
}

fn check_own_dir(dir: &Path) -> Result<fs::Metadata> {
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("inspecting {}", dir.display()))?;
    // What is in the way is the file system's state, not the caller's mistake: kind `io`.
    let refuse = |why: String| -> anyhow::Error { crate::error::Error::io(why).into() };
    if meta.file_type().is_symlink() {
        return Err(refuse(format!(
            "{} is a symlink; refusing to use it",
            dir.display()
        )));
    }
    if !meta.is_dir() {
        return Err(refuse(format!("{} is not a directory", dir.display())));
    }
    let uid = current_uid();
    if meta.uid() != uid {
        return Err(refuse(format!(
            "{} is owned by uid {}, not by the current user (uid {uid}); refusing to use it",
            dir.display(),
            meta.uid()
        )));
    }
    Ok(meta)
}

/// Open `path` for appending (logs): created 0600, never through a symlink (O_NOFOLLOW), and
/// only when it is a regular file of ours with a single link (a hard link planted by someone
/// else would make us write into their file). An existing file of ours with a wider mode is
/// narrowed to 0600. The caller makes the directory private first ([`private_dir`]).
pub fn open_private_append(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE_FILE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                anyhow::anyhow!(
                    "{} is a symlink; refusing to write through it",
                    path.display()
                )
            } else {
                anyhow::Error::new(e).context(format!("opening {}", path.display()))
            }
        })?;
    let meta = file
        .metadata()
        .with_context(|| format!("inspecting {}", path.display()))?;
    let uid = current_uid();
    if !meta.is_file() {
        bail!(
            "{} is not a regular file; refusing to write to it",
            path.display()
        );
    }
    if meta.uid() != uid {
        bail!(
            "{} is owned by uid {}, not by the current user (uid {uid}); refusing to write to it",
            path.display(),
            meta.uid()
        );
    }
    if meta.nlink() != 1 {
        bail!(
            "{} has {} hard links; refusing to write to it (it may be someone else's file)",
            path.display(),
            meta.nlink()
        );
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE))
            .with_context(|| format!("making {} private (mode 600)", path.display()))?;
    }
    Ok(file)
}

/// Atomically replace `path` with `bytes`.
///
/// The temp file is created in the same directory (so the rename cannot cross filesystems) with
/// `mode` set at creation, fsynced, renamed over the target, and the directory fsynced so the
/// rename itself survives a crash. A reader sees the old or the new content, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent_dir(path);
    create_dirs(&dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("patina")
        ))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .with_context(|| format!("creating temp file in {}", dir.display()))?;
    // tempfile applies the mode at open(2), but umask could only remove bits; make sure the
    // final mode is exactly what was asked for without ever widening it in between.
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", path.display()))?;
    sync_dir(&dir);
    Ok(())
}

/// Create a new file with 0600 from the first byte; refuses to overwrite an existing file.
pub fn create_private_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    create_dirs(&dir)?;
    // Write to a private temp file first, then hard-link it into place: link(2) fails when the
    // target exists, so there is never a half-written or wider-mode file under the final name.
    let mut tmp = tempfile::Builder::new()
        .prefix(".patina-new.")
        .permissions(fs::Permissions::from_mode(PRIVATE_FILE))
        .tempfile_in(&dir)
        .with_context(|| format!("creating temp file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.as_file().sync_all()?;
    match fs::hard_link(tmp.path(), path) {
        Ok(()) => {
            sync_dir(&dir);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            bail!(
                "{} already exists; refusing to overwrite it",
                path.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// Read a text file that is only ever extended by [`update_locked`]'s appends. A writer killed
/// in the middle of an append (SIGKILL stops a large write(2) at a page boundary) can leave the
/// first bytes of a multi-byte character at the very end: that incomplete sequence is dropped and
/// `true` says so (the text before it is what the last complete write left, plus part of the
/// entry). Invalid UTF-8 anywhere else is an error (`InvalidData`), as with `read_to_string`.
pub fn read_text_torn(path: &Path) -> io::Result<(String, bool)> {
    let bytes = fs::read(path)?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, false)),
        Err(e) if e.utf8_error().error_len().is_none() => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            // Cannot fail: the bytes up to `valid_up_to` are valid UTF-8.
            let s = String::from_utf8(bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            Ok((s, true))
        }
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.utf8_error())),
    }
}

/// Read a file to a string, naming the file in the error.
pub fn read_to_string(path: &Path) -> Result<String> {
    let mut s = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(s)
}

/// An exclusive advisory lock on a sidecar lock file, released on drop.
///
/// Uses flock(2) through `std::fs::File::lock`, so a process that dies (even by SIGKILL) releases
/// it: a crashed writer never wedges the next one.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Block until the exclusive lock on `lock_path` is held (the file is created if missing).
    pub fn acquire(lock_path: &Path) -> Result<FileLock> {
        let file = open_lock_file(lock_path)?;
        file.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        Ok(FileLock {
            file,
            path: lock_path.to_path_buf(),
        })
    }

    /// Take the lock only if nobody holds it; `Ok(None)` when it is held elsewhere.
    pub fn try_acquire(lock_path: &Path) -> Result<Option<FileLock>> {
        let file = open_lock_file(lock_path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock {
                file,
                path: lock_path.to_path_buf(),
            })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", lock_path.display()))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open lock file, e.g. to record a pid in it while the lock is held.
    pub fn file(&self) -> &File {
        &self.file
    }
}

fn open_lock_file(lock_path: &Path) -> Result<File> {
    let dir = parent_dir(lock_path);
    create_dirs(&dir)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE)
        .open(lock_path)
        .with_context(|| format!("opening lock file {}", lock_path.display()))
}

/// Read-modify-write `path` under the exclusive lock `lock_path`, replacing it atomically.
///
/// `edit` receives the current content (`None` when the file does not exist) and returns the new
/// content, or `None` to leave the file as it is. Writers in different processes serialise on the
/// lock, so none of them loses another's change.
pub fn update_locked<T>(
    path: &Path,
    lock_path: &Path,
    mode: u32,
    edit: impl FnOnce(Option<String>) -> Result<(Option<String>, T)>,
) -> Result<T> {
    let _lock = FileLock::acquire(lock_path)?;
    let (current, torn) = match read_text_torn(path) {
        Ok((s, torn)) => (Some(s), torn),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (None, false),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let (next, out) = edit(current.clone())?;
    if let Some(next) = next {
        let appended = match &current {
            // A torn tail is still on disk: the whole file is replaced, never appended to.
            Some(cur) if !torn && next.len() > cur.len() && next.starts_with(cur.as_str()) => {
                durable_append(path, &next.as_bytes()[cur.len()..])?
            }
            _ => false,
        };
        if !appended {
            atomic_write(path, next.as_bytes(), mode)?;
        }
    }
    Ok(out)
}

/// When an edit only adds text at the end (a note, an update entry), write just that suffix:
/// `O_APPEND`, then `fdatasync`. That is one durable write instead of temp file + fsync + rename +
/// directory fsync, and it is as safe under the lock: a writer killed mid-way leaves the old text
/// followed by part of the new entry, which still parses (the next full rewrite normalises it).
/// `false` (nothing written) when the path is not a plain file we can append to without following
/// a symlink; the caller then falls back to the atomic replace.
fn durable_append(path: &Path, suffix: &[u8]) -> Result<bool> {
    let mut file = match fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(_) => return Ok(false),
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(false);
    }
    file.write_all(suffix)
        .and_then(|()| file.sync_data())
        .with_context(|| format!("appending to {}", path.display()))?;
    Ok(true)
}

/// Create `dir` (and parents, see [`create_dirs`]) as a private directory: mode 0700, owned by
/// us, not a symlink.
///
/// The final component is created with mode 0700 by mkdir(2) itself (no chmod window). An
/// existing directory is accepted only when it is a real directory owned by the current user
/// with no group/other bits; anything else is refused with the reason (used for `run/`: a
/// directory that was open to others may hold what they planted).
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    builder.mode(PRIVATE_DIR);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    let meta = check_own_dir(dir)?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} has mode {:o}; it must not be accessible to group or others (expected 700; \
             `chmod 700 {}` if nobody else could have written to it)",
            dir.display(),
            mode,
            dir.display()
        );
    }
    Ok(())
}

/// How strict [`dir_problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirRule {
    /// Mode 0700: no group/other bits at all (`run/`, which holds the socket).
    Private,
    /// No group/other *write* bits: nobody else can replace what is in it (`PATINA_HOME`, which
    /// patina creates 0700 but which older versions or the user may have made 0755).
    NotWritableByOthers,
}

/// What makes `dir` unfit to hold the daemon's socket (or its parent), in words: a symlink,
/// not a directory, another owner, a mode that lets others in. `Ok(None)` when it is fine;
/// `Err` (NotFound, ...) when it cannot be inspected.
pub fn dir_problem(dir: &Path, rule: DirRule) -> io::Result<Option<String>> {
    let meta = fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Ok(Some("is a symlink".into()));
    }
    if !meta.is_dir() {
        return Ok(Some("is not a directory".into()));
    }
    let uid = current_uid();
    if meta.uid() != uid {
        return Ok(Some(format!(
            "is owned by uid {}, not by you (uid {uid})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    let bad = match rule {
        DirRule::Private => mode & 0o077 != 0,
        DirRule::NotWritableByOthers => mode & 0o022 != 0,
    };
    if bad {
        let want = match rule {
            DirRule::Private => "700",
            DirRule::NotWritableByOthers => "700 (at least not writable by group or others)",
        };
        return Ok(Some(format!(
            "has mode {mode:o}: others could replace what is in it (expected {want})"
        )));
    }
    Ok(None)
}

/// The real uid of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid(2) has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) {
    // Best effort: some filesystems refuse fsync on directories; the data itself is synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_multibyte_tail_is_dropped_and_the_next_update_rewrites_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.md");
        let lock = dir.path().join("s.lock");
        // "é" is two bytes: an append killed between them leaves one
        let mut bytes = "old text\nnote é".as_bytes().to_vec();
        bytes.pop();
        fs::write(&p, &bytes).unwrap();
        assert_eq!(
            read_text_torn(&p).unwrap(),
            ("old text\nnote ".to_string(), true)
        );
        update_locked(&p, &lock, 0o600, |cur| {
            let cur = cur.unwrap();
            assert_eq!(cur, "old text\nnote ");
            Ok((Some(format!("{cur}\nnext")), ()))
        })
        .unwrap();
        // replaced whole (an append would have kept the stray byte before the new text)
        assert_eq!(fs::read_to_string(&p).unwrap(), "old text\nnote \nnext");
        // invalid UTF-8 before the end is still an error
        fs::write(&p, b"a\xffb").unwrap();
        assert_eq!(
            read_text_torn(&p).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        atomic_write(&p, b"one", 0o600).unwrap();
        atomic_write(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        // no temp files left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn create_private_new_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        create_private_new(&p, b"x").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let err = create_private_new(&p, b"y").unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(fs::read_to_string(&p).unwrap(), "x");
    }

    #[test]
    fn private_dir_refuses_symlink_and_wide_mode() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        ensure_private_dir(&real).unwrap();
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o777, 0o700);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(ensure_private_dir(&link).is_err());
        fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&real).unwrap_err().to_string();
        assert!(err.contains("mode 755"), "{err}");
    }

    #[test]
    fn created_dirs_get_their_location_mode() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("proj/.patina/local/index/gen-1");
        create_dirs(&local).unwrap();
        let m = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(m(&dir.path().join("proj")), SHARED_DIR & !umask_now());
        assert_eq!(
            m(&dir.path().join("proj/.patina")),
            SHARED_DIR & !umask_now()
        );
        assert_eq!(m(&dir.path().join("proj/.patina/local")), PRIVATE_DIR);
        assert_eq!(m(&local), PRIVATE_DIR);
    }

    fn umask_now() -> u32 {
        // Read the umask from /proc (setting it would race other tests).
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }

    #[test]
    fn private_dir_narrows_our_own_wide_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("logs");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&d).unwrap();
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(private_dir(&link).is_err());
    }

    #[test]
    fn append_refuses_symlinks_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("patina.log");
        let f = open_private_append(&log).unwrap();
        drop(f);
        assert_eq!(fs::metadata(&log).unwrap().mode() & 0o777, 0o600);
        let target = dir.path().join("victim");
        fs::write(&target, "x").unwrap();
        let sym = dir.path().join("sym.log");
        std::os::unix::fs::symlink(&target, &sym).unwrap();
        let e = open_private_append(&sym).unwrap_err().to_string();
        assert!(e.contains("symlink"), "{e}");
        let hard = dir.path().join("hard.log");
        fs::hard_link(&target, &hard).unwrap();
        let e = open_private_append(&hard).unwrap_err().to_string();
        assert!(e.contains("hard links"), "{e}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "x");
    }

    #[test]
    fn update_locked_sees_previous_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.md");
        let l = dir.path().join("log.lock");
        for i in 0..3 {
            update_locked(&p, &l, 0o644, |cur| {
                Ok((Some(format!("{}{i}", cur.unwrap_or_default())), ()))
            })
            .unwrap();
        }
        assert_eq!(fs::read_to_string(&p).unwrap(), "012");
    }
}
