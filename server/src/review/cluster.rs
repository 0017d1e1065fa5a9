//! Topics of escalated questions: questions whose embeddings are close are
//! one topic, named by its most typical question (the one closest to all
//! the others).
//!
//! Leader clustering refined like k-means on cosine similarity: each
//! question joins the topic whose centre it is most similar to, if at least
//! [`Topics::min_similarity`], else starts a topic; then every question is
//! reassigned to its most similar centre until nothing moves (a few
//! passes). Linear in the number of questions times topics, deterministic
//! for a given order (questions are taken oldest first).

/// How questions are grouped.
#[derive(Clone, Copy, Debug)]
pub struct Topics {
    /// How similar (cosine) a question must be to a topic's centre to join it
    /// (chosen for multilingual-e5-small, whose cosines crowd into 0.7–0.95:
    /// on the tune set's 120 sensitive questions and requests for a person,
    /// 41 topics of purity 0.94, 89 of the questions in topics of three or
    /// more; "Do you have a coupon?" stays apart from "Do you engrave?").
    pub min_similarity: f32,
    /// Reassignment passes at most.
    pub passes: usize,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            min_similarity: 0.9,
            passes: 5,
        }
    }
}

/// One topic: its questions (indices into the input), most typical first.
#[derive(Clone, Debug, PartialEq)]
pub struct Topic {
    pub members: Vec<usize>,
    /// How similar its questions are to its centre, on average.
    pub cohesion: f32,
}

impl Topic {
    /// The most typical question (the topic's name).
    pub fn typical(&self) -> usize {
        self.members[0]
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = dot(v, v).sqrt();
    if norm == 0.0 {
        v.to_vec()
    } else {
        v.iter().map(|x| x / norm).collect()
    }
}

/// The normalised sum of `vectors`: the direction they share.
pub fn mean_direction<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    normalised(&sum)
}

fn centre(members: &[usize], vectors: &[Vec<f32>]) -> Vec<f32> {
    mean_direction(members.iter().map(|&m| vectors[m].as_slice()))
}

/// Groups `embeddings` into topics, largest first.
pub fn topics(embeddings: &[Vec<f32>], settings: Topics) -> Vec<Topic> {
    let vectors: Vec<Vec<f32>> = embeddings.iter().map(|v| normalised(v)).collect();
    // Leaders: a first assignment in order.
    let mut centres: Vec<Vec<f32>> = Vec::new();
    let mut assignment: Vec<usize> = Vec::with_capacity(vectors.len());
    for v in &vectors {
        let best = centres
            .iter()
            .enumerate()
            .map(|(i, c)| (i, dot(v, c)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, similarity)) if similarity >= settings.min_similarity => assignment.push(i),
            _ => {
                assignment.push(centres.len());
                centres.push(v.clone());
            }
        }
    }
    // Refinement: centres from members, members to their best centre.
    for _ in 0..settings.passes {
        let groups = group(&assignment, centres.len());
        centres = groups
            .iter()
            .map(|members| centre(members, &vectors))
            .collect();
        let mut moved = false;
        for (q, v) in vectors.iter().enumerate() {
            let (best, similarity) = centres
                .iter()
                .enumerate()
                .filter(|(i, _)| !groups[*i].is_empty())
                .map(|(i, c)| (i, dot(v, c)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .expect("every question has its own topic at least");
            if best != assignment[q] && similarity >= settings.min_similarity {
                assignment[q] = best;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let groups = group(&assignment, centres.len());
    let mut topics: Vec<Topic> = groups
        .into_iter()
        .filter(|members| !members.is_empty())
        .map(|mut members| {
            let c = centre(&members, &vectors);
            // Most typical first: closest to the centre (ties: oldest).
            members.sort_by(|a, b| {
                dot(&vectors[*b], &c)
                    .total_cmp(&dot(&vectors[*a], &c))
                    .then(a.cmp(b))
            });
            let cohesion =
                members.iter().map(|m| dot(&vectors[*m], &c)).sum::<f32>() / members.len() as f32;
            Topic { members, cohesion }
        })
        .collect();
    topics.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.typical().cmp(&b.typical()))
    });
    topics
}

fn group(assignment: &[usize], topics: usize) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); topics];
    for (q, &t) in assignment.iter().enumerate() {
        groups[t].push(q);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_vectors_share_a_topic_named_by_the_most_central() {
        let v = |x: f32, y: f32| vec![x, y, 0.0];
        let input = vec![
            v(1.0, 0.1),
            v(1.0, 0.0),
            v(0.0, 1.0),
            v(1.0, -0.1),
            v(0.1, 1.0),
        ];
        let found = topics(&input, Topics::default());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].members.len(), 3);
        assert_eq!(found[0].typical(), 1, "the one in the middle names it");
        let mut second = found[1].members.clone();
        second.sort();
        assert_eq!(second, vec![2, 4]);
        assert!(found[0].cohesion > 0.99);
        assert!(topics(&[], Topics::default()).is_empty());
    }
}
