//! `search_tools`' ranking: BM25 over each tool's name split on `_`, its title, tags,
//! description and upstream path, plus the everyday verbs of its method kind (a create is
//! what people "start", "run" or "trigger"). The `bm25` crate tokenizes (English stemming
//! and stop words) and weighs term frequencies; the sum over query words is ours, so that
//! earlier words count more (a request says first what to do first) and quoted values (a
//! flow's or an agent's name) count not at all. The catalogue is embedded once; each search
//! scores only the tools its caller may see, so a hidden tool can never rank, and a
//! scope's own tools are embedded when it searches.

use std::collections::HashMap;

use bm25::{Embedder, EmbedderBuilder, Language};
use gumloop_mcp_runtime::MethodKind;

/// How much less each later query word counts: the `i`th weighs `1 / (1 + i·DECAY)`.
const DECAY: f32 = 0.3;
/// How often the name (and the kind's verbs, which stand for its first word) and the title
/// are repeated: they say what a tool is in a few words, where the description also
/// mentions the tools to call before and after it.
const NAME_WEIGHT: usize = 2;
const TITLE_WEIGHT: usize = 2;

/// What a tool is searched by.
#[derive(Clone, Copy)]
pub struct Doc<'a> {
    /// Its name (`_` separates words).
    pub name: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its tags.
    pub tags: &'a [&'a str],
    /// Its description.
    pub description: &'a str,
    /// Its method kind (a scope's own tool: the kind of the tool it runs as).
    pub kind: Option<MethodKind>,
    /// Its upstream path template (`{…}` parameters are left out).
    pub path: &'a str,
}

/// The words people use for a method kind besides its name's.
fn kind_words(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Create => "create start trigger run launch make add new",
        MethodKind::Get => "get read check look retrieve show status details",
        MethodKind::List => "list all find browse search show",
        MethodKind::Update => "update change edit modify set",
        MethodKind::Delete => "delete remove cancel stop kill",
        MethodKind::Custom => "",
    }
}

impl Doc<'_> {
    /// The text BM25 sees.
    fn text(&self) -> String {
        let name = self.name.replace('_', " ");
        let verbs = self.kind.map(kind_words).unwrap_or_default();
        let path: String = self.path.split('/').filter(|s| !s.starts_with('{')).collect::<Vec<_>>().join(" ").replace('_', " ");
        let mut text = String::new();
        for _ in 0..NAME_WEIGHT {
            text += &format!("{name}. {verbs}. ");
        }
        for _ in 0..TITLE_WEIGHT {
            text += &format!("{}. ", self.title);
        }
        text + &format!("{}. {path}. {}", self.tags.join(" "), self.description)
    }
}

/// A tool's embedding: each word's BM25 term weight.
type Weights = HashMap<u32, f32>;

/// The catalogue's documents, embedded once.
pub struct SearchIndex {
    embedder: Embedder,
    docs: HashMap<String, Weights>,
}

impl SearchIndex {
    /// Embeds `docs` (the catalogue), fitting the average document length to them.
    pub fn new<'a>(docs: impl IntoIterator<Item = Doc<'a>>) -> Self {
        let texts: Vec<(String, String)> = docs.into_iter().map(|d| (d.name.to_owned(), d.text())).collect();
        let corpus: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
        let embedder = EmbedderBuilder::with_fit_to_corpus(Language::English, &corpus).build();
        let docs = texts.iter().map(|(name, text)| (name.clone(), weights(&embedder, text))).collect();
        Self { embedder, docs }
    }

    /// The best `limit` of the catalogue tools `visible` names and of `extra` (a scope's own
    /// tools) for `query`, best first; ties go by name so an answer never varies. Tools that
    /// share no word with the query are left out.
    pub fn rank<'a>(&self, query: &str, visible: impl IntoIterator<Item = &'a str>, extra: &[Doc<'_>], limit: usize) -> Vec<String> {
        let own: Vec<(String, Weights)> = extra.iter().map(|d| (d.name.to_owned(), weights(&self.embedder, &d.text()))).collect();
        let candidates: Vec<(&str, &Weights)> = visible
            .into_iter()
            .filter_map(|n| self.docs.get_key_value(n))
            .map(|(n, w)| (n.as_str(), w))
            .chain(own.iter().map(|(n, w)| (n.as_str(), w)))
            .collect();
        // Inverse document frequency among the candidates, as BM25 has it.
        let n = candidates.len() as f32;
        let idf = |word: &u32| {
            let df = candidates.iter().filter(|(_, w)| w.contains_key(word)).count() as f32;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        };
        let words: Vec<u32> = self.embedder.embed(&unquoted(query)).indices().copied().collect();
        let idfs: Vec<f32> = words.iter().map(idf).collect();
        let mut scored: Vec<(f32, &str)> = candidates
            .iter()
            .map(|(name, w)| {
                let score = words.iter().zip(&idfs).enumerate().map(|(i, (word, idf))| w.get(word).map_or(0.0, |tf| idf * tf / (1.0 + i as f32 * DECAY))).sum();
                (score, *name)
            })
            .filter(|(score, _)| *score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored.into_iter().take(limit).map(|(_, name)| name.to_owned()).collect()
    }
}

fn weights(embedder: &Embedder, text: &str) -> Weights {
    embedder.embed(text).iter().map(|t| (t.index, t.value)).collect()
}

/// `query` without its quoted spans (`'Weekly Report'`, `"Q3"`): names of the caller's
/// things, which say nothing about which tool to use. An apostrophe inside a word
/// (`agent's`) opens no quote.
fn unquoted(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some((i, q)) =
        rest.char_indices().find(|&(i, c)| (c == '\'' || c == '"') && rest[..i].chars().next_back().is_none_or(|p| p.is_whitespace() || p == '('))
    {
        let after = &rest[i + 1..];
        let close = after.char_indices().find(|&(j, c)| c == q && after[j + 1..].chars().next().is_none_or(|n| !n.is_alphanumeric()));
        match close {
            Some((j, _)) => {
                out += &rest[..i];
                out.push(' ');
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out + rest
}

/// A description's first sentence (or first line, when that is shorter): the one-line
/// summary search results carry.
pub fn summary(description: &str) -> &str {
    let line = description.lines().next().unwrap_or_default();
    let bytes = line.as_bytes();
    for (i, _) in line.match_indices('.') {
        let at_end = bytes.get(i + 1).is_none_or(u8::is_ascii_whitespace);
        // "e.g." and "i.e." end no sentence: their word has a dot inside.
        let word = line[..i].rsplit(char::is_whitespace).next().unwrap_or_default();
        if at_end && !word.contains('.') && !word.is_empty() {
            return &line[..=i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(name: &'a str, title: &'a str, description: &'a str) -> Doc<'a> {
        Doc { name, title, tags: &[], description, kind: None, path: "" }
    }

    #[test]
    fn ranks_by_words_of_name_title_and_description_among_the_visible_only() {
        let docs = [
            doc("list_all_widgets", "List widgets", "List every widget in the shop."),
            doc("delete_a_widget_by_id", "Delete widget", "Delete one widget for good."),
            doc("create_an_invoice", "Create invoice", "Bill a customer for widgets they bought."),
        ];
        let index = SearchIndex::new(docs.iter().copied());
        let all = ["list_all_widgets", "delete_a_widget_by_id", "create_an_invoice"];
        assert_eq!(index.rank("delete the broken widget", all, &[], 5)[0], "delete_a_widget_by_id");
        assert_eq!(index.rank("bill customers", all, &[], 5), ["create_an_invoice"], "stemmed: customers is customer");
        assert_eq!(index.rank("listing widgets", all, &[], 1), ["list_all_widgets"]);
        // A hidden tool never ranks, however well it matches.
        assert!(!index.rank("delete widget", ["list_all_widgets"], &[], 5).contains(&"delete_a_widget_by_id".to_owned()));
        assert!(index.rank("zebra", all, &[], 5).is_empty(), "nothing shares a word");
        // A scope's own tools rank beside the catalogue's.
        let own = [doc("run_flow_pricing_scraper", "Run flow: Pricing scraper", "Scrape competitor prices.")];
        assert_eq!(index.rank("scrape competitor prices", all, &own, 5), ["run_flow_pricing_scraper"]);
    }

    #[test]
    fn earlier_words_count_more_and_quoted_names_not_at_all() {
        let docs = [doc("list_all_invoices", "List invoices", "Every invoice."), doc("delete_a_customer_by_id", "Delete customer", "Remove a customer.")];
        let index = SearchIndex::new(docs.iter().copied());
        let all = ["list_all_invoices", "delete_a_customer_by_id"];
        assert_eq!(index.rank("invoices then customer", all, &[], 1), ["list_all_invoices"]);
        assert_eq!(index.rank("customer then invoices", all, &[], 1), ["delete_a_customer_by_id"]);
        assert_eq!(index.rank("open the 'Customer Invoices' report", all, &[], 5), Vec::<String>::new());
        assert_eq!(unquoted("run 'Weekly Report' for \"Q3\" and the agent's run"), "run   for   and the agent's run");
        assert_eq!(unquoted("an 'unclosed quote"), "an 'unclosed quote");
    }

    #[test]
    fn a_kind_is_found_by_its_everyday_verbs() {
        let create = Doc { kind: Some(MethodKind::Create), ..doc("create_a_gumloop_job", "Create job", "Make a job.") };
        let get = Doc { kind: Some(MethodKind::Get), ..doc("get_single_gumloop_job_by_id", "Get job", "Read a job.") };
        let index = SearchIndex::new([create, get]);
        let all = ["create_a_gumloop_job", "get_single_gumloop_job_by_id"];
        assert_eq!(index.rank("trigger the nightly job", all, &[], 1), ["create_a_gumloop_job"]);
        assert_eq!(index.rank("check on the job", all, &[], 1), ["get_single_gumloop_job_by_id"]);
    }

    #[test]
    fn summaries_are_first_sentences() {
        assert_eq!(summary("Start a run. Then poll it."), "Start a run.");
        assert_eq!(summary("Pick a model (e.g. gpt-4o) first. Then call."), "Pick a model (e.g. gpt-4o) first.");
        assert_eq!(summary("No full stop\nsecond line."), "No full stop");
        assert_eq!(summary("Version 1.5 is out."), "Version 1.5 is out.");
        assert_eq!(summary(""), "");
    }
}
