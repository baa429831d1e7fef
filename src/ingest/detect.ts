/**
 * Reading a source file: detecting its format (by name, then by content) and calling the matching parser. A file
 * that cannot be read or recognised is a one-line IngestError naming it and the fix.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { IngestError } from "./errors.js";
import { parsePythonJson, parseTrainerState } from "./hf-trainer.js";
import { parseCsvRuns, parseJsonlRuns } from "./table.js";
import { parseTensorBoard } from "./tensorboard.js";
import { parseTextLog } from "./text-log.js";
import { maskedCrc32c } from "./tfrecord.js";
import { type ParseOptions, type ParsedRun, SOURCE_FORMATS, type SourceFormat } from "./types.js";

/** Whether bytes start with a TFRecord header whose length checksum holds. */
function looksLikeTfRecord(buf: Uint8Array): boolean {
  if (buf.length < 12) return false;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return dv.getUint32(8, true) === maskedCrc32c(buf.subarray(0, 8));
}

/** The format of a file, from its name and its first bytes; undefined when it is none of the known ones. */
export function detectFormat(file: string, buf: Uint8Array): SourceFormat | undefined {
  const name = basename(file);
  const ext = extname(name).toLowerCase();
  if (name.includes("tfevents") || looksLikeTfRecord(buf)) return "tensorboard";
  if (name === "trainer_state.json") return "hf-trainer";
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  const head = new TextDecoder().decode(buf.subarray(0, 4096)).trimStart();
  if (ext === ".json" || head.startsWith("{")) {
    if (/"log_history"\s*:/.test(new TextDecoder().decode(buf))) return "hf-trainer";
    const firstLine = head.split("\n")[0].trim();
    if (firstLine.startsWith("{") && firstLine.endsWith("}")) return "jsonl";
    return undefined;
  }
  if (buf.includes(0)) return undefined; // binary, and not an event file
  return "text-log";
}

/** The model config.json of a Hugging Face run: beside trainer_state.json, else in the folder above it. */
function modelConfigBeside(file: string): Record<string, unknown> | undefined {
  for (const dir of [dirname(file), dirname(dirname(file))]) {
    const p = join(dir, "config.json");
    if (!existsSync(p)) continue;
    try {
      const c = parsePythonJson(readFileSync(p, "utf8"));
      if (c && typeof c === "object" && !Array.isArray(c)) return c as Record<string, unknown>;
    } catch {
      throw new IngestError(`${p}: not valid JSON; repair the model's config.json or move it away and pass --params`);
    }
  }
  return undefined;
}

/** Reads one source file into its runs (usually one). */
export function parseSource(file: string, opts: ParseOptions = {}): ParsedRun[] {
  let buf: Buffer;
  try {
    if (statSync(file).isDirectory()) {
      throw new IngestError(`${file} is a folder; pass the files inside it (trainer_state.json, events.out.tfevents.*, a CSV or a log)`);
    }
    buf = readFileSync(file);
  } catch (e) {
    if (e instanceof IngestError) throw e;
    throw new IngestError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path`);
  }
  if (buf.length === 0) throw new IngestError(`${file} is empty; pass the log once the trainer has written it`);
  const format = opts.format ?? detectFormat(file, buf);
  if (format === undefined) {
    throw new IngestError(`${file}: format not recognised; pass --format ${SOURCE_FORMATS.join("|")}`);
  }
  const columns = opts.columns ?? {};
  const text = () => buf.toString("utf8");
  switch (format) {
    case "tensorboard":
      return [parseTensorBoard(file, buf, columns)];
    case "hf-trainer":
      return [parseTrainerState(file, text(), modelConfigBeside(file))];
    case "csv":
      return parseCsvRuns(file, text(), columns);
    case "jsonl":
      return parseJsonlRuns(file, text(), columns);
    case "text-log":
      return [parseTextLog(file, text())];
  }
}
