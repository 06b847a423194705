//! One TOML configuration file (`.patina/config.toml`, the user's `config.toml`): read once,
//! each area decodes its own section. Every problem is an [`ErrorKind::InvalidInput`] error that
//! names the file, the key (`secrets.confirm`) and the value, so a broken config stops the command
//! (exit 2) instead of silently running on defaults.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};

/// A parsed TOML file and where it came from.
#[derive(Debug, Clone, Default)]
pub struct TomlFile {
    path: PathBuf,
    table: toml::Table,
}

impl TomlFile {
    /// Read and parse `path`; a missing file is empty. Unreadable is an I/O error, malformed an
    /// invalid-input error naming the line, column and text.
    pub fn load(path: &Path) -> anyhow::Result<TomlFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(TomlFile::parse(path, &text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TomlFile {
                path: path.to_path_buf(),
                table: toml::Table::new(),
            }),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
        }
    }

    /// Parse `text` as the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<TomlFile, Error> {
        match toml::from_str::<toml::Table>(text) {
            Ok(table) => Ok(TomlFile {
                path: path.to_path_buf(),
                table,
            }),
            Err(e) => Err(syntax_error(path, text, &e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A top-level value as it is (a section is a table).
    pub fn get(&self, key: &str) -> Option<&toml::Value> {
        self.table.get(key)
    }

    /// Decode section `name` into `T` (`T::default()` when absent).
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, Error> {
        match self.table.get(name) {
            None => Ok(T::default()),
            Some(v) => self.decode(name, v),
        }
    }

    /// Decode the whole file into `T` (a theme file is one struct).
    pub fn decode_all<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.decode("", &toml::Value::Table(self.table.clone()))
    }

    /// Decode `value`, found at key `key` of this file (`""` for the whole file), into `T`; the
    /// error names the full key path of the offending value and shows it.
    pub fn decode<T: DeserializeOwned>(&self, key: &str, value: &toml::Value) -> Result<T, Error> {
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let mut field = key.to_string();
            let mut at = Some(value);
            for seg in e.path().iter() {
                use serde_path_to_error::Segment;
                match seg {
                    Segment::Map { key } => {
                        if !field.is_empty() {
                            field.push('.');
                        }
                        field.push_str(key);
                        at = at.and_then(|v| v.get(key.as_str()));
                    }
                    Segment::Seq { index } => {
                        field.push_str(&format!("[{index}]"));
                        at = at.and_then(|v| v.get(*index));
                    }
                    Segment::Enum { .. } | Segment::Unknown => {}
                }
            }
            let got = at.map(show).unwrap_or_else(|| "(missing)".into());
            let err = Error::new(
                ErrorKind::InvalidInput,
                format!("{} (value: {got})", e.inner().message()),
            )
            .in_file(&self.path);
            if field.is_empty() {
                err
            } else {
                err.at_field(field)
            }
        })
    }
}

/// A value as it would be written in the file, shortened for one line.
fn show(v: &toml::Value) -> String {
    let s = match v {
        toml::Value::Table(t) => toml::Value::Table(t.clone()).to_string(),
        other => other.to_string(),
    };
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let place = e.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let source = text.lines().nth(line - 1).unwrap_or("").trim();
        format!(" at line {line}, column {column} (`{source}`)")
    });
    Error::new(
        ErrorKind::InvalidInput,
        format!("invalid TOML{}: {}", place.unwrap_or_default(), e.message()),
    )
    .in_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Confirm {
        #[default]
        First,
        Always,
    }

    #[derive(Debug, Default, Deserialize)]
    #[allow(dead_code)] // only decoded
    struct Section {
        confirm: Option<Confirm>,
        ttl_secs: Option<u64>,
        agents: Option<Vec<String>>,
    }

    fn file(text: &str) -> TomlFile {
        TomlFile::parse(Path::new("/c/config.toml"), text).unwrap()
    }

    #[test]
    fn a_bad_value_names_file_key_and_value() {
        let f = file("[secrets]\nconfirm = \"alwayz\"\n");
        let e = f.section::<Section>("secrets").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.file(), Some(Path::new("/c/config.toml")));
        assert_eq!(e.field(), Some("secrets.confirm"));
        let msg = e.to_string();
        assert!(
            msg.starts_with("/c/config.toml: secrets.confirm: unknown variant `alwayz`"),
            "{msg}"
        );
        assert!(msg.ends_with("(value: \"alwayz\")"), "{msg}");

        let e = file("[secrets]\nttl_secs = \"ten\"\n")
            .section::<Section>("secrets")
            .unwrap_err();
        assert_eq!(e.field(), Some("secrets.ttl_secs"));
        assert!(e.to_string().contains("\"ten\""), "{e}");

        let e = file("[secrets]\nagents = [\"a\", 3]\n")
            .section::<Section>("secrets")
            .unwrap_err();
        assert_eq!(e.field(), Some("secrets.agents[1]"), "{e}");
        assert!(e.to_string().ends_with("(value: 3)"), "{e}");

        let e = file("secrets = 5\n")
            .section::<Section>("secrets")
            .unwrap_err();
        assert_eq!(e.field(), Some("secrets"), "{e}");
    }

    #[test]
    fn bad_toml_names_the_line() {
        let e = TomlFile::parse(Path::new("/c/x.toml"), "a = 1\nconfirm = \n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let msg = e.to_string();
        assert!(
            msg.starts_with("/c/x.toml: invalid TOML at line 2"),
            "{msg}"
        );
        assert!(msg.contains("`confirm =`"), "{msg}");
    }

    #[test]
    fn absent_is_default_and_good_values_decode() {
        let f = file("[secrets]\nconfirm = \"always\"\n");
        assert!(matches!(
            f.section::<Section>("secrets").unwrap().confirm,
            Some(Confirm::Always)
        ));
        assert!(f.section::<Section>("other").unwrap().confirm.is_none());
    }
}
