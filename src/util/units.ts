/**
 * Units of compute shared by every layer. GPT-3 (Brown et al. 2020, Table D.1) and the scaling-law papers count
 * training compute in PF-days: 1 PF-day = 10¹⁵ FLOP/s sustained for 86,400 s = 8.64e19 FLOP.
 */

/** PF-day in FLOP: 10¹⁵ FLOP/s sustained for 86,400 s. */
export const PF_DAY = 8.64e19;

/** Converts FLOP to PF-days (1 PF-day = 8.64e19 FLOP). */
export function flopsToPfDays(flops: number): number {
  return flops / PF_DAY;
}

/** Converts PF-days to FLOP. */
export function pfDaysToFlops(pfDays: number): number {
  return pfDays * PF_DAY;
}
