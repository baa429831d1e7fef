/* Fork-join thread pool with chunk claiming: see pool.h. */
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

struct sl_pool {
  int nthreads;
  long spin_ns;
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_uint gen;     /* id of the latest job (never 0) */
  atomic_uint open;    /* id of the job that workers may still join, 0 when none */
  atomic_int active;   /* workers inside a job */
  atomic_int sleepers; /* workers waiting on cv */
  atomic_int stop;
  atomic_long next; /* next chunk to claim */
  sl_pool_fn fn;
  void *ctx;
  long nchunks;
  void *scratch;
  size_t scratch_cap;
};

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void claim_chunks(sl_pool *p) {
  sl_pool_fn fn = p->fn;
  void *ctx = p->ctx;
  long n = p->nchunks;
  for (long i; (i = atomic_fetch_add(&p->next, 1)) < n;) fn(ctx, i, n);
}

static void *worker_main(void *arg) {
  sl_pool *p = arg;
  unsigned seen = 1; /* the id before any job: a job published before this thread runs is still seen */
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
    atomic_fetch_add(&p->active, 1);
    if (atomic_load(&p->open) == g) claim_chunks(p); /* else: the caller already finished that job */
    atomic_fetch_sub(&p->active, 1);
  }
  return NULL;
}

sl_pool *sl_pool_create(int nthreads, long spin_us) {
  if (nthreads < 1) nthreads = 1;
  sl_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->threads = calloc((size_t)nthreads, sizeof *p->threads);
  if (!p->threads) {
    free(p);
    return NULL;
  }
  p->nthreads = 1;
  p->spin_ns = spin_us * 1000L;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  atomic_init(&p->gen, 1);
  atomic_init(&p->open, 0);
  atomic_init(&p->active, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->stop, 0);
  atomic_init(&p->next, 0);
  for (int t = 1; t < nthreads; t++) {
    if (pthread_create(&p->threads[t], NULL, worker_main, p) != 0) {
      sl_pool_destroy(p);
      return NULL;
    }
    p->nthreads = t + 1;
  }
  return p;
}

void sl_pool_destroy(sl_pool *p) {
  if (!p) return;
  if (p->nthreads > 1) {
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    unsigned g = atomic_load(&p->gen) + 1;
    atomic_store(&p->gen, g ? g : 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->nthreads; t++) pthread_join(p->threads[t], NULL);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p->scratch);
  free(p->threads);
  free(p);
}

int sl_pool_threads(const sl_pool *p) { return p->nthreads; }

void sl_pool_run(sl_pool *p, sl_pool_fn fn, void *ctx, long nchunks) {
  if (nchunks <= 0) return;
  if (p->nthreads == 1 || nchunks == 1) {
    for (long i = 0; i < nchunks; i++) fn(ctx, i, nchunks);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  p->nchunks = nchunks;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  unsigned g = atomic_load_explicit(&p->gen, memory_order_relaxed) + 1;
  if (g == 0) g = 1;
  atomic_store(&p->open, g); /* seq_cst: publishes fn/ctx/nchunks/next before any worker can join */
  atomic_store(&p->gen, g);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  claim_chunks(p);
  atomic_store(&p->open, 0); /* late workers now skip this job */
  for (unsigned i = 1; atomic_load(&p->active) > 0; i++) {
    SL_PAUSE();
    if ((i & 1023) == 0) sched_yield(); /* a worker inside a chunk may have been descheduled */
  }
}

void *sl_pool_scratch(sl_pool *p, size_t bytes) {
  if (p->scratch_cap >= bytes) return p->scratch;
  size_t cap = (bytes + 63) & ~(size_t)63;
  void *q = aligned_alloc(64, cap);
  if (!q) return NULL;
  free(p->scratch);
  p->scratch = q;
  p->scratch_cap = cap;
  return q;
}
