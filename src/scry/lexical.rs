//! BM25 over the chunks with tantivy.
//!
//! User text is never handed to tantivy's query parser: it is cut into terms with the field's own
//! analyzer (English stemming) and turned into a disjunction of term queries, so `"`, `::`, `AND`,
//! `(` or `*` are just characters and no query can fail to parse.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};
use tantivy::{Index, IndexReader, Term, doc};

use super::Kind;
use super::corpus::Chunk;

/// Name of our analyzer: words, lower-cased, English stop words dropped, stemmed. Tokenizers are
/// not stored in the index, so it is registered on every create and open.
const ANALYZER: &str = "patina_en";

/// Function words that carry no topic (Lucene's English list plus question and pronoun words,
/// which are most of a natural-language query).
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with", "how", "what", "why", "when", "where", "which",
    "who", "whom", "whose", "do", "does", "did", "done", "we", "our", "us", "you", "your", "i",
    "me", "my", "he", "she", "its", "them", "can", "could", "should", "would", "shall", "may",
    "might", "must", "has", "have", "had", "been", "being", "were", "am", "so", "than", "too",
    "very", "just", "about", "from", "up", "out", "over", "any", "all", "some", "each", "every",
    "other", "more", "most", "only", "own", "same", "also", "get", "got", "make", "made", "after",
    "before", "again", "once", "here", "those", "between", "both", "few", "nor", "off", "while",
    "there's", "it's", "don't", "s", "t",
];

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| w.to_string()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

fn register(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
}

/// The analyzed terms of `text` (words, lower-cased, stop words dropped, stemmed) — what BM25
/// matches on — deduplicated in order. No index needed.
pub fn analyze(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out: Vec<String> = vec![];
    while stream.advance() {
        let t = &stream.token().text;
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// Byte ranges of the words of `text` whose analyzed term is one of `terms` (from
/// [`analyze`] of the query): the words to highlight, "sockets" for the query "socket".
pub fn term_spans(text: &str, terms: &[String]) -> Vec<std::ops::Range<usize>> {
    if terms.is_empty() {
        return vec![];
    }
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = vec![];
    while stream.advance() {
        let t = stream.token();
        if terms.contains(&t.text) {
            out.push(t.offset_from..t.offset_to);
        }
    }
    out
}

/// Chunks added at once (with nothing removed: a first build) from which the writer uses two
/// indexing threads.
const FIRST_BUILD_PARALLEL: usize = 2000;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    kind: Field,
    title: Field,
    body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            // No positions: every query is a disjunction of terms (no phrases), and positions
            // were a fifth of the time of a first lexical build.
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    // The chunk's doc_id: indexed whole (to delete a changed chunk by it) and a fast column (to
    // name a hit without touching the document store).
    let id = b.add_text_field("id", STRING | FAST);
    let kind = b.add_text_field("kind", STRING);
    let title = b.add_text_field("title", text.clone());
    let body = b.add_text_field("body", text);
    (
        b.build(),
        Fields {
            id,
            kind,
            title,
            body,
        },
    )
}

/// The on-disk lexical index, updated in place: a refresh deletes the chunks that changed or
/// went and adds the new ones; each commit records the index generation it belongs to.
pub struct Lexical {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: std::path::PathBuf,
}

impl Lexical {
    /// Create an empty index in `dir` (whatever was there is removed).
    pub fn create(dir: &Path) -> Result<Lexical> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        crate::store::create_dirs(dir)?;
        let (schema, _) = schema();
        let index = Index::create_in_dir(dir, schema)
            .map_err(|e| anyhow!("creating lexical index in {}: {e}", dir.display()))?;
        Self::with_index(index, dir)
    }

    /// Open the index in `dir`; an index of another schema is an error (the caller rebuilds).
    pub fn open(dir: &Path) -> Result<Lexical> {
        let index = Index::open_in_dir(dir)
            .map_err(|e| anyhow!("opening lexical index {}: {e}", dir.display()))?;
        let (want, _) = schema();
        let fields: Vec<_> = index
            .schema()
            .fields()
            .map(|(_, e)| e.name().to_string())
            .collect();
        let expected: Vec<_> = want.fields().map(|(_, e)| e.name().to_string()).collect();
        if fields != expected {
            bail!(
                "lexical index {} has fields {fields:?}, expected {expected:?}",
                dir.display()
            );
        }
        Self::with_index(index, dir)
    }

    fn with_index(index: Index, dir: &Path) -> Result<Lexical> {
        register(&index);
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: tantivy::TantivyError| {
                anyhow!("reading lexical index {}: {e}", dir.display())
            })?;
        Ok(Lexical {
            index,
            reader,
            fields,
            dir: dir.to_path_buf(),
        })
    }

    /// The generation recorded by the last commit (`None` for a fresh index).
    pub fn generation(&self) -> Result<Option<String>> {
        Ok(self
            .index
            .load_metas()
            .map_err(|e| anyhow!("reading lexical index metadata: {e}"))?
            .payload)
    }

    /// Delete the documents `remove` (by doc_id), add `add`, and commit as `generation`.
    pub fn update(&self, remove: &[&str], add: &[&Chunk], generation: &str) -> Result<()> {
        let f = self.fields;
        // 15 MB is tantivy's floor per thread. One thread for a refresh (it must not take both
        // cores from the queries); two for a first build of a large corpus, where nothing can
        // be answered until it is done.
        let threads = if remove.is_empty() && add.len() >= FIRST_BUILD_PARALLEL {
            2
        } else {
            1
        };
        let mut w: tantivy::IndexWriter = self
            .index
            .writer_with_num_threads(threads, threads * 20_000_000)
            .map_err(|e| anyhow!("lexical index writer: {e}"))?;
        for id in remove {
            w.delete_term(Term::from_field_text(f.id, id));
        }
        for c in add {
            w.add_document(doc!(
                f.id => c.doc_id.as_str(),
                f.kind => c.kind.as_str(),
                f.title => c.title.as_str(),
                f.body => c.text.as_str(),
            ))
            .map_err(|e| anyhow!("lexical index: {e}"))?;
        }
        let mut commit = w
            .prepare_commit()
            .map_err(|e| anyhow!("lexical index commit: {e}"))?;
        commit.set_payload(generation);
        commit
            .commit()
            .map_err(|e| anyhow!("lexical index commit: {e}"))?;
        w.wait_merging_threads()
            .map_err(|e| anyhow!("lexical index merge: {e}"))?;
        self.make_files_private()?;
        self.reader
            .reload()
            .map_err(|e| anyhow!("reloading lexical index: {e}"))?;
        Ok(())
    }

    /// tantivy creates its files with the umask's mode; they hold session text: 0600.
    fn make_files_private(&self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = &self.dir;
        for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let e = e?;
            if e.file_type()?.is_file() {
                let mode = e.metadata()?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("making {} private", e.path().display()))?;
                }
            }
        }
        Ok(())
    }

    /// The committed state as of now: what a snapshot keeps (later commits do not change it).
    pub fn searcher(&self) -> Result<LexicalSearcher> {
        let analyzer = self
            .index
            .tokenizer_for_field(self.fields.body)
            .map_err(|e| anyhow!("lexical tokenizer: {e}"))?;
        Ok(LexicalSearcher {
            searcher: self.reader.searcher(),
            analyzer,
            fields: self.fields,
        })
    }
}

/// A point-in-time view of the lexical index (cheap to clone, read without locks).
#[derive(Clone)]
pub struct LexicalSearcher {
    searcher: tantivy::Searcher,
    analyzer: TextAnalyzer,
    fields: Fields,
}

impl LexicalSearcher {
    pub fn num_docs(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// The analyzed terms of `text` (lower-cased, stemmed), deduplicated in order.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out: Vec<String> = vec![];
        while stream.advance() {
            let t = stream.token().text.clone();
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// BM25 top `limit` doc_ids with scores, best first, restricted to `kinds` when given.
    pub fn search(
        &self,
        text: &str,
        kinds: &[Kind],
        limit: usize,
        min_share: f64,
    ) -> Result<Vec<(String, f32)>> {
        let terms = self.terms(text);
        if terms.is_empty() || limit == 0 {
            return Ok(vec![]);
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![];
        for t in &terms {
            let mut either: Vec<(Occur, Box<dyn Query>)> = vec![];
            for (field, boost) in [(self.fields.title, 1.5f32), (self.fields.body, 1.0)] {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                );
                either.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
            should.push((Occur::Should, Box::new(BooleanQuery::new(either))));
        }
        let min = min_match(terms.len(), min_share);
        let text_query: Box<dyn Query> =
            Box::new(BooleanQuery::with_minimum_required_clauses(should, min));
        let query: Box<dyn Query> = if kinds.is_empty() {
            text_query
        } else {
            let kind_q: Vec<(Occur, Box<dyn Query>)> = kinds
                .iter()
                .map(|k| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.kind, k.as_str()),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query),
                (Occur::Must, Box::new(BooleanQuery::new(kind_q))),
            ]))
        };
        let top = self
            .searcher
            .search(&*query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| anyhow!("lexical search: {e}"))?;
        let mut out = Vec::with_capacity(top.len());
        let mut id = String::new();
        for (score, addr) in top {
            let col = self
                .searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .str("id")
                .map_err(|e| anyhow!("lexical index: {e}"))?
                .ok_or_else(|| anyhow!("lexical index: no id column"))?;
            let ord = col
                .term_ords(addr.doc_id)
                .next()
                .ok_or_else(|| anyhow!("lexical index: document without id"))?;
            id.clear();
            col.ord_to_str(ord, &mut id)
                .map_err(|e| anyhow!("lexical index: {e}"))?;
            out.push((id.clone(), score));
        }
        Ok(out)
    }
}

/// How many of `n` query terms a document must contain: at least one, and `share` of them.
pub(crate) fn min_match(n: usize, share: f64) -> usize {
    ((n as f64 * share).ceil() as usize).clamp(1, n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &str, text: &str) -> Chunk {
        serde_json::from_value(serde_json::json!({
            "doc_id": id, "kind": "code", "path": id, "title": id,
            "line_start": 1, "line_end": 1, "text": text, "hash": "00",
        }))
        .unwrap()
    }

    #[test]
    fn updates_in_place_and_records_the_generation() {
        let dir = tempfile::tempdir().unwrap();
        let lex = Lexical::create(dir.path()).unwrap();
        assert_eq!(lex.generation().unwrap(), None);
        let (a, b, c) = (
            chunk("a", "alpha apples"),
            chunk("b", "bravo bananas"),
            chunk("c", "charlie cherries"),
        );
        lex.update(&[], &[&a, &b, &c], "gen-1").unwrap();
        let before = lex.searcher().unwrap();
        // b goes, c changes, a is untouched.
        let c2 = chunk("c", "charlie dates");
        lex.update(&["b", "c"], &[&c2], "gen-2").unwrap();
        let lex = Lexical::open(dir.path()).unwrap();
        assert_eq!(lex.generation().unwrap().as_deref(), Some("gen-2"));
        let s = lex.searcher().unwrap();
        assert_eq!(s.num_docs(), 2);
        let ids = |q: &str| -> Vec<String> {
            s.search(q, &[], 10, 0.0)
                .unwrap()
                .into_iter()
                .map(|x| x.0)
                .collect()
        };
        assert_eq!(ids("apples"), vec!["a"]);
        assert!(ids("bananas").is_empty());
        assert!(ids("cherries").is_empty());
        assert_eq!(ids("dates"), vec!["c"]);
        // A searcher taken before the update still sees its own point in time.
        assert_eq!(before.num_docs(), 3);
        assert_eq!(before.search("bananas", &[], 10, 0.0).unwrap()[0].0, "b");
    }

    #[test]
    fn spans_of_stemmed_query_terms() {
        let terms = analyze("How do stale sockets get removed?");
        assert_eq!(terms, vec!["stale", "socket", "remov"]);
        let text = "A stale socket is removed only when the connect is refused.";
        let got: Vec<&str> = term_spans(text, &terms)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(got, vec!["stale", "socket", "removed"]);
    }

    #[test]
    fn more_than_a_third_of_the_terms() {
        let got: Vec<usize> = (1..=8).map(|n| min_match(n, 0.34)).collect();
        assert_eq!(got, vec![1, 1, 2, 2, 2, 3, 3, 3]);
        assert_eq!(min_match(5, 0.0), 1);
        assert_eq!(min_match(0, 0.5), 1);
    }
}
