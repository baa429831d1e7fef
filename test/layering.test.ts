/**
 * The layering of src/ (DESIGN.md, "Folders"): imports run one way down the data flow. Every import statement of
 * src/**\/*.ts (static, `export … from`, `import type`, and `import("…")`) is read with TypeScript's own pre-processor,
 * and each folder→folder edge must be in {@link ALLOWED}: util/ imports nothing, the store and the fits only util/,
 * report/ never reaches train/ (not even through another folder), and no two files import each other in a cycle.
 * A new folder or a new edge is a design decision: add it here, with DESIGN.md.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { repoRoot } from "./helpers.js";

const SRC = join(repoRoot, "src");

/**
 * Folder → the folders its files may import (besides its own). From DESIGN.md's table, plus what the code
 * legitimately needs: train/, sweep/ and server/ create backends (engine/), server/ samples from checkpoints (train/,
 * model/), sweep/ plans shapes (model/) and fits held-out runs (fit/).
 */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  engine: ["util"],
  model: ["engine", "util"],
  data: ["util"],
  evals: ["model", "data", "util"],
  train: ["model", "data", "engine", "util"],
  fit: ["util"],
  forecast: ["fit", "util"],
  store: ["util"],
  analysis: ["fit", "forecast", "store", "util"],
  sweep: ["train", "store", "model", "data", "engine", "fit", "util"],
  report: ["store", "analysis", "fit", "forecast", "published", "util"],
  ingest: ["store", "fit", "model", "util"],
  published: ["fit", "store", "model", "util"],
  server: ["store", "report", "train", "model", "engine", "util"],
  playground: ["*"],
  studies: ["data", "sweep", "analysis", "report", "forecast", "store", "evals", "train", "model", "util"],
  cli: ["*"],
  "index.ts": ["*"],
};

/** Single files allowed more than their folder, by target path prefix, with the reason. */
const FILE_EXCEPTIONS: Record<string, { targets: readonly string[]; why: string }> = {
  "report/data.ts": { targets: ["sweep/predict.ts"], why: "the report shows the held-out prediction of sweep/predict.ts" },
};

/** Pairs of folders where the first must not reach the second through any chain of imports. */
const NEVER_REACHES: [string, string][] = [
  ["report", "train"],
  ["store", "model"],
  ["fit", "model"],
  ["util", "engine"],
];

/** A file's relative imports, as paths relative to src/ (the .js of an import names the .ts source). */
type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((s) => s.startsWith("."))
      .map((s) => relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, ".ts"));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** The top-level folder of a path under src/ ("index.ts" for the root module). */
const folderOf = (path: string): string => path.split("/")[0];

/** Every import that breaks {@link ALLOWED} and {@link FILE_EXCEPTIONS}, as "from → to". */
function layeringViolations(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const allowed = ALLOWED[folderOf(from)];
    for (const to of targets) {
      const target = folderOf(to);
      if (target === folderOf(from) || allowed?.includes("*") || allowed?.includes(target)) continue;
      if (FILE_EXCEPTIONS[from]?.targets.some((t) => to.startsWith(t))) continue;
      out.push(`${from} → ${to}`);
    }
  }
  return out;
}

/** The files reachable from any file of `folder` (the folder's own included). */
function reachable(graph: Graph, folder: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...graph.keys()].filter((f) => folderOf(f) === folder);
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return seen;
}

/** One import cycle between files, or null (depth-first search). */
function findCycle(graph: Graph): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === "done") return null;
    if (state.get(f) === "open") return [...path.slice(path.indexOf(f)), f];
    state.set(f, "open");
    path.push(f);
    for (const g of graph.get(f) ?? []) {
      const cycle = visit(g);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(f, "done");
    return null;
  };
  for (const f of graph.keys()) {
    const cycle = visit(f);
    if (cycle) return cycle;
  }
  return null;
}

const graph = importGraph();

test("layering: every import resolves to a source file, and every folder has a row in the table", () => {
  const edges = [...graph.values()].reduce((a, t) => a + t.length, 0);
  assert.ok(graph.size > 100 && edges > 300, `read ${graph.size} files and ${edges} imports`);
  for (const [from, targets] of graph) {
    for (const to of targets) assert.ok(graph.has(to), `${from} imports ${to}, which is not a file of src/`);
  }
  const folders = new Set([...graph.keys()].map(folderOf));
  for (const f of folders) assert.ok(f in ALLOWED, `src/${f} has no row in ALLOWED: decide what it may import (and add it to DESIGN.md)`);
});

test("layering: folders import only the folders below them (util/ nothing; store/ and fit/ only util/)", () => {
  assert.deepEqual(layeringViolations(graph), []);
});

test("layering: report/ never reaches train/, the store never reaches model/, even through another folder", () => {
  for (const [from, to] of NEVER_REACHES) {
    const hit = [...reachable(graph, from)].filter((f) => folderOf(f) === to);
    assert.deepEqual(hit, [], `${from}/ reaches ${to}/`);
  }
});

test("layering: no import cycle between files", () => {
  assert.equal(findCycle(graph)?.join(" → ") ?? null, null);
});

test("layering: the checks catch what they are for (a report→train import, a store→model import, a cycle)", () => {
  const bad: Graph = new Map([
    ["report/data.ts", ["train/checkpoint.ts"]],
    ["store/rows.ts", ["model/accounting.ts"]],
    ["util/a.ts", ["util/b.ts"]],
    ["util/b.ts", ["util/a.ts"]],
    ["train/checkpoint.ts", []],
    ["model/accounting.ts", []],
  ]);
  assert.deepEqual(layeringViolations(bad), ["report/data.ts → train/checkpoint.ts", "store/rows.ts → model/accounting.ts"]);
  assert.ok([...reachable(bad, "report")].includes("train/checkpoint.ts"));
  assert.deepEqual(findCycle(bad), ["util/a.ts", "util/b.ts", "util/a.ts"]);
});
