//! Grouping escalated questions into topics, on a fixed set: the eval
//! set's sensitive questions (three categories) and requests for a person,
//! embedded by the real model.

use std::collections::HashMap;

use tandem::review::cluster::{topics, Topics};

use crate::helpers::embedder;

/// Up to `per_kind` questions of each label, in file order.
fn fixed_set(per_kind: usize) -> Vec<(String, String)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/tune.jsonl");
    let text = std::fs::read_to_string(&path).expect("the eval set (../shared/eval)");
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut set = Vec::new();
    for line in text.lines() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let label = match (item["kind"].as_str(), item["category"].as_str()) {
            (Some("sensitive"), Some(category)) => category.to_owned(),
            (Some("human_request"), _) => "human_request".to_owned(),
            _ => continue,
        };
        let n = taken.entry(label.clone()).or_default();
        if *n < per_kind {
            *n += 1;
            set.push((label, item["question"].as_str().unwrap().to_owned()));
        }
    }
    set
}

#[tokio::test]
async fn escalated_questions_group_by_what_they_are_about() {
    let set = fixed_set(30);
    let embeddings = embedder()
        .embed(set.iter().map(|(_, q)| q.clone()).collect())
        .await
        .unwrap();
    let found = topics(&embeddings, Topics::default());
    // Purity: each topic counts for its most common label.
    let mut pure = 0;
    for topic in &found {
        let mut labels: HashMap<&str, usize> = HashMap::new();
        for &m in &topic.members {
            *labels.entry(set[m].0.as_str()).or_default() += 1;
        }
        pure += labels.values().max().copied().unwrap_or(0);
        let largest = topic.members.len() > 4;
        if largest {
            println!(
                "topic of {} (cohesion {:.2}): {:?} — {:?}",
                topic.members.len(),
                topic.cohesion,
                set[topic.typical()].1,
                labels
            );
        }
    }
    let purity = pure as f32 / set.len() as f32;
    let in_large: usize = found
        .iter()
        .filter(|t| t.members.len() >= 3)
        .map(|t| t.members.len())
        .sum();
    println!(
        "{} questions, {} topics, purity {purity:.2}, {in_large} in topics of 3 or more",
        set.len(),
        found.len()
    );
    assert_eq!(set.len(), 30 * 4);
    assert!(purity >= 0.8, "purity {purity:.2}");
    assert!(
        in_large as f32 >= 0.6 * set.len() as f32,
        "only {in_large} grouped"
    );
}
