/*
 * The output head and its loss, fused (the "classifier" of llm.c): logits = inp @ wte^T, softmax cross-entropy,
 * and, when asked, the head's backward, computed a block of rows at a time so the (N, V) logits never leave the
 * cache. At small widths the head is most of a step's work and the unfused version spends it streaming N·V floats
 * through memory four times (matmul out, softmax in and out, two backward products in).
 *
 * Work is split into row chunks whose number depends only on the shape (not on the thread count); each chunk keeps
 * its own dwte partial, and the partials are added in chunk order, so results do not depend on how many threads
 * ran the chunks.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "vecmath.h"

/* Row chunks at most (each owns a V×C partial of dwte). */
#define CLS_MAX_CHUNKS 8L
/* Rows per chunk at least, so a chunk's products stay large enough for sgemm. */
#define CLS_MIN_CHUNK_ROWS 256L
/* Bytes of logits a block of rows may occupy (fits the L2 cache beside the dwte partial). */
#define CLS_BLOCK_BYTES (256L * 1024L)

typedef struct {
  float *losses, *dinp, *dwpart, *blocks;
  const float *inp, *wte;
  const int32_t *targets;
  float scale;
  long N, C, V, R;
} cls_args;

/* Softmax of one row in place; returns log(sum(exp(row))) (the row's logsumexp). */
static float softmax_lse(float *row, long V) {
  float mx = -INFINITY;
  long i = 0;
#ifdef SL_HAVE_AVX2
  __m256 vm = _mm256_set1_ps(-INFINITY);
  for (; i + 8 <= V; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + i));
  mx = sl_hmax8(vm);
#endif
  for (; i < V; i++) mx = row[i] > mx ? row[i] : mx;
  float sum = 0.0f;
  i = 0;
#ifdef SL_HAVE_AVX2
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vs = _mm256_setzero_ps();
  for (; i + 8 <= V; i += 8) {
    __m256 e = sl_exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmx));
    _mm256_storeu_ps(row + i, e);
    vs = _mm256_add_ps(vs, e);
  }
  sum = sl_hsum8(vs);
#endif
  for (; i < V; i++) {
    float e = sl_expf(row[i] - mx);
    row[i] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  i = 0;
#ifdef SL_HAVE_AVX2
  const __m256 vinv = _mm256_set1_ps(inv);
  for (; i + 8 <= V; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), vinv));
#endif
  for (; i < V; i++) row[i] *= inv;
  return mx + logf(sum);
}

static void classifier_job(void *ctx, long chunk, long nch) {
  const cls_args *a = ctx;
  const long C = a->C, V = a->V, R = a->R;
  long lo, hi;
  sl_split(a->N, chunk, nch, 16, &lo, &hi);
  float *lg = a->blocks + chunk * R * V; /* (R, V) logits, then probabilities, then dlogits */
  float *dw = a->dwpart ? a->dwpart + chunk * V * C : NULL; /* (V, C) */
  if (dw) memset(dw, 0, sizeof(float) * (size_t)(V * C));
  for (long r0 = lo; r0 < hi; r0 += R) {
    const long m = hi - r0 < R ? hi - r0 : R;
    const float *x = a->inp + r0 * C;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)V, (int)C, 1.0f, x, (int)C, a->wte, (int)C,
                0.0f, lg, (int)V);
    for (long r = 0; r < m; r++) {
      float *row = lg + r * V;
      const int32_t t = a->targets[r0 + r];
      const float xt = t >= 0 ? row[t] : 0.0f;
      const float lse = softmax_lse(row, V);
      a->losses[r0 + r] = t >= 0 ? lse - xt : 0.0f;
      if (!dw) continue;
      if (t < 0) {
        memset(row, 0, sizeof(float) * (size_t)V);
        continue;
      }
      const float s = a->scale;
#pragma omp simd
      for (long i = 0; i < V; i++) row[i] *= s;
      row[t] -= s;
    }
    if (!dw) continue;
    /* dinp (m, C) = dlogits (m, V) @ wte (V, C); dw (V, C) += dlogits^T (V, m) @ x (m, C) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)C, (int)V, 1.0f, lg, (int)V, a->wte, (int)C,
                0.0f, a->dinp + r0 * C, (int)C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, (int)C, (int)m, 1.0f, lg, (int)V, x, (int)C, 1.0f,
                dw, (int)C);
  }
}

typedef struct {
  float *dwte;
  const float *dwpart;
  long n, nch;
} cls_sum_args;

/* dwte += the chunks' partials, added in chunk order. */
static void classifier_sum_job(void *ctx, long chunk, long n) {
  const cls_sum_args *a = ctx;
  long lo, hi;
  sl_split(a->n, chunk, n, 64, &lo, &hi);
  for (long k = 0; k < a->nch; k++) {
    const float *src = a->dwpart + k * a->n;
#pragma omp simd
    for (long i = lo; i < hi; i++) a->dwte[i] += src[i];
  }
}

/* Rows per block: as many as keep a block's logits within CLS_BLOCK_BYTES, a multiple of 16, 16 … 256. */
static long classifier_block_rows(long V) {
  long r = CLS_BLOCK_BYTES / (4L * V) / 16L * 16L;
  return r < 16 ? 16 : r > 256 ? 256 : r;
}

static long classifier_chunks(long N) {
  long c = N / CLS_MIN_CHUNK_ROWS;
  return c < 1 ? 1 : c > CLS_MAX_CHUNKS ? CLS_MAX_CHUNKS : c;
}

int sl_classifier(sl_pool *p, float *losses, float *dinp, float *dwte, const float *inp, const float *wte,
                  const int32_t *targets, long N, long C, long V, float scale) {
  const long R = classifier_block_rows(V), nch = classifier_chunks(N);
  const int grad = dinp != NULL && dwte != NULL;
  const size_t block = (size_t)(nch * R * V), part = grad ? (size_t)(nch * V * C) : 0;
  float *scratch = sl_pool_scratch(p, sizeof(float) * (block + part));
  if (!scratch) return 0;
  cls_args a = {.losses = losses, .dinp = grad ? dinp : NULL, .dwpart = grad ? scratch + block : NULL,
                .blocks = scratch, .inp = inp, .wte = wte, .targets = targets, .scale = scale,
                .N = N, .C = C, .V = V, .R = R};
  if (sl_pool_threads(p) == 1 || nch == 1) {
    for (long i = 0; i < nch; i++) classifier_job(&a, i, nch);
  } else {
    sl_pool_run(p, classifier_job, &a, nch);
  }
  if (grad) {
    cls_sum_args s = {.dwte = dwte, .dwpart = a.dwpart, .n = V * C, .nch = nch};
    long parts = sl_pool_threads(p) == 1 || V * C < 65536 ? 1 : sl_pool_threads(p);
    if (parts == 1) classifier_sum_job(&s, 0, 1);
    else sl_pool_run(p, classifier_sum_job, &s, parts);
  }
  return 1;
}
