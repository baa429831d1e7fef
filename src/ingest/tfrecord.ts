/**
 * TFRecord framing, as TensorBoard event files use it: each record is
 *   uint64 length (little-endian) · uint32 masked CRC-32C of those 8 bytes · data[length] · uint32 masked CRC-32C of data
 * with mask(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8 (mod 2³²). Both checksums are verified: a truncated or
 * corrupted record is an error, never a silently shorter log.
 */

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; // Castagnoli polynomial, reflected
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `data`. */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The masked CRC TFRecord stores (so that a CRC of data containing CRCs is not degenerate). */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** A framing problem at a byte offset of the file. */
export class TFRecordError extends Error {
  constructor(
    message: string,
    /** Byte offset of the record that failed. */
    readonly offset: number,
    /** Index of the record that failed (0-based). */
    readonly index: number,
  ) {
    super(message);
    this.name = "TFRecordError";
  }
}

/** The data of every record of a TFRecord file, in order; throws TFRecordError on truncation or a CRC mismatch. */
export function readRecords(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    const index = out.length;
    if (pos + 12 > buf.length) throw new TFRecordError(`record ${index} is truncated (its 12-byte header is cut off)`, pos, index);
    const lenBytes = buf.subarray(pos, pos + 8);
    if (dv.getUint32(pos + 8, true) !== maskedCrc32c(lenBytes)) {
      throw new TFRecordError(`record ${index}: the length's CRC does not match (corrupted data)`, pos, index);
    }
    const len = dv.getBigUint64(pos, true);
    const start = pos + 12;
    if (len > BigInt(buf.length - start - 4)) {
      throw new TFRecordError(`record ${index} is truncated (${len} bytes announced, ${Math.max(0, buf.length - start - 4)} left)`, pos, index);
    }
    const end = start + Number(len);
    const data = buf.subarray(start, end);
    if (dv.getUint32(end, true) !== maskedCrc32c(data)) {
      throw new TFRecordError(`record ${index}: the data's CRC does not match (corrupted data)`, pos, index);
    }
    out.push(data);
    pos = end + 4;
  }
  return out;
}
