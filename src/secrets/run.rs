//! `secrets run`: build the child's environment, spawn it (locally or through ssh), pass its
//! exit status through.
//!
//! The child gets the parent's environment minus the identity, passphrase and token variables,
//! plus the released variables. Values go only into the child's environment (or, for `--ssh`,
//! into the script written to ssh's stdin): never argv, never our stdout/stderr.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::names;
use super::vault::SecretValue;
use crate::error::Error;

/// Released variables: env var → value.
pub type EnvValues = BTreeMap<String, SecretValue>;

/// True for variables the child must not inherit: `PATINA_IDENTITY*`, `PATINA_PASSPHRASE*` and
/// patina's tokens (`PATINA_*` with a `TOKEN` word).
pub fn is_withheld(key: &OsStr) -> bool {
    let k = key.as_bytes();
    k.starts_with(b"PATINA_IDENTITY")
        || k.starts_with(b"PATINA_PASSPHRASE")
        // a `TOKEN` word (PATINA_REMOTE_TOKEN, PATINA_TOKEN_FILE), not PATINA_EMBED_TOKENIZER
        || (k.starts_with(b"PATINA_") && k.split(|b| *b == b'_').any(|w| w == b"TOKEN"))
}

/// The child's environment: `parent` minus withheld variables, plus `released` (which win).
pub fn child_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    released: &EnvValues,
) -> Vec<(OsString, OsString)> {
    let mut out: Vec<(OsString, OsString)> = parent
        .into_iter()
        .filter(|(k, _)| !is_withheld(k) && !released.contains_key(&*k.to_string_lossy()))
        .collect();
    for (k, v) in released {
        out.push((OsString::from(k), OsString::from(v.expose())));
    }
    out
}

/// Wipe the values of an environment list built by [`child_env`].
fn wipe_env(env: Vec<(OsString, OsString)>) {
    use std::os::unix::ffi::OsStringExt;
    for (_, v) in env {
        drop(Zeroizing::new(v.into_vec()));
    }
}

/// POSIX single-quote `s` for sh: `'` becomes `'\''`.
pub fn shell_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

/// The script the remote `sh -s` reads from ssh's stdin: exports, then `exec` of the quoted
/// command. Variable names are validated again here (they come from a committed registry).
pub fn ssh_script(released: &EnvValues, command: &[String]) -> Result<Zeroizing<String>> {
    if command.is_empty() {
        return Err(Error::usage("no command to run").into());
    }
    let mut s = Zeroizing::new(String::from("# sent by patina secrets run --ssh\n"));
    for (k, v) in released {
        names::validate_env(k)?;
        s.push_str("export ");
        s.push_str(k);
        s.push('=');
        s.push_str(&Zeroizing::new(shell_quote(v.expose())));
        s.push('\n');
    }
    s.push_str("exec");
    for a in command {
        s.push(' ');
        s.push_str(&shell_quote(a));
    }
    s.push('\n');
    Ok(s)
}

/// A host for `--ssh`: no option injection (`-oProxyCommand=…`), no whitespace or control chars.
pub fn validate_host(host: &str) -> Result<()> {
    if host.is_empty()
        || host.starts_with('-')
        || host.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::usage(format!(
            "invalid ssh host {host:?}: it must not be empty, start with '-' or contain spaces"
        ))
        .into());
    }
    Ok(())
}

static CHILD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = CHILD_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

extern "C" fn ignore_signal(_sig: libc::c_int) {}

/// While the child runs: SIGINT/SIGQUIT (sent by the terminal to the whole foreground group) are
/// left to the child; SIGTERM/SIGHUP sent to us are forwarded to it. Caught (not ignored)
/// dispositions reset to the default in the child at exec.
fn install_handlers() {
    // SAFETY: the handlers only touch an atomic and call kill(2), both async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            ignore_signal as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGQUIT,
            ignore_signal as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            forward_signal as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGHUP,
            forward_signal as *const () as libc::sighandler_t,
        );
    }
}

/// The exit code to pass on: the child's code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => (c & 0xff) as u8,
        (None, Some(sig)) => (128 + sig).min(255) as u8,
        _ => 1,
    }
}

/// Run `command` locally with `released` in its environment; returns the exit code to pass on.
pub fn run_local(command: &[String], released: &EnvValues) -> Result<u8> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::usage("no command: use `patina secrets run -- CMD [ARGS...]`").into());
    };
    let env = child_env(std::env::vars_os(), released);
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    wipe_env(env);
    install_handlers();
    let spawned = cmd.spawn();
    // std's Command keeps its own copy of the environment block until it is dropped; it is not
    // ours to wipe (documented in docs/ARCHITECTURE.md), but it goes at once.
    drop(cmd);
    let mut child = spawned.map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            crate::error::ErrorKind::NotFound
        } else {
            crate::error::ErrorKind::Io
        };
        Error::new(kind, format!("cannot run {program:?}: {e}"))
    })?;
    CHILD_PID.store(child.id() as i32, Ordering::SeqCst);
    let status = child.wait().context("waiting for the child")?;
    CHILD_PID.store(0, Ordering::SeqCst);
    Ok(exit_code(status))
}

/// Run `command` on `host` through `ssh -T -- HOST sh -s`, the script (with the values) on ssh's
/// stdin followed by our own stdin. Returns ssh's exit code (the remote command's, or 255).
pub fn run_ssh(host: &str, command: &[String], released: &EnvValues) -> Result<u8> {
    validate_host(host)?;
    if command.is_empty() {
        return Err(Error::usage(
            "no command: use `patina secrets run --ssh HOST -- CMD [ARGS...]`",
        )
        .into());
    }
    let script = ssh_script(released, command)?;
    let mut cmd = Command::new("ssh");
    // -T: no remote pty, which would echo the script (and its values) back.
    cmd.args(["-T", "--", host, "sh", "-s"])
        .env_clear()
        .envs(child_env(std::env::vars_os(), &EnvValues::new()))
        .stdin(Stdio::piped());
    install_handlers();
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::unavailable(format!("cannot run ssh: {e}")))?;
    CHILD_PID.store(child.id() as i32, Ordering::SeqCst);
    let mut stdin = child.stdin.take().expect("piped stdin");
    let wrote = stdin
        .write_all(script.as_bytes())
        .and_then(|_| stdin.flush());
    drop(script);
    if wrote.is_ok() {
        // The remote command reads the rest of ssh's stdin: pass ours through until EOF.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut stdin);
        });
    }
    let status = child.wait().context("waiting for ssh")?;
    CHILD_PID.store(0, Ordering::SeqCst);
    Ok(exit_code(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(s: &str) -> SecretValue {
        SecretValue::new(Zeroizing::new(s.to_string())).unwrap()
    }

    #[test]
    fn withholds_identity_and_tokens() {
        for k in [
            "PATINA_IDENTITY",
            "PATINA_IDENTITY_FILE",
            "PATINA_PASSPHRASE_FILE",
            "PATINA_TOKEN",
            "PATINA_MOTHER_TOKEN_X",
        ] {
            assert!(is_withheld(OsStr::new(k)), "{k}");
        }
        for k in [
            "PATH",
            "HOME",
            "PATINA_HOME",
            "GITHUB_TOKEN",
            "PATINA_EMBED_TOKENIZER",
        ] {
            assert!(!is_withheld(OsStr::new(k)), "{k}");
        }
    }

    #[test]
    fn released_values_override_parent() {
        let mut r = EnvValues::new();
        r.insert("A".into(), val("new"));
        let env = child_env(
            vec![
                ("A".into(), "old".into()),
                ("PATINA_IDENTITY".into(), "k".into()),
                ("B".into(), "b".into()),
            ],
            &r,
        );
        assert_eq!(
            env,
            vec![("B".into(), "b".into()), ("A".into(), "new".into())]
        );
    }

    #[test]
    fn quoting_survives_sh() {
        let nasty = "it's $(rm -rf /) `x` \"q\" \\ \n;|&";
        let mut r = EnvValues::new();
        r.insert("V".into(), val(nasty));
        let script = ssh_script(&r, &["printenv".into(), "V".into()]).unwrap();
        let out = Command::new("sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{nasty}\n"));
    }

    #[test]
    fn hosts() {
        assert!(validate_host("user@example.com").is_ok());
        assert!(validate_host("-oProxyCommand=x").is_err());
        assert!(validate_host("a b").is_err());
        assert!(validate_host("").is_err());
    }
}
