/* Fork-join thread pool: see pool.h. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SL_PAUSE() _mm_pause()
#else
#define SL_PAUSE() ((void)0)
#endif

typedef struct {
  float *ptr;
  size_t cap; /* floats */
} sl_scratch;

struct sl_pool {
  int nthreads;
  long spin_ns;
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_uint gen;      /* bumped once per job */
  atomic_int done;      /* workers finished with the current job */
  atomic_int sleepers;  /* workers waiting on cv */
  atomic_int stop;
  sl_pool_fn fn;
  void *ctx;
  sl_scratch *scratch;
};

typedef struct {
  sl_pool *pool;
  int tid;
} sl_worker_arg;

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *worker_main(void *arg_) {
  sl_worker_arg arg = *(sl_worker_arg *)arg_;
  free(arg_);
  sl_pool *p = arg.pool;
  unsigned seen = 0;
  for (;;) {
    unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
    if (g == seen) {
      long start = now_ns();
      for (unsigned i = 1;; i++) {
        SL_PAUSE();
        g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) break;
        if ((i & 255) == 0 && now_ns() - start > p->spin_ns) break;
      }
      if (g == seen) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);
        while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
      }
    }
    seen = g;
    if (atomic_load(&p->stop)) break;
    p->fn(p->ctx, arg.tid, p->nthreads);
    atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
  }
  return NULL;
}

sl_pool *sl_pool_create(int nthreads, long spin_us) {
  if (nthreads < 1) nthreads = 1;
  sl_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->nthreads = nthreads;
  p->spin_ns = spin_us * 1000L;
  p->scratch = calloc((size_t)nthreads, sizeof *p->scratch);
  p->threads = calloc((size_t)nthreads, sizeof *p->threads);
  if (!p->scratch || !p->threads) goto fail;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  atomic_init(&p->gen, 0);
  atomic_init(&p->done, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->stop, 0);
  for (int t = 1; t < nthreads; t++) {
    sl_worker_arg *a = malloc(sizeof *a);
    if (!a) { p->nthreads = t; sl_pool_destroy(p); return NULL; }
    a->pool = p;
    a->tid = t;
    if (pthread_create(&p->threads[t], NULL, worker_main, a) != 0) {
      free(a);
      p->nthreads = t;
      sl_pool_destroy(p);
      return NULL;
    }
  }
  return p;
fail:
  free(p->scratch);
  free(p->threads);
  free(p);
  return NULL;
}

void sl_pool_destroy(sl_pool *p) {
  if (!p) return;
  if (p->nthreads > 1) {
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->nthreads; t++) pthread_join(p->threads[t], NULL);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  for (int t = 0; t < p->nthreads; t++) free(p->scratch[t].ptr);
  free(p->scratch);
  free(p->threads);
  free(p);
}

int sl_pool_threads(const sl_pool *p) { return p->nthreads; }

void sl_pool_run(sl_pool *p, sl_pool_fn fn, void *ctx) {
  int n = p->nthreads;
  if (n == 1) {
    fn(ctx, 0, 1);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  atomic_fetch_add(&p->gen, 1); /* seq_cst: publishes fn/ctx and pairs with the sleepers check below */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  fn(ctx, 0, n);
  for (unsigned i = 1; atomic_load_explicit(&p->done, memory_order_acquire) < n - 1; i++) {
    SL_PAUSE();
    if ((i & 1023) == 0) sched_yield(); /* a worker may have been descheduled on a busy machine */
  }
}

int sl_pool_reserve(sl_pool *p, size_t floats) {
  for (int t = 0; t < p->nthreads; t++) {
    sl_scratch *s = &p->scratch[t];
    if (s->cap >= floats) continue;
    size_t bytes = ((floats * sizeof(float)) + 63) & ~(size_t)63;
    float *q = aligned_alloc(64, bytes);
    if (!q) return 0;
    free(s->ptr);
    s->ptr = q;
    s->cap = floats;
  }
  return 1;
}

float *sl_pool_scratch(sl_pool *p, int tid, size_t floats) {
  sl_scratch *s = &p->scratch[tid];
  return s->cap >= floats ? s->ptr : NULL;
}
