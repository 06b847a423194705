//! BM25 over the chunks with tantivy.
//!
//! User text is never handed to tantivy's query parser: it is cut into terms with the field's own
//! analyzer (English stemming) and turned into a disjunction of term queries, so `"`, `::`, `AND`,
//! `(` or `*` are just characters and no query can fail to parse.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
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

fn register(index: &Index) {
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| w.to_string()),
        ))
        .filter(Stemmer::new(Language::English))
        .build();
    index.tokenizers().register(ANALYZER, analyzer);
}

struct Fields {
    ord: Field,
    kind: Field,
    title: Field,
    body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let ord = b.add_u64_field("ord", FAST | STORED);
    let kind = b.add_text_field("kind", STRING);
    let title = b.add_text_field("title", text.clone());
    let body = b.add_text_field("body", text);
    (
        b.build(),
        Fields {
            ord,
            kind,
            title,
            body,
        },
    )
}

/// Write a fresh lexical index of `chunks` into `dir` (which must be empty or absent).
pub fn build(dir: &Path, chunks: &[Chunk]) -> Result<()> {
    crate::store::create_dirs(dir)?;
    let (schema, f) = schema();
    let index = Index::create_in_dir(dir, schema)
        .map_err(|e| anyhow!("creating lexical index in {}: {e}", dir.display()))?;
    register(&index);
    let mut w: tantivy::IndexWriter = index
        .writer_with_num_threads(1, 50_000_000)
        .map_err(|e| anyhow!("lexical index writer: {e}"))?;
    for (i, c) in chunks.iter().enumerate() {
        w.add_document(doc!(
            f.ord => i as u64,
            f.kind => c.kind.as_str(),
            f.title => c.title.as_str(),
            f.body => c.text.as_str(),
        ))
        .map_err(|e| anyhow!("lexical index: {e}"))?;
    }
    w.commit()
        .map_err(|e| anyhow!("lexical index commit: {e}"))?;
    w.wait_merging_threads()
        .map_err(|e| anyhow!("lexical index merge: {e}"))?;
    // tantivy creates its files with the umask's mode; they hold session text: 0600.
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        if e.file_type()?.is_file() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("making {} private", e.path().display()))?;
        }
    }
    Ok(())
}

/// An opened lexical index.
pub struct Lexical {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl Lexical {
    pub fn open(dir: &Path) -> Result<Lexical> {
        let index = Index::open_in_dir(dir)
            .map_err(|e| anyhow!("opening lexical index {}: {e}", dir.display()))?;
        register(&index);
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: tantivy::TantivyError| anyhow!("reading lexical index: {e}"))?;
        Ok(Lexical {
            index,
            reader,
            fields,
        })
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The analyzed terms of `text` (lower-cased, stemmed), deduplicated in order.
    pub fn terms(&self, text: &str) -> Result<Vec<String>> {
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.fields.body)
            .map_err(|e| anyhow!("lexical tokenizer: {e}"))?;
        let mut stream = analyzer.token_stream(text);
        let mut out: Vec<String> = vec![];
        while stream.advance() {
            let t = stream.token().text.clone();
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// BM25 top `limit` chunk ordinals with scores, best first, restricted to `kinds` when given.
    pub fn search(
        &self,
        text: &str,
        kinds: &[Kind],
        limit: usize,
        min_share: f64,
    ) -> Result<Vec<(usize, f32)>> {
        let terms = self.terms(text)?;
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
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&*query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| anyhow!("lexical search: {e}"))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let col = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("ord")
                .map_err(|e| anyhow!("lexical index: {e}"))?;
            let ord = col
                .first(addr.doc_id)
                .ok_or_else(|| anyhow!("lexical index: document without ordinal"))?;
            out.push((ord as usize, score));
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
    use super::min_match;

    #[test]
    fn more_than_a_third_of_the_terms() {
        let got: Vec<usize> = (1..=8).map(|n| min_match(n, 0.34)).collect();
        assert_eq!(got, vec![1, 1, 2, 2, 2, 3, 3, 3]);
        assert_eq!(min_match(5, 0.0), 1);
        assert_eq!(min_match(0, 0.5), 1);
    }
}
