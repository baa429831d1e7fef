{
  "targets": [
    {
      "target_name": "scaling_lab",
      "sources": ["native/addon.c", "native/pool.c", "native/kernels.c", "native/classifier.c"],
      "defines": ["NAPI_VERSION=8"],
      "include_dirs": ["/usr/include/openblas"],
      "libraries": ["-lopenblas", "-lpthread", "-lm"],
      "cflags_c": ["-std=gnu11", "-O3", "-fopenmp-simd", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["target_arch=='x64'", { "cflags_c": ["-march=x86-64-v3"] }]
      ]
    }
  ]
}
