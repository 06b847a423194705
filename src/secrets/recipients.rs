//! Which project recipients the user has confirmed.
//!
//! `.patina/recipients.txt` is committed: anyone with a commit can add a key to it, and the next
//! re-encryption (`add`/`rm --project`, `recipients add|rm`) would silently give them every
//! project secret. So the user's own record, `PATINA_HOME/confirmed-recipients.json` (0600),
//! keeps, per recipients file, the keys they confirmed; a re-encryption to a key not in it needs
//! the user's yes (asked by the CLI) or an explicit flag. The user's own key is always confirmed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::identity::Identity;
use super::vault::{self, VaultPaths};
use crate::store;

const FILE: &str = "confirmed-recipients.json";
const LOCK: &str = "confirmed-recipients.lock";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmed {
    /// Absolute path of a recipients.txt → the keys confirmed for it.
    #[serde(default)]
    files: BTreeMap<PathBuf, BTreeSet<String>>,
}

fn file_key(paths: &VaultPaths) -> Result<PathBuf> {
    let f = paths
        .recipients
        .as_ref()
        .context("recipients apply to the project vault only")?;
    Ok(std::path::absolute(f).unwrap_or_else(|_| f.clone()))
}

fn load(path: &Path) -> Result<Confirmed> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t)
            .with_context(|| format!("{}: not a patina confirmed-recipients file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Confirmed::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Keys in the project's recipients.txt that the user has not confirmed (their own excluded):
/// encrypting the vault now would give these the project's secrets.
pub fn unconfirmed_recipients(paths: &VaultPaths, identity: &Identity) -> Result<Vec<String>> {
    let Some(file) = &paths.recipients else {
        return Ok(vec![]);
    };
    let listed = vault::read_recipients(file)?;
    let confirmed = load(&crate::paths::patina_home().join(FILE))?;
    let mine = confirmed.files.get(&file_key(paths)?);
    let own = identity.recipient().to_string();
    Ok(listed
        .iter()
        .map(|r| r.to_string())
        .filter(|r| *r != own && !mine.is_some_and(|m| m.contains(r)))
        .collect())
}

/// Record `recipients` as confirmed for this project's recipients file.
pub fn confirm_recipients(paths: &VaultPaths, recipients: &[String]) -> Result<()> {
    if recipients.is_empty() {
        return Ok(());
    }
    let key = file_key(paths)?;
    let home = crate::paths::patina_home();
    let path = home.join(FILE);
    let list: Vec<String> = recipients.to_vec();
    store::update_locked(&path, &home.join(LOCK), store::PRIVATE_FILE, |cur| {
        let mut c: Confirmed = match cur {
            Some(t) => serde_json::from_str(&t).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a patina confirmed-recipients file: {e}",
                    path.display()
                )
            })?,
            None => Confirmed::default(),
        };
        let set = c.files.entry(key).or_default();
        let before = set.len();
        set.extend(list);
        if set.len() == before {
            return Ok((None, ()));
        }
        Ok((Some(serde_json::to_string_pretty(&c)? + "\n"), ()))
    })
}
