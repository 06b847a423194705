//! Writing beliefs: create, link, revise. Every write is validated first, happens under the
//! beliefs lock, goes through `store::atomic_write`, and is undone when a later step fails.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::check::{ENTRENCHMENTS, ID_RE, STATUSES, validate_doc};
use super::format::{Doc, links_in_text};
use super::model::read_doc;
use super::{Belief, Created, LinkOutcome, NewBelief, Relation};
use crate::error::Error;
use crate::layer::{DocKind, LinkTargets, Resolution};
use crate::project::Project;
use crate::store;

const MODE: u32 = 0o644;

fn lock(project: &Project) -> Result<store::FileLock> {
    store::FileLock::acquire(&project.local_dir().join("beliefs.lock"))
}

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// The file of belief `id`: `<id>.md`, else the file whose frontmatter declares it.
pub(crate) fn find_path(project: &Project, id: &str) -> Result<Option<PathBuf>> {
    let direct = project.beliefs_dir().join(format!("{id}.md"));
    if direct.is_file() {
        return Ok(Some(direct));
    }
    for p in crate::layer::list_belief_files(project)? {
        if let Ok(doc) = read_doc(&p)
            && doc.get_str("id") == Some(id)
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

fn require_path(project: &Project, id: &str) -> Result<PathBuf> {
    find_path(project, id)?.ok_or_else(|| {
        Error::not_found(format!(
            "no belief `{id}` in {}",
            project.beliefs_dir().display()
        ))
        .into()
    })
}

fn one_line(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid_input(format!("{field} is empty")).into());
    }
    if v.contains('\n') || v.contains('\r') {
        return Err(Error::invalid_input(format!("{field} must be one line")).into());
    }
    Ok(v.to_string())
}

/// Validate every field of a new belief; the errors name the field and the value.
fn validate_new(nb: &NewBelief) -> Result<()> {
    if !ID_RE.is_match(&nb.id) {
        return Err(Error::invalid_input(format!(
            "id `{}` is invalid: use lowercase letters, digits and dashes, starting with a letter (^[a-z][a-z0-9-]*$)",
            nb.id
        ))
        .into());
    }
    let st = one_line("statement", &nb.statement)?;
    if st.starts_with('#') || st.starts_with("---") {
        return Err(Error::invalid_input(format!(
            "statement `{st}` must not start with `#` or `---`"
        ))
        .into());
    }
    for e in &nb.evidence {
        one_line("evidence", e)?;
    }
    if !ENTRENCHMENTS.contains(&nb.entrenchment.as_str()) {
        return Err(Error::invalid_input(format!(
            "entrenchment `{}` is unknown: use one of {}",
            nb.entrenchment,
            ENTRENCHMENTS.join(", ")
        ))
        .into());
    }
    if !ID_RE.is_match(&nb.persona) {
        return Err(Error::invalid_input(format!(
            "persona `{}` is invalid: use lowercase letters, digits and dashes",
            nb.persona
        ))
        .into());
    }
    for f in &nb.facets {
        if f.is_empty()
            || !f
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Error::invalid_input(format!(
                "facet `{f}` is invalid: use lowercase letters, digits and dashes"
            ))
            .into());
        }
    }
    for (field, ids) in [("supports", &nb.supports), ("attacks", &nb.attacks)] {
        for t in ids {
            if t.trim().is_empty() || t.contains(['[', ']', '\n']) {
                return Err(Error::invalid_input(format!(
                    "{field} target `{t}` is not a link target (write the id, without [[ ]])"
                ))
                .into());
            }
            if t == &nb.id {
                return Err(
                    Error::invalid_input(format!("{field}: a belief cannot link itself")).into(),
                );
            }
        }
    }
    Ok(())
}

/// `[a, b, "odd: one"]`: plain items where YAML allows, JSON-quoted (valid YAML) otherwise.
fn yaml_flow_list(items: &[String]) -> String {
    let plain = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    };
    let parts: Vec<String> = items
        .iter()
        .map(|i| {
            if plain(i) {
                i.clone()
            } else {
                serde_json::to_string(i).unwrap_or_default()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The §5 text of a new belief.
fn render_new(nb: &NewBelief, session: Option<&str>, hypothetical: &[String]) -> String {
    let date = today();
    let statement = nb.statement.trim();
    let mut evidence: Vec<String> = nb.evidence.iter().map(|e| e.trim().to_string()).collect();
    if let Some(sid) = session {
        let link = format!("session-{sid}");
        let linked = evidence
            .iter()
            .any(|e| links_in_text(e).iter().any(|l| l == &link));
        if !linked {
            match evidence.first_mut() {
                Some(first) => *first = format!("[[{link}]]: {first}"),
                None => evidence.push(format!("[[{link}]]: captured during this session")),
            }
        }
    }
    let list = |items: Vec<String>, empty: &str| -> String {
        if items.is_empty() {
            format!("<!-- {empty} -->\n")
        } else {
            items.iter().map(|i| format!("- {i}\n")).collect()
        }
    };
    let links = |ids: &[String]| ids.iter().map(|i| format!("[[{i}]]")).collect::<Vec<_>>();
    let mut fm = format!(
        "---\ntype: belief\nid: {id}\npersona: {persona}\nfacets: [{facets}]\nentrenchment: {ent}\nstatus: active\nendorsed: false\nextracted: {date}\nrevised: {date}\n",
        id = nb.id,
        persona = nb.persona,
        facets = nb.facets.join(", "),
        ent = nb.entrenchment,
    );
    if !hypothetical.is_empty() {
        fm.push_str(&format!("hypothetical: {}\n", yaml_flow_list(hypothetical)));
    }
    let created = match session {
        Some(s) => format!("Created in [[session-{s}]]"),
        None => "Created".to_string(),
    };
    format!(
        "{fm}---\n\n# {id}\n\n{statement}\n\n## Statement\n\n{statement}\n\n## Evidence\n\n{evidence}\n## Supports\n\n{supports}\n## Attacks\n\n{attacks}\n## Attacked-By\n\n<!-- Beliefs or arguments that challenge this -->\n\n## Applied-In\n\n<!-- Where this was applied -->\n\n## Revision Log\n\n- {date}: {created}\n",
        id = nb.id,
        evidence = list(
            evidence,
            "Evidence: what happened and where (session, commit), e.g. (weight: 0.9)"
        ),
        supports = list(links(&nb.supports), "Beliefs this supports"),
        attacks = list(links(&nb.attacks), "Beliefs this attacks"),
    )
}

/// Problems that make a belief file unacceptable after `new --edit` (links are `check`'s job).
fn structural_errors(doc: &Doc, rel: &Path) -> Vec<String> {
    validate_doc(doc, rel)
        .into_iter()
        .map(|f| format!("{}:{}: {}", rel.display(), f.line, f.message))
        .collect()
}

pub(crate) fn create(
    project: &Project,
    nb: &NewBelief,
    edit: Option<super::EditHook<'_>>,
    log: &dyn crate::activity::ActivityLog,
) -> Result<Created> {
    // Facets as people type them (`a, b`, ` c `, a trailing comma): names trimmed, blanks gone.
    let cleaned = NewBelief {
        facets: nb
            .facets
            .iter()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect(),
        ..nb.clone()
    };
    let nb = &cleaned;
    validate_new(nb)?;
    // Reading every layer doc and session costs ~20 ms on a large archive: only when linking.
    let mut targets: Option<LinkTargets> = None;
    if !nb.supports.is_empty() || !nb.attacks.is_empty() {
        targets = Some(LinkTargets::load(project)?);
    }
    let mut hypothetical = Vec::new();
    for (field, ids) in [("supports", &nb.supports), ("attacks", &nb.attacks)] {
        for t in ids {
            if let Some(x) = targets.as_ref() {
                refuse_ambiguous(x, field, t)?;
            }
            if targets
                .as_ref()
                .is_some_and(|x| x.resolve(t) == Resolution::Dangling)
            {
                if nb.hypothetical {
                    hypothetical.push(t.clone());
                } else {
                    return Err(Error::not_found(format!(
                        "{field} target `{t}` is not a belief, layer document or session \
                         (pass --hypothetical to record it as intentionally hypothetical)"
                    ))
                    .into());
                }
            }
        }
    }
    let _lock = lock(project)?;
    let path = project.beliefs_dir().join(format!("{}.md", nb.id));
    if path.exists() {
        return Err(Error::conflict(format!(
            "belief `{}` already exists at {}; refusing to overwrite it",
            nb.id,
            path.display()
        ))
        .into());
    }
    if let Some(other) = find_path(project, &nb.id)? {
        return Err(Error::conflict(format!(
            "id `{}` is already declared by {}",
            nb.id,
            other.display()
        ))
        .into());
    }
    let session = log.active_session(project)?;
    let text = render_new(nb, session.as_deref(), &hypothetical);
    let rel = super::check::rel_path(project, &path);
    let doc =
        Doc::parse(&text).map_err(|e| anyhow!("internal: rendered belief does not parse: {e}"))?;
    let errs = structural_errors(&doc, &rel);
    if !errs.is_empty() {
        bail!("internal: rendered belief is invalid: {}", errs.join("; "));
    }
    store::atomic_write(&path, text.as_bytes(), MODE)?;

    let doc = match edit {
        None => doc,
        Some(hook) => match edited(project, &path, &rel, &nb.id, hook) {
            Ok(d) => d,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        },
    };

    let belief = Belief::from_doc(&doc, &path);
    // Back-references in the beliefs this one supports or attacks.
    let mut undo: Vec<(PathBuf, String)> = Vec::new();
    let mut linked = Vec::new();
    let result = (|| -> Result<()> {
        if belief.supports_ids().is_empty() && belief.attacks_ids().is_empty() {
            return Ok(());
        }
        if targets.is_none() {
            targets = Some(LinkTargets::load(project)?);
        }
        let targets = targets.as_ref().expect("loaded above");
        for (rel_kind, ids) in [
            (Relation::Supports, belief.supports_ids()),
            (Relation::Attacks, belief.attacks_ids()),
        ] {
            for t in ids {
                if let Some((p, old)) = back_reference(project, targets, &t, rel_kind, &nb.id)? {
                    undo.push((p, old));
                    linked.push(t);
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (p, old) in undo.iter().rev() {
            let _ = store::atomic_write(p, old.as_bytes(), MODE);
        }
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    if session.is_some() {
        let heading = format!("Belief captured: {} — {}", belief.id, belief.statement);
        if let Err(e) = log.record(project, &heading, "") {
            tracing::warn!("logging the captured belief to the session: {e:#}");
        }
    }
    Ok(Created {
        belief,
        session,
        back_references: linked,
    })
}

/// Run the editor hook on the new file and re-validate it; on failure keep the rejected text
/// under `.patina/local/` so no typing is lost, and say where.
fn edited(
    project: &Project,
    path: &Path,
    rel: &Path,
    id: &str,
    hook: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<Doc> {
    hook(path)?;
    let text = store::read_to_string(path)?;
    let problems = match Doc::parse(&text) {
        Err(e) => vec![super::model::located(rel, &e)],
        Ok(doc) => {
            let mut p = structural_errors(&doc, rel);
            if doc.get_str("id") != Some(id) {
                p.push(format!(
                    "{}: the id must stay `{id}` (use a new `belief new` for another id)",
                    rel.display()
                ));
            }
            if p.is_empty() {
                return Ok(doc);
            }
            p
        }
    };
    let keep = project.local_dir().join(format!("rejected-belief-{id}.md"));
    let kept = store::atomic_write(&keep, text.as_bytes(), store::PRIVATE_FILE).is_ok();
    let mut msg = format!(
        "the edited belief is invalid, nothing was kept in the layer:\n  {}",
        problems.join("\n  ")
    );
    if kept {
        msg.push_str(&format!("\nyour text is saved in {}", keep.display()));
    }
    Err(anyhow!(msg))
}

/// Add the back-reference of `from --rel--> target` to `target` when it is a belief:
/// supports → an evidence line `[[from]]: supporting belief`; attacks → `[[from]]` under
/// `## Attacked-By`. Returns the target's path and previous text when it was changed.
/// A session link that could name several sessions is refused with the candidates: the user
/// picks, patina never guesses.
fn refuse_ambiguous(targets: &LinkTargets, field: &str, t: &str) -> Result<()> {
    if targets.resolve(t) != Resolution::Ambiguous {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "{field} `{t}` could name any of {}; write the full id",
        targets.candidates(t).join(", ")
    ))
    .into())
}

fn back_reference(
    project: &Project,
    targets: &LinkTargets,
    target: &str,
    rel: Relation,
    from: &str,
) -> Result<Option<(PathBuf, String)>> {
    if targets.resolve(target) != Resolution::Known(DocKind::Belief) {
        return Ok(None);
    }
    let Some(path) = find_path(project, target)? else {
        return Ok(None);
    };
    let old = store::read_to_string(&path)?;
    let mut doc = Doc::parse(&old).map_err(|e| anyhow!(super::model::located(&path, &e)))?;
    let (section, bullet) = match rel {
        Relation::Supports => ("Evidence", format!("[[{from}]]: supporting belief")),
        Relation::Attacks => ("Attacked-By", format!("[[{from}]]")),
    };
    if doc
        .items(section)
        .iter()
        .any(|i| i.links.iter().any(|l| l == from))
    {
        return Ok(None);
    }
    doc.append_bullet(section, &bullet);
    store::atomic_write(&path, doc.render().as_bytes(), MODE)?;
    Ok(Some((path, old)))
}

pub(crate) fn link(
    project: &Project,
    from: &str,
    rel: Relation,
    to: &str,
    hypothetical: bool,
) -> Result<LinkOutcome> {
    if from == to {
        return Err(Error::usage(format!("a belief cannot link itself (`{from}`)")).into());
    }
    if to.trim().is_empty() || to.contains(['[', ']', '\n', ',']) {
        return Err(Error::usage(format!(
            "`{to}` is not a link target (write the id, without [[ ]])"
        ))
        .into());
    }
    let targets = LinkTargets::load(project)?;
    let _lock = lock(project)?;
    let from_path = require_path(project, from)?;
    let from_old = store::read_to_string(&from_path)?;
    let mut from_doc =
        Doc::parse(&from_old).map_err(|e| anyhow!(super::model::located(&from_path, &e)))?;
    let mut mark_hypothetical = false;
    refuse_ambiguous(&targets, "target", to)?;
    match targets.resolve(to) {
        Resolution::Dangling if hypothetical => mark_hypothetical = true,
        Resolution::Dangling => {
            return Err(Error::not_found(format!(
                "`{to}` is not a belief, layer document or session \
                 (pass --hypothetical to record it as intentionally hypothetical)"
            ))
            .into());
        }
        Resolution::Known(DocKind::Belief) => {
            // Parse the target before writing anything: a broken target must fail cleanly.
            let to_path = require_path(project, to)?;
            read_doc(&to_path)?;
        }
        _ => {}
    }
    let (section, opposite) = match rel {
        Relation::Supports => ("Supports", "Attacks"),
        Relation::Attacks => ("Attacks", "Supports"),
    };
    let has = |doc: &Doc, s: &str| doc.items(s).iter().any(|i| i.links.iter().any(|l| l == to));
    if has(&from_doc, opposite) {
        return Err(Error::conflict(format!(
            "`{from}` already lists [[{to}]] under `## {opposite}`; remove it there first"
        ))
        .into());
    }
    let mut changed = Vec::new();
    let mut edited = false;
    if mark_hypothetical {
        let mut list = super::model::string_list(from_doc.get("hypothetical"));
        if !list.iter().any(|h| h == to) {
            list.push(to.to_string());
            from_doc.set_key("hypothetical", &yaml_flow_list(&list));
            edited = true;
        }
    }
    if !has(&from_doc, section) {
        from_doc.append_bullet(section, &format!("[[{to}]]"));
        edited = true;
    }
    let from_changed = if !edited {
        false
    } else {
        store::atomic_write(&from_path, from_doc.render().as_bytes(), MODE)?;
        changed.push(from_path.clone());
        true
    };
    match back_reference(project, &targets, to, rel, from) {
        Ok(Some((p, _))) => changed.push(p),
        Ok(None) => {}
        Err(e) => {
            if from_changed {
                let _ = store::atomic_write(&from_path, from_old.as_bytes(), MODE);
            }
            return Err(e).with_context(|| format!("adding the back-reference in `{to}`"));
        }
    }
    Ok(LinkOutcome {
        from: from.to_string(),
        relation: rel,
        to: to.to_string(),
        changed,
    })
}

pub(crate) fn revise(
    project: &Project,
    id: &str,
    note: &str,
    status: Option<&str>,
    entrenchment: Option<&str>,
) -> Result<Belief> {
    let note = one_line("note", note)?;
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(Error::invalid_input(format!(
            "status `{s}` is unknown: use one of {}",
            STATUSES.join(", ")
        ))
        .into());
    }
    if let Some(e) = entrenchment
        && !ENTRENCHMENTS.contains(&e)
    {
        return Err(Error::invalid_input(format!(
            "entrenchment `{e}` is unknown: use one of {}",
            ENTRENCHMENTS.join(", ")
        ))
        .into());
    }
    let _lock = lock(project)?;
    let path = require_path(project, id)?;
    let mut doc = read_doc(&path)?;
    let date = today();
    let mut entry = format!("{date}: {note}");
    for (key, new) in [("status", status), ("entrenchment", entrenchment)] {
        if let Some(new) = new {
            let old = doc.get_str(key).unwrap_or("none").to_string();
            if old != new {
                entry.push_str(&format!(" ({key}: {old} → {new})"));
                doc.set_key(key, new);
            }
        }
    }
    doc.set_key("revised", &date);
    doc.append_bullet("Revision Log", &entry);
    let text = doc.render();
    let doc =
        Doc::parse(&text).map_err(|e| anyhow!("internal: revised belief does not parse: {e}"))?;
    store::atomic_write(&path, text.as_bytes(), MODE)?;
    Ok(Belief::from_doc(&doc, &path))
}
