# Built by scripts/build-native.js (npm postinstall); optional: without it the engine keeps
# the plain wasm matMul. Plain N-API, so no npm package is needed to compile it.
{
  "targets": [
    {
      "target_name": "lamm_native",
      "sources": ["gemm.cc"],
      "defines": ["NAPI_VERSION=3"],
      "cflags_cc": ["-O3", "-ffp-contract=fast"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=fast"]
      }
    }
  ]
}
