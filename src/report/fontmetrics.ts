/**
 * Text widths from a TrueType font's own metrics, for laying out charts in Node: vega measures text with a canvas
 * when it has one and otherwise guesses 0.8 em per character, which makes legends, titles and the SVG far wider
 * than what resvg then draws. Reading the advance widths (hmtx) of each character (cmap format 4) from the same
 * DejaVu Sans file resvg draws with gives the true widths.
 */
import { readFileSync } from "node:fs";

/** Advance widths of one font. */
export interface FontMetrics {
  /** Width in pixels of `text` at `fontSize` px (kerning ignored). */
  width(text: string, fontSize: number): number;
}

/** Reads a .ttf file's metrics; throws an Error when the file is not a TrueType font with a Unicode BMP cmap. */
export function loadFontMetrics(path: string): FontMetrics {
  const buf = readFileSync(path);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tables = new Map<string, number>();
  const numTables = view.getUint16(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    tables.set(buf.toString("latin1", rec, rec + 4), view.getUint32(rec + 8));
  }
  const need = (tag: string): number => {
    const off = tables.get(tag);
    if (off === undefined) throw new Error(`${path} has no ${tag} table; not a TrueType font`);
    return off;
  };
  const unitsPerEm = view.getUint16(need("head") + 18);
  const numberOfHMetrics = view.getUint16(need("hhea") + 34);
  const hmtx = need("hmtx");
  const advance = (glyph: number): number => view.getUint16(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));
  const glyphOf = cmap4(view, need("cmap"), path);
  const cache = new Map<number, number>();
  const fallback = advance(glyphOf(0x6e)); // an "n" for characters the font lacks
  return {
    width(text, fontSize) {
      let units = 0;
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        let w = cache.get(cp);
        if (w === undefined) {
          const g = cp <= 0xffff ? glyphOf(cp) : 0;
          w = g === 0 ? fallback : advance(g);
          cache.set(cp, w);
        }
        units += w;
      }
      return (units * fontSize) / unitsPerEm;
    },
  };
}

/** The glyph lookup of the font's format-4 (Unicode BMP) cmap subtable. */
function cmap4(view: DataView, cmap: number, path: string): (cp: number) => number {
  const n = view.getUint16(cmap + 2);
  let sub = -1;
  for (let i = 0; i < n; i++) {
    const platform = view.getUint16(cmap + 4 + 8 * i);
    const encoding = view.getUint16(cmap + 6 + 8 * i);
    const off = cmap + view.getUint32(cmap + 8 + 8 * i);
    if (view.getUint16(off) === 4 && ((platform === 3 && encoding === 1) || platform === 0)) {
      sub = off;
      break;
    }
  }
  if (sub < 0) throw new Error(`${path} has no Unicode BMP (format 4) cmap`);
  const segX2 = view.getUint16(sub + 6);
  const ends = sub + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const rangeOffsets = deltas + segX2;
  return (cp) => {
    for (let s = 0; s < segX2; s += 2) {
      if (view.getUint16(ends + s) < cp) continue;
      const start = view.getUint16(starts + s);
      if (start > cp) return 0;
      const delta = view.getUint16(deltas + s);
      const ro = view.getUint16(rangeOffsets + s);
      if (ro === 0) return (cp + delta) & 0xffff;
      const g = view.getUint16(rangeOffsets + s + ro + 2 * (cp - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
}
