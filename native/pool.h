/*
 * A tiny fork-join thread pool for the fused kernels: the calling thread plus (n - 1) workers.
 * pool_run() calls fn(ctx, tid, n) once on every thread and returns when all have finished.
 * Workers spin briefly after each job (kernels arrive back to back during a training step), then sleep on a
 * condition variable, so an idle pool costs no CPU.
 */
#ifndef SCALING_LAB_POOL_H
#define SCALING_LAB_POOL_H

#include <stddef.h>

typedef struct sl_pool sl_pool;
typedef void (*sl_pool_fn)(void *ctx, int tid, int nthreads);

/* Creates a pool of `nthreads` (>= 1) threads including the caller; NULL on failure. */
sl_pool *sl_pool_create(int nthreads, long spin_us);
/* Stops and joins the workers and frees the pool. */
void sl_pool_destroy(sl_pool *p);
/* Number of threads, the caller included. */
int sl_pool_threads(const sl_pool *p);
/* Runs fn(ctx, tid, n) on every thread (tid 0 is the caller) and waits for all of them. */
void sl_pool_run(sl_pool *p, sl_pool_fn fn, void *ctx);
/* Per-thread scratch of at least `floats` floats, 64-byte aligned, kept between calls (NULL if out of memory).
   Only valid inside a job; thread `tid` must use its own. */
float *sl_pool_scratch(sl_pool *p, int tid, size_t floats);
/* Prepares scratch for every thread before a job (call from the caller thread); returns 0 if out of memory. */
int sl_pool_reserve(sl_pool *p, size_t floats);

/* Splits [0, n) into `parts` contiguous ranges whose inner boundaries are multiples of `align`. */
static inline void sl_split(long n, int part, int parts, long align, long *lo, long *hi) {
  long units = (n + align - 1) / align;
  long a = units * part / parts, b = units * (part + 1) / parts;
  *lo = a * align < n ? a * align : n;
  *hi = b * align < n ? b * align : n;
}

#endif
