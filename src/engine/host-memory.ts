/**
 * Memory for the CPU backends: buffers are plain Float32Array / Int32Array in host memory, views are subarrays, and
 * reads are copies. `js` and `native` share this; a device backend (webgpu) implements the same methods its own way.
 */

/** The memory half of the {@link Backend} contract over host typed arrays. */
export abstract class HostMemory {
  /** A new zero-filled float buffer. */
  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }
  /** A new zero-filled int32 buffer. */
  allocInt(n: number): Int32Array {
    return new Int32Array(n);
  }
  /** A window sharing `buf`'s storage; throws a RangeError outside the buffer. */
  view(buf: Float32Array, offset: number, length: number): Float32Array {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > buf.length) {
      throw new RangeError(`view [${offset}, ${offset + length}) is outside a buffer of ${buf.length} elements`);
    }
    return buf.subarray(offset, offset + length);
  }
  /** Copies host data into `dst` at element `offset`. */
  write(dst: Float32Array, src: Float32Array, offset = 0): void {
    dst.set(src, offset);
  }
  /** Copies token ids into `dst`. */
  writeInt(dst: Int32Array, src: Int32Array): void {
    dst.set(src);
  }
  /** A copy of the buffer. */
  async read(src: Float32Array): Promise<Float32Array> {
    return src.slice();
  }
  /** Sets every element to zero. */
  zero(buf: Float32Array): void {
    buf.fill(0);
  }
}
