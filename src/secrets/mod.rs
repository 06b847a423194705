//! Secrets: age (X25519) vaults, the user's identity, `secrets run`, and the daemon's cache logic.
//!
//! Values enter only by masked prompt or stdin and leave only into a child's environment (or
//! the script on ssh's stdin). Nothing here prints, logs or formats a value: [`SecretValue`]'s
//! Debug is `***`, errors describe plaintext by line number, and logs carry names only.
//!
//! Interface: identity ([`init`], [`load_identity`], [`own_recipient`]), vaults ([`VaultPaths`],
//! [`list`], [`unlock`], [`add`], [`remove`]), project recipients, [`export_key`], the child
//! process ([`run`]), the daemon-side cache ([`cache::SecretCache`]) and the user settings
//! ([`SecretsConfig`]).

pub mod cache;
mod config;
pub mod envguard;
mod fingerprint;
mod identity;
mod names;
mod recipients;
pub mod run;
mod vault;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use zeroize::Zeroizing;

pub use config::{ConfirmPolicy, SecretsConfig};
pub use fingerprint::{
    Fingerprints, MIN_BITS as FINGERPRINT_MIN_BITS, MIN_CHARS as FINGERPRINT_MIN_CHARS,
    Unredactable, is_fingerprintable, redact_known, unredactable,
};
pub use identity::{
    ENV_IDENTITY, ENV_IDENTITY_FILE, ENV_PASSPHRASE_FILE, Identity, IdentitySource, InitReport,
    configured_source, identity_path, prompt_masked, recipient_path,
};
pub use names::{default_env, validate_env, validate_name};
pub use recipients::{confirm_recipients, unconfirmed_recipients};
pub use vault::{Entry, Listing, RegistryState, Scope, SecretValue, Unlocked, VaultPaths, list};

use crate::error::Error;
use crate::project::Project;
use crate::store;

/// Create the identity (`secrets init`).
pub fn init() -> Result<InitReport> {
    identity::init()
}

/// Unlock the configured identity (asks for the passphrase when needed).
pub fn load_identity() -> Result<Identity> {
    identity::load()
}

/// Our public key, without any passphrase.
pub fn own_recipient() -> Result<String> {
    Ok(identity::own_recipient()?.to_string())
}

/// The vaults that apply here: the global one, and the project's when `project` has one (or
/// `with_empty_project`).
pub fn vaults(project: Option<&Project>, with_empty_project: bool) -> Vec<VaultPaths> {
    let mut v = vec![VaultPaths::global()];
    if let Some(p) = project {
        let pp = VaultPaths::project(p);
        if with_empty_project || !pp.is_empty() {
            v.push(pp);
        }
    }
    v
}

/// The project vault's paths; the project must be initialised (`.patina/` exists).
pub fn project_vault(project: &Project) -> Result<VaultPaths> {
    if !project.is_initialized() {
        return Err(Error::not_found(format!(
            "{} has no .patina/; run `patina init` before using a project vault",
            project.root().display()
        ))
        .into());
    }
    Ok(VaultPaths::project(project))
}

/// Decrypt a vault (see [`vault::unlock`]), refuse a project mapping into a variable that
/// changes how programs run (unless the user allows it), and record the fingerprints of its
/// values so archives are redacted later whatever the daemon holds.
pub fn unlock(paths: &VaultPaths, identity: &Identity) -> Result<Unlocked> {
    let mut u = vault::unlock(paths, identity)?;
    check_project_env(
        paths,
        u.entries.iter().map(|e| (e.name.as_str(), e.env.as_str())),
    )?;
    u.unredactable = fingerprint::record(paths, &u.values)?;
    Ok(u)
}

/// A committed project mapping may not name a variable of [`envguard`] unless the user's config
/// allows it (`[secrets] allow_project_env`).
fn check_project_env<'a>(
    paths: &VaultPaths,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    if paths.scope != Scope::Project {
        return Ok(());
    }
    let mut allowed = None;
    for (name, env) in entries {
        let Some(why) = envguard::danger(env) else {
            continue;
        };
        if allowed.is_none() {
            allowed = Some(SecretsConfig::allowed_project_env()?);
        }
        if allowed.as_ref().is_some_and(|a| a.contains(env)) {
            continue;
        }
        let config = crate::paths::user_config_dir().join("config.toml");
        return Err(Error::denied(format!(
            "{}: secret {name} maps to ${env}, which changes how programs run ({why}); \
                 a committed project vault may not set it. If you trust this mapping, allow it \
                 in {}: [secrets] allow_project_env = [\"{env}\"]",
            paths.vault.display(),
            config.display()
        ))
        .into());
    }
    Ok(())
}

/// What `add` did.
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub name: String,
    pub env: String,
    pub vault: Scope,
    pub path: PathBuf,
    /// True when an existing secret's value was replaced.
    pub replaced: bool,
    /// False when the value is too short or weak to fingerprint: it cannot be redacted from
    /// session archives (see docs/ARCHITECTURE.md, "Redaction").
    pub redactable: bool,
    pub vault_id: String,
    #[serde(skip)]
    pub old_vault_id: String,
}

/// Add or replace a secret. `env` defaults to the name upper-cased (`github-token` →
/// GITHUB_TOKEN); another secret in the same vault may not use the same variable.
pub fn add(
    paths: &VaultPaths,
    identity: &Identity,
    name: &str,
    env: Option<&str>,
    value: SecretValue,
) -> Result<AddReport> {
    validate_name(name)?;
    let env = env.map(str::to_string).unwrap_or_else(|| default_env(name));
    validate_env(&env)?;
    check_project_env(paths, [(name, env.as_str())])?;
    let redactable = is_fingerprintable(value.expose());
    let (old, new, replaced) = vault::modify(paths, identity, None, |entries, values| {
        if let Some(other) = entries.iter().find(|e| e.env == env && e.name != name) {
            return Err(Error::conflict(format!(
                "${env} is already used by secret {}; choose another --env",
                other.name
            ))
            .into());
        }
        let replaced = values.contains_key(name);
        entries.retain(|e| e.name != name);
        entries.push(Entry {
            name: name.to_string(),
            env: env.clone(),
        });
        values.insert(name.to_string(), value);
        // Before the vault is written: a value in the vault always has its fingerprint.
        fingerprint::record(paths, values)?;
        Ok(replaced)
    })?;
    tracing::info!(
        name,
        vault = paths.scope.as_str(),
        replaced,
        "secrets: added"
    );
    Ok(AddReport {
        name: name.to_string(),
        env,
        vault: paths.scope,
        path: paths.vault.clone(),
        replaced,
        redactable,
        vault_id: new,
        old_vault_id: old,
    })
}

/// What `rm` did.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveReport {
    pub name: String,
    pub vault: Scope,
    pub path: PathBuf,
    pub vault_id: String,
    #[serde(skip)]
    pub old_vault_id: String,
}

/// Remove a secret (not found → exit 4).
pub fn remove(paths: &VaultPaths, identity: &Identity, name: &str) -> Result<RemoveReport> {
    validate_name(name)?;
    if !paths.vault.exists() {
        return Err(Error::not_found(format!(
            "no secret {name:?}: {} does not exist",
            paths.vault.display()
        ))
        .into());
    }
    let (old, new, ()) = vault::modify(paths, identity, None, |entries, values| {
        if values.remove(name).is_none() {
            return Err(Error::not_found(format!(
                "no secret {name:?} in {}",
                paths.vault.display()
            ))
            .into());
        }
        entries.retain(|e| e.name != name);
        // The removed value keeps its fingerprint (it may still be in an agent's log).
        fingerprint::record(paths, values)?;
        Ok(())
    })?;
    tracing::info!(name, vault = paths.scope.as_str(), "secrets: removed");
    Ok(RemoveReport {
        name: name.to_string(),
        vault: paths.scope,
        path: paths.vault.clone(),
        vault_id: new,
        old_vault_id: old,
    })
}

/// The project vault's recipients (`.patina/recipients.txt`).
pub fn recipients_list(paths: &VaultPaths) -> Result<Vec<String>> {
    let file = recipients_file(paths)?;
    Ok(vault::read_recipients(file)?
        .iter()
        .map(|r| r.to_string())
        .collect())
}

fn recipients_file(paths: &VaultPaths) -> Result<&Path> {
    paths
        .recipients
        .as_deref()
        .ok_or_else(|| Error::usage("recipients apply to the project vault only").into())
}

/// What a recipients change did.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientsReport {
    pub recipients: Vec<String>,
    /// True when the vault was re-encrypted for the new list.
    pub reencrypted: bool,
    pub vault_id: String,
    #[serde(skip)]
    pub old_vault_id: String,
}

/// Add a recipient and re-encrypt the project vault for all of them. A missing list starts
/// with our own recipient, so the one adding a teammate does not lock themselves out.
pub fn recipients_add(
    paths: &VaultPaths,
    identity: &Identity,
    recipient: &str,
) -> Result<RecipientsReport> {
    let file = recipients_file(paths)?.to_path_buf();
    let new = identity::parse_recipient(recipient)?;
    let mut list = vault::read_recipients(&file)?;
    if list.is_empty() {
        list.push(identity.recipient());
    }
    if list.iter().any(|r| r.to_string() == new.to_string()) {
        return Err(Error::conflict(format!(
            "{new} is already a recipient in {}",
            file.display()
        ))
        .into());
    }
    list.push(new);
    change_recipients(paths, identity, &file, list)
}

/// Remove a recipient and re-encrypt; the last one cannot be removed.
pub fn recipients_remove(
    paths: &VaultPaths,
    identity: &Identity,
    recipient: &str,
) -> Result<RecipientsReport> {
    let file = recipients_file(paths)?.to_path_buf();
    let gone = identity::parse_recipient(recipient)?.to_string();
    let mut list = vault::read_recipients(&file)?;
    let before = list.len();
    list.retain(|r| r.to_string() != gone);
    if list.len() == before {
        return Err(
            Error::not_found(format!("{gone} is not a recipient in {}", file.display())).into(),
        );
    }
    if list.is_empty() {
        return Err(Error::conflict(format!(
            "{gone} is the last recipient of {}; a vault needs at least one",
            paths.vault.display()
        ))
        .into());
    }
    change_recipients(paths, identity, &file, list)
}

fn change_recipients(
    paths: &VaultPaths,
    identity: &Identity,
    file: &Path,
    list: Vec<age::x25519::Recipient>,
) -> Result<RecipientsReport> {
    let names: Vec<String> = list.iter().map(|r| r.to_string()).collect();
    let (old, new, reencrypted) = if paths.vault.exists() {
        // Decrypt with our identity, encrypt to the new list, then record the list.
        let (old, new, ()) = vault::modify(paths, identity, Some(list.clone()), |_, _| Ok(()))?;
        (old, new, true)
    } else {
        (String::new(), String::new(), false)
    };
    vault::write_recipients(file, &list)?;
    tracing::info!(
        count = names.len(),
        reencrypted,
        "secrets: project recipients changed"
    );
    Ok(RecipientsReport {
        recipients: names,
        reencrypted,
        vault_id: new,
        old_vault_id: old,
    })
}

/// Write the unlocked identity as a plain age identity file (0600 from creation, never over an
/// existing file). The key goes to the file only.
pub fn export_key(identity: &Identity, out: &Path) -> Result<String> {
    let text = identity::export_text(identity);
    store::create_private_new(out, text.as_bytes()).map_err(|e| {
        if out.exists() {
            anyhow::Error::from(Error::conflict(format!(
                "{} already exists; refusing to overwrite it",
                out.display()
            )))
        } else {
            e
        }
    })?;
    tracing::info!(out = %out.display(), "secrets: identity exported");
    Ok(identity.recipient().to_string())
}

/// Read a value from stdin (for `--stdin`): everything, one trailing newline removed.
pub fn read_value_from(mut input: impl std::io::Read) -> Result<SecretValue> {
    let mut buf = Zeroizing::new(Vec::new());
    input
        .read_to_end(&mut buf)
        .context("reading the value from stdin")?;
    let text = String::from_utf8(std::mem::take(&mut *buf)).map_err(|e| {
        drop(Zeroizing::new(e.into_bytes()));
        anyhow::anyhow!("the value on stdin is not UTF-8 text")
    })?;
    let mut text = Zeroizing::new(text);
    identity::strip_one_newline(&mut text);
    SecretValue::new(text)
}

/// Who asked for a release (logged with the names, never the values).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Requester {
    pub pid: u32,
    pub command: String,
}

/// Record a release in the active session's log (if the project has one; `log` is the session
/// engine, passed by the caller) and in the tracing log: names and requester only.
pub fn log_release(
    log: &dyn crate::activity::ActivityLog,
    project_root: Option<&Path>,
    names: &[String],
    requester: &Requester,
    via: &str,
) {
    tracing::info!(
        names = %names.join(","),
        pid = requester.pid,
        command = %requester.command,
        via,
        "secrets: released"
    );
    let Some(root) = project_root else { return };
    let Ok(project) = Project::open(root) else {
        return;
    };
    let command: String = requester.command.chars().take(120).collect();
    let body = format!(
        "Released {} to pid {} (`{}`) via {via}.",
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        requester.pid,
        command.replace('`', "'"),
    );
    if let Err(e) = log.record(&project, "Secrets released", &body) {
        tracing::warn!(error = %format!("{e:#}"), "secrets: could not log the release in the session");
    }
}
