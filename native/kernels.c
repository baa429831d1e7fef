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
  if (N == 1) {
    /* one row (decoding with a key/value cache): a matrix-vector product, without sgemm's packing */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(hi - lo), (int)C, 1.0f, a->weight + lo * C, (int)C, a->inp, 1,
                a->bias ? 1.0f : 0.0f, a->out + lo, 1);
  } else if (rows) {
    gemm_block(&g, lo, hi, 0, OC);
  } else {
    gemm_block(&g, 0, N, lo, hi);
  }
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

/* ------------------------------------------------------------------------------------------------ banded attention */

/* GPT-3's locally banded layers: position t attends to keys (t - W, t]. att and scratch are BANDED, (B,NH,T,W):
   entry [t][w] is the probability of key t - W + 1 + w (zero where that key is < 0).

   Work is done in tiles of BAND_R rows (or keys) against the W + BAND_R - 1 keys (or rows) they touch, so only
   BAND_R - 1 entries a row lie outside the band (3% at W = 128) and nothing is T x T. The tiles are too thin for
   an efficient sgemm call, so a register-blocked microkernel, `band_mm`, does every product: scores and dP against
   a transposed pack of k or v, and out, dq, dk, dv as a tile times packed rows. Each head packs what it reads into
   per-chunk scratch just in time (rows 3C apart would thrash L1's sets), then:
   forward  per row block: scores -> softmax on each band -> att row, out = P v;
   backward per row block: dP = dO v^T -> softmax backward -> dS (a cache-resident ring), dq = dS k;
            per key block, as soon as its rows are done: the block's columns of P and dS gathered from the banded
            rows, dv = P^T dO, dk = dS^T q.
   Every output element is written once by one thread in a fixed order (deterministic). */
#define BAND_R 4

#if defined(__GNUC__)
#define SL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SL_ALWAYS_INLINE inline
#endif

static long round8(long n) { return (n + 7) & ~7L; }

/* C (nr, N; ld ldc) = alpha * A (nr, K; ld lda) B (K, N; ld ldb), overwritten; nr <= BAND_R. Register-blocked
   over 16 (then 8) columns of C: each k broadcasts A's nr entries against a row of B. The band's two products are
   both this: scores and dP as q (or dO) times a transposed pack of k (or v), and out, dq, dk, dv as a tile of
   probabilities (or dS) times packed rows. */
static SL_ALWAYS_INLINE void band_mm(int nr, float *Cm, long ldc, const float *A, long lda, const float *B, long ldb,
                                     long K, long N, float alpha) {
  long c0 = 0;
#ifdef SL_HAVE_AVX2
  const __m256 va = _mm256_set1_ps(alpha);
  for (; c0 + 24 <= N; c0 += 24) {
    __m256 acc[BAND_R][3];
    for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = acc[r][2] = _mm256_setzero_ps();
    for (long k = 0; k < K; k++) {
      const float *b = B + k * ldb + c0;
      __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), b2 = _mm256_loadu_ps(b + 16);
      for (int r = 0; r < nr; r++) {
        __m256 x = _mm256_broadcast_ss(A + r * lda + k);
        acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        acc[r][2] = _mm256_fmadd_ps(x, b2, acc[r][2]);
      }
    }
    for (int r = 0; r < nr; r++) {
      _mm256_storeu_ps(Cm + r * ldc + c0, _mm256_mul_ps(va, acc[r][0]));
      _mm256_storeu_ps(Cm + r * ldc + c0 + 8, _mm256_mul_ps(va, acc[r][1]));
      _mm256_storeu_ps(Cm + r * ldc + c0 + 16, _mm256_mul_ps(va, acc[r][2]));
    }
  }
  for (; c0 + 16 <= N; c0 += 16) {
    __m256 acc[BAND_R][2];
    for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long k = 0; k < K; k++) {
      const float *b = B + k * ldb + c0;
      __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
      for (int r = 0; r < nr; r++) {
        __m256 x = _mm256_broadcast_ss(A + r * lda + k);
        acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < nr; r++) {
      _mm256_storeu_ps(Cm + r * ldc + c0, _mm256_mul_ps(va, acc[r][0]));
      _mm256_storeu_ps(Cm + r * ldc + c0 + 8, _mm256_mul_ps(va, acc[r][1]));
    }
  }
  for (; c0 + 8 <= N; c0 += 8) { /* 8 columns: even and odd k in separate accumulators, to keep both FMA pipes busy */
    __m256 acc[BAND_R][2];
    for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    long k = 0;
    for (; k + 2 <= K; k += 2) {
      __m256 b0 = _mm256_loadu_ps(B + k * ldb + c0), b1 = _mm256_loadu_ps(B + (k + 1) * ldb + c0);
      for (int r = 0; r < nr; r++) {
        acc[r][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + k), b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + k + 1), b1, acc[r][1]);
      }
    }
    if (k < K) {
      __m256 b0 = _mm256_loadu_ps(B + k * ldb + c0);
      for (int r = 0; r < nr; r++) acc[r][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + k), b0, acc[r][0]);
    }
    for (int r = 0; r < nr; r++) _mm256_storeu_ps(Cm + r * ldc + c0, _mm256_mul_ps(va, _mm256_add_ps(acc[r][0], acc[r][1])));
  }
#endif
  for (int r = 0; r < nr; r++) { /* the columns left over (all of them without AVX2) */
    float *o = Cm + r * ldc;
    for (long c = c0; c < N; c++) o[c] = 0.0f;
    for (long k = 0; k < K; k++) {
      const float x = A[r * lda + k], *b = B + k * ldb;
      for (long c = c0; c < N; c++) o[c] += x * b[c];
    }
    for (long c = c0; c < N; c++) o[c] *= alpha;
  }
}

/* band_mm with full tiles specialised (the compiler keeps a full tile's accumulators in registers). */
static void band_mm_any(int nr, float *Cm, long ldc, const float *A, long lda, const float *B, long ldb, long K, long N,
                        float alpha) {
  if (nr == BAND_R) band_mm(BAND_R, Cm, ldc, A, lda, B, ldb, K, N, alpha);
  else band_mm(nr, Cm, ldc, A, lda, B, ldb, K, N, alpha);
}

/* Rows [t0, t1) of src (T, hs; ld ld) into dst (T, hs) contiguous. */
static void pack_rows(float *dst, const float *src, long ld, long t0, long t1, long hs) {
  for (long t = t0; t < t1; t++) memcpy(dst + t * hs, src + t * ld, sizeof(float) * (size_t)hs);
}

/* Rows [t0, t1) of src (T, hs; ld ld) into columns [t0, t1) of dst = src^T (hs, LT). */
static void pack_cols(float *dst, long LT, const float *src, long ld, long t0, long t1, long hs) {
  long d0 = 0;
#ifdef SL_HAVE_AVX2
  if (t1 - t0 == 4) { /* 4 rows: 4 x 4 transposes, one 4-float store per d */
    const float *s0 = src + t0 * ld, *s1 = s0 + ld, *s2 = s1 + ld, *s3 = s2 + ld;
    for (; d0 + 4 <= hs; d0 += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + d0), r1 = _mm_loadu_ps(s1 + d0), r2 = _mm_loadu_ps(s2 + d0), r3 = _mm_loadu_ps(s3 + d0);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + d0 * LT + t0, r0);
      _mm_storeu_ps(dst + (d0 + 1) * LT + t0, r1);
      _mm_storeu_ps(dst + (d0 + 2) * LT + t0, r2);
      _mm_storeu_ps(dst + (d0 + 3) * LT + t0, r3);
    }
  }
#endif
  for (long d = d0; d < hs; d++)
    for (long t = t0; t < t1; t++) dst[d * LT + t] = src[t * ld + d];
}

/* Asks for rows [t0, t1) of src (ld apart, hs floats each) ahead of their packing (rows 3C apart defeat the
   hardware prefetcher's reach). */
static void prefetch_rows(const float *src, long ld, long t0, long t1, long T, long hs) {
  for (long t = t0; t < t1 && t < T; t++)
    for (long d = 0; d < hs; d += 16) __builtin_prefetch(src + t * ld + d);
}

/* Zeroes columns [T, LT) of a transposed pack (the microkernel reads whole groups of 8 columns). */
static void pack_cols_tail(float *dst, long LT, long T, long hs) {
  for (long d = 0; d < hs; d++) memset(dst + d * LT + T, 0, sizeof(float) * (size_t)(LT - T));
}

/* The tile of key block [j0, j0 + nr) against rows t = j0 + c, c in [0, ce), from banded rows A (W floats each;
   row t at A + (t & mask) * W, mask = -1 for a whole array or size - 1 for a ring of 2^k rows):
   tile[r][c] = A[t][w] for key j0 + r = t - W + 1 + w (i.e. w = r - c + W - 1) inside the band, else 0. For a full
   block the 4 keys of row t are contiguous in A, so the middle columns go through 4 x 4 transposes. */
static void gather_keys(float *tile, long ld, const float *A, long mask, long W, long j0, int nr, long ce) {
#define ROW(t) (A + ((t) & mask) * W)
  long c = 0;
#ifdef SL_HAVE_AVX2
  if (nr == 4 && W >= 4) {
    long mid1 = W < ce ? W : ce; /* columns [3, mid1) hold all 4 keys */
    for (int r = 0; r < 4; r++)
      for (long k = 0; k < 3 && k < ce; k++) tile[r * ld + k] = k >= r ? ROW(j0 + k)[r - k + W - 1] : 0.0f;
    for (c = 3; c + 4 <= mid1; c += 4) {
      __m128 r0 = _mm_loadu_ps(ROW(j0 + c) + W - 1 - c), r1 = _mm_loadu_ps(ROW(j0 + c + 1) + W - 2 - c),
             r2 = _mm_loadu_ps(ROW(j0 + c + 2) + W - 3 - c), r3 = _mm_loadu_ps(ROW(j0 + c + 3) + W - 4 - c);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(tile + c, r0);
      _mm_storeu_ps(tile + ld + c, r1);
      _mm_storeu_ps(tile + 2 * ld + c, r2);
      _mm_storeu_ps(tile + 3 * ld + c, r3);
    }
    if (c < 3) c = 0;
  }
#endif
  for (int r = 0; r < nr; r++) { /* the rest, one entry at a time */
    float *row = tile + r * ld;
    for (long k = c; k < ce; k++) row[k] = k >= r && k < r + W ? ROW(j0 + k)[r - k + W - 1] : 0.0f;
  }
#undef ROW
}

typedef struct {
  float *out, *att, *dqkv, *scratch;
  const float *qkv, *dout, *catt;
  long B, T, C, NH, W;
  float *work; /* per-chunk scratch, `chunk_floats` each */
  long chunk_floats;
  long ring_rows; /* rows of the backward's dS ring (a power of 2), or 0: dS in `scratch` */
} band_args;

/* Tile geometry of the block of rows [t0, t0 + nr), nr = min(BAND_R, T - t0): tile column c is key k0 + c; keys
   [k0 + cs, k0 + ce) exist and are in some row's band; the tile's row length is band_ld(W). Returns nr. */
static long band_ld(long W) { return round8(W + BAND_R - 1) + 8; }
static int row_block(long T, long t0, long W, long *k0, long *cs, long *ce) {
  int nr = (int)(T - t0 < BAND_R ? T - t0 : BAND_R);
  *k0 = t0 - W + 1;
  *cs = *k0 < 0 ? -*k0 : 0;
  *ce = t0 + nr - *k0;
  return nr;
}
/* The band of row t in that tile: columns [*lo, *lo + *len), len = min(t + 1, W). */
static void band_cols(long t, long W, long k0, long *lo, long *len) {
  long first = t - W + 1 > 0 ? t - W + 1 : 0;
  *lo = first - k0;
  *len = t - first + 1;
}

static void band_forward_head(const band_args *a, long task, float *work) {
  const long T = a->T, C = a->C, NH = a->NH, C3 = 3 * C, hs = C / NH, W = a->W, LT = T + 8, ld = band_ld(W);
  const float scale = 1.0f / sqrtf((float)hs);
  long b = task / NH, h = task % NH;
  const float *q = a->qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
  float *P = a->att + task * T * W;
  float *o = a->out + b * T * C + h * hs;
  float *kT = work, *vp = kT + hs * LT, *S = vp + T * hs;
  pack_cols_tail(kT, LT, T, hs);
  for (long t0 = 0; t0 < T; t0 += BAND_R) {
    long k0, cs, ce;
    int nr = row_block(T, t0, W, &k0, &cs, &ce);
    /* packed just in time: the keys and values used from here on stay in cache */
    pack_cols(kT, LT, k, C3, t0, t0 + nr, hs);
    pack_rows(vp, v, C3, t0, t0 + nr, hs);
    prefetch_rows(k, C3, t0 + 4 * BAND_R, t0 + 5 * BAND_R, T, hs);
    prefetch_rows(v, C3, t0 + 4 * BAND_R, t0 + 5 * BAND_R, T, hs);
    /* S = scale q k^T over the keys the block touches */
    band_mm_any(nr, S + cs, ld, q + t0 * C3, C3, kT + k0 + cs, LT, hs, round8(ce - cs), scale);
    for (int r = 0; r < nr; r++) {
      long t = t0 + r, lo, len;
      band_cols(t, W, k0, &lo, &len);
      float *row = S + r * ld;
      softmax_row(row + lo, len, ce - lo); /* zero right of the band */
      if (lo > cs) memset(row + cs, 0, sizeof(float) * (size_t)(lo - cs));
      float *pr = P + t * W; /* banded row: the band is right-aligned, keys before 0 are zero */
      if (W > len) memset(pr, 0, sizeof(float) * (size_t)(W - len));
      memcpy(pr + W - len, row + lo, sizeof(float) * (size_t)len);
    }
    /* out[t0:t0+nr] = P v */
    band_mm_any(nr, o + t0 * C, C, S + cs, ld, vp + (k0 + cs) * hs, hs, ce - cs, hs, 1.0f);
  }
}

/* dv and dk of key block [j0, j0 + nr): dv = P^T dO, dk = dS^T q over the rows whose bands hold the keys. */
static void band_key_block(const band_args *a, long j0, const float *P, const float *dS, long dSmask,
                           const float *dOp, const float *qp, float *dk, float *dv, float *tiles) {
  const long T = a->T, C3 = 3 * a->C, hs = a->C / a->NH, W = a->W, ld = band_ld(W);
  int nr = (int)(T - j0 < BAND_R ? T - j0 : BAND_R);
  long ce = (j0 + nr - 1 + W < T ? j0 + nr - 1 + W : T) - j0; /* rows j0 .. j0 + ce - 1 */
  float *Pc = tiles, *Sc = tiles + BAND_R * ld;
  gather_keys(Pc, ld, P, -1L, W, j0, nr, ce);
  gather_keys(Sc, ld, dS, dSmask, W, j0, nr, ce);
  band_mm_any(nr, dv + j0 * C3, C3, Pc, ld, dOp + j0 * hs, hs, ce, hs, 1.0f);
  band_mm_any(nr, dk + j0 * C3, C3, Sc, ld, qp + j0 * hs, hs, ce, hs, 1.0f);
}

static void band_backward_head(const band_args *a, long task, float *work) {
  const long T = a->T, C = a->C, NH = a->NH, C3 = 3 * C, hs = C / NH, W = a->W, LT = T + 8, ld = band_ld(W);
  const float scale = 1.0f / sqrtf((float)hs);
  long b = task / NH, h = task % NH;
  const float *q = a->qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
  const float *P = a->catt + task * T * W;
  /* dS, banded like P: the rows the key blocks still need live in a ring in the chunk's memory (cache-resident,
     never written back) when one fits, else in the caller's scratch */
  float *dS = a->ring_rows ? NULL : a->scratch + task * T * W;
  const long dSmask = a->ring_rows ? a->ring_rows - 1 : -1L;
  const float *dO = a->dout + b * T * C + h * hs;
  float *dq = a->dqkv + b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
  float *vT = work, *kp = vT + hs * LT, *qp = kp + T * hs, *dOp = qp + T * hs, *D = dOp + T * hs;
  float *keyTiles = D + BAND_R * ld;
  if (!dS) dS = keyTiles + 2 * BAND_R * ld;
  pack_cols_tail(vT, LT, T, hs);
  long j0 = 0; /* next key block */
  for (long t0 = 0; t0 < T; t0 += BAND_R) {
    long k0, cs, ce;
    int nr = row_block(T, t0, W, &k0, &cs, &ce);
    pack_cols(vT, LT, v, C3, t0, t0 + nr, hs);
    pack_rows(kp, k, C3, t0, t0 + nr, hs);
    pack_rows(qp, q, C3, t0, t0 + nr, hs);
    pack_rows(dOp, dO, C, t0, t0 + nr, hs);
    for (int m = 0; m < 3; m++) prefetch_rows(q + m * C, C3, t0 + 4 * BAND_R, t0 + 5 * BAND_R, T, hs);
    prefetch_rows(dO, C, t0 + 4 * BAND_R, t0 + 5 * BAND_R, T, hs);
    prefetch_rows(P, W, t0 + 4 * BAND_R, t0 + 5 * BAND_R, T, W);
    /* rows: dP = dO v^T; dS = P (dP - sum(P dP)) scale on each band; dq = dS k */
    band_mm_any(nr, D + cs, ld, dOp + t0 * hs, hs, vT + k0 + cs, LT, hs, round8(ce - cs), 1.0f);
    for (int r = 0; r < nr; r++) {
      long t = t0 + r, lo, len;
      band_cols(t, W, k0, &lo, &len);
      float *row = D + r * ld, *d = row + lo, *ds = dS + (t & dSmask) * W;
      const float *pr = P + t * W + W - len;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (long j = 0; j < len; j++) dot += pr[j] * d[j];
#pragma omp simd
      for (long j = 0; j < len; j++) d[j] = pr[j] * (d[j] - dot) * scale;
      if (lo > cs) memset(row + cs, 0, sizeof(float) * (size_t)(lo - cs));
      if (ce > lo + len) memset(d + len, 0, sizeof(float) * (size_t)(ce - lo - len));
      if (W > len) memset(ds, 0, sizeof(float) * (size_t)(W - len));
      memcpy(ds + W - len, d, sizeof(float) * (size_t)len);
    }
    band_mm_any(nr, dq + t0 * C3, C3, D + cs, ld, kp + (k0 + cs) * hs, hs, ce - cs, hs, 1.0f);
    /* keys whose rows are all done (rows up to j0 + BAND_R - 2 + W), while those rows are still in cache */
    for (; j0 < T && j0 + BAND_R - 2 + W < t0 + nr; j0 += BAND_R) band_key_block(a, j0, P, dS, dSmask, dOp, qp, dk, dv, keyTiles);
  }
  for (; j0 < T; j0 += BAND_R) band_key_block(a, j0, P, dS, dSmask, dOp, qp, dk, dv, keyTiles);
}

static void band_forward_job(void *ctx, long chunk, long nchunks) {
  const band_args *a = ctx;
  long lo, hi;
  sl_split(a->B * a->NH, chunk, nchunks, 1, &lo, &hi);
  for (long task = lo; task < hi; task++) band_forward_head(a, task, a->work + chunk * a->chunk_floats);
}

static void band_backward_job(void *ctx, long chunk, long nchunks) {
  const band_args *a = ctx;
  long lo, hi;
  sl_split(a->B * a->NH, chunk, nchunks, 1, &lo, &hi);
  for (long task = lo; task < hi; task++) band_backward_head(a, task, a->work + chunk * a->chunk_floats);
}

/* Runs a banded job over chunks of heads (a few per thread, for balance), each chunk with its own packed copies and
   tiles: hs x (T + 8) transposed, three (T, hs) row copies and two tiles (what the backward needs). */
static int band_run(sl_pool *p, sl_pool_fn fn, band_args *a) {
  const long heads = a->B * a->NH, hs = a->C / a->NH;
  double work = (double)a->B * a->T * (a->W + BAND_R) * a->C;
  long nchunks = 4L * sl_pool_threads(p);
  if (nchunks > heads) nchunks = heads;
  if (serial(p, work)) nchunks = 1;
  long ring = 1;
  while (ring < a->W + 2 * BAND_R) ring *= 2;
  a->ring_rows = ring * a->W <= (1L << 17) ? ring : 0; /* at most 512 KB */
  a->chunk_floats = hs * (a->T + 8) + 3 * a->T * hs + 3 * BAND_R * band_ld(a->W) + a->ring_rows * a->W;
  a->chunk_floats = (a->chunk_floats + 15) & ~15L; /* 64-byte aligned chunks */
  a->work = sl_pool_scratch(p, sizeof(float) * (size_t)a->chunk_floats * (size_t)nchunks);
  if (!a->work) return 0;
  run(p, fn, a, nchunks, nchunks > 1 ? work : 0.0);
  return 1;
}

int sl_attention_band_forward(sl_pool *p, float *out, float *att, const float *qkv, long B, long T, long C, long NH,
                              long W) {
  band_args a = {.out = out, .att = att, .qkv = qkv, .B = B, .T = T, .C = C, .NH = NH, .W = W};
  return band_run(p, band_forward_job, &a);
}

int sl_attention_band_backward(sl_pool *p, float *dqkv, float *scratch, const float *dout, const float *qkv,
                               const float *att, long B, long T, long C, long NH, long W) {
  band_args a = {.dqkv = dqkv, .scratch = scratch, .dout = dout, .qkv = qkv, .catt = att, .B = B, .T = T, .C = C,
                 .NH = NH, .W = W};
  return band_run(p, band_backward_job, &a);
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

/* ------------------------------------------------------------------------------------------------ decode attention */

int sl_attention_decode(sl_pool *p, float *out, const float *qkv, long T0, long T1, long C, long NH, long W) {
  long hs = C / NH, C3 = 3 * C;
  float scale = 1.0f / sqrtf((float)hs);
  float *scores = sl_pool_scratch(p, sizeof(float) * (size_t)T1);
  if (!scores) return 0;
  for (long t = T0; t < T1; t++) {
    long first = W > 0 && t - W + 1 > 0 ? t - W + 1 : 0;
    for (long h = 0; h < NH; h++) {
      const float *q = qkv + t * C3 + h * hs;
      float max = -INFINITY;
      for (long t2 = first; t2 <= t; t2++) {
        const float *k = qkv + t2 * C3 + C + h * hs;
        float dot = 0.0f;
        for (long i = 0; i < hs; i++) dot += q[i] * k[i];
        dot *= scale;
        scores[t2] = dot;
        if (dot > max) max = dot;
      }
      double sum = 0.0;
      for (long t2 = first; t2 <= t; t2++) {
        float e = expf(scores[t2] - max);
        scores[t2] = e;
        sum += e;
      }
      float inv = (float)(1.0 / sum);
      float *o = out + (t - T0) * C + h * hs;
      for (long i = 0; i < hs; i++) o[i] = 0.0f;
      for (long t2 = first; t2 <= t; t2++) {
        const float *v = qkv + t2 * C3 + 2 * C + h * hs;
        float pw = scores[t2] * inv;
        for (long i = 0; i < hs; i++) o[i] += pw * v[i];
      }
    }
  }
  return 1;
}
