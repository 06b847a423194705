//! `.patina/local/last-session.md`: which archive file holds the session that ended last.

use serde::{Deserialize, Serialize};

use super::document::Document;

/// The pointer's frontmatter; the body is a `# Last session: <title>` heading and the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSession {
    pub id: String,
    /// The archive file, relative to the project root.
    pub path: String,
    pub status: String,
    pub ended: String,
}

impl LastSession {
    /// The file text. Values are YAML-quoted where needed (a path may hold `: ` or `#`).
    pub fn render(&self, title: &str) -> String {
        let yaml = serde_yaml::to_string(self).unwrap_or_default();
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        format!(
            "---\n{yaml}---\n# Last session: {title}\n\n[[session-{}]]\n",
            self.id
        )
    }

    /// The pointer in `text`, or `None` when it is not one (no frontmatter, no `path`).
    pub fn parse(text: &str) -> Option<LastSession> {
        Document::parse(text).frontmatter()?.deserialize().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_values() {
        let p = LastSession {
            id: "20261129-141503".into(),
            path: "layer/sessions: odd #dir/20261129-141503.md".into(),
            status: "archived".into(),
            ended: "2026-11-29T15:00:00+01:00".into(),
        };
        let text = p.render("a: title\nwith lines");
        assert!(
            text.contains("# Last session: a: title with lines\n"),
            "{text}"
        );
        assert_eq!(LastSession::parse(&text), Some(p.clone()));
        assert_eq!(LastSession::parse(&text.replace('\n', "\r\n")), Some(p));
        // the form 0.12 wrote (unquoted) still reads
        let old = "---\nid: 1\npath: sessions/1.md\nstatus: archived\nended: x\n---\n";
        assert_eq!(LastSession::parse(old).unwrap().path, "sessions/1.md");
    }
}
