//! The belief as data: what `list`, `show` and the cockpit see.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use super::format::{Doc, Item};

/// A loaded belief. Field values are as written (lenient): `belief check` judges them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Belief {
    pub id: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The one-line statement (first line after `# id`).
    pub statement: String,
    pub persona: Option<String>,
    pub facets: Vec<String>,
    pub entrenchment: Option<String>,
    pub status: Option<String>,
    pub endorsed: Option<bool>,
    pub extracted: Option<String>,
    pub revised: Option<String>,
    pub evidence: Vec<Item>,
    pub supports: Vec<Item>,
    pub attacks: Vec<Item>,
    pub attacked_by: Vec<Item>,
    pub applied_in: Vec<Item>,
    pub revision_log: Vec<Item>,
    /// Link targets marked as intentionally hypothetical (frontmatter `hypothetical:`).
    pub hypothetical: Vec<String>,
    /// Every `## ` section title, in file order (known and unknown).
    pub sections: Vec<String>,
    /// Frontmatter keys this version does not model (e.g. legacy `confidence:`), as JSON.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Frontmatter keys the model reads; everything else lands in `extra` (and stays in the file).
pub(crate) const KNOWN_KEYS: &[&str] = &[
    "type",
    "id",
    "persona",
    "facets",
    "entrenchment",
    "status",
    "endorsed",
    "extracted",
    "revised",
    "hypothetical",
];

impl Belief {
    pub(crate) fn from_doc(doc: &Doc, path: &Path) -> Belief {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The same rule as every other reader of a belief's header (`doc::header`).
        let scalar = |k: &str| crate::doc::header::scalar(&doc.yaml, k);
        let mut extra = serde_json::Map::new();
        for (k, v) in &doc.yaml {
            if let Some(k) = k.as_str()
                && !KNOWN_KEYS.contains(&k)
            {
                extra.insert(
                    k.to_string(),
                    serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
                );
            }
        }
        Belief {
            id: scalar("id").unwrap_or(stem),
            path: path.to_path_buf(),
            statement: doc.statement().map(|s| s.1).unwrap_or_default(),
            persona: scalar("persona"),
            facets: string_list(doc.get("facets")),
            entrenchment: scalar("entrenchment"),
            status: scalar("status"),
            endorsed: doc.get("endorsed").and_then(|v| v.as_bool()),
            extracted: scalar("extracted"),
            revised: scalar("revised"),
            evidence: doc.items("Evidence"),
            supports: doc.items("Supports"),
            attacks: doc.items("Attacks"),
            attacked_by: doc.items("Attacked-By"),
            applied_in: doc.items("Applied-In"),
            revision_log: doc.items("Revision Log"),
            hypothetical: string_list(doc.get("hypothetical")),
            sections: doc.sections.iter().map(|s| s.title.clone()).collect(),
            extra,
        }
    }

    /// Ids this belief supports (`[[links]]` of `## Supports`).
    pub fn supports_ids(&self) -> Vec<String> {
        self.supports.iter().flat_map(|i| i.links.clone()).collect()
    }

    /// Ids this belief attacks (`[[links]]` of `## Attacks`).
    pub fn attacks_ids(&self) -> Vec<String> {
        self.attacks.iter().flat_map(|i| i.links.clone()).collect()
    }
}

pub(crate) fn string_list(v: Option<&serde_yaml::Value>) -> Vec<String> {
    match v {
        Some(serde_yaml::Value::Sequence(s)) => s
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(serde_yaml::Value::String(s)) if !s.trim().is_empty() => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => vec![],
    }
}

/// Read and parse one belief file; errors name the file, the line and the field.
pub(crate) fn read_doc(path: &Path) -> Result<Doc> {
    let text = crate::store::read_to_string(path)?;
    Doc::parse(&text).map_err(|e| anyhow::anyhow!(located(path, &e)))
}

/// `path:line: field `f`: message`
pub(crate) fn located(path: &Path, e: &super::format::FormatError) -> String {
    match &e.field {
        Some(f) => format!("{}:{}: field `{f}`: {}", path.display(), e.line, e.message),
        None => format!("{}:{}: {}", path.display(), e.line, e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{self, header};

    proptest::proptest! {
        /// `belief list` shows the id, statement and status every other reader shows.
        #[test]
        fn belief_agrees_with_the_document_layer((stem, text) in doc::testgen::belief_file()) {
            let path = PathBuf::from(format!("/b/{stem}.md"));
            let h = header::read(header::Kind::Belief, &path, &doc::Document::parse(&text));
            if let Ok(d) = Doc::parse(&text) {
                let b = Belief::from_doc(&d, &path);
                proptest::prop_assert_eq!((b.id, b.statement, b.status), (h.id, h.title, h.status));
            }
        }
    }
}
