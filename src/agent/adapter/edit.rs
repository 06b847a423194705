//! Edits of the user's own files, each keeping everything that is not patina's: JSON / JSONC
//! through a concrete syntax tree (`jsonc-parser`: comments, order, indentation and trailing
//! commas survive), TOML through `toml_edit`, markdown by a block between markers. Every edit has
//! its inverse (`remove`), used when `uninstall` cannot simply restore the recorded original.

use anyhow::{Result, anyhow, bail};
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

use super::content::{BLOCK_BEGIN, BLOCK_END};

/// One thing patina puts into a file.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    /// A file patina owns entirely (commands, skills, the opencode plugin).
    Whole(String),
    /// The instruction block between markers in a markdown file.
    Block(String),
    /// One line of a line-based file (`.git/info/exclude`), added when absent.
    Line(String),
    /// `<container...>.<name> = value` in a JSON(C) settings file (MCP registrations).
    JsonEntry {
        container: Vec<&'static str>,
        name: &'static str,
        value: Value,
    },
    /// Hook groups under `hooks.<event>` (one per event), skipped when a handler with the same
    /// command is already there.
    JsonHooks(Vec<(&'static str, Value)>),
    /// `[<table>.<name>]` in a TOML file (Codex MCP registration).
    TomlTable {
        table: &'static str,
        name: &'static str,
        value: toml::Table,
    },
}

fn parse_options() -> ParseOptions {
    // What the agents accept in their settings: JSON with comments and trailing commas.
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_extended_string_escapes: false,
        allow_non_finite_numbers: false,
    }
}

fn parse_jsonc(text: &str, file: &str) -> Result<CstRootNode> {
    CstRootNode::parse(text, &parse_options()).map_err(|e| {
        anyhow!(
            "{file}: not valid JSON (comments allowed): {e}; fix it, patina will not overwrite it"
        )
    })
}

fn to_input(v: &Value) -> CstInputValue {
    match v {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(to_input).collect()),
        Value::Object(o) => {
            CstInputValue::Object(o.iter().map(|(k, v)| (k.clone(), to_input(v))).collect())
        }
    }
}

fn root_object(root: &CstRootNode, file: &str) -> Result<CstObject> {
    match root.value() {
        None => Ok(root.object_value_or_set()),
        Some(v) => v
            .as_object()
            .ok_or_else(|| anyhow!("{file}: expected a JSON object at the top")),
    }
}

fn child_object(obj: &CstObject, key: &str, file: &str) -> Result<CstObject> {
    match obj.get(key) {
        None => Ok(obj.object_value_or_set(key)),
        Some(p) => p
            .object_value()
            .ok_or_else(|| anyhow!("{file}: `{key}` must be an object")),
    }
}

/// The new text of a file (`current` = None: absent) with `piece` added. Returns the text
/// unchanged when the piece is already there. `file` names the file in errors.
pub(super) fn apply(current: Option<&str>, piece: &Piece, file: &str) -> Result<String> {
    match piece {
        Piece::Whole(text) => Ok(text.clone()),
        Piece::Block(block) => Ok(add_block(current.unwrap_or(""), block)),
        Piece::Line(line) => {
            let text = current.unwrap_or("");
            if text.lines().any(|l| l == line) {
                return Ok(text.to_string());
            }
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            Ok(format!("{text}{sep}{line}\n"))
        }
        Piece::JsonEntry {
            container,
            name,
            value,
        } => {
            let text = current.filter(|t| !t.trim().is_empty()).unwrap_or("{}\n");
            let root = parse_jsonc(text, file)?;
            let mut obj = root_object(&root, file)?;
            for key in container {
                obj = child_object(&obj, key, file)?;
            }
            match obj.get(name) {
                Some(p) if p.value().and_then(|v| v.to_serde_value()).as_ref() == Some(value) => {}
                Some(p) => p.set_value(to_input(value)),
                None => {
                    obj.append(name, to_input(value));
                }
            }
            Ok(finish(root.to_string(), current))
        }
        Piece::JsonHooks(groups) => {
            let text = current.filter(|t| !t.trim().is_empty()).unwrap_or("{}\n");
            let root = parse_jsonc(text, file)?;
            let top = root_object(&root, file)?;
            let hooks = child_object(&top, "hooks", file)?;
            for (event, group) in groups {
                let arr = match hooks.get(event) {
                    None => hooks.array_value_or_set(event),
                    Some(p) => p
                        .array_value()
                        .ok_or_else(|| anyhow!("{file}: `hooks.{event}` must be an array"))?,
                };
                let present = arr
                    .elements()
                    .iter()
                    .any(|g| g.to_serde_value().is_some_and(|g| same_handlers(&g, group)));
                if !present {
                    arr.append(to_input(group));
                }
            }
            Ok(finish(root.to_string(), current))
        }
        Piece::TomlTable { table, name, value } => {
            let mut doc: toml_edit::DocumentMut = current.unwrap_or("").parse().map_err(|e| {
                anyhow!("{file}: not valid TOML: {e}; fix it, patina will not overwrite it")
            })?;
            let parent = doc
                .entry(table)
                .or_insert_with(|| {
                    let mut t = toml_edit::Table::new();
                    t.set_implicit(true);
                    toml_edit::Item::Table(t)
                })
                .as_table_mut()
                .ok_or_else(|| anyhow!("{file}: `{table}` must be a table"))?;
            let wanted = toml_table(value);
            let same = parent
                .get(name)
                .and_then(|i| i.as_table())
                .is_some_and(|t| t.to_string() == wanted.to_string());
            if !same {
                parent.insert(name, toml_edit::Item::Table(wanted));
            }
            Ok(doc.to_string())
        }
    }
}

/// The text with `piece` taken out again; `None` when nothing of the user's is left (the file
/// can go). Used when the file changed since install, so the recorded original cannot simply
/// be restored.
pub(super) fn remove(current: &str, piece: &Piece, file: &str) -> Result<Option<String>> {
    let out = match piece {
        Piece::Whole(text) => {
            // Ours only while it is what we wrote; an edited command file is the user's now.
            if current == text {
                String::new()
            } else {
                current.to_string()
            }
        }
        Piece::Block(_) => remove_block(current),
        Piece::Line(line) => {
            let mut out = String::with_capacity(current.len());
            for l in current.split_inclusive('\n') {
                if l.trim_end_matches('\n') != line {
                    out.push_str(l);
                }
            }
            out
        }
        Piece::JsonEntry {
            container, name, ..
        } => {
            let root = parse_jsonc(current, file)?;
            if let Some(top) = root.value().and_then(|v| v.as_object()) {
                let mut chain = vec![top];
                for key in container {
                    let Some(next) = chain.last().and_then(|o| o.object_value(key)) else {
                        break;
                    };
                    chain.push(next);
                }
                if chain.len() == container.len() + 1 {
                    if let Some(p) = chain.last().and_then(|o| o.get(name)) {
                        p.remove();
                    }
                    // Containers that only held our entry go too.
                    for (i, key) in container.iter().enumerate().rev() {
                        if chain[i + 1].properties().is_empty()
                            && let Some(p) = chain[i].get(key)
                        {
                            p.remove();
                        }
                    }
                }
            }
            root.to_string()
        }
        Piece::JsonHooks(groups) => {
            let root = parse_jsonc(current, file)?;
            if let Some(hooks) = root
                .value()
                .and_then(|v| v.as_object())
                .and_then(|o| o.object_value("hooks"))
            {
                for (event, group) in groups {
                    let Some(arr) = hooks.array_value(event) else {
                        continue;
                    };
                    for g in arr.elements() {
                        if g.to_serde_value().is_some_and(|v| same_handlers(&v, group)) {
                            g.remove();
                        }
                    }
                    if arr.elements().is_empty()
                        && let Some(p) = hooks.get(event)
                    {
                        p.remove();
                    }
                }
                if hooks.properties().is_empty()
                    && let Some(p) = root
                        .value()
                        .and_then(|v| v.as_object())
                        .and_then(|o| o.get("hooks"))
                {
                    p.remove();
                }
            }
            root.to_string()
        }
        Piece::TomlTable { table, name, .. } => {
            let mut doc: toml_edit::DocumentMut = current
                .parse()
                .map_err(|e| anyhow!("{file}: not valid TOML: {e}"))?;
            if let Some(t) = doc.get_mut(table).and_then(|i| i.as_table_mut()) {
                t.remove(name);
                if t.is_empty() && t.is_implicit() {
                    doc.remove(table);
                }
            }
            doc.to_string()
        }
    };
    let empty_json = matches!(piece, Piece::JsonEntry { .. } | Piece::JsonHooks(_))
        && serde_json_value(&out).is_some_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        && !out.contains("//")
        && !out.contains("/*");
    if out.trim().is_empty() || empty_json {
        return Ok(None);
    }
    Ok(Some(out))
}

/// Whether `piece` is present in `text` (for `adapter status`).
pub(super) fn present(text: &str, piece: &Piece) -> bool {
    match piece {
        Piece::Whole(t) => text == t,
        Piece::Block(b) => text.contains(b.trim_end()),
        Piece::Line(l) => text.lines().any(|x| x == l),
        Piece::JsonEntry {
            container,
            name,
            value,
        } => serde_json_value(text).is_some_and(|v| {
            let mut cur = &v;
            for k in container {
                match cur.get(k) {
                    Some(x) => cur = x,
                    None => return false,
                }
            }
            cur.get(name) == Some(value)
        }),
        Piece::JsonHooks(groups) => serde_json_value(text).is_some_and(|v| {
            groups.iter().all(|(event, group)| {
                v.get("hooks")
                    .and_then(|h| h.get(event))
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|g| same_handlers(g, group)))
            })
        }),
        Piece::TomlTable { table, name, value } => text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get(*table)?.get(*name).cloned())
            .is_some_and(|v| v.as_table() == Some(value)),
    }
}

/// JSON with comments read as a plain value.
pub(super) fn serde_json_value(text: &str) -> Option<Value> {
    jsonc_parser::parse_to_serde_value::<Value>(text, &parse_options()).ok()
}

/// Two hook groups name the same commands (what patina checks before adding, so an installed
/// hook is never doubled, whatever other keys the user added to the group).
fn same_handlers(a: &Value, b: &Value) -> bool {
    let commands = |g: &Value| -> Vec<String> {
        g.get("hooks")
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| h.get("command").and_then(Value::as_str).map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ca, cb) = (commands(a), commands(b));
    !cb.is_empty() && cb.iter().all(|c| ca.contains(c))
}

fn toml_table(t: &toml::Table) -> toml_edit::Table {
    let text = toml::to_string(t).expect("a table serializes");
    let doc: toml_edit::DocumentMut = text.parse().expect("toml's own output parses");
    let mut out = doc.as_table().clone();
    out.set_implicit(false);
    out
}

/// Keep the file's final-newline habit; a new file ends with one.
fn finish(mut text: String, current: Option<&str>) -> String {
    let had_newline = current.is_none_or(|c| c.trim().is_empty() || c.ends_with('\n'));
    if had_newline && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Put `block` at the end of `text`, or replace an earlier patina block in place.
fn add_block(text: &str, block: &str) -> String {
    if let Some((start, end)) = find_block(text) {
        let mut out = String::with_capacity(text.len() + block.len());
        out.push_str(&text[..start]);
        out.push_str(block);
        out.push_str(&text[end..]);
        return out;
    }
    if text.is_empty() {
        return block.to_string();
    }
    let sep = if text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    format!("{text}{sep}{block}")
}

/// The byte range of the block (begin marker to the end of the end marker's line).
fn find_block(text: &str) -> Option<(usize, usize)> {
    let start = text.find(BLOCK_BEGIN)?;
    let rel_end = text[start..].find(BLOCK_END)? + BLOCK_END.len();
    let mut end = start + rel_end;
    if text[end..].starts_with('\n') {
        end += 1;
    }
    Some((start, end))
}

fn remove_block(text: &str) -> String {
    let Some((start, end)) = find_block(text) else {
        return text.to_string();
    };
    let before = &text[..start];
    let after = &text[end..];
    // Drop the blank line `add_block` put in front, when the block was last.
    let before = if after.is_empty() {
        before
            .strip_suffix('\n')
            .filter(|b| b.ends_with('\n'))
            .unwrap_or(before)
    } else {
        before
    };
    format!("{before}{after}")
}

/// Reject what an agent could not load: used in tests and before every write.
pub(super) fn validate(text: &str, piece: &Piece, file: &str) -> Result<()> {
    match piece {
        Piece::JsonEntry { .. } | Piece::JsonHooks(_) => {
            if serde_json_value(text).is_none() {
                bail!("{file}: the edited file would not parse as JSON");
            }
        }
        Piece::TomlTable { .. } => {
            text.parse::<toml::Table>()
                .map_err(|e| anyhow!("{file}: the edited file would not parse as TOML: {e}"))?;
        }
        Piece::Whole(_) | Piece::Block(_) | Piece::Line(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> Piece {
        Piece::JsonEntry {
            container: vec!["mcpServers"],
            name: "patina",
            value: json!({"command": "patina", "args": ["mcp"]}),
        }
    }

    #[test]
    fn jsonc_comments_survive_add_and_remove() {
        let user = "{\n  // my theme\n  \"theme\": \"dark\", /* keep */\n  \"mcpServers\": {\n    \"other\": {\"command\": \"x\"},\n  },\n}\n";
        let added = apply(Some(user), &entry(), "s.json").unwrap();
        assert!(added.contains("// my theme") && added.contains("/* keep */"));
        let v = serde_json_value(&added).unwrap();
        assert_eq!(v["mcpServers"]["patina"]["args"], json!(["mcp"]));
        assert_eq!(v["mcpServers"]["other"]["command"], "x");
        assert!(present(&added, &entry()));
        // Adding twice changes nothing.
        assert_eq!(apply(Some(&added), &entry(), "s.json").unwrap(), added);
        let removed = remove(&added, &entry(), "s.json").unwrap().unwrap();
        assert_eq!(serde_json_value(&removed), serde_json_value(user));
        assert!(removed.contains("// my theme"));
    }

    #[test]
    fn hooks_are_not_doubled_and_come_out_again() {
        let piece = Piece::JsonHooks(vec![
            (
                "Stop",
                json!({"hooks": [{"type": "command", "command": "p idle"}]}),
            ),
            (
                "UserPromptSubmit",
                json!({"hooks": [{"type": "command", "command": "p busy"}]}),
            ),
        ]);
        let user = "{\"hooks\": {\"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"mine\"}]}]}}\n";
        let once = apply(Some(user), &piece, "f").unwrap();
        let twice = apply(Some(&once), &piece, "f").unwrap();
        assert_eq!(once, twice);
        let v = serde_json_value(&once).unwrap();
        assert_eq!(v["hooks"]["Stop"].as_array().unwrap().len(), 2);
        let back = remove(&once, &piece, "f").unwrap().unwrap();
        assert_eq!(serde_json_value(&back), serde_json_value(user));
        // A file that held only our hooks goes away entirely.
        let ours = apply(None, &piece, "f").unwrap();
        assert_eq!(remove(&ours, &piece, "f").unwrap(), None);
    }

    #[test]
    fn toml_keeps_comments_and_order() {
        let piece = Piece::TomlTable {
            table: "mcp_servers",
            name: "patina",
            value: toml::toml! { command = "patina"
            args = ["mcp"] },
        };
        let user =
            "# my codex config\nmodel = \"o4\" # inline\n\n[mcp_servers.other]\ncommand = \"x\"\n";
        let added = apply(Some(user), &piece, "config.toml").unwrap();
        assert!(added.starts_with(user));
        assert!(added.contains("[mcp_servers.patina]"));
        assert!(present(&added, &piece));
        let back = remove(&added, &piece, "config.toml").unwrap().unwrap();
        assert_eq!(back, user);
    }

    #[test]
    fn markdown_block_round_trips() {
        let block = format!("{BLOCK_BEGIN}\nhello\n{BLOCK_END}\n");
        for user in ["# Notes\n\nmine\n", "x\n"] {
            let added = add_block(user, &block);
            assert!(added.contains(&block));
            assert_eq!(add_block(&added, &block), added, "idempotent");
            assert_eq!(remove_block(&added), user, "{user:?}");
        }
        // Without a final newline the separator cannot be told apart from the user's own
        // (uninstall restores such a file from its recorded bytes instead).
        let added = add_block("# Notes\nno newline", &block);
        assert_eq!(remove_block(&added), "# Notes\nno newline\n");
        assert_eq!(remove_block(&add_block("", &block)), "");
    }

    #[test]
    fn broken_files_are_refused_with_their_name() {
        let e = apply(Some("{ not json"), &entry(), ".gemini/settings.json").unwrap_err();
        assert!(e.to_string().contains(".gemini/settings.json"), "{e}");
        let piece = Piece::TomlTable {
            table: "mcp_servers",
            name: "patina",
            value: toml::Table::new(),
        };
        let e = apply(Some("a = "), &piece, "config.toml").unwrap_err();
        assert!(e.to_string().contains("config.toml"));
    }
}
