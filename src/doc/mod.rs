//! The document layer: the one place that reads patina's markdown files.
//!
//! Every reader of a session, belief, layer document or the last-session pointer goes through
//! here, so one file reads the same everywhere (`session list`, `agent context`, `scry`, `belief`,
//! the layer). Interface:
//! - [`Document`] — `parse(&str)` splits a file into frontmatter ([`Frontmatter`]: top-level
//!   entries as written, the YAML as a value within the [`MAX_FRONTMATTER_BYTES`] /
//!   [`MAX_FRONTMATTER_DEPTH`] limits), the preamble and the `## ` sections (fence-aware);
//!   `render()` gives the text back byte for byte. [`TextStyle`] is a file's BOM and line ending,
//!   which every writer keeps.
//! - [`header`] — the typed view every reader shows: id, title, status of a session, belief or
//!   layer document.
//! - [`session`] — the session format in both header formats (`SessionDoc`).
//! - [`archive`] — the sessions archive's file names.
//! - [`pointer`] — `.patina/local/last-session.md`.
//!
//! CRLF, a UTF-8 BOM, trailing spaces, `##`/`###` followed by a tab and mixed line endings read
//! the same as LF. Parsing is one pass over the text; YAML is handed to the parser only after a
//! linear pre-scan of its size and depth.

pub mod archive;
mod document;
pub mod header;
pub mod pointer;
pub mod session;
mod yaml;

pub use document::{
    Document, Eol, Fence, FmEntry, Frontmatter, Section, TextStyle, frontmatter_len, heading_title,
    line_text, strip_bom,
};
pub use yaml::{FormatError, MAX_FRONTMATTER_BYTES, MAX_FRONTMATTER_DEPTH};

#[cfg(test)]
pub(crate) mod testgen;
