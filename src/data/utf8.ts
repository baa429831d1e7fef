/**
 * Byte-level helpers shared by the tokenizers and the corpus readers: GPT-2's byte↔unicode table (used by the
 * Hugging Face tokenizer.json layout to write byte strings as printable characters), strict UTF-8 decoding with
 * the offset of the first bad byte, and fast string → UTF-8 conversion.
 */

/**
 * GPT-2's `bytes_to_unicode` table: byte value → a printable unicode character. Printable Latin-1 bytes map to
 * themselves; the rest (control characters, space, …) map to U+0100 onwards, so space (0x20) becomes "Ġ".
 */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** The inverse of {@link BYTE_TO_UNICODE}: printable character → byte value. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

function buildByteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  const isPrintable = new Set(printable);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = isPrintable.has(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return table;
}

/** Bytes → the printable string used for a token in tokenizer.json. */
export function bytesToTokenString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

/** A tokenizer.json token string → its bytes, or undefined if it contains a character outside the byte table. */
export function tokenStringToBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = UNICODE_TO_BYTE.get(s[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

const encoder = new TextEncoder();

/**
 * A JS string → UTF-8 bytes. Lone surrogates (which have no UTF-8 form) become U+FFFD (EF BF BD), the same as
 * TextEncoder and Buffer do.
 */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * The byte offset of the first byte that breaks UTF-8 in `bytes` (overlong forms, surrogates and code points above
 * U+10FFFF included), or -1 if all of it is valid. A sequence cut off by the end of the buffer counts as invalid
 * only when `final` is true.
 */
export function firstInvalidUtf8(bytes: Uint8Array, final = true): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      min = 0x10000;
      cp = b & 0x07;
    } else {
      return i;
    }
    if (i + len > n) {
      // Check the bytes that are present, then decide on truncation.
      for (let k = i + 1; k < n; k++) if ((bytes[k] & 0xc0) !== 0x80) return i;
      return final ? i : -1;
    }
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}
