/*
 * The fused CPU kernels of a GPT training step (llm.c style), threaded over an sl_pool.
 * Semantics are those of src/engine/backend.ts; callers (addon.c) have already checked every shape and length.
 * Matmuls go through cblas_sgemm (transpose flags and leading dimensions, no copies); OpenBLAS itself runs
 * single-threaded and the pool splits each product, so BLAS threads and kernel threads never compete.
 */
#ifndef SCALING_LAB_KERNELS_H
#define SCALING_LAB_KERNELS_H

#include <stdint.h>
#include "pool.h"

/* C (M,N) = alpha * op(A) @ op(B) + beta * C, row-major, split over the pool along the longer of M and N. */
void sl_gemm(sl_pool *p, int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
             const float *B, long ldb, float beta, float *C, long ldc);

void sl_encoder_forward(sl_pool *p, float *out, const int32_t *inp, const float *wte, const float *wpe,
                        long B, long T, long C);
void sl_encoder_backward(sl_pool *p, float *dwte, float *dwpe, const float *dout, const int32_t *inp,
                         long B, long T, long C);

void sl_layernorm_forward(sl_pool *p, float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, long N, long C);
/* Returns 0 when the scratch memory could not be allocated. */
int sl_layernorm_backward(sl_pool *p, float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, const float *mean, const float *rstd,
                          long N, long C);

void sl_matmul_forward(sl_pool *p, float *out, const float *inp, const float *weight, const float *bias,
                       long N, long C, long OC);
/* Returns 0 when the scratch memory could not be allocated. */
int sl_matmul_backward(sl_pool *p, float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, long N, long C, long OC);

/* Row-block size of the causal attention products (default 64); tuning knob for benchmarks. */
void sl_set_attention_block(long rb);
long sl_get_attention_block(void);

void sl_attention_forward(sl_pool *p, float *out, float *att, const float *qkv, long B, long T, long C, long NH);
void sl_attention_backward(sl_pool *p, float *dqkv, float *scratch, const float *dout, const float *qkv,
                           const float *att, long B, long T, long C, long NH);

/* Incremental decoding with a key/value cache: out (T1 - T0, C) = causal attention of rows T0 .. T1-1 of one sequence's
   qkv (T1, 3C) over its rows 0 .. t (rows [q | k | v], heads split C in order); W > 0 limits row t to keys
   (t - W, t]. Work is (T1 - T0) x T1 x C: a few rows, run on the calling thread. Returns 0 when out of memory. */
int sl_attention_decode(sl_pool *p, float *out, const float *qkv, long T0, long T1, long C, long NH, long W);

/* GPT-3's locally banded attention (keys (t - W, t], 0 < W < T); att and scratch are banded, (B,NH,T,W): entry
   [t][w] is key t - W + 1 + w. Return 0 when the per-thread working memory could not be allocated. */
int sl_attention_band_forward(sl_pool *p, float *out, float *att, const float *qkv, long B, long T, long C, long NH,
                              long W);
int sl_attention_band_backward(sl_pool *p, float *dqkv, float *scratch, const float *dout, const float *qkv,
                               const float *att, long B, long T, long C, long NH, long W);

void sl_gelu_forward(sl_pool *p, float *out, const float *inp, long n);
void sl_gelu_backward(sl_pool *p, float *dinp, const float *inp, const float *dout, long n);
void sl_residual_forward(sl_pool *p, float *out, const float *a, const float *b, long n);

void sl_crossentropy_forward(sl_pool *p, float *losses, float *probs, const float *logits, const int32_t *targets,
                             long N, long V);
void sl_crossentropy_backward(sl_pool *p, float *dlogits, const float *probs, const int32_t *targets, float scale,
                              long N, long V);
/* The output head and its loss fused, a cache-sized block of rows at a time (native/classifier.c): losses (N) =
   cross-entropy of softmax(inp (N,C) @ wte (V,C)^T) against targets (target < 0: loss 0); with dinp and dwte
   non-NULL also the backward of sum(losses)·scale: dinp (N,C) overwritten, dwte (V,C) accumulated.
   Returns 0 when the scratch memory could not be allocated. */
int sl_classifier(sl_pool *p, float *losses, float *dinp, float *dwte, const float *inp, const float *wte,
                  const int32_t *targets, long N, long C, long V, float scale);

/* Returns the sum of squares, accumulated in double over chunks fixed by n (deterministic). */
double sl_sum_squares(sl_pool *p, const float *x, long n);

typedef struct {
  double lr, beta1, beta2, eps, weight_decay, max_norm;
  double step;
} sl_adamw_hp;
void sl_adamw(sl_pool *p, float *param, const float *grad, float *m, float *v, long n, const sl_adamw_hp *hp,
              const float *norm_sq);

#endif
