/** Dates as the forecasts and reports use them. */

/** A date as a decimal year in UTC (2026.9 for late November 2026). */
export function decimalYear(d: Date): number {
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const end = Date.UTC(d.getUTCFullYear() + 1, 0, 1);
  return d.getUTCFullYear() + (d.getTime() - start) / (end - start);
}
