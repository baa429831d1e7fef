/**
 * Minimal file globbing (Node 20 has no fs.glob): `*` and `?` within one path segment, `**` across segments,
 * `[abc]` character classes and `{a,b}` alternatives. Hidden entries (leading dot) are skipped unless the pattern
 * names a dot itself. Results are sorted, so a glob always lists files in the same order.
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";

/** True if the string contains glob syntax. */
export function isGlob(pattern: string): boolean {
  return /[*?[\]{}]/.test(pattern);
}

/** Converts a glob (with "/" separators) to an anchored regular expression over "/"-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  let braceDepth = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*") {
      if (glob[i + 1] === "*") {
        // "**/" matches zero or more directories; a trailing "**" matches everything below.
        if (glob[i + 2] === "/") {
          re += "(?:[^/]*/)*";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else re += "[^/]*";
    } else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        re += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (ch === "{") {
      braceDepth++;
      re += "(?:";
    } else if (ch === "}" && braceDepth > 0) {
      braceDepth--;
      re += ")";
    } else if (ch === "," && braceDepth > 0) re += "|";
    else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Expands a glob to the sorted list of matching files (absolute paths). Directories are not returned. */
export function expandGlob(pattern: string, cwd = process.cwd()): string[] {
  const normalized = pattern.split(sep).join("/");
  const parts = normalized.split("/");
  let fixed = 0;
  while (fixed < parts.length - 1 && !isGlob(parts[fixed])) fixed++;
  const baseParts = parts.slice(0, fixed);
  const base = baseParts.length === 0 ? cwd : resolve(cwd, baseParts.join("/") || "/");
  const rest = parts.slice(fixed).join("/");
  const re = globToRegExp(rest);
  const allowHidden = /(^|\/)\./.test(rest); // like a shell: "*" does not match a leading dot
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      if (name.startsWith(".") && !allowHidden) continue;
      const full = join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      let isDir = false;
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        continue;
      }
      if (isDir) walk(full, relPath);
      else if (re.test(relPath)) out.push(full);
    }
  };
  walk(base, "");
  return out;
}

/** Splits a comma-separated list of sources, keeping commas inside `{…}` glob alternatives. */
export function splitSourceList(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of list) {
    if (ch === "{") depth++;
    if (ch === "}" && depth > 0) depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}
