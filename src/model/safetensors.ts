/**
 * safetensors I/O (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON header
 * mapping tensor names to {dtype, shape, data_offsets} (plus an optional "__metadata__" of strings), then the raw
 * little-endian bytes. Read from a file or buffer; write atomically (temp file + rename).
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/files.js";

/** A tensor as read from a safetensors file, converted to a JS typed array. */
export interface StTensor {
  dtype: string;
  shape: number[];
  /** Float tensors (F64/F32/F16/BF16) become Float32Array; integer tensors Int32Array (I64 must fit in 32 bits). */
  data: Float32Array | Int32Array;
}

/** A parsed safetensors file. */
export interface StFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

/** A malformed or truncated safetensors file; the message names the file and the fix. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1 };

/** Reads a safetensors file from disk. */
export function readSafetensors(path: string): StFile {
  return parseSafetensors(readFileSync(path), path);
}

/** Parses safetensors bytes; `name` is used in error messages. */
export function parseSafetensors(buf: Buffer, name = "safetensors data"): StFile {
  const bad = (why: string) =>
    new SafetensorsError(`${name}: ${why} (the file is truncated or not safetensors; re-create or re-download it)`);
  if (buf.length < 8) throw bad("shorter than its 8-byte header length");
  const hlen = Number(buf.readBigUInt64LE(0));
  if (hlen <= 0 || 8 + hlen > buf.length) throw bad(`header length ${hlen} exceeds the file size ${buf.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString("utf8"));
  } catch {
    throw bad("header is not valid JSON");
  }
  const base = 8 + hlen;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(header)) {
    if (key === "__metadata__") {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const v = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const size = BYTES[v.dtype];
    if (!size) throw bad(`tensor ${key} has unsupported dtype ${v.dtype}`);
    const count = v.shape.reduce((a, b) => a * b, 1);
    const [start, end] = v.data_offsets;
    if (end - start !== count * size) throw bad(`tensor ${key}: byte range does not match its shape`);
    if (base + end > buf.length) throw bad(`tensor ${key} ends at byte ${base + end} but the file has ${buf.length}`);
    const bytes = buf.subarray(base + start, base + end);
    tensors.set(key, { dtype: v.dtype, shape: v.shape, data: decode(bytes, v.dtype, count, key, bad) });
  }
  return { tensors, metadata };
}

function decode(bytes: Buffer, dtype: string, count: number, key: string, bad: (w: string) => Error): Float32Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      return out;
    }
    case "BF16": {
      const out = new Float32Array(count);
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        tmp.setUint32(0, dv.getUint16(i * 2, true) << 16, true);
        out[i] = tmp.getFloat32(0, true);
      }
      return out;
    }
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const x = dv.getBigInt64(i * 8, true);
        if (x > 2147483647n || x < -2147483648n) throw bad(`tensor ${key}: int64 value ${x} does not fit in int32`);
        out[i] = Number(x);
      }
      return out;
    }
    default: {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        out[i] = dtype === "I16" ? dv.getInt16(i * 2, true) : dtype === "I8" ? dv.getInt8(i) : dv.getUint8(i);
      }
      return out;
    }
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A tensor to write: float32 or int32 data with its shape. */
export interface StWriteTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Serializes tensors (in the given order) and string metadata to safetensors bytes. */
export function serializeSafetensors(tensors: Map<string, StWriteTensor> | Record<string, StWriteTensor>, metadata: Record<string, string> = {}): Buffer {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] does not match ${t.data.length} elements`);
    const dtype = t.data instanceof Float32Array ? "F32" : "I32";
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + hbytes.length + offset);
  out.writeBigUInt64LE(BigInt(hbytes.length), 0);
  hbytes.copy(out, 8);
  let pos = 8 + hbytes.length;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const [, t] of entries) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (!littleEndian) throw new Error("big-endian hosts are not supported");
    src.copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Writes tensors and metadata as a safetensors file, atomically. */
export function writeSafetensors(path: string, tensors: Map<string, StWriteTensor> | Record<string, StWriteTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
