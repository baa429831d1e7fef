/**
 * Progress display for long jobs: a one-line bar redrawn in place on a TTY, plain lines (at most every few
 * seconds) otherwise. Always on stderr, so stdout stays clean for results and --json.
 */

/** Formats a count with an SI prefix: 1.2k, 3.4M, 5.6G, 7.8T, 9.1P, 2.3E. */
export function si(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const units = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
  let i = 0;
  let v = Math.abs(x);
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return (x < 0 ? "-" : "") + Number(v.toPrecision(digits)) + units[i];
}

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const s = Math.round(sec);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** A progress reporter: call update() often; it decides when and how to draw. */
export class Progress {
  private lastDraw = 0;
  private readonly tty: boolean;

  /**
   * @param label printed before the bar
   * @param stream where to draw (stderr)
   * @param quiet draw nothing (e.g. with --json)
   * @param unit formats the done/total counts in plain-line mode (default: plain numbers)
   */
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
    private readonly unit: (x: number) => string = String,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Reports `done` of `total` with extra fields (e.g. "loss 3.21"). Forced draws ignore the rate limit. */
  update(done: number, total: number, fields: string, etaSec: number, force = false): void {
    if (this.quiet) return;
    const now = Date.now();
    const interval = this.tty ? 100 : 5000;
    if (!force && now - this.lastDraw < interval && done < total) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    if (this.tty) {
      const width = 24;
      const fill = Math.round(frac * width);
      const bar = "█".repeat(fill) + "░".repeat(width - fill);
      this.stream.write(`\r\x1b[2K${this.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${fields} ETA ${duration(etaSec)}`);
      if (done >= total) this.stream.write("\n");
    } else {
      this.stream.write(`${this.label} ${this.unit(done)}/${this.unit(total)} (${(frac * 100).toFixed(0)}%) ${fields} ETA ${duration(etaSec)}\n`);
    }
  }

  /** Prints a line without breaking the bar. */
  log(line: string): void {
    if (this.quiet) return;
    this.stream.write((this.tty ? "\r\x1b[2K" : "") + line + "\n");
  }
}
