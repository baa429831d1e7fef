/**
 * A minimal protocol-buffers wire-format reader (https://protobuf.dev/programming-guides/encoding/): enough to walk
 * the fields of TensorBoard's Event, Summary and TensorProto messages. Varints, 64-bit, length-delimited and 32-bit
 * fields; groups (deprecated) are refused. Errors are thrown as RangeErrors for the caller to name the file.
 */

/** Wire types. */
export const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

/** One field of a message: its number, wire type and value (a bigint for varints, bytes otherwise). */
export interface Field {
  no: number;
  wire: number;
  /** Varint value (wire 0). */
  varint?: bigint;
  /** Raw bytes (wire 1: 8 bytes, wire 2: the payload, wire 5: 4 bytes). */
  bytes?: Uint8Array;
}

/** Reads a base-128 varint at `pos`; returns its value and the position after it. */
export function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new RangeError("truncated varint");
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new RangeError("varint longer than 10 bytes");
}

/** The fields of one message, in the order written. */
export function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (no === 0) throw new RangeError("field number 0");
    if (wire === WIRE.varint) {
      const [v, p2] = readVarint(buf, pos);
      out.push({ no, wire, varint: v });
      pos = p2;
    } else if (wire === WIRE.i64 || wire === WIRE.i32) {
      const n = wire === WIRE.i64 ? 8 : 4;
      if (pos + n > buf.length) throw new RangeError("truncated fixed-width field");
      out.push({ no, wire, bytes: buf.subarray(pos, pos + n) });
      pos += n;
    } else if (wire === WIRE.len) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      if (end > buf.length) throw new RangeError("truncated length-delimited field");
      out.push({ no, wire, bytes: buf.subarray(p2, end) });
      pos = end;
    } else {
      throw new RangeError(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A 32-bit field as a little-endian float. */
export function asFloat(f: Field): number {
  return view(f.bytes!).getFloat32(0, true);
}

/** A 64-bit field as a little-endian double. */
export function asDouble(f: Field): number {
  return view(f.bytes!).getFloat64(0, true);
}

/** A varint field as a signed 64-bit integer (two's complement), as a number. */
export function asInt64(f: Field): number {
  return Number(BigInt.asIntN(64, f.varint!));
}

/** A length-delimited field as UTF-8 text. */
export function asString(f: Field): string {
  return new TextDecoder().decode(f.bytes!);
}

/** A packed repeated field of 32-bit floats (or one unpacked element). */
export function packedFloats(f: Field): number[] {
  if (f.wire === WIRE.i32) return [asFloat(f)];
  const v = view(f.bytes!);
  const out: number[] = [];
  for (let i = 0; i + 4 <= f.bytes!.length; i += 4) out.push(v.getFloat32(i, true));
  return out;
}

/** A packed repeated field of doubles (or one unpacked element). */
export function packedDoubles(f: Field): number[] {
  if (f.wire === WIRE.i64) return [asDouble(f)];
  const v = view(f.bytes!);
  const out: number[] = [];
  for (let i = 0; i + 8 <= f.bytes!.length; i += 8) out.push(v.getFloat64(i, true));
  return out;
}

/** A packed repeated field of varints (or one unpacked element), as signed numbers. */
export function packedInts(f: Field): number[] {
  if (f.wire === WIRE.varint) return [asInt64(f)];
  const out: number[] = [];
  let pos = 0;
  while (pos < f.bytes!.length) {
    const [x, p] = readVarint(f.bytes!, pos);
    out.push(Number(BigInt.asIntN(64, x)));
    pos = p;
  }
  return out;
}
