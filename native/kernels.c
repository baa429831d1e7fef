/* Fused CPU kernels of a GPT training step: see kernels.h. */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "vecmath.h"

/* Below this many elements (or multiply-adds / 16) of work a kernel runs on the calling thread alone. */
#define SL_SERIAL_WORK 16384.0
/* Elements of work per chunk for the memory-bound kernels. */
#define SL_GRAIN 32768.0
#define SL_MAX_CHUNKS 64L

static int serial(sl_pool *p, double work) { return work < SL_SERIAL_WORK || sl_pool_threads(p) == 1; }

/* Chunks for `work` elements spread over `units` independent rows/items: about one chunk per SL_GRAIN elements,
   at most one per unit and SL_MAX_CHUNKS. Depends only on the shape, so per-chunk partial sums are deterministic. */
static long chunks_for(double work, long units) {
  double c = ceil(work / SL_GRAIN);
  long n = c > (double)SL_MAX_CHUNKS ? SL_MAX_CHUNKS : (long)c;
  if (n > units) n = units;
  return n < 1 ? 1 : n;
}

static void run(sl_pool *p, sl_pool_fn fn, void *ctx, long nchunks, double work) {
  if (serial(p, work)) {
    for (long i = 0; i < nchunks; i++) fn(ctx, i, nchunks);
  } else {
    sl_pool_run(p, fn, ctx, nchunks);
  }
}

/* ------------------------------------------------------------------------------------------------ gemm */

typedef struct {
  int ta, tb;
  long M, N, K;
  float alpha;
  const float *A;
  long lda;
  const float *B;
  long ldb;
  float beta;
  float *C;
  long ldc;
} gemm_args;

static void gemm_block(const gemm_args *g, long m0, long m1, long n0, long n1) {
  if (m1 <= m0 || n1 <= n0) return;
  const float *A = g->ta ? g->A + m0 : g->A + m0 * g->lda;
  const float *B = g->tb ? g->B + n0 * g->ldb : g->B + n0;
  float *C = g->C + m0 * g->ldc + n0;
  if (g->K == 0) { /* C = beta C; not every BLAS accepts K = 0 */
    for (long i = 0; i < m1 - m0; i++)
      for (long j = 0; j < n1 - n0; j++) C[i * g->ldc + j] = g->beta == 0.0f ? 0.0f : g->beta * C[i * g->ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, (int)(m1 - m0),
              (int)(n1 - n0), (int)g->K, g->alpha, A, (int)g->lda, B, (int)g->ldb, g->beta, C, (int)g->ldc);
}

/* Part `i` of `n` of a product, split along the longer output side at multiples of 16. */
static void gemm_part(const gemm_args *g, long i, long n) {
  long lo, hi;
  if (g->M >= g->N) {
    sl_split(g->M, i, n, 16, &lo, &hi);
    gemm_block(g, lo, hi, 0, g->N);
  } else {
    sl_split(g->N, i, n, 16, &lo, &hi);
    gemm_block(g, 0, g->M, lo, hi);
  }
}

static void gemm_job(void *ctx, long i, long n) { gemm_part((const gemm_args *)ctx, i, n); }

/* Parts of a product. The count depends only on the shape (never on the thread count): OpenBLAS's result for an
   element can change with the size of the block it is computed in, so the same blocks on 1 or 8 threads keep a run's
   numbers independent of how many threads trained it. Every part repacks the shared operand, so parts stay large:
   one per SL_GEMM_PART_ROWS rows of the longer output side, at most SL_GEMM_MAX_PARTS. */
#define SL_GEMM_PART_ROWS 256L
#define SL_GEMM_MAX_PARTS 8L
static long gemm_chunks(double work, long M, long N) {
  if (work < SL_SERIAL_WORK) return 1;
  long side = M >= N ? M : N, parts = side / SL_GEMM_PART_ROWS;
  return parts < 2 ? 2 : parts > SL_GEMM_MAX_PARTS ? SL_GEMM_MAX_PARTS : parts;
}

void sl_gemm(sl_pool *p, int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
             const float *B, long ldb, float beta, float *C, long ldc) {
  gemm_args g = {transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  double work = (double)M * N * (K + 1) / 16.0;
  run(p, gemm_job, &g, gemm_chunks(work, M, N), work);
}

/* ------------------------------------------------------------------------------------------------ encoder */

typedef struct {
  float *out, *dwte, *dwpe;
  const float *wte, *wpe, *dout;
  const int32_t *inp;
  long B, T, C;
} enc_args;

static void encoder_forward_job(void *ctx, long chunk, long n) {
  const enc_args *a = ctx;
  long lo, hi, C = a->C;
  sl_split(a->B * a->T, chunk, n, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    const float *w = a->wte + (long)a->inp[r] * C;
    const float *p = a->wpe + (r % a->T) * C;
    float *o = a->out + r * C;
#pragma omp simd
    for (long i = 0; i < C; i++) o[i] = w[i] + p[i];
  }
}

void sl_encoder_forward(sl_pool *p, float *out, const int32_t *inp, const float *wte, const float *wpe, long B,
                        long T, long C) {
  enc_args a = {.out = out, .wte = wte, .wpe = wpe, .inp = inp, .B = B, .T = T, .C = C};
  double work = (double)B * T * C;
  run(p, encoder_forward_job, &a, chunks_for(work, B * T), work);
}

/* Each chunk owns a slice of the channels, so the scatter-add into dwte has no races and a fixed order. */
static void encoder_backward_job(void *ctx, long chunk, long n) {
  const enc_args *a = ctx;
  long lo, hi, C = a->C, BT = a->B * a->T;
  sl_split(C, chunk, n, 16, &lo, &hi);
  if (hi <= lo) return;
  for (long r = 0; r < BT; r++) {
    const float *d = a->dout + r * C;
    float *w = a->dwte + (long)a->inp[r] * C;
    float *q = a->dwpe + (r % a->T) * C;
#pragma omp simd
    for (long i = lo; i < hi; i++) {
      w[i] += d[i];
      q[i] += d[i];
    }
  }
}

void sl_encoder_backward(sl_pool *p, float *dwte, float *dwpe, const float *dout, const int32_t *inp, long B,
                         long T, long C) {
  enc_args a = {.dwte = dwte, .dwpe = dwpe, .dout = dout, .inp = inp, .B = B, .T = T, .C = C};
  double work = (double)B * T * C;
  run(p, encoder_backward_job, &a, chunks_for(work, (C + 15) / 16), work);
}

/* ------------------------------------------------------------------------------------------------ layernorm */

#define LN_EPS 1e-5f

typedef struct {
  float *out, *mean, *rstd, *dinp, *dweight, *dbias;
  const float *inp, *weight, *bias, *dout, *cmean, *crstd;
  double *partial; /* per chunk: dweight (C) then dbias (C) */
  long N, C;
} ln_args;

static void layernorm_forward_job(void *ctx, long chunk, long n) {
  const ln_args *a = ctx;
  long lo, hi, C = a->C;
  sl_split(a->N, chunk, n, 1, &lo, &hi);
  const float *w = a->weight, *b = a->bias;
  for (long r = lo; r < hi; r++) {
    const float *x = a->inp + r * C;
    float *o = a->out + r * C;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (long i = 0; i < C; i++) s += x[i];
    float m = s / (float)C;
    float v = 0.0f;
#pragma omp simd reduction(+ : v)
    for (long i = 0; i < C; i++) {
      float d = x[i] - m;
      v += d * d;
    }
    float rs = 1.0f / sqrtf(v / (float)C + LN_EPS);
#pragma omp simd
    for (long i = 0; i < C; i++) o[i] = (x[i] - m) * rs * w[i] + b[i];
    a->mean[r] = m;
    a->rstd[r] = rs;
  }
}

void sl_layernorm_forward(sl_pool *p, float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, long N, long C) {
  ln_args a = {.out = out, .mean = mean, .rstd = rstd, .inp = inp, .weight = weight, .bias = bias, .N = N, .C = C};
  double work = (double)N * C;
  run(p, layernorm_forward_job, &a, chunks_for(work, N), work);
}

/* Rows are split into chunks; each chunk sums its dweight/dbias share in double, and the shares are added in chunk
   order afterwards (deterministic: the chunking depends only on the shape). */
static void layernorm_backward_job(void *ctx, long chunk, long n) {
  const ln_args *a = ctx;
  long lo, hi, C = a->C;
  sl_split(a->N, chunk, n, 1, &lo, &hi);
  double *dw = a->partial + chunk * 2 * C, *db = dw + C;
  memset(dw, 0, sizeof(double) * 2 * (size_t)C);
  const float *w = a->weight;
  for (long r = lo; r < hi; r++) {
    const float *x = a->inp + r * C, *d = a->dout + r * C;
    float *di = a->dinp + r * C;
    float m = a->cmean[r], rs = a->crstd[r];
    float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
    for (long i = 0; i < C; i++) {
      float norm = (x[i] - m) * rs;
      float dn = w[i] * d[i];
      s1 += dn;
      s2 += dn * norm;
    }
    s1 /= (float)C;
    s2 /= (float)C;
#pragma omp simd
    for (long i = 0; i < C; i++) {
      float norm = (x[i] - m) * rs;
      float dn = w[i] * d[i];
      db[i] += d[i];
      dw[i] += norm * d[i];
      di[i] += (dn - s1 - norm * s2) * rs;
    }
  }
}

int sl_layernorm_backward(sl_pool *p, float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, const float *mean, const float *rstd, long N,
                          long C) {
  double work = (double)N * C;
  long nch = chunks_for(work, N);
  double *partial = sl_pool_scratch(p, sizeof(double) * 2 * (size_t)C * (size_t)nch);
  if (!partial) return 0;
  ln_args a = {.dinp = dinp, .dweight = dweight, .dbias = dbias, .dout = dout, .inp = inp, .weight = weight,
               .cmean = mean, .crstd = rstd, .partial = partial, .N = N, .C = C};
  run(p, layernorm_backward_job, &a, nch, work);
  for (long i = 0; i < C; i++) {
    double sw = 0.0, sb = 0.0;
    for (long k = 0; k < nch; k++) {
      sw += partial[k * 2 * C + i];
      sb += partial[k * 2 * C + C + i];
    }
    dweight[i] += (float)sw;
    dbias[i] += (float)sb;
  }
  return 1;
}

/* ------------------------------------------------------------------------------------------------ matmul */

typedef struct {
  float *out, *dinp, *dweight, *dbias;
  const float *inp, *weight, *bias, *dout;
  double *colsum; /* OC accumulators for dbias */
  long N, C, OC;
} mm_args;

/* out part = bias, then sgemm with beta = 1: OpenBLAS would otherwise spend the same pass zeroing C. */
static void matmul_forward_job(void *ctx, long chunk, long n) {
  const mm_args *a = ctx;
  long N = a->N, C = a->C, OC = a->OC;
  gemm_args g = {0, 1, N, OC, C, 1.0f, a->inp, C, a->weight, C, a->bias ? 1.0f : 0.0f, a->out, OC};
  long lo, hi;
  int rows = N >= OC;
  sl_split(rows ? N : OC, chunk, n, 16, &lo, &hi);
  if (hi <= lo) return;
  if (a->bias) {
    long r0 = rows ? lo : 0, r1 = rows ? hi : N, c0 = rows ? 0 : lo, c1 = rows ? OC : hi;
    for (long r = r0; r < r1; r++) memcpy(a->out + r * OC + c0, a->bias + c0, sizeof(float) * (size_t)(c1 - c0));
  }
  if (rows) gemm_block(&g, lo, hi, 0, OC);
  else gemm_block(&g, 0, N, lo, hi);
}

void sl_matmul_forward(sl_pool *p, float *out, const float *inp, const float *weight, const float *bias, long N,
                       long C, long OC) {
  mm_args a = {.out = out, .inp = inp, .weight = weight, .bias = bias, .N = N, .C = C, .OC = OC};
  double work = (double)N * C * OC / 16.0;
  run(p, matmul_forward_job, &a, gemm_chunks(work, N, OC), work);
}

/* One job for the three products: part `chunk` of dinp, of dweight and of the dbias columns. */
static void matmul_backward_job(void *ctx, long chunk, long n) {
  const mm_args *a = ctx;
  long N = a->N, C = a->C, OC = a->OC, lo, hi;
  if (a->dinp) {
    gemm_args g = {0, 0, N, C, OC, 1.0f, a->dout, OC, a->weight, C, 0.0f, a->dinp, C};
    gemm_part(&g, chunk, n);
  }
  gemm_args gw = {1, 0, OC, C, N, 1.0f, a->dout, OC, a->inp, C, 1.0f, a->dweight, C};
  gemm_part(&gw, chunk, n);
  if (a->dbias) {
    sl_split(OC, chunk, n, 16, &lo, &hi);
    if (hi <= lo) return;
    /* column sums in double; each chunk owns columns [lo, hi) of the shared accumulator */
    double *acc = a->colsum + lo;
    long w = hi - lo;
    memset(acc, 0, sizeof(double) * (size_t)w);
    for (long r = 0; r < N; r++) {
      const float *d = a->dout + r * OC + lo;
#pragma omp simd
      for (long i = 0; i < w; i++) acc[i] += d[i];
    }
    for (long i = 0; i < w; i++) a->dbias[lo + i] += (float)acc[i];
  }
}

int sl_matmul_backward(sl_pool *p, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                       const float *weight, long N, long C, long OC) {
  mm_args a = {.dinp = dinp, .dweight = dweight, .dbias = dbias, .dout = dout, .inp = inp, .weight = weight,
               .N = N, .C = C, .OC = OC};
  if (dbias && !(a.colsum = sl_pool_scratch(p, sizeof(double) * (size_t)OC))) return 0;
  double work = (double)N * C * OC / 8.0;
  run(p, matmul_backward_job, &a, gemm_chunks(work, N > OC ? N : OC, C), work);
  return 1;
}

/* ------------------------------------------------------------------------------------------------ attention */

/* Row block of the causal products: block r computes only columns [0, end of block r), skipping most of the
   zero upper triangle while keeping each sgemm large enough to run at full speed. */
static long att_block = 64;

void sl_set_attention_block(long rb) { att_block = rb > 0 ? rb : 64; }
long sl_get_attention_block(void) { return att_block; }

/* row[0..len) = softmax(row[0..len)); row[len..zero_end) = 0. Returns log(sum(exp(row))) of the input.
   The ragged end of a row (len is t + 1 in causal attention) goes through masked loads and stores, so every
   element takes the vector path. */
static float softmax_row(float *row, long len, long zero_end) {
#ifdef SL_HAVE_AVX2
  static const int32_t ramp[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const long full = len & ~7L, rest = len - full;
  const __m256i tail = _mm256_loadu_si256((const __m256i *)(ramp + 8 - rest)); /* first `rest` lanes set */
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  __m256 vm = ninf;
  for (long i = 0; i < full; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + i));
  __m256 last = ninf;
  if (rest) {
    last = _mm256_blendv_ps(ninf, _mm256_maskload_ps(row + full, tail), _mm256_castsi256_ps(tail));
    vm = _mm256_max_ps(vm, last);
  }
  const float mx = sl_hmax8(vm);
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vs = _mm256_setzero_ps();
  for (long i = 0; i < full; i += 8) {
    __m256 e = sl_exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmx));
    _mm256_storeu_ps(row + i, e);
    vs = _mm256_add_ps(vs, e);
  }
  __m256 elast = _mm256_setzero_ps();
  if (rest) {
    elast = _mm256_and_ps(sl_exp8(_mm256_sub_ps(last, vmx)), _mm256_castsi256_ps(tail));
    vs = _mm256_add_ps(vs, elast);
  }
  const float sum = sl_hsum8(vs);
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (long i = 0; i < full; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
  if (rest) _mm256_maskstore_ps(row + full, tail, _mm256_mul_ps(elast, inv));
#else
  float mx = -INFINITY;
  for (long i = 0; i < len; i++) mx = row[i] > mx ? row[i] : mx;
  float sum = 0.0f;
  for (long i = 0; i < len; i++) {
    float e = sl_expf(row[i] - mx);
    row[i] = e;
    sum += e;
  }
  float inv = 1.0f / sum;
  for (long i = 0; i < len; i++) row[i] *= inv;
#endif
  if (zero_end > len) memset(row + len, 0, sizeof(float) * (size_t)(zero_end - len));
  return mx + logf(sum);
}

typedef struct {
  float *out, *att, *dqkv, *scratch;
  const float *qkv, *dout, *catt;
  long B, T, C, NH;
} att_args;

static void attention_forward_job(void *ctx, long task, long ntasks) {
  (void)ntasks;
  const att_args *a = ctx;
  const long T = a->T, C = a->C, NH = a->NH, C3 = 3 * C, hs = C / NH, RB = att_block;
  const float scale = 1.0f / sqrtf((float)hs);
  {
    long b = task / NH, h = task % NH;
    const float *q = a->qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
    float *P = a->att + task * T * T;
    float *o = a->out + b * T * C + h * hs;
    for (long r0 = 0; r0 < T; r0 += RB) {
      long r1 = r0 + RB < T ? r0 + RB : T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)r1, (int)hs, scale, q + r0 * C3,
                  (int)C3, k, (int)C3, 0.0f, P + r0 * T, (int)T);
      for (long t = r0; t < r1; t++) softmax_row(P + t * T, t + 1, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)hs, (int)r1, 1.0f, P + r0 * T,
                  (int)T, v, (int)C3, 0.0f, o + r0 * C, (int)C);
    }
  }
}

void sl_attention_forward(sl_pool *p, float *out, float *att, const float *qkv, long B, long T, long C, long NH) {
  att_args a = {.out = out, .att = att, .qkv = qkv, .B = B, .T = T, .C = C, .NH = NH};
  run(p, attention_forward_job, &a, B * NH, B * NH > 1 ? (double)B * T * T * C : 0.0);
}

static void attention_backward_job(void *ctx, long task, long ntasks) {
  (void)ntasks;
  const att_args *a = ctx;
  const long T = a->T, C = a->C, NH = a->NH, C3 = 3 * C, hs = C / NH, RB = att_block;
  const float scale = 1.0f / sqrtf((float)hs);
  {
    long b = task / NH, h = task % NH;
    const float *q = a->qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
    const float *P = a->catt + task * T * T;
    const float *dO = a->dout + b * T * C + h * hs;
    float *dS = a->scratch + task * T * T;
    float *dq = a->dqkv + b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
    for (long r0 = 0; r0 < T; r0 += RB) {
      long r1 = r0 + RB < T ? r0 + RB : T;
      /* dP[r0:r1, 0:r1] = dO[r0:r1] v[0:r1]^T */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)r1, (int)hs, 1.0f, dO + r0 * C,
                  (int)C, v, (int)C3, 0.0f, dS + r0 * T, (int)T);
      /* softmax backward: dS = P (dP - sum(P dP)) scale on the causal part, zero up to the block edge */
      for (long t = r0; t < r1; t++) {
        float *row = dS + t * T;
        const float *pr = P + t * T;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (long j = 0; j <= t; j++) dot += pr[j] * row[j];
#pragma omp simd
        for (long j = 0; j <= t; j++) row[j] = pr[j] * (row[j] - dot) * scale;
        if (r1 > t + 1) memset(row + t + 1, 0, sizeof(float) * (size_t)(r1 - t - 1));
      }
      /* dq[r0:r1] = dS[r0:r1, 0:r1] k[0:r1] */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)hs, (int)r1, 1.0f, dS + r0 * T,
                  (int)T, k, (int)C3, 0.0f, dq + r0 * C3, (int)C3);
    }
    for (long c0 = 0; c0 < T; c0 += RB) {
      long c1 = c0 + RB < T ? c0 + RB : T;
      /* dv[c0:c1] = P[c0:T, c0:c1]^T dO[c0:T];  dk[c0:c1] = dS[c0:T, c0:c1]^T q[c0:T] */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(c1 - c0), (int)hs, (int)(T - c0), 1.0f,
                  P + c0 * T + c0, (int)T, dO + c0 * C, (int)C, 0.0f, dv + c0 * C3, (int)C3);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(c1 - c0), (int)hs, (int)(T - c0), 1.0f,
                  dS + c0 * T + c0, (int)T, q + c0 * C3, (int)C3, 0.0f, dk + c0 * C3, (int)C3);
    }
  }
}

void sl_attention_backward(sl_pool *p, float *dqkv, float *scratch, const float *dout, const float *qkv,
                           const float *att, long B, long T, long C, long NH) {
  att_args a = {.dqkv = dqkv, .scratch = scratch, .dout = dout, .qkv = qkv, .catt = att, .B = B, .T = T, .C = C,
                .NH = NH};
  run(p, attention_backward_job, &a, B * NH, B * NH > 1 ? (double)B * T * T * C : 0.0);
}

/* ------------------------------------------------------------------------------------------------ elementwise */

#define GELU_S 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f

typedef struct {
  float *out;
  const float *x, *y;
  long n;
} ew_args;

static void gelu_forward_job(void *ctx, long chunk, long n) {
  const ew_args *a = ctx;
  long lo, hi;
  sl_split(a->n, chunk, n, 64, &lo, &hi);
  const float *x = a->x;
  float *o = a->out;
  long i = lo;
#ifdef SL_HAVE_AVX2
  const __m256 s = _mm256_set1_ps(GELU_S), c = _mm256_set1_ps(GELU_C), half = _mm256_set1_ps(0.5f),
               one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= hi; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    __m256 u = _mm256_mul_ps(s, _mm256_fmadd_ps(c, v3, v));
    __m256 th = sl_tanh8(u);
    _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, th)));
  }
#endif
  for (; i < hi; i++) {
    float v = x[i];
    float u = GELU_S * (v + GELU_C * v * v * v);
    o[i] = 0.5f * v * (1.0f + sl_tanhf(u));
  }
}

void sl_gelu_forward(sl_pool *p, float *out, const float *inp, long n) {
  ew_args a = {out, inp, NULL, n};
  run(p, gelu_forward_job, &a, chunks_for((double)n * 4, n), (double)n * 4);
}

/* dinp may alias dout: every element is read before it is written. */
static void gelu_backward_job(void *ctx, long chunk, long n) {
  const ew_args *a = ctx;
  long lo, hi;
  sl_split(a->n, chunk, n, 64, &lo, &hi);
  const float *x = a->x, *d = a->y;
  float *o = a->out;
  long i = lo;
#ifdef SL_HAVE_AVX2
  const __m256 s = _mm256_set1_ps(GELU_S), c = _mm256_set1_ps(GELU_C), c3 = _mm256_set1_ps(3.0f * GELU_C),
               half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= hi; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 v2 = _mm256_mul_ps(v, v);
    __m256 u = _mm256_mul_ps(s, _mm256_fmadd_ps(_mm256_mul_ps(c, v2), v, v));
    __m256 th = sl_tanh8(u);
    __m256 sech2 = _mm256_fnmadd_ps(th, th, one);
    __m256 g = _mm256_mul_ps(half, _mm256_add_ps(one, th));
    __m256 dudx = _mm256_mul_ps(s, _mm256_fmadd_ps(c3, v2, one));
    g = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(half, v), sech2), dudx, g);
    _mm256_storeu_ps(o + i, _mm256_mul_ps(g, _mm256_loadu_ps(d + i)));
  }
#endif
  for (; i < hi; i++) {
    float v = x[i];
    float u = GELU_S * (v + GELU_C * v * v * v);
    float th = sl_tanhf(u);
    float sech2 = 1.0f - th * th;
    float g = 0.5f * (1.0f + th) + 0.5f * v * sech2 * GELU_S * (1.0f + 3.0f * GELU_C * v * v);
    o[i] = g * d[i];
  }
}

void sl_gelu_backward(sl_pool *p, float *dinp, const float *inp, const float *dout, long n) {
  ew_args a = {dinp, inp, dout, n};
  run(p, gelu_backward_job, &a, chunks_for((double)n * 4, n), (double)n * 4);
}

static void residual_job(void *ctx, long chunk, long n) {
  const ew_args *a = ctx;
  long lo, hi;
  sl_split(a->n, chunk, n, 64, &lo, &hi);
  const float *x = a->x, *y = a->y;
  float *o = a->out;
#pragma omp simd
  for (long i = lo; i < hi; i++) o[i] = x[i] + y[i];
}

void sl_residual_forward(sl_pool *p, float *out, const float *a_, const float *b, long n) {
  ew_args a = {out, a_, b, n};
  run(p, residual_job, &a, chunks_for((double)n, n), (double)n);
}

/* ------------------------------------------------------------------------------------------------ cross-entropy */

typedef struct {
  float *losses, *probs, *dlogits;
  const float *logits, *cprobs;
  const int32_t *targets;
  float scale;
  long N, V;
} ce_args;

/* probs may alias logits: the target's logit is read first, then the row is overwritten in place.
   loss = logsumexp(row) - row[target]. */
static void crossentropy_forward_job(void *ctx, long chunk, long n) {
  const ce_args *a = ctx;
  long lo, hi, V = a->V;
  sl_split(a->N, chunk, n, 1, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    const float *x = a->logits + r * V;
    float *pr = a->probs + r * V;
    int32_t t = a->targets[r];
    float xt = t >= 0 ? x[t] : 0.0f;
    if (pr != x) memcpy(pr, x, sizeof(float) * (size_t)V);
    float lse = softmax_row(pr, V, V);
    a->losses[r] = t >= 0 ? lse - xt : 0.0f;
  }
}

void sl_crossentropy_forward(sl_pool *p, float *losses, float *probs, const float *logits, const int32_t *targets,
                             long N, long V) {
  ce_args a = {.losses = losses, .probs = probs, .logits = logits, .targets = targets, .N = N, .V = V};
  run(p, crossentropy_forward_job, &a, chunks_for((double)N * V * 4, N), (double)N * V * 4);
}

/* dlogits may alias probs. */
static void crossentropy_backward_job(void *ctx, long chunk, long n) {
  const ce_args *a = ctx;
  long lo, hi, V = a->V;
  sl_split(a->N, chunk, n, 1, &lo, &hi);
  const float s = a->scale;
  for (long r = lo; r < hi; r++) {
    const float *pr = a->cprobs + r * V;
    float *d = a->dlogits + r * V;
    int32_t t = a->targets[r];
    if (t < 0) {
      memset(d, 0, sizeof(float) * (size_t)V);
      continue;
    }
#pragma omp simd
    for (long i = 0; i < V; i++) d[i] = pr[i] * s;
    d[t] -= s;
  }
}

void sl_crossentropy_backward(sl_pool *p, float *dlogits, const float *probs, const int32_t *targets, float scale,
                              long N, long V) {
  ce_args a = {.dlogits = dlogits, .cprobs = probs, .targets = targets, .scale = scale, .N = N, .V = V};
  run(p, crossentropy_backward_job, &a, chunks_for((double)N * V, N), (double)N * V);
}

/* ------------------------------------------------------------------------------------------------ optimizer */

typedef struct {
  const float *x;
  long n;
  double part[SL_MAX_CHUNKS];
} ss_args;

static void sum_squares_job(void *ctx, long chunk, long nch) {
  ss_args *a = ctx;
  long lo, hi;
  sl_split(a->n, chunk, nch, 64, &lo, &hi);
  const float *x = a->x;
  double s = 0.0;
  /* float partial sums over short blocks, added into a double total: fast and accurate */
  for (long b0 = lo; b0 < hi; b0 += 1024) {
    long b1 = b0 + 1024 < hi ? b0 + 1024 : hi;
    float f = 0.0f;
#pragma omp simd reduction(+ : f)
    for (long i = b0; i < b1; i++) f += x[i] * x[i];
    s += f;
  }
  a->part[chunk] = s;
}

double sl_sum_squares(sl_pool *p, const float *x, long n) {
  ss_args a = {.x = x, .n = n};
  long nch = chunks_for((double)n, n);
  run(p, sum_squares_job, &a, nch, (double)n);
  double s = 0.0;
  for (long k = 0; k < nch; k++) s += a.part[k];
  return s;
}

typedef struct {
  float *param, *m, *v;
  const float *grad;
  long n;
  float clip, beta1, beta2, one_minus_b1, one_minus_b2, decay, step_size, inv_bc2, eps;
} adamw_args;

static void adamw_job(void *ctx, long chunk, long n) {
  const adamw_args *a = ctx;
  long lo, hi;
  sl_split(a->n, chunk, n, 64, &lo, &hi);
  float *p = a->param, *m = a->m, *v = a->v;
  const float *g = a->grad;
  const float clip = a->clip, b1 = a->beta1, b2 = a->beta2, ob1 = a->one_minus_b1, ob2 = a->one_minus_b2,
              decay = a->decay, step = a->step_size, inv_bc2 = a->inv_bc2, eps = a->eps;
#pragma omp simd
  for (long i = lo; i < hi; i++) {
    float gi = g[i] * clip;
    float mi = b1 * m[i] + ob1 * gi;
    float vi = b2 * v[i] + ob2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step * mi / (sqrtf(vi * inv_bc2) + eps);
  }
}

void sl_adamw(sl_pool *p, float *param, const float *grad, float *m, float *v, long n, const sl_adamw_hp *hp,
              const float *norm_sq) {
  double clip = 1.0;
  if (norm_sq && hp->max_norm > 0) {
    double norm = sqrt((double)norm_sq[0]);
    clip = hp->max_norm / (norm + 1e-6);
    if (!(clip < 1.0)) clip = 1.0;
  }
  double bc1 = 1.0 - pow(hp->beta1, hp->step), bc2 = 1.0 - pow(hp->beta2, hp->step);
  adamw_args a = {.param = param, .m = m, .v = v, .grad = grad, .n = n, .clip = (float)clip,
                  .beta1 = (float)hp->beta1, .beta2 = (float)hp->beta2, .one_minus_b1 = (float)(1.0 - hp->beta1),
                  .one_minus_b2 = (float)(1.0 - hp->beta2), .decay = (float)(1.0 - hp->lr * hp->weight_decay),
                  .step_size = (float)(hp->lr / bc1), .inv_bc2 = (float)(1.0 / bc2), .eps = (float)hp->eps};
  run(p, adamw_job, &a, chunks_for((double)n * 2, n), (double)n * 2);
}
