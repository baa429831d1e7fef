/**
 * Where the dashboard's files come from, and the one check every file request passes: a request path is resolved
 * inside its root directory and refused (null → 404) when it would escape it — by `..`, an encoded `..%2f`, an
 * absolute path, a NUL byte, or a symbolic link that points outside.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The file under `root` that the URL path `urlPath` (still percent-encoded, relative to the root) names, or null
 * when it does not exist, is not a regular file, or lies outside `root` (after following symbolic links).
 */
export function safeFile(root: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rel.includes("\0") || rel.includes("\\")) return null;
  const base = resolve(root);
  const target = resolve(base, "." + sep + rel);
  if (!inside(base, target) || !existsSync(target)) return null;
  let real: string;
  try {
    real = realpathSync(target);
    if (!inside(realpathSync(base), real) || !statSync(real).isFile()) return null;
  } catch {
    return null;
  }
  return real;
}

/** Whether `path` is `root` itself or lies below it (both absolute, normalised). */
export function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
};

/** The Content-Type of a file by its extension (application/octet-stream when unknown). */
export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

const here = dirname(fileURLToPath(import.meta.url));

/** The dashboard page's folder (web/ at the package root; this file runs from dist/src/server/). */
export function webDir(): string {
  for (const rel of ["../../../web", "../../web"]) {
    const p = resolve(here, rel);
    if (existsSync(join(p, "index.html"))) return p;
  }
  return resolve(here, "../../../web");
}

/** The built playground site (dist-web/ at the package root, written by `npm run build:web`). */
export function playgroundDir(): string {
  for (const rel of ["../../../dist-web", "../../dist-web"]) {
    const p = resolve(here, rel);
    if (existsSync(join(p, "index.html"))) return p;
  }
  return resolve(here, "../../../dist-web");
}

/** The browser modules the page imports from /js/: the report's browser-safe compiled files. */
export const PAGE_MODULES: Record<string, string> = {
  "specs.js": join(here, "../report/specs.js"),
  "format.js": join(here, "../report/format.js"),
  "forecast-math.js": join(here, "../report/forecast-math.js"),
  "view.js": join(here, "../report/view.js"),
};

/** The browser builds of vega and vega-lite the page loads from /vendor/ (from node_modules, never a CDN). */
export function vendorFiles(): Record<string, string> {
  return {
    "vega.min.js": join(dirname(fileURLToPath(import.meta.resolve("vega"))), "vega.min.js"),
    "vega-lite.min.js": join(dirname(fileURLToPath(import.meta.resolve("vega-lite"))), "vega-lite.min.js"),
  };
}
