//! Arbitrary session and belief files for the readers' property tests (test builds only): each
//! reader checks that it shows the id, title and status [`super::header::read`] gives.

use proptest::prelude::*;

/// How a generated file is written: line endings, BOM, trailing spaces, tabs after `##`.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    crlf: u8,
    bom: bool,
    trailing: bool,
    tabs: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (0u8..3, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(crlf, bom, trailing, tabs)| {
        Style {
            crlf,
            bom,
            trailing,
            tabs,
        }
    })
}

/// `lines` (LF) written in `s`: LF, CRLF or mixed; maybe a BOM, trailing spaces, `##\t`.
fn write(lines: &[String], s: &Style) -> String {
    let mut out = String::new();
    if s.bom {
        out.push('\u{feff}');
    }
    for (i, l) in lines.iter().enumerate() {
        let mut l = l.clone();
        if s.tabs && l.starts_with("## ") {
            l = format!("##\t{}", &l[3..]);
        }
        out.push_str(&l);
        if s.trailing {
            out.push_str(" \t");
        }
        let crlf = s.crlf == 1 || (s.crlf == 2 && i % 2 == 0);
        out.push_str(if crlf { "\r\n" } else { "\n" });
    }
    out
}

/// Text without line breaks: ASCII punctuation (YAML's specials too), accents, dashes.
fn words() -> impl Strategy<Value = String> {
    "[ -~é—]{0,16}".prop_map(|s| s.replace(['\r', '\n'], ""))
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "20[0-9]{2}(0[1-9]|1[0-2])[0-2][0-9]-[0-2][0-9][0-5][0-9][0-5][0-9]",
        "20[0-9]{6}-[0-9]{6}-[0-9]{9}",
        "[a-z][a-z0-9-]{0,10}",
        words(),
    ]
}

fn status() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("active".to_string()),
        Just("archived".to_string()),
        "[a-z]{0,8}"
    ]
}

/// A YAML value as written: plain (may be invalid YAML or another type), or single-quoted.
fn yaml_value(v: String, quoted: bool) -> String {
    if quoted {
        format!("'{}'", v.replace('\'', "''"))
    } else {
        v
    }
}

fn body_lines() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            Just("## Goals".to_string()),
            Just("- [ ] a goal".to_string()),
            Just("- [x] done".to_string()),
            Just("## Activity Log".to_string()),
            Just("### 2026-01-02 10:00 - Note".to_string()),
            Just("### 18:24 - Session Start".to_string()),
            Just("```".to_string()),
            Just("~~~".to_string()),
            Just("# Heading".to_string()),
            Just("---".to_string()),
            Just(String::new()),
            words(),
        ],
        0..12,
    )
}

/// An arbitrary session file: (file stem, text).
pub(crate) fn session_file() -> impl Strategy<Value = (String, String)> {
    (
        0u8..3,
        id(),
        words(),
        status(),
        any::<bool>(),
        body_lines(),
        style(),
        id(),
    )
        .prop_map(|(format, id, title, status, quoted, body, style, stem)| {
            let mut lines: Vec<String> = Vec::new();
            match format {
                0 => {
                    lines.push("---".into());
                    lines.push("type: session".into());
                    lines.push(format!("id: {}", yaml_value(id, quoted)));
                    lines.push(format!("title: {}", yaml_value(title, quoted)));
                    lines.push(format!("status: {status}"));
                    lines.push("---".into());
                }
                1 => {
                    lines.push(format!("# Session: {title}"));
                    lines.push(format!("**ID**: {id}"));
                    lines.push(format!("**Status**: {status}"));
                }
                _ => lines.push(format!("# {title}")),
            }
            lines.extend(body);
            let stem = stem.replace(['/', '\\', '.'], "-");
            (
                if stem.is_empty() { "x".into() } else { stem },
                write(&lines, &style),
            )
        })
}

/// An arbitrary belief file: (file stem, text).
pub(crate) fn belief_file() -> impl Strategy<Value = (String, String)> {
    (
        id(),
        words(),
        status(),
        any::<bool>(),
        any::<bool>(),
        body_lines(),
        style(),
    )
        .prop_map(|(id, statement, status, quoted, in_section, body, style)| {
            let mut lines = vec![
                "---".to_string(),
                "type: belief".into(),
                format!("id: {}", yaml_value(id.clone(), quoted)),
                format!("status: {}", yaml_value(status, quoted)),
                "---".into(),
                String::new(),
                format!("# {id}"),
                String::new(),
            ];
            if in_section {
                lines.push("## Statement".into());
                lines.push(String::new());
            }
            lines.push(statement);
            lines.extend(body);
            (
                id.replace(['/', '\\', '.'], "-") + "-file",
                write(&lines, &style),
            )
        })
}
