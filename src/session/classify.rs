//! Work-type classification of a finished session, with patina 0.11's labels.
//!
//! The rule (also in docs/ARCHITECTURE.md), applied in order, first match wins:
//! 1. nothing committed and no file changed in the range → `exploration`;
//! 2. branch named `exp*`, `experiment*`, `spike*` or `try*` (then `/` or `-`) → `experiment`;
//! 3. pattern files (layer/ outside beliefs and the sessions archive) are at least half of the
//!    changed files → `pattern-work` (0.11 said "any layer file touched", which made a feature
//!    that fixed one typo in a pattern doc "pattern-work");
//! 4. ≥ 10 commits or ≥ 25 changed code files → `major-feature`;
//! 5. otherwise → `feature`.

use crate::git::FileChange;

use super::model::Classification;

/// Inputs of the classification, measured over `start_tag..end_tag`.
pub(crate) struct Measured<'a> {
    pub commits: usize,
    pub files: &'a [FileChange],
    pub branch: Option<&'a str>,
    pub beliefs_captured: usize,
    /// Root-relative prefix of the sessions archive (e.g. `sessions/`, `layer/sessions/`).
    pub sessions_prefix: &'a str,
}

fn is_pattern(path: &str, sessions_prefix: &str) -> bool {
    path.starts_with("layer/")
        && !path.starts_with("layer/surface/epistemic/beliefs/")
        && !path.starts_with(sessions_prefix)
}

fn is_bookkeeping(path: &str, sessions_prefix: &str) -> bool {
    path.starts_with(sessions_prefix)
        || path.starts_with("layer/surface/epistemic/beliefs/")
        || path.starts_with(".patina/")
}

pub(crate) fn classify(m: &Measured) -> Classification {
    let patterns = m
        .files
        .iter()
        .filter(|f| is_pattern(&f.path, m.sessions_prefix))
        .count();
    let code = m
        .files
        .iter()
        .filter(|f| {
            !is_pattern(&f.path, m.sessions_prefix) && !is_bookkeeping(&f.path, m.sessions_prefix)
        })
        .count();
    let branch = m.branch.unwrap_or("");
    let experimental = ["exp", "experiment", "spike", "try"].iter().any(|p| {
        branch
            .strip_prefix(p)
            .is_some_and(|r| r.starts_with('/') || r.starts_with('-'))
    });
    let work_type = if m.commits == 0 && m.files.is_empty() {
        "exploration"
    } else if experimental {
        "experiment"
    } else if patterns > 0 && patterns >= code {
        "pattern-work"
    } else if m.commits >= 10 || code >= 25 {
        "major-feature"
    } else {
        "feature"
    };
    Classification {
        work_type: work_type.to_string(),
        files_changed: m.files.len(),
        commits: m.commits,
        patterns_modified: patterns,
        beliefs_captured: m.beliefs_captured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str) -> FileChange {
        FileChange {
            status: 'M',
            path: p.into(),
            old_path: None,
        }
    }

    fn wt(commits: usize, files: &[&str], branch: &str) -> String {
        let files: Vec<_> = files.iter().map(|p| f(p)).collect();
        classify(&Measured {
            commits,
            files: &files,
            branch: Some(branch),
            beliefs_captured: 0,
            sessions_prefix: "sessions/",
        })
        .work_type
    }

    #[test]
    fn rule_in_order() {
        assert_eq!(wt(0, &[], "main"), "exploration");
        assert_eq!(wt(1, &["src/a.rs"], "spike/x"), "experiment");
        assert_eq!(wt(1, &["src/a.rs"], "spiked"), "feature");
        assert_eq!(
            wt(1, &["layer/core/a.md", "src/a.rs"], "main"),
            "pattern-work"
        );
        assert_eq!(
            wt(2, &["layer/core/a.md", "src/a.rs", "src/b.rs"], "main"),
            "feature"
        );
        // beliefs and the archive are bookkeeping, not patterns and not code
        assert_eq!(
            wt(
                1,
                &[
                    "layer/surface/epistemic/beliefs/x.md",
                    "sessions/1.md",
                    "src/a.rs"
                ],
                "main"
            ),
            "feature"
        );
        assert_eq!(wt(12, &["src/a.rs"], "main"), "major-feature");
    }
}
