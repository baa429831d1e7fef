/*
 * N-API glue of the native backend: checks every argument (types, shapes, buffer lengths, token ids) and throws a
 * JS Error with a one-line message on bad input, so a mistake never reaches C as an out-of-bounds access.
 * Kernels run on a per-backend thread pool (an External handle passed as the first argument).
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "vecmath.h"

#define MAX_DIM (1L << 29) /* keeps 3*C and every BLAS dimension inside a C int */
#define MAX_THREADS 64

/* ------------------------------------------------------------------------------------------------ errors */

static napi_value throw_range(napi_env env, const char *fn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static napi_value throw_range(napi_env env, const char *fn, const char *fmt, ...) {
  char msg[512];
  int k = snprintf(msg, sizeof msg, "native %s: ", fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_range_error(env, "ERR_SCALING_LAB_NATIVE_ARG", msg);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *fn, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "native %s: %s", fn, what);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_SCALING_LAB_NATIVE_ARG", msg);
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ arguments */

typedef struct {
  napi_env env;
  const char *fn;
  napi_value *argv;
  size_t argc;
  int ok;
} args_t;

static int get_args(napi_env env, napi_callback_info info, const char *fn, size_t n, napi_value *argv, args_t *a) {
  size_t argc = n;
  a->env = env;
  a->fn = fn;
  a->argv = argv;
  a->ok = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_type(env, fn, "could not read the arguments");
    return 0;
  }
  if (argc < n) {
    throw_range(env, fn, "expects %zu arguments, got %zu", n, argc);
    return 0;
  }
  a->argc = argc;
  return 1;
}

/* Saturating product, so that absurd shapes compare as "too large" instead of wrapping around. */
static int64_t mul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > INT64_MAX / b) return INT64_MAX;
  return a * b;
}

static long dim(args_t *a, size_t i, const char *name, long min) {
  if (!a->ok) return 0;
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(a->env, a->argv[i], &t) != napi_ok || t != napi_number ||
      napi_get_value_double(a->env, a->argv[i], &d) != napi_ok) {
    a->ok = 0;
    throw_type(a->env, a->fn, "a shape argument is not a number");
    return 0;
  }
  if (!(d == floor(d)) || d < (double)min || d > (double)MAX_DIM) {
    a->ok = 0;
    throw_range(a->env, a->fn, "%s = %g must be an integer in [%ld, %ld]", name, d, min, MAX_DIM);
    return 0;
  }
  return (long)d;
}

static long count(args_t *a, size_t i, const char *name) {
  if (!a->ok) return 0;
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(a->env, a->argv[i], &t) != napi_ok || t != napi_number ||
      napi_get_value_double(a->env, a->argv[i], &d) != napi_ok || !(d == floor(d)) || d < 0 || d > 9007199254740991.0) {
    a->ok = 0;
    throw_range(a->env, a->fn, "%s must be a non-negative integer", name);
    return 0;
  }
  return (long)d;
}

static double num(args_t *a, size_t i, const char *name) {
  if (!a->ok) return 0;
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(a->env, a->argv[i], &t) != napi_ok || t != napi_number ||
      napi_get_value_double(a->env, a->argv[i], &d) != napi_ok || !isfinite(d)) {
    a->ok = 0;
    throw_range(a->env, a->fn, "%s must be a finite number", name);
    return 0;
  }
  return d;
}

/* A typed array argument of the given type holding at least `need` elements (`nullable`: null gives NULL). */
static void *typed(args_t *a, size_t i, const char *name, napi_typedarray_type want, int64_t need, int nullable,
                   size_t *len_out) {
  if (!a->ok) return NULL;
  napi_env env = a->env;
  napi_value v = a->argv[i];
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  if (nullable && (vt == napi_null || vt == napi_undefined)) return NULL;
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  const char *tname = want == napi_float32_array ? "Float32Array" : "Int32Array";
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (!is_ta || napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != want) {
    a->ok = 0;
    char msg[256];
    snprintf(msg, sizeof msg, "%s must be a %s%s", name, tname, nullable ? " or null" : "");
    throw_type(env, a->fn, msg);
    return NULL;
  }
  if ((int64_t)len < need) {
    a->ok = 0;
    if (need == INT64_MAX) throw_range(env, a->fn, "the shape needs more elements than any buffer can hold (%s)", name);
    else throw_range(env, a->fn, "%s has %zu elements, needs at least %lld", name, len, (long long)need);
    return NULL;
  }
  if (len_out) *len_out = len;
  if (data == NULL && need > 0) { /* detached buffer */
    a->ok = 0;
    throw_range(env, a->fn, "%s is detached", name);
    return NULL;
  }
  return data;
}

static float *f32(args_t *a, size_t i, const char *name, int64_t need) {
  return (float *)typed(a, i, name, napi_float32_array, need, 0, NULL);
}
static float *f32_or_null(args_t *a, size_t i, const char *name, int64_t need) {
  return (float *)typed(a, i, name, napi_float32_array, need, 1, NULL);
}
static int32_t *i32(args_t *a, size_t i, const char *name, int64_t need) {
  return (int32_t *)typed(a, i, name, napi_int32_array, need, 0, NULL);
}

/* ------------------------------------------------------------------------------------------------ pool handle */

typedef struct {
  sl_pool *pool;
} pool_handle;

static void pool_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pool_handle *h = data;
  if (h->pool) sl_pool_destroy(h->pool);
  free(h);
}

static sl_pool *pool_arg(args_t *a) {
  if (!a->ok) return NULL;
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(a->env, a->argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(a->env, a->argv[0], &data) != napi_ok || data == NULL) {
    a->ok = 0;
    throw_type(a->env, a->fn, "the first argument must be the pool handle from createPool()");
    return NULL;
  }
  pool_handle *h = data;
  if (!h->pool) {
    a->ok = 0;
    throw_range(a->env, a->fn, "the backend was disposed; create a new one");
    return NULL;
  }
  return h->pool;
}

static napi_value js_create_pool(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  args_t a;
  if (!get_args(env, info, "createPool", 2, argv, &a)) return NULL;
  long threads = dim(&a, 0, "threads", 1), spin = count(&a, 1, "spinUs");
  if (!a.ok) return NULL;
  if (threads > MAX_THREADS) return throw_range(env, "createPool", "threads = %ld exceeds %d", threads, MAX_THREADS);
  pool_handle *h = malloc(sizeof *h);
  if (!h) return throw_range(env, "createPool", "out of memory");
  h->pool = sl_pool_create((int)threads, spin);
  if (!h->pool) {
    free(h);
    return throw_range(env, "createPool", "could not start %ld threads", threads);
  }
  napi_value ext;
  if (napi_create_external(env, h, pool_finalize, NULL, &ext) != napi_ok) {
    sl_pool_destroy(h->pool);
    free(h);
    return throw_range(env, "createPool", "could not create the handle");
  }
  return ext;
}

static napi_value js_destroy_pool(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  args_t a;
  if (!get_args(env, info, "destroyPool", 1, argv, &a)) return NULL;
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data)
    return throw_type(env, "destroyPool", "the argument must be the pool handle from createPool()");
  pool_handle *h = data;
  if (h->pool) sl_pool_destroy(h->pool);
  h->pool = NULL;
  return NULL;
}

static napi_value js_pool_threads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  args_t a;
  if (!get_args(env, info, "poolThreads", 1, argv, &a)) return NULL;
  sl_pool *p = pool_arg(&a);
  if (!a.ok) return NULL;
  napi_value r;
  napi_create_int32(env, sl_pool_threads(p), &r);
  return r;
}

/* ------------------------------------------------------------------------------------------------ kernels */

#define BEGIN(name, n)                                  \
  napi_value argv[n];                                   \
  args_t a;                                             \
  if (!get_args(env, info, name, n, argv, &a)) return NULL; \
  sl_pool *pool = pool_arg(&a)

static int check_tokens(args_t *a, const int32_t *ids, long n, long V, const char *what, int allow_negative) {
  if (!a->ok) return 0;
  for (long i = 0; i < n; i++) {
    int32_t t = ids[i];
    if (t >= V || (t < 0 && !allow_negative)) {
      a->ok = 0;
      throw_range(a->env, a->fn, "%s %d at position %ld is outside the vocabulary [0, %ld)", what, t, i, V);
      return 0;
    }
  }
  return 1;
}

static napi_value js_encoder_forward(napi_env env, napi_callback_info info) {
  BEGIN("encoderForward", 8);
  long B = dim(&a, 5, "B", 1), T = dim(&a, 6, "T", 1), C = dim(&a, 7, "C", 1);
  float *out = f32(&a, 1, "out", mul(mul(B, T), C));
  int32_t *inp = i32(&a, 2, "inp", mul(B, T));
  size_t wte_len = 0;
  float *wte = (float *)typed(&a, 3, "wte", napi_float32_array, C, 0, &wte_len);
  float *wpe = f32(&a, 4, "wpe", mul(T, C));
  if (!a.ok || !check_tokens(&a, inp, B * T, (long)(wte_len / (size_t)C), "token id", 0)) return NULL;
  sl_encoder_forward(pool, out, inp, wte, wpe, B, T, C);
  return NULL;
}

static napi_value js_encoder_backward(napi_env env, napi_callback_info info) {
  BEGIN("encoderBackward", 8);
  long B = dim(&a, 5, "B", 1), T = dim(&a, 6, "T", 1), C = dim(&a, 7, "C", 1);
  size_t wte_len = 0;
  float *dwte = (float *)typed(&a, 1, "dwte", napi_float32_array, C, 0, &wte_len);
  float *dwpe = f32(&a, 2, "dwpe", mul(T, C));
  float *dout = f32(&a, 3, "dout", mul(mul(B, T), C));
  int32_t *inp = i32(&a, 4, "inp", mul(B, T));
  if (!a.ok || !check_tokens(&a, inp, B * T, (long)(wte_len / (size_t)C), "token id", 0)) return NULL;
  sl_encoder_backward(pool, dwte, dwpe, dout, inp, B, T, C);
  return NULL;
}

static napi_value js_layernorm_forward(napi_env env, napi_callback_info info) {
  BEGIN("layernormForward", 9);
  long N = dim(&a, 7, "N", 1), C = dim(&a, 8, "C", 1);
  float *out = f32(&a, 1, "out", mul(N, C));
  float *mean = f32(&a, 2, "mean", N);
  float *rstd = f32(&a, 3, "rstd", N);
  float *inp = f32(&a, 4, "inp", mul(N, C));
  float *w = f32(&a, 5, "weight", C);
  float *b = f32(&a, 6, "bias", C);
  if (!a.ok) return NULL;
  sl_layernorm_forward(pool, out, mean, rstd, inp, w, b, N, C);
  return NULL;
}

static napi_value js_layernorm_backward(napi_env env, napi_callback_info info) {
  BEGIN("layernormBackward", 11);
  long N = dim(&a, 9, "N", 1), C = dim(&a, 10, "C", 1);
  float *dinp = f32(&a, 1, "dinp", mul(N, C));
  float *dw = f32(&a, 2, "dweight", C);
  float *db = f32(&a, 3, "dbias", C);
  float *dout = f32(&a, 4, "dout", mul(N, C));
  float *inp = f32(&a, 5, "inp", mul(N, C));
  float *w = f32(&a, 6, "weight", C);
  float *mean = f32(&a, 7, "mean", N);
  float *rstd = f32(&a, 8, "rstd", N);
  if (!a.ok) return NULL;
  if (!sl_layernorm_backward(pool, dinp, dw, db, dout, inp, w, mean, rstd, N, C))
    return throw_range(env, "layernormBackward", "out of memory");
  return NULL;
}

static napi_value js_matmul_forward(napi_env env, napi_callback_info info) {
  BEGIN("matmulForward", 8);
  long N = dim(&a, 5, "N", 1), C = dim(&a, 6, "C", 1), OC = dim(&a, 7, "OC", 1);
  float *out = f32(&a, 1, "out", mul(N, OC));
  float *inp = f32(&a, 2, "inp", mul(N, C));
  float *w = f32(&a, 3, "weight", mul(OC, C));
  float *b = f32_or_null(&a, 4, "bias", OC);
  if (!a.ok) return NULL;
  sl_matmul_forward(pool, out, inp, w, b, N, C, OC);
  return NULL;
}

static napi_value js_matmul_backward(napi_env env, napi_callback_info info) {
  BEGIN("matmulBackward", 10);
  long N = dim(&a, 7, "N", 1), C = dim(&a, 8, "C", 1), OC = dim(&a, 9, "OC", 1);
  float *dinp = f32_or_null(&a, 1, "dinp", mul(N, C));
  float *dw = f32(&a, 2, "dweight", mul(OC, C));
  float *db = f32_or_null(&a, 3, "dbias", OC);
  float *dout = f32(&a, 4, "dout", mul(N, OC));
  float *inp = f32(&a, 5, "inp", mul(N, C));
  float *w = f32(&a, 6, "weight", mul(OC, C));
  if (!a.ok) return NULL;
  if (!sl_matmul_backward(pool, dinp, dw, db, dout, inp, w, N, C, OC))
    return throw_range(env, "matmulBackward", "out of memory");
  return NULL;
}

static int check_heads(args_t *a, long C, long NH) {
  if (!a->ok) return 0;
  if (C % NH != 0) {
    a->ok = 0;
    throw_range(a->env, a->fn, "C = %ld is not divisible by NH = %ld", C, NH);
    return 0;
  }
  return 1;
}

/* The attention row length for a window: W when banded (0 < W < T), else T (dense). */
static long att_width(long T, long W) { return W > 0 && W < T ? W : T; }

static napi_value js_attention_forward(napi_env env, napi_callback_info info) {
  BEGIN("attentionForward", 9);
  long B = dim(&a, 4, "B", 1), T = dim(&a, 5, "T", 1), C = dim(&a, 6, "C", 1), NH = dim(&a, 7, "NH", 1);
  long W = dim(&a, 8, "window", 0);
  if (!check_heads(&a, C, NH)) return NULL;
  long width = att_width(T, W);
  float *out = f32(&a, 1, "out", mul(mul(B, T), C));
  float *att = f32(&a, 2, "att", mul(mul(B, NH), mul(T, width)));
  float *qkv = f32(&a, 3, "qkv", mul(mul(B, T), 3 * C));
  if (!a.ok) return NULL;
  if (width == T) sl_attention_forward(pool, out, att, qkv, B, T, C, NH);
  else if (!sl_attention_band_forward(pool, out, att, qkv, B, T, C, NH, W))
    return throw_range(env, "attentionForward", "out of memory");
  return NULL;
}

static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  BEGIN("attentionBackward", 11);
  long B = dim(&a, 6, "B", 1), T = dim(&a, 7, "T", 1), C = dim(&a, 8, "C", 1), NH = dim(&a, 9, "NH", 1);
  long W = dim(&a, 10, "window", 0);
  if (!check_heads(&a, C, NH)) return NULL;
  long width = att_width(T, W);
  float *dqkv = f32(&a, 1, "dqkv", mul(mul(B, T), 3 * C));
  float *scratch = f32(&a, 2, "scratch", mul(mul(B, NH), mul(T, width)));
  float *dout = f32(&a, 3, "dout", mul(mul(B, T), C));
  float *qkv = f32(&a, 4, "qkv", mul(mul(B, T), 3 * C));
  float *att = f32(&a, 5, "att", mul(mul(B, NH), mul(T, width)));
  if (!a.ok) return NULL;
  if (width == T) sl_attention_backward(pool, dqkv, scratch, dout, qkv, att, B, T, C, NH);
  else if (!sl_attention_band_backward(pool, dqkv, scratch, dout, qkv, att, B, T, C, NH, W))
    return throw_range(env, "attentionBackward", "out of memory");
  return NULL;
}

static napi_value js_attention_decode(napi_env env, napi_callback_info info) {
  BEGIN("attentionDecode", 8);
  long T0 = dim(&a, 3, "T0", 0), T1 = dim(&a, 4, "T1", 1), C = dim(&a, 5, "C", 1), NH = dim(&a, 6, "NH", 1);
  long W = dim(&a, 7, "window", 0);
  if (!check_heads(&a, C, NH)) return NULL;
  if (a.ok && T0 >= T1) return throw_range(env, "attentionDecode", "T0 = %ld must be below T1 = %ld", T0, T1);
  float *out = f32(&a, 1, "out", mul(T1 - T0, C));
  float *qkv = f32(&a, 2, "qkv", mul(T1, 3 * C));
  if (!a.ok) return NULL;
  if (!sl_attention_decode(pool, out, qkv, T0, T1, C, NH, W)) return throw_range(env, "attentionDecode", "out of memory");
  return NULL;
}

static napi_value js_gelu_forward(napi_env env, napi_callback_info info) {
  BEGIN("geluForward", 4);
  long n = count(&a, 3, "n");
  float *out = f32(&a, 1, "out", n);
  float *inp = f32(&a, 2, "inp", n);
  if (!a.ok) return NULL;
  sl_gelu_forward(pool, out, inp, n);
  return NULL;
}

static napi_value js_gelu_backward(napi_env env, napi_callback_info info) {
  BEGIN("geluBackward", 5);
  long n = count(&a, 4, "n");
  float *dinp = f32(&a, 1, "dinp", n);
  float *inp = f32(&a, 2, "inp", n);
  float *dout = f32(&a, 3, "dout", n);
  if (!a.ok) return NULL;
  sl_gelu_backward(pool, dinp, inp, dout, n);
  return NULL;
}

static napi_value js_residual_forward(napi_env env, napi_callback_info info) {
  BEGIN("residualForward", 5);
  long n = count(&a, 4, "n");
  float *out = f32(&a, 1, "out", n);
  float *x = f32(&a, 2, "a", n);
  float *y = f32(&a, 3, "b", n);
  if (!a.ok) return NULL;
  sl_residual_forward(pool, out, x, y, n);
  return NULL;
}

static napi_value js_crossentropy_forward(napi_env env, napi_callback_info info) {
  BEGIN("crossEntropyForward", 7);
  long N = dim(&a, 5, "N", 1), V = dim(&a, 6, "V", 1);
  float *losses = f32(&a, 1, "losses", N);
  float *probs = f32(&a, 2, "probs", mul(N, V));
  float *logits = f32(&a, 3, "logits", mul(N, V));
  int32_t *targets = i32(&a, 4, "targets", N);
  if (!a.ok || !check_tokens(&a, targets, N, V, "target", 1)) return NULL;
  sl_crossentropy_forward(pool, losses, probs, logits, targets, N, V);
  return NULL;
}

static napi_value js_crossentropy_backward(napi_env env, napi_callback_info info) {
  BEGIN("crossEntropyBackward", 7);
  long N = dim(&a, 5, "N", 1), V = dim(&a, 6, "V", 1);
  float *dlogits = f32(&a, 1, "dlogits", mul(N, V));
  float *probs = f32(&a, 2, "probs", mul(N, V));
  int32_t *targets = i32(&a, 3, "targets", N);
  double scale = num(&a, 4, "scale");
  if (!a.ok || !check_tokens(&a, targets, N, V, "target", 1)) return NULL;
  sl_crossentropy_backward(pool, dlogits, probs, targets, (float)scale, N, V);
  return NULL;
}

static napi_value js_classifier(napi_env env, napi_callback_info info) {
  BEGIN("classifier", 11);
  long N = dim(&a, 8, "N", 1), C = dim(&a, 9, "C", 1), V = dim(&a, 10, "V", 1);
  float *losses = f32(&a, 1, "losses", N);
  float *dinp = f32_or_null(&a, 2, "dinp", mul(N, C));
  float *dwte = f32_or_null(&a, 3, "dwte", mul(V, C));
  float *inp = f32(&a, 4, "inp", mul(N, C));
  float *wte = f32(&a, 5, "wte", mul(V, C));
  int32_t *targets = i32(&a, 6, "targets", N);
  double scale = num(&a, 7, "scale");
  if (!a.ok || !check_tokens(&a, targets, N, V, "target", 1)) return NULL;
  if ((dinp == NULL) != (dwte == NULL)) return throw_range(env, "classifier", "dinp and dwte must both be given or both be null");
  if (!sl_classifier(pool, losses, dinp, dwte, inp, wte, targets, N, C, V, (float)scale))
    return throw_range(env, "classifier", "out of memory");
  return NULL;
}

static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  BEGIN("sumSquares", 4);
  long n = count(&a, 3, "n");
  float *out = f32(&a, 1, "out", 1);
  float *x = f32(&a, 2, "x", n);
  if (!a.ok) return NULL;
  double s = sl_sum_squares(pool, x, n);
  out[0] = (float)s;
  return NULL;
}

static napi_value js_adamw(napi_env env, napi_callback_info info) {
  BEGIN("adamw", 14);
  long n = count(&a, 5, "n");
  float *param = f32(&a, 1, "param", n);
  float *grad = f32(&a, 2, "grad", n);
  float *m = f32(&a, 3, "m", n);
  float *v = f32(&a, 4, "v", n);
  sl_adamw_hp hp;
  hp.lr = num(&a, 6, "lr");
  hp.beta1 = num(&a, 7, "beta1");
  hp.beta2 = num(&a, 8, "beta2");
  hp.eps = num(&a, 9, "eps");
  hp.weight_decay = num(&a, 10, "weightDecay");
  hp.step = num(&a, 11, "step");
  hp.max_norm = num(&a, 12, "maxNorm");
  float *norm_sq = f32_or_null(&a, 13, "normSq", 1);
  if (!a.ok) return NULL;
  if (hp.step < 1 || hp.step != floor(hp.step)) return throw_range(env, "adamw", "step = %g must be an integer >= 1", hp.step);
  if (!(hp.beta1 >= 0 && hp.beta1 < 1 && hp.beta2 >= 0 && hp.beta2 < 1))
    return throw_range(env, "adamw", "beta1 and beta2 must be in [0, 1)");
  sl_adamw(pool, param, grad, m, v, n, &hp, norm_sq);
  return NULL;
}

/* gemm(pool, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): the split sgemm itself. */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  BEGIN("gemm", 14);
  long ta = count(&a, 1, "transA"), tb = count(&a, 2, "transB");
  long M = dim(&a, 3, "M", 1), N = dim(&a, 4, "N", 1), K = dim(&a, 5, "K", 1);
  double alpha = num(&a, 6, "alpha"), beta = num(&a, 11, "beta");
  long lda = dim(&a, 8, "lda", 1), ldb = dim(&a, 10, "ldb", 1), ldc = dim(&a, 13, "ldc", 1);
  if (!a.ok) return NULL;
  long arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
  if (lda < acols || ldb < bcols || ldc < N) return throw_range(env, "gemm", "a leading dimension is smaller than its row");
  float *A = f32(&a, 7, "A", mul(arows - 1, lda) + acols);
  float *B = f32(&a, 9, "B", mul(brows - 1, ldb) + bcols);
  float *C = f32(&a, 12, "C", mul(M - 1, ldc) + N);
  if (!a.ok) return NULL;
  sl_gemm(pool, ta != 0, tb != 0, M, N, K, (float)alpha, A, lda, B, ldb, (float)beta, C, ldc);
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ info, bench */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* blasBench(transA, transB, M, N, K, reps, threads) -> Float64Array of seconds per call: cblas_sgemm timed in a C
   loop with OpenBLAS's own threading, the ceiling the addon's per-call path is compared against. */
static napi_value js_blas_bench(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  args_t a;
  if (!get_args(env, info, "blasBench", 7, argv, &a)) return NULL;
  long ta = count(&a, 0, "transA"), tb = count(&a, 1, "transB");
  long M = dim(&a, 2, "M", 1), N = dim(&a, 3, "N", 1), K = dim(&a, 4, "K", 1);
  long reps = dim(&a, 5, "reps", 1), threads = dim(&a, 6, "threads", 1);
  if (!a.ok) return NULL;
  if (mul(M, K) > (1L << 28) || mul(K, N) > (1L << 28) || mul(M, N) > (1L << 28) || reps > 100000)
    return throw_range(env, "blasBench", "shape or repetitions too large for a benchmark");
  float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N)),
        *C = malloc(sizeof(float) * (size_t)(M * N));
  if (!A || !B || !C) {
    free(A), free(B), free(C);
    return throw_range(env, "blasBench", "out of memory");
  }
  for (long i = 0; i < M * K; i++) A[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
  for (long i = 0; i < K * N; i++) B[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
  memset(C, 0, sizeof(float) * (size_t)(M * N));
  napi_value ab, arr;
  double *times = NULL;
  napi_create_arraybuffer(env, sizeof(double) * (size_t)reps, (void **)&times, &ab);
  napi_create_typedarray(env, napi_float64_array, (size_t)reps, ab, 0, &arr);
  openblas_set_num_threads((int)threads);
  int lda = (int)(ta ? M : K), ldb = (int)(tb ? K : N);
  for (long r = -2; r < reps; r++) {
    double t0 = now_s();
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                1.0f, A, lda, B, ldb, 0.0f, C, (int)N);
    if (r >= 0) times[r] = now_s() - t0;
  }
  openblas_set_num_threads(1);
  free(A), free(B), free(C);
  return arr;
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value v;
  napi_create_string_utf8(env, val ? val : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, v;
  napi_create_object(env, &obj);
  set_str(env, obj, "blasCore", openblas_get_corename());
  set_str(env, obj, "blasConfig", openblas_get_config());
#ifdef SL_HAVE_AVX2
  set_str(env, obj, "simd", "avx2+fma");
#else
  set_str(env, obj, "simd", "scalar");
#endif
  napi_create_int64(env, sl_get_attention_block(), &v);
  napi_set_named_property(env, obj, "attentionBlock", v);
  return obj;
}

static napi_value js_set_attention_block(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  args_t a;
  if (!get_args(env, info, "setAttentionBlock", 1, argv, &a)) return NULL;
  long rb = dim(&a, 0, "rows", 1);
  if (!a.ok) return NULL;
  sl_set_attention_block(rb);
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ module */

NAPI_MODULE_INIT() {
  /* Every product is split by our own pool; OpenBLAS runs single-threaded inside each part. */
  openblas_set_num_threads(1);
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"createPool", js_create_pool},
      {"destroyPool", js_destroy_pool},
      {"poolThreads", js_pool_threads},
      {"encoderForward", js_encoder_forward},
      {"encoderBackward", js_encoder_backward},
      {"layernormForward", js_layernorm_forward},
      {"layernormBackward", js_layernorm_backward},
      {"matmulForward", js_matmul_forward},
      {"matmulBackward", js_matmul_backward},
      {"attentionForward", js_attention_forward},
      {"attentionBackward", js_attention_backward},
      {"attentionDecode", js_attention_decode},
      {"geluForward", js_gelu_forward},
      {"geluBackward", js_gelu_backward},
      {"residualForward", js_residual_forward},
      {"crossEntropyForward", js_crossentropy_forward},
      {"crossEntropyBackward", js_crossentropy_backward},
      {"classifier", js_classifier},
      {"sumSquares", js_sum_squares},
      {"adamw", js_adamw},
      {"gemm", js_gemm},
      {"blasBench", js_blas_bench},
      {"info", js_info},
      {"setAttentionBlock", js_set_attention_block},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return NULL;
  }
  return exports;
}
