/*
 * A tiny fork-join thread pool for the fused kernels: the calling thread plus (n - 1) workers.
 *
 * sl_pool_run(p, fn, ctx, nchunks) calls fn(ctx, i, nchunks) exactly once for every chunk i in [0, nchunks), on
 * whichever threads claim it, and returns when all chunks are done. The caller claims chunks too, so a job never
 * waits for a worker that the OS has not scheduled yet (a busy 2-core machine): at worst the caller does it all.
 * Kernels therefore keep per-chunk (not per-thread) partial results, which also makes reductions deterministic.
 * Workers spin briefly after each job (kernels arrive back to back in a training step), then sleep on a condition
 * variable, so an idle pool costs no CPU.
 */
#ifndef SCALING_LAB_POOL_H
#define SCALING_LAB_POOL_H

#include <stddef.h>

typedef struct sl_pool sl_pool;
typedef void (*sl_pool_fn)(void *ctx, long chunk, long nchunks);

/* Creates a pool of `nthreads` (>= 1) threads including the caller; NULL on failure. */
sl_pool *sl_pool_create(int nthreads, long spin_us);
/* Stops and joins the workers and frees the pool. */
void sl_pool_destroy(sl_pool *p);
/* Number of threads, the caller included. */
int sl_pool_threads(const sl_pool *p);
/* Runs fn(ctx, i, nchunks) for every i in [0, nchunks) over the pool and waits for all of them. */
void sl_pool_run(sl_pool *p, sl_pool_fn fn, void *ctx, long nchunks);
/* A 64-byte aligned scratch buffer of at least `bytes`, owned by the pool and kept between calls (NULL if out of
   memory). Call from the caller's thread before sl_pool_run; valid until the next call. */
void *sl_pool_scratch(sl_pool *p, size_t bytes);

/* Splits [0, n) into `parts` contiguous ranges whose inner boundaries are multiples of `align`. */
static inline void sl_split(long n, long part, long parts, long align, long *lo, long *hi) {
  long units = (n + align - 1) / align;
  long a = units * part / parts, b = units * (part + 1) / parts;
  *lo = a * align < n ? a * align : n;
  *hi = b * align < n ? b * align : n;
}

#endif
