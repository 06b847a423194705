//! `patina secrets`: identity, vaults, `run`, and the daemon's cache (unlock/lock/status).
//!
//! Values never pass through this file's output: every `emit` prints names, env vars, paths,
//! ids and counts. Values arrive from the masked prompt or stdin and leave into the child.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::error::Error;
use crate::output::{Ctx, SilentExit};
use crate::project::Project;
use crate::secrets::{
    self, Identity, IdentitySource, Listing, RegistryState, Requester, Scope, SecretValue,
    VaultPaths, run::EnvValues,
};

mod daemon;

const EXAMPLES: &str = "\
Examples:
  patina secrets init                              make your identity (asks for a passphrase)
  patina secrets add github-token                  masked prompt; released as $GITHUB_TOKEN
  printf %s \"$TOKEN\" | patina secrets add api-key --env API_KEY --stdin
  patina secrets add db-pass --project             the team vault in .patina/ (committed)
  patina secrets list --json                       names and variables, never values
  patina secrets unlock --ttl 900                  cache in the daemon (sliding TTL)
  patina secrets run -- cargo publish              the child gets the variables, nothing else does
  patina secrets run --ssh deploy@host -- ./deploy.sh
  patina secrets lock                              forget every cached value now

Headless/CI: PATINA_IDENTITY (the key) or PATINA_IDENTITY_FILE; PATINA_PASSPHRASE_FILE.";

#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Create your age identity (passphrase-encrypted in PATINA_HOME/identity.age).
    #[command(
        after_help = "Examples:\n  patina secrets init\n  PATINA_PASSPHRASE_FILE=~/.pp patina secrets init --json"
    )]
    Init,
    /// Add or replace a secret (masked prompt on a terminal; `--stdin` for piped input).
    #[command(
        after_help = "Examples:\n  patina secrets add github-token\n  patina secrets add api-key --env API_KEY --stdin < keyfile\n  patina secrets add db-pass --project\n\nA value given as an argument is refused: it would land in shell history and `ps`."
    )]
    Add {
        /// Secret name: lower-case letters, digits and single hyphens (e.g. github-token).
        name: String,
        /// Environment variable it is released into (default: the name upper-cased, - → _).
        #[arg(long, value_name = "VAR")]
        env: Option<String>,
        /// Read the value from stdin (one trailing newline removed).
        #[arg(long)]
        stdin: bool,
        /// Use the project vault (.patina/vault.age) instead of the global one.
        #[arg(long)]
        project: bool,
        /// Encrypt to recipients added to .patina/recipients.txt since you last confirmed them,
        /// without asking (non-interactive use; otherwise you are asked on the terminal).
        #[arg(long)]
        confirm_recipients: bool,
        /// Refused: never pass a value on the command line.
        #[arg(hide = true, allow_hyphen_values = true)]
        value: Vec<String>,
    },
    /// Remove a secret.
    #[command(
        after_help = "Examples:\n  patina secrets rm github-token\n  patina secrets rm db-pass --project"
    )]
    Rm {
        name: String,
        /// Use the project vault.
        #[arg(long)]
        project: bool,
        /// Re-encrypt to recipients you have not confirmed yet without asking.
        #[arg(long)]
        confirm_recipients: bool,
    },
    /// List names and variables of the global and project vaults (no values, no decryption).
    #[command(after_help = "Examples:\n  patina secrets list\n  patina secrets list --json")]
    List,
    /// Run a command with the secrets in its environment (exit code passed through).
    #[command(
        after_help = "Examples:\n  patina secrets run -- env\n  patina secrets run --only github-token -- gh release create v1\n  patina secrets run --ssh deploy@host -- ./deploy.sh --prod\n\nStatus lines go to stderr; stdout is the command's. A command killed by signal N exits 128+N."
    )]
    Run {
        /// Run on HOST through ssh: the values travel in a script on ssh's stdin, never argv.
        #[arg(long, value_name = "HOST")]
        ssh: Option<String>,
        /// Release only these secrets (repeatable); default: all of them.
        #[arg(long = "only", value_name = "NAME")]
        only: Vec<String>,
        /// The command and its arguments (after `--`).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Decrypt the vaults once and cache them in the daemon (started if needed).
    #[command(after_help = "Examples:\n  patina secrets unlock\n  patina secrets unlock --ttl 300")]
    Unlock {
        /// Sliding TTL in seconds (clamped to the configured absolute cap).
        #[arg(long, value_name = "SECS")]
        ttl: Option<u64>,
    },
    /// Forget every cached value in the daemon now (zeroized).
    #[command(after_help = "Examples:\n  patina secrets lock")]
    Lock,
    /// Identity, vaults, and what the daemon holds (names and TTLs only).
    #[command(after_help = "Examples:\n  patina secrets status\n  patina secrets status --json")]
    Status,
    /// The project vault's recipients (.patina/recipients.txt).
    #[command(subcommand)]
    Recipients(RecipientsCmd),
    /// Write your identity as a plain age key file (0600; refuses to overwrite).
    #[command(
        after_help = "Examples:\n  patina secrets export-key --out ~/backup/patina.key\n  age -d -i ~/backup/patina.key ~/.patina/vault.age"
    )]
    ExportKey {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
enum RecipientsCmd {
    /// Add a teammate's public key and re-encrypt the project vault for everyone.
    #[command(after_help = "Examples:\n  patina secrets recipients add age1q...")]
    Add {
        recipient: String,
        /// Also encrypt to other listed recipients you have not confirmed, without asking.
        #[arg(long)]
        confirm_recipients: bool,
    },
    /// Remove a public key and re-encrypt (the last one cannot be removed).
    #[command(after_help = "Examples:\n  patina secrets recipients rm age1q...")]
    Rm {
        recipient: String,
        /// Re-encrypt to listed recipients you have not confirmed, without asking.
        #[arg(long)]
        confirm_recipients: bool,
    },
    /// List the project vault's recipients.
    #[command(after_help = "Examples:\n  patina secrets recipients list --json")]
    List,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.cmd {
        Cmd::Init => init(ctx),
        Cmd::Add {
            name,
            env,
            stdin,
            project,
            confirm_recipients,
            value,
        } => add(
            ctx,
            &name,
            AddOpts {
                env: env.as_deref(),
                from_stdin: stdin,
                project,
                confirm_recipients,
                value_given: !value.is_empty(),
            },
        ),
        Cmd::Rm {
            name,
            project,
            confirm_recipients,
        } => rm(ctx, &name, project, confirm_recipients),
        Cmd::List => list(ctx),
        Cmd::Run { ssh, only, command } => run_cmd(ctx, ssh.as_deref(), &only, &command),
        Cmd::Unlock { ttl } => unlock(ctx, ttl),
        Cmd::Lock => lock(ctx),
        Cmd::Status => status(ctx),
        Cmd::Recipients(r) => recipients(ctx, r),
        Cmd::ExportKey { out } => export_key(ctx, &out),
    }
}

fn project_here(ctx: &Ctx) -> Option<Project> {
    Project::discover(&ctx.cwd).ok()
}

fn vault_paths(ctx: &Ctx, project: bool) -> Result<VaultPaths> {
    if project {
        let p = Project::discover(&ctx.cwd)?;
        secrets::project_vault(&p)
    } else {
        Ok(VaultPaths::global())
    }
}

fn init(ctx: &Ctx) -> Result<()> {
    let report = secrets::init()?;
    ctx.emit(&report, |r| {
        format!(
            "identity: {} (passphrase-encrypted)\nrecipient: {}\n  (public key, also in {})\n",
            r.identity.display(),
            r.recipient,
            r.recipient_file.display()
        )
    });
    Ok(())
}

struct AddOpts<'a> {
    env: Option<&'a str>,
    from_stdin: bool,
    project: bool,
    confirm_recipients: bool,
    value_given: bool,
}

/// Before the project vault is re-encrypted: recipients added to `.patina/recipients.txt`
/// since the user last confirmed them are shown and must be confirmed (on the terminal, or by
/// `--confirm-recipients`); refused otherwise, naming them. `adding` is confirmed by the command
/// itself (`recipients add KEY`).
fn confirm_new_recipients(
    ctx: &Ctx,
    paths: &VaultPaths,
    identity: &Identity,
    flag: bool,
    change: Change<'_>,
) -> Result<()> {
    if paths.scope != Scope::Project {
        return Ok(());
    }
    let (adding, removing) = match change {
        Change::None => (None, None),
        Change::Add(k) => (Some(k), None),
        Change::Remove(k) => (None, Some(k)),
    };
    let new: Vec<String> = secrets::unconfirmed_recipients(paths, identity)?
        .into_iter()
        .filter(|r| Some(r.as_str()) != adding && Some(r.as_str()) != removing)
        .collect();
    if !new.is_empty() && !flag {
        let file = paths
            .recipients
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let list = new
            .iter()
            .map(|r| format!("  {r}"))
            .collect::<Vec<_>>()
            .join("\n");
        let question = format!(
            "{file} lists recipients you have not confirmed:\n{list}\n\
             Encrypt the project vault (every project secret) to them too? [y/N] "
        );
        match ask_yes_no(&question) {
            Some(true) => {}
            Some(false) => {
                return Err(Error::denied(format!(
                    "not confirmed: nothing was encrypted to {}",
                    new.join(", ")
                ))
                .into());
            }
            None => {
                return Err(Error::usage(format!(
                    "{file} lists recipients you have not confirmed ({}); check them with \
                     `patina secrets recipients list`, then run again on a terminal or with \
                     --confirm-recipients",
                    new.join(", ")
                ))
                .into());
            }
        }
    }
    let mut all: Vec<String> = secrets::recipients_list(paths)?
        .into_iter()
        .filter(|r| Some(r.as_str()) != removing)
        .collect();
    if let Some(a) = adding {
        all.push(a.to_string());
    }
    if !new.is_empty() {
        ctx.notice(&format!(
            "patina: confirmed recipient(s) {}",
            new.join(", ")
        ));
    }
    secrets::confirm_recipients(paths, &all)
}

/// How a command changes the recipients list (the key it names is confirmed by the command).
enum Change<'a> {
    None,
    Add(&'a str),
    Remove(&'a str),
}

/// Ask on the controlling terminal; `None` without one.
fn ask_yes_no(question: &str) -> Option<bool> {
    use std::io::{BufRead, Write};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let mut out = tty.try_clone().ok()?;
    out.write_all(question.as_bytes()).ok()?;
    out.flush().ok()?;
    let mut line = String::new();
    std::io::BufReader::new(tty).read_line(&mut line).ok()?;
    Some(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn add(ctx: &Ctx, name: &str, o: AddOpts<'_>) -> Result<()> {
    let AddOpts {
        env,
        from_stdin,
        project,
        confirm_recipients,
        value_given,
    } = o;
    if value_given {
        // Do not echo what was given: it is the value.
        return Err(Error::usage(
            "a secret value is never accepted as an argument (it would be visible in shell history and `ps`); \
             type it at the masked prompt or pipe it with --stdin",
        )
        .into());
    }
    secrets::validate_name(name).map_err(|e| Error::usage(e.to_string()))?;
    if let Some(v) = env {
        secrets::validate_env(v).map_err(|e| Error::usage(e.to_string()))?;
    }
    let paths = vault_paths(ctx, project)?;
    let value = if from_stdin {
        secrets::read_value_from(std::io::stdin().lock())?
    } else if std::io::stdin().is_terminal() {
        let v = zeroize::Zeroizing::new(secrets::prompt_masked(&format!("Value for {name}: "))?);
        SecretValue::new(v)?
    } else {
        return Err(Error::usage(
            "stdin is not a terminal: pipe the value with --stdin (or run in a terminal for the masked prompt)",
        )
        .into());
    };
    let identity = secrets::load_identity()?;
    confirm_new_recipients(ctx, &paths, &identity, confirm_recipients, Change::None)?;
    let report = secrets::add(&paths, &identity, name, env, value)?;
    // The old vault's cached values are stale now: forget them (the new id is not cached).
    forget_stale(ctx, &report.old_vault_id);
    if !report.redactable {
        ctx.notice(&unredactable_notice(std::slice::from_ref(&report.name)));
    }
    ctx.emit(&report, |r| {
        format!(
            "{} {} → ${} in the {} vault ({})",
            if r.replaced { "replaced" } else { "added" },
            r.name,
            r.env,
            r.vault.as_str(),
            r.path.display()
        )
    });
    Ok(())
}

/// The vault changed: the daemon must not serve the old values.
fn forget_stale(ctx: &Ctx, old_vault_id: &str) {
    if daemon::forget(old_vault_id) {
        ctx.notice("patina: the daemon's copy of the old vault was dropped; run `patina secrets unlock` to cache the new one");
    }
}

/// What the user is told about values that cannot be fingerprinted.
fn unredactable_notice(names: &[String]) -> String {
    let (what, it) = if names.len() == 1 {
        ("the value of", "it")
    } else {
        ("the values of", "them")
    };
    format!(
        "patina: warning: {what} {} cannot be redacted from session archives: too short or too \
         weak to fingerprint safely (needs at least {} characters and about {} bits); never \
         paste {it} into an agent's prompt",
        names.join(", "),
        secrets::FINGERPRINT_MIN_CHARS,
        secrets::FINGERPRINT_MIN_BITS,
    )
}

fn rm(ctx: &Ctx, name: &str, project: bool, confirm_recipients: bool) -> Result<()> {
    secrets::validate_name(name).map_err(|e| Error::usage(e.to_string()))?;
    let paths = vault_paths(ctx, project)?;
    let identity = secrets::load_identity()?;
    confirm_new_recipients(ctx, &paths, &identity, confirm_recipients, Change::None)?;
    let report = secrets::remove(&paths, &identity, name)?;
    forget_stale(ctx, &report.old_vault_id);
    ctx.emit(&report, |r| {
        format!("removed {} from the {} vault", r.name, r.vault.as_str())
    });
    Ok(())
}

#[derive(Serialize)]
struct ListJson {
    vaults: Vec<Listing>,
    /// Secrets whose values cannot be redacted from session archives (too short or weak to
    /// fingerprint), as recorded at the last add/unlock.
    unredactable: Vec<secrets::Unredactable>,
}

fn warn_out_of_sync(ctx: &Ctx, l: &Listing) {
    if l.state == RegistryState::OutOfSync {
        ctx.notice(&format!(
            "warning: {} changed outside patina (or was tampered with); its names are unverified until `patina secrets status` or `unlock` decrypts it",
            l.path.display()
        ));
    }
}

fn list(ctx: &Ctx) -> Result<()> {
    let project = project_here(ctx);
    let mut vaults = Vec::new();
    for p in secrets::vaults(project.as_ref(), false) {
        let l = secrets::list(&p)?;
        warn_out_of_sync(ctx, &l);
        vaults.push(l);
    }
    let unredactable = secrets::unredactable()?
        .into_iter()
        .filter(|u| {
            vaults.iter().any(|l| {
                std::path::absolute(&l.path).is_ok_and(|p| p == u.vault)
                    && l.secrets.iter().any(|e| e.name == u.name)
            })
        })
        .collect();
    ctx.emit(
        &ListJson {
            vaults,
            unredactable,
        },
        |v| {
            let mut s = String::new();
            for l in &v.vaults {
                s.push_str(&format!(
                    "{} vault ({}){}\n",
                    l.vault.as_str(),
                    l.path.display(),
                    match l.state {
                        RegistryState::Ok => "",
                        RegistryState::Empty => ": empty",
                        RegistryState::OutOfSync => ": OUT OF SYNC",
                    }
                ));
                for e in &l.secrets {
                    let weak = v
                        .unredactable
                        .iter()
                        .any(|u| u.name == e.name && u.scope == l.vault);
                    s.push_str(&format!(
                        "  {:<24} ${}{}\n",
                        e.name,
                        e.env,
                        if weak {
                            "  (cannot be redacted from archives: too short to fingerprint)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            s
        },
    );
    Ok(())
}

/// What `run` releases, by vault.
struct Plan {
    paths: VaultPaths,
    listing: Listing,
    names: Vec<String>,
}

fn run_cmd(ctx: &Ctx, ssh: Option<&str>, only: &[String], command: &[String]) -> Result<()> {
    if command.is_empty() {
        return Err(Error::usage("no command: use `patina secrets run -- CMD [ARGS...]`").into());
    }
    if let Some(h) = ssh {
        secrets::run::validate_host(h)?;
    }
    for n in only {
        secrets::validate_name(n).map_err(|e| Error::usage(e.to_string()))?;
    }
    let project = project_here(ctx);
    // Which names from which vault (registry only; verified again on decryption).
    let mut plans = Vec::new();
    let mut found = std::collections::BTreeSet::new();
    for paths in secrets::vaults(project.as_ref(), false) {
        let listing = secrets::list(&paths)?;
        warn_out_of_sync(ctx, &listing);
        let names: Vec<String> = listing
            .secrets
            .iter()
            .map(|e| e.name.clone())
            .filter(|n| only.is_empty() || only.contains(n))
            .collect();
        found.extend(names.iter().cloned());
        if !names.is_empty() || listing.state == RegistryState::OutOfSync {
            plans.push(Plan {
                paths,
                listing,
                names,
            });
        }
    }

    let requester = Requester {
        pid: std::process::id(),
        command: command.join(" ").chars().take(200).collect(),
    };
    let daemon = daemon::Daemon::connect();
    let mut identity: Option<Identity> = None;
    // env var → (value, scope, name)
    let mut released: BTreeMap<String, (SecretValue, Scope, String)> = BTreeMap::new();
    let mut via_daemon = 0usize;
    for plan in plans {
        let mut got: Option<Vec<(String, String, SecretValue)>> = None;
        if let Some(d) = &daemon
            && plan.listing.state == RegistryState::Ok
        {
            // `None`: not cached (locked, expired, vault changed): decrypt here instead.
            if let Some(env) = d.resolve(
                &plan.listing.vault_id,
                &plan.names,
                &requester,
                project.as_ref().map(|p| p.root()),
            )? {
                // The daemon answers VAR → value; pair them back with names for the report.
                let mut v = Vec::new();
                for e in &plan.listing.secrets {
                    if let Some(val) = env.get(&e.env) {
                        v.push((e.name.clone(), e.env.clone(), val.clone()));
                    }
                }
                via_daemon += v.len();
                got = Some(v);
            }
        }
        let got = match got {
            Some(g) => g,
            None => {
                if identity.is_none() {
                    identity = Some(secrets::load_identity()?);
                }
                let u = secrets::unlock(&plan.paths, identity.as_ref().expect("loaded"))?;
                if let Some(msg) = &u.repaired {
                    ctx.notice(&format!("patina: {msg}"));
                }
                let mut v = Vec::new();
                for e in &u.entries {
                    if (only.is_empty() || only.contains(&e.name))
                        && let Some(val) = u.values.get(&e.name)
                    {
                        found.insert(e.name.clone());
                        v.push((e.name.clone(), e.env.clone(), val.clone()));
                    }
                }
                let names: Vec<String> = v.iter().map(|(n, _, _)| n.clone()).collect();
                if !names.is_empty() {
                    secrets::log_release(
                        &crate::backend::session_engine()?,
                        project.as_ref().map(|p| p.root()),
                        &names,
                        &requester,
                        "in-process",
                    );
                }
                v
            }
        };
        for (name, env, value) in got {
            if let Some((_, scope, other)) = released.get(&env)
                && *scope != plan.paths.scope
            {
                ctx.notice(&format!(
                    "patina: ${env}: the {} secret {name} overrides the {} secret {other}",
                    plan.paths.scope.as_str(),
                    scope.as_str()
                ));
            }
            released.insert(env, (value, plan.paths.scope, name));
        }
    }
    if let Some(missing) = only.iter().find(|n| !found.contains(*n)) {
        return Err(Error::not_found(format!(
            "no secret named {missing:?} in the global or project vault"
        ))
        .into());
    }

    let vars: Vec<String> = released.keys().cloned().collect();
    let env: EnvValues = released.into_iter().map(|(k, (v, _, _))| (k, v)).collect();
    let target = ssh.map(|h| format!(" on {h}")).unwrap_or_default();
    if vars.is_empty() {
        ctx.notice(&format!(
            "patina: no secrets to release; running {}{target}",
            command[0]
        ));
    } else {
        ctx.notice(&format!(
            "patina: running {}{target} with {} secret(s): {}{}",
            command[0],
            vars.len(),
            vars.iter()
                .map(|v| format!("${v}"))
                .collect::<Vec<_>>()
                .join(" "),
            if via_daemon > 0 {
                " (from the daemon)"
            } else {
                ""
            }
        ));
    }
    let code = match ssh {
        Some(host) => secrets::run::run_ssh(host, command, &env)?,
        None => secrets::run::run_local(command, &env)?,
    };
    drop(env);
    if code == 0 {
        Ok(())
    } else {
        Err(SilentExit(code).into())
    }
}

#[derive(Serialize)]
struct UnlockJson {
    vaults: Vec<UnlockedVault>,
    ttl_secs: u64,
}

#[derive(Serialize)]
struct UnlockedVault {
    vault: Scope,
    vault_id: String,
    names: Vec<String>,
    /// Names too short or weak to fingerprint: not redacted from archives.
    unredactable: Vec<String>,
}

fn unlock(ctx: &Ctx, ttl: Option<u64>) -> Result<()> {
    let project = project_here(ctx);
    let config = secrets::SecretsConfig::load()?;
    let ttl_secs = config.ttl_for(ttl).as_secs();
    let identity = secrets::load_identity()?;
    let mut unlocked = Vec::new();
    for paths in secrets::vaults(project.as_ref(), false) {
        if !paths.vault.exists() {
            continue;
        }
        let u = secrets::unlock(&paths, &identity)?;
        if let Some(msg) = &u.repaired {
            ctx.notice(&format!("patina: {msg}"));
        }
        unlocked.push(u);
    }
    drop(identity);
    if unlocked.is_empty() {
        return Err(Error::not_found(
            "no vault to unlock: add a secret first (`patina secrets add NAME`)",
        )
        .into());
    }
    let d = daemon::Daemon::ensure_running()?;
    let mut out = Vec::new();
    for u in &unlocked {
        d.cache(u, ttl_secs)?;
        if !u.unredactable.is_empty() {
            ctx.notice(&unredactable_notice(&u.unredactable));
        }
        out.push(UnlockedVault {
            vault: u.paths.scope,
            vault_id: u.vault_id.clone(),
            names: u.entries.iter().map(|e| e.name.clone()).collect(),
            unredactable: u.unredactable.clone(),
        });
    }
    drop(unlocked);
    ctx.emit(
        &UnlockJson {
            vaults: out,
            ttl_secs,
        },
        |j| {
            let mut s = String::new();
            for v in &j.vaults {
                s.push_str(&format!(
                    "unlocked the {} vault ({} secret(s)) for {} s (sliding)\n",
                    v.vault.as_str(),
                    v.names.len(),
                    j.ttl_secs
                ));
            }
            s
        },
    );
    Ok(())
}

#[derive(Serialize)]
struct LockJson {
    status: &'static str,
    daemon: bool,
}

fn lock(ctx: &Ctx) -> Result<()> {
    let running = match daemon::Daemon::connect() {
        Some(d) => {
            d.lock(None)?;
            true
        }
        None => false,
    };
    ctx.emit(
        &LockJson {
            status: "locked",
            daemon: running,
        },
        |j| {
            if j.daemon {
                "locked: the daemon forgot every cached value".into()
            } else {
                "locked (no daemon running: nothing was cached)".into()
            }
        },
    );
    Ok(())
}

#[derive(Serialize)]
struct StatusJson {
    identity: IdentityJson,
    daemon: DaemonJson,
    vaults: Vec<VaultStatusJson>,
}

#[derive(Serialize)]
struct IdentityJson {
    source: Option<IdentitySource>,
    recipient: Option<String>,
}

#[derive(Serialize)]
struct DaemonJson {
    running: bool,
    /// Release policy when a cockpit is attached: never | first | always (daemon running only).
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cockpit_attached: Option<bool>,
}

#[derive(Serialize)]
struct VaultStatusJson {
    #[serde(flatten)]
    listing: Listing,
    locked: bool,
    expires_in_secs: Option<u64>,
    max_expires_in_secs: Option<u64>,
}

fn status(ctx: &Ctx) -> Result<()> {
    let project = project_here(ctx);
    let source = secrets::configured_source();
    let recipient = secrets::own_recipient().ok();
    let daemon = daemon::Daemon::connect();
    let view = match &daemon {
        Some(d) => Some(d.status()?),
        None => None,
    };
    let cached = view.as_ref().map(|v| v.vaults.clone()).unwrap_or_default();
    let mut vaults = Vec::new();
    for p in secrets::vaults(project.as_ref(), false) {
        let listing = secrets::list(&p)?;
        warn_out_of_sync(ctx, &listing);
        let c = cached
            .iter()
            .find(|c| c.vault_id == listing.vault_id && !listing.vault_id.is_empty());
        vaults.push(VaultStatusJson {
            locked: c.is_none(),
            expires_in_secs: c.map(|c| c.expires_in_secs),
            max_expires_in_secs: c.map(|c| c.max_expires_in_secs),
            listing,
        });
    }
    let j = StatusJson {
        identity: IdentityJson { source, recipient },
        daemon: DaemonJson {
            running: daemon.is_some(),
            confirm: view.as_ref().map(|v| v.confirm.clone()),
            cockpit_attached: view.as_ref().map(|v| v.cockpit_attached),
        },
        vaults,
    };
    ctx.emit(&j, |j| {
        let mut s = format!(
            "identity: {}\n",
            match &j.identity.source {
                Some(src) => src.describe(),
                None => "none (run `patina secrets init`)".into(),
            }
        );
        if let Some(r) = &j.identity.recipient {
            s.push_str(&format!("recipient: {r}\n"));
        }
        s.push_str(&format!(
            "daemon: {}\n",
            if j.daemon.running {
                "running"
            } else {
                "not running"
            }
        ));
        for v in &j.vaults {
            let state = match (v.listing.state, v.locked) {
                (RegistryState::Empty, _) => "empty".to_string(),
                (_, true) => "locked".to_string(),
                (_, false) => format!(
                    "unlocked, expires in {} s (at most {} s)",
                    v.expires_in_secs.unwrap_or(0),
                    v.max_expires_in_secs.unwrap_or(0)
                ),
            };
            s.push_str(&format!(
                "{} vault: {} secret(s), {state}{}\n",
                v.listing.vault.as_str(),
                v.listing.secrets.len(),
                if v.listing.state == RegistryState::OutOfSync {
                    " (registry out of sync)"
                } else {
                    ""
                }
            ));
        }
        s
    });
    Ok(())
}

#[derive(Serialize)]
struct RecipientsJson {
    recipients: Vec<String>,
}

fn recipients(ctx: &Ctx, cmd: RecipientsCmd) -> Result<()> {
    let paths = vault_paths(ctx, true)?;
    match cmd {
        RecipientsCmd::List => {
            let recipients = secrets::recipients_list(&paths)?;
            ctx.emit(&RecipientsJson { recipients }, |j| {
                if j.recipients.is_empty() {
                    "no recipients yet (the first project secret adds yours)".into()
                } else {
                    j.recipients.join("\n")
                }
            });
        }
        RecipientsCmd::Add {
            recipient,
            confirm_recipients,
        } => {
            let identity = secrets::load_identity()?;
            let key = recipient.trim().to_string();
            confirm_new_recipients(
                ctx,
                &paths,
                &identity,
                confirm_recipients,
                Change::Add(&key),
            )?;
            let r = secrets::recipients_add(&paths, &identity, &recipient)?;
            forget_stale(ctx, &r.old_vault_id);
            ctx.emit(&r, |r| {
                format!(
                    "{} recipient(s){}",
                    r.recipients.len(),
                    if r.reencrypted {
                        "; project vault re-encrypted for all"
                    } else {
                        ""
                    }
                )
            });
        }
        RecipientsCmd::Rm {
            recipient,
            confirm_recipients,
        } => {
            let identity = secrets::load_identity()?;
            let key = recipient.trim().to_string();
            confirm_new_recipients(
                ctx,
                &paths,
                &identity,
                confirm_recipients,
                Change::Remove(&key),
            )?;
            let r = secrets::recipients_remove(&paths, &identity, &recipient)?;
            forget_stale(ctx, &r.old_vault_id);
            ctx.emit(&r, |r| {
                format!(
                    "{} recipient(s) left{}",
                    r.recipients.len(),
                    if r.reencrypted {
                        "; project vault re-encrypted"
                    } else {
                        ""
                    }
                )
            });
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ExportJson {
    out: PathBuf,
    recipient: String,
}

fn export_key(ctx: &Ctx, out: &std::path::Path) -> Result<()> {
    let out = ctx.cwd.join(out);
    if out.exists() {
        return Err(Error::conflict(format!(
            "{} already exists; refusing to overwrite it",
            out.display()
        ))
        .into());
    }
    let identity = secrets::load_identity()?;
    let recipient = secrets::export_key(&identity, &out)?;
    ctx.emit(&ExportJson { out, recipient }, |j| {
        format!(
            "wrote your identity to {} (0600); keep it offline. Public key: {}",
            j.out.display(),
            j.recipient
        )
    });
    Ok(())
}
