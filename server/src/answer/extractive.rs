//! The built-in answer: the sentences of the given passages that best answer
//! the question, each carrying its `[n]` citation. It never writes a word that
//! is not in a passage.

use super::generate::Source;
use crate::retrieve::rescore::Scored;

/// Passages whose sentences may be used.
const PASSAGES: usize = 4;
/// Sentences in an answer, at most.
const MAX_SENTENCES: usize = 3;
/// How far below the best sentence another may score and still be used.
const MARGIN: f32 = 0.08;
/// List items a chosen item may bring along (its list's others).
const MAX_ITEMS: usize = 8;
/// What being first in its section adds to a sentence's claim to be used.
const LEAD_BONUS: f32 = 0.02;

/// Places the citation marker before the sentence's final punctuation.
fn cite(sentence: &str, number: u32) -> String {
    match sentence.char_indices().last() {
        Some((at, c)) if matches!(c, '.' | '!' | '?') => {
            format!("{} [{number}]{c}", &sentence[..at])
        }
        _ => format!("{sentence} [{number}]"),
    }
}

/// The text without its `[n]` citation markers.
pub fn strip_citations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" [") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(']') {
            Some(end) if end > 0 && after[..end].bytes().all(|b| b.is_ascii_digit()) => {
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(" [");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a sentence came from in its passage: running text, a list item, or
/// a table row (with the table's header, to label its cells).
#[derive(Debug, PartialEq)]
enum Shape {
    Prose,
    Item,
    Row {
        labels: Vec<String>,
        cells: Vec<String>,
    },
    Header,
}

fn cells(row: &str) -> Vec<String> {
    row.split(" | ")
        .map(|c| c.trim().trim_end_matches('|').trim().to_owned())
        .collect()
}

/// The shape of `sentence` (as [`rescore::sentences`] split it) in `content`.
///
/// [`rescore::sentences`]: crate::retrieve::rescore::sentences
fn shape(content: &str, sentence: &str) -> Shape {
    let mut header: Option<Vec<String>> = None;
    for line in content.lines().map(str::trim) {
        if let Some(row) = line.strip_prefix("| ") {
            let cells = cells(row);
            let is_it = row.trim().replace(" | ", " — ") == sentence;
            match &header {
                None => {
                    if is_it {
                        return Shape::Header;
                    }
                    header = Some(cells);
                }
                Some(labels) if is_it => {
                    return Shape::Row {
                        labels: labels.clone(),
                        cells,
                    }
                }
                Some(_) => {}
            }
        } else if line
            .strip_prefix("• ")
            .is_some_and(|item| item.trim() == sentence)
        {
            return Shape::Item;
        }
    }
    Shape::Prose
}

/// A table row as a list item: its first cell, then each other cell under
/// its column's name ("**Nimbus Plus** — Price: 4 euros; Includes: …").
fn row_item(labels: &[String], cells: &[String], number: u32) -> String {
    let Some((first, rest)) = cells.split_first() else {
        return String::new();
    };
    let rest: Vec<String> = rest
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(i, c)| match labels.get(i + 1).filter(|l| !l.is_empty()) {
            Some(label) => format!("{label}: {c}"),
            None => c.clone(),
        })
        .collect();
    if rest.is_empty() {
        format!("- **{first}** [{number}]")
    } else {
        format!("- **{first}** — {} [{number}]", rest.join("; "))
    }
}

/// Composes the answer from the best-scored sentences, in reading order:
/// running text as a paragraph, list items and table rows as a list (a row
/// labelled by its table's header); empty when the sources have no
/// sentences. Among sentences that score nearly as well as the best, a
/// section's first is preferred.
pub fn compose(sources: &[Source<'_>]) -> String {
    let sources = &sources[..sources.len().min(PASSAGES)];
    // Each sentence with its source's number and its shape, found once.
    let candidates: Vec<(u32, &Scored, Shape)> = sources
        .iter()
        .flat_map(|s| {
            let content = s.ranked.passage.content.as_str();
            s.ranked
                .sentences
                .iter()
                .map(move |sentence| (s.number, sentence, shape(content, &sentence.text)))
        })
        .filter(|(_, _, shape)| *shape != Shape::Header)
        .collect();
    let best = candidates
        .iter()
        .map(|(_, s, _)| s.score)
        .fold(f32::MIN, f32::max);
    // A section usually states its fact first, and what follows qualifies
    // it: the first sentence is preferred among near-equals.
    let preferred = |i: &usize| {
        let s = candidates[*i].1;
        s.score + if s.position == 0 { LEAD_BONUS } else { 0.0 }
    };
    // Indices into `candidates`.
    let mut chosen: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].1.score >= best - MARGIN)
        .collect();
    chosen.sort_by(|a, b| preferred(b).total_cmp(&preferred(a)));
    chosen.truncate(MAX_SENTENCES);
    // A list item chosen brings its list: steps and options make sense
    // together (a table's rows are chosen one by one: they are records).
    let listed: Vec<u32> = chosen
        .iter()
        .filter(|&&i| candidates[i].2 == Shape::Item)
        .map(|&i| candidates[i].0)
        .collect();
    for (i, (n, _, shape)) in candidates.iter().enumerate() {
        if chosen.len() < MAX_SENTENCES + MAX_ITEMS
            && listed.contains(n)
            && *shape == Shape::Item
            && !chosen.contains(&i)
        {
            chosen.push(i);
        }
    }
    chosen.sort_by_key(|&i| (candidates[i].0, candidates[i].1.position));
    let mut prose: Vec<String> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    for (k, &i) in chosen.iter().enumerate() {
        let (number, s, shape) = &candidates[i];
        match shape {
            Shape::Row { labels, cells } => list.push(row_item(labels, cells, *number)),
            Shape::Item => {
                // A run of items from one source cites it once, at its end.
                let run_goes_on = chosen
                    .get(k + 1)
                    .is_some_and(|&j| candidates[j].0 == *number && candidates[j].2 == Shape::Item);
                list.push(if run_goes_on {
                    format!("- {}", s.text)
                } else {
                    format!("- {}", cite(&s.text, *number))
                });
            }
            Shape::Prose | Shape::Header => prose.push(cite(&s.text, *number)),
        }
    }
    let mut blocks = Vec::new();
    if !prose.is_empty() {
        blocks.push(prose.join(" "));
    }
    if !list.is_empty() {
        blocks.push(list.join("\n"));
    }
    blocks.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::generate::sources;
    use crate::retrieve::rescore::Ranked;
    use crate::retrieve::Passage;

    fn ranked(url: &str, sentences: &[(&str, f32)]) -> Ranked {
        Ranked {
            passage: Passage {
                chunk_id: uuid::Uuid::new_v4(),
                title: "T".into(),
                heading_path: "T".into(),
                url: url.into(),
                content: String::new(),
                fused_score: 0.0,
                similarity: 0.5,
                ts_config: "english".into(),
            },
            score: 0.5,
            sentences: sentences
                .iter()
                .enumerate()
                .map(|(position, (text, score))| Scored {
                    text: (*text).into(),
                    position,
                    score: *score,
                })
                .collect(),
            coverage: 1.0,
            sentence_coverage: 1.0,
        }
    }

    #[test]
    fn citation_goes_before_the_full_stop() {
        assert_eq!(cite("It takes 5 days.", 2), "It takes 5 days [2].");
        assert_eq!(cite("No stop", 1), "No stop [1]");
    }

    #[test]
    fn picks_the_best_sentences_in_reading_order() {
        let given = [
            ranked(
                "a",
                &[("Refunds take 5 days.", 0.8), ("Off topic here.", 0.2)],
            ),
            ranked(
                "b",
                &[("Banks add 3 days.", 0.75), ("Also off topic.", 0.1)],
            ),
        ];
        let text = compose(&sources(&given));
        assert_eq!(text, "Refunds take 5 days [1]. Banks add 3 days [2].");
    }

    fn ranked_with(url: &str, content: &str, sentences: &[(&str, f32)]) -> Ranked {
        let mut r = ranked(url, sentences);
        r.passage.content = content.into();
        r
    }

    #[test]
    fn table_rows_become_a_labelled_list() {
        let content =
            "| Plan | Price | Includes\n| Free | 0 euros | Control\n| Plus | 4 euros | Scenes";
        let given = [ranked_with(
            "a",
            content,
            &[
                ("Plan — Price — Includes", 0.9),
                ("Free — 0 euros — Control", 0.7),
                ("Plus — 4 euros — Scenes", 0.85),
            ],
        )];
        assert_eq!(
            compose(&sources(&given)),
            "- **Plus** — Price: 4 euros; Includes: Scenes [1]"
        );
    }

    #[test]
    fn list_items_stay_a_list_after_the_text() {
        let content = "Do this first.\n• Open Orders.\n• Click Return.";
        let given = [ranked_with(
            "a",
            content,
            &[
                ("Do this first.", 0.8),
                ("Open Orders.", 0.8),
                ("Click Return.", 0.79),
            ],
        )];
        assert_eq!(
            compose(&sources(&given)),
            "Do this first [1].\n\n- Open Orders.\n- Click Return [1]."
        );
    }

    #[test]
    fn a_section_first_sentence_comes_with_a_later_one() {
        let given = [ranked(
            "a",
            &[
                ("You can return it within 30 days.", 0.80),
                ("Gifts can be returned with the receipt.", 0.86),
                ("Unrelated.", 0.2),
            ],
        )];
        assert_eq!(
            compose(&sources(&given)),
            "You can return it within 30 days [1]. Gifts can be returned with the receipt [1]."
        );
    }

    #[test]
    fn nothing_to_say_is_empty() {
        assert_eq!(compose(&sources(&[ranked("a", &[])])), "");
    }
}
