/**
 * The npm packages a set of compiled entry files needs at run time, for packing a self-contained kit (the GPU
 * machine of bench/webgpu-device.sh has no registry). Follows the entries' relative imports through dist/ (static
 * `import … from`, bare `import "…"` and dynamic `import("…")`, so lazily loaded packages count too), collects every
 * bare package they name, then adds each package's own `dependencies` and `optionalDependencies` that are installed,
 * transitively. Prints one package name a line.
 *
 *   node dist/bench/kit-deps.js dist/test/engine-webgpu.test.js dist/bench/engine-bench.js …
 */
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
const BUILTIN = new Set(builtinModules);

/** The package a bare specifier names: `zod/v4` → `zod`, `@stdlib/x/y` → `@stdlib/x`. */
export function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Whether a specifier is a Node built-in (`node:fs`, `fs`, `fs/promises`). */
function isBuiltin(spec: string): boolean {
  return spec.startsWith("node:") || BUILTIN.has(spec) || BUILTIN.has(spec.split("/")[0]);
}

/** Every package reachable from the entry files, with their installed dependencies, sorted. */
export function kitPackages(entries: string[], nodeModules: string): string[] {
  const seenFiles = new Set<string>();
  const packages = new Set<string>();
  const queue = entries.map((e) => resolve(e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seenFiles.has(file)) continue;
    seenFiles.add(file);
    if (!existsSync(file)) throw new Error(`kit-deps: ${file} does not exist; compile first (npx tsc -p .)`);
    for (const m of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const spec = m[1];
      if (spec.startsWith(".") || spec.startsWith("/")) queue.push(resolve(dirname(file), spec));
      else if (!isBuiltin(spec)) packages.add(packageOf(spec));
    }
  }
  const pending = [...packages];
  while (pending.length > 0) {
    const name = pending.pop()!;
    const manifest = join(nodeModules, name, "package.json");
    if (!existsSync(manifest)) throw new Error(`kit-deps: package ${name} is not installed in ${nodeModules}; run npm ci`);
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as Record<string, Record<string, string> | undefined>;
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
      if (packages.has(dep) || !existsSync(join(nodeModules, dep, "package.json"))) continue; // nested or not for this platform
      packages.add(dep);
      pending.push(dep);
    }
  }
  return [...packages].sort();
}

if (process.argv[1] && resolve(process.argv[1]).endsWith(join("bench", "kit-deps.js"))) {
  const entries = process.argv.slice(2);
  if (entries.length === 0) {
    process.stderr.write("usage: node dist/bench/kit-deps.js ENTRY.js [ENTRY.js …]\n");
    process.exit(2);
  }
  try {
    for (const p of kitPackages(entries, resolve("node_modules"))) process.stdout.write(p + "\n");
  } catch (e) {
    process.stderr.write((e as Error).message + "\n");
    process.exit(1);
  }
}
