//! `belief check`: what is wrong with the beliefs, each finding at path:line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::Result;
use regex::Regex;
use serde::Serialize;

use super::format::Doc;
use super::model::string_list;
use crate::layer::{LinkTargets, Resolution};
use crate::project::Project;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A `[[link]]` that resolves to nothing and is not marked hypothetical.
    DanglingLink,
    /// A session `[[link]]` that is a prefix of more than one session id.
    AmbiguousLink,
    /// Two identical evidence lines, or one evidence line naming the same link twice.
    DuplicateEvidence,
    /// A required section (or the `# id` heading / one-line statement) is missing or empty.
    MissingSection,
    /// A frontmatter key is missing, has a value outside its set, or the YAML is broken.
    InvalidFrontmatter,
    /// The frontmatter id differs from the file name, or the `# heading` differs from the id.
    IdMismatch,
    /// Two files declare the same id.
    DuplicateId,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::DanglingLink => "dangling_link",
            FindingKind::AmbiguousLink => "ambiguous_link",
            FindingKind::DuplicateEvidence => "duplicate_evidence",
            FindingKind::MissingSection => "missing_section",
            FindingKind::InvalidFrontmatter => "invalid_frontmatter",
            FindingKind::IdMismatch => "id_mismatch",
            FindingKind::DuplicateId => "duplicate_id",
        }
    }
}

/// One problem, located.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    /// Relative to the project root.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The frontmatter key or section concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The link target, for dangling links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub message: String,
}

/// The whole result of a check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Belief files examined.
    pub beliefs: usize,
    /// `[[links]]` examined (outside code and comments).
    pub links: usize,
    /// Findings, by path then line.
    pub findings: Vec<Finding>,
    /// Number of findings per kind (only kinds that occur).
    pub counts: BTreeMap<FindingKind, usize>,
    pub ok: bool,
}

pub(crate) static ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]*$").unwrap());

pub(crate) const ENTRENCHMENTS: &[&str] = &["low", "medium", "high", "very-high"];
pub(crate) const STATUSES: &[&str] = &["active", "scoped", "defeated", "archived"];
pub(crate) const REQUIRED_SECTIONS: &[&str] = &[
    "Statement",
    "Evidence",
    "Supports",
    "Attacks",
    "Attacked-By",
    "Applied-In",
    "Revision Log",
];
const REQUIRED_KEYS: &[&str] = &[
    "type",
    "id",
    "persona",
    "facets",
    "entrenchment",
    "status",
    "extracted",
    "revised",
];

pub(crate) fn check(project: &Project) -> Result<CheckReport> {
    let targets = LinkTargets::load(project)?;
    let mut paths = crate::layer::list_belief_files(project)?;
    paths.sort();
    let mut findings = Vec::new();
    let mut ids: HashMap<String, PathBuf> = HashMap::new();
    let mut links = 0;
    for path in &paths {
        let rel = rel_path(project, path);
        let text = crate::store::read_to_string(path)?;
        let doc = match Doc::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                findings.push(Finding {
                    kind: FindingKind::InvalidFrontmatter,
                    path: rel,
                    line: e.line,
                    field: e.field,
                    target: None,
                    message: e.message,
                });
                continue;
            }
        };
        findings.extend(validate_doc(&doc, &rel));
        links += doc.links().len();
        findings.extend(link_findings(&doc, &rel, &targets));
        if let Some(id) = doc.get_str("id") {
            match ids.get(id) {
                Some(first) => findings.push(Finding {
                    kind: FindingKind::DuplicateId,
                    path: rel.clone(),
                    line: doc.key_line("id"),
                    field: Some("id".into()),
                    target: None,
                    message: format!("id `{id}` is also declared by {}", first.display()),
                }),
                None => {
                    ids.insert(id.to_string(), rel.clone());
                }
            }
        }
    }
    findings.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    let mut counts = BTreeMap::new();
    for f in &findings {
        *counts.entry(f.kind).or_insert(0) += 1;
    }
    Ok(CheckReport {
        beliefs: paths.len(),
        links,
        ok: findings.is_empty(),
        findings,
        counts,
    })
}

pub(crate) fn rel_path(project: &Project, path: &Path) -> PathBuf {
    path.strip_prefix(project.root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

fn finding(
    kind: FindingKind,
    rel: &Path,
    line: usize,
    field: Option<&str>,
    msg: String,
) -> Finding {
    Finding {
        kind,
        path: rel.to_path_buf(),
        line,
        field: field.map(str::to_string),
        target: None,
        message: msg,
    }
}

/// Everything about one file except its links: frontmatter values, id, sections, evidence.
pub(crate) fn validate_doc(doc: &Doc, rel: &Path) -> Vec<Finding> {
    use FindingKind::*;
    let mut out = Vec::new();
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for key in REQUIRED_KEYS {
        if doc.get(key).is_none_or(|v| v.is_null()) {
            out.push(finding(
                InvalidFrontmatter,
                rel,
                doc.key_line(key),
                Some(key),
                format!("required key `{key}` is missing or empty"),
            ));
        }
    }
    let bad = |out: &mut Vec<Finding>, key: &str, msg: String| {
        out.push(finding(
            InvalidFrontmatter,
            rel,
            doc.key_line(key),
            Some(key),
            msg,
        ));
    };
    if let Some(v) = doc.get("type")
        && v.as_str() != Some("belief")
    {
        bad(
            &mut out,
            "type",
            format!("type is {}, expected `belief`", show(v)),
        );
    }
    if let Some(v) = doc.get("id").filter(|v| !v.is_null()) {
        match v.as_str() {
            Some(id) if ID_RE.is_match(id) => {
                if id != stem {
                    out.push(finding(
                        IdMismatch,
                        rel,
                        doc.key_line("id"),
                        Some("id"),
                        format!("id `{id}` differs from the file name `{stem}.md`"),
                    ));
                }
            }
            _ => bad(
                &mut out,
                "id",
                format!("id {} does not match ^[a-z][a-z0-9-]*$", show(v)),
            ),
        }
    }
    if let Some(v) = doc.get("persona").filter(|v| !v.is_null())
        && v.as_str().is_none_or(|s| s.trim().is_empty())
    {
        bad(
            &mut out,
            "persona",
            format!("persona {} is not a name", show(v)),
        );
    }
    if let Some(v) = doc.get("facets").filter(|v| !v.is_null()) {
        let ok = match v {
            serde_yaml::Value::Sequence(s) => s.iter().all(|x| x.as_str().is_some()),
            _ => false,
        };
        if !ok {
            bad(
                &mut out,
                "facets",
                format!("facets {} is not a list of names like [a, b]", show(v)),
            );
        }
    }
    for (key, allowed) in [("entrenchment", ENTRENCHMENTS), ("status", STATUSES)] {
        if let Some(v) = doc.get(key).filter(|v| !v.is_null())
            && !v.as_str().is_some_and(|s| allowed.contains(&s))
        {
            bad(
                &mut out,
                key,
                format!("{key} {} is not one of {}", show(v), allowed.join("|")),
            );
        }
    }
    if let Some(v) = doc.get("endorsed")
        && !v.is_bool()
    {
        bad(
            &mut out,
            "endorsed",
            format!("endorsed {} is not true or false", show(v)),
        );
    }
    for key in ["extracted", "revised"] {
        if let Some(v) = doc.get(key).filter(|v| !v.is_null())
            && !v.as_str().is_some_and(is_date)
        {
            bad(
                &mut out,
                key,
                format!("{key} {} is not a date YYYY-MM-DD", show(v)),
            );
        }
    }
    if let Some(v) = doc.get("hypothetical")
        && !matches!(v, serde_yaml::Value::Sequence(s) if s.iter().all(|x| x.as_str().is_some()))
    {
        bad(
            &mut out,
            "hypothetical",
            format!("hypothetical {} is not a list of link targets", show(v)),
        );
    }

    // Heading and statement.
    let id = doc.get_str("id").unwrap_or(&stem).to_string();
    match doc.h1() {
        None => out.push(finding(
            MissingSection,
            rel,
            doc.preamble_line,
            Some("# id"),
            format!("no `# {id}` heading before the sections"),
        )),
        Some((line, h)) => {
            if h != id {
                out.push(finding(
                    IdMismatch,
                    rel,
                    line,
                    Some("# id"),
                    format!("heading `# {h}` differs from the id `{id}`"),
                ));
            }
            if doc.statement().is_none() {
                out.push(finding(
                    MissingSection,
                    rel,
                    line,
                    Some("statement"),
                    "no one-line statement after the `# id` heading".into(),
                ));
            }
        }
    }
    let anchor = doc.h1().map(|h| h.0).unwrap_or(doc.preamble_line);
    for title in REQUIRED_SECTIONS {
        match doc.section(title) {
            None => out.push(finding(
                MissingSection,
                rel,
                anchor,
                Some(title),
                format!("required section `## {title}` is missing"),
            )),
            Some(s) if *title == "Statement" => {
                if s.body.iter().all(|l| l.trim().is_empty()) {
                    out.push(finding(
                        MissingSection,
                        rel,
                        s.line,
                        Some(title),
                        "section `## Statement` is empty".into(),
                    ));
                }
            }
            Some(_) => {}
        }
    }

    // Evidence: identical lines, and one line naming the same link twice.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in doc.items("Evidence") {
        let norm = item.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(first) = seen.get(&norm) {
            out.push(finding(
                DuplicateEvidence,
                rel,
                item.line,
                Some("Evidence"),
                format!("evidence line repeats line {first}"),
            ));
        } else {
            seen.insert(norm, item.line);
        }
        let mut links: Vec<&String> = item.links.iter().collect();
        links.sort();
        if let Some(w) = links.windows(2).find(|w| w[0] == w[1]) {
            out.push(finding(
                DuplicateEvidence,
                rel,
                item.line,
                Some("Evidence"),
                format!("evidence line links [[{}]] twice", w[0]),
            ));
        }
    }
    out
}

/// Dangling links of one file (targets listed in frontmatter `hypothetical:` are exempt).
pub(crate) fn link_findings(doc: &Doc, rel: &Path, targets: &LinkTargets) -> Vec<Finding> {
    let hypothetical = string_list(doc.get("hypothetical"));
    doc.links()
        .into_iter()
        .filter(|(_, t, _)| !hypothetical.iter().any(|h| h == t))
        .filter_map(|(line, t, section)| {
            let (kind, message) = match targets.resolve(&t) {
                Resolution::Dangling => (
                    FindingKind::DanglingLink,
                    format!(
                        "[[{t}]] points at no belief, layer document, session or file \
                         (add it to `hypothetical:` in the frontmatter if that is intended)"
                    ),
                ),
                Resolution::Ambiguous => (
                    FindingKind::AmbiguousLink,
                    format!(
                        "[[{t}]] could name any of {}; write the full id",
                        targets.candidates(&t).join(", ")
                    ),
                ),
                _ => return None,
            };
            Some(Finding {
                kind,
                path: rel.to_path_buf(),
                line,
                field: (!section.is_empty()).then_some(section),
                message,
                target: Some(t),
            })
        })
        .collect()
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
        || chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn show(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => format!("`{s}`"),
        other => format!(
            "`{}`",
            serde_yaml::to_string(other)
                .unwrap_or_default()
                .trim()
                .replace('\n', " ")
        ),
    }
}
