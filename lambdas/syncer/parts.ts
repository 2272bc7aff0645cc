/**
 * Cut a stream of chunks into multipart-upload parts of a fixed size, holding
 * only the part being filled.
 */

/** S3's smallest part (all but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** The largest part the syncer uses: keeps the Lambda's memory bounded. */
export const MAX_PART_BYTES = 16 * 1024 * 1024;
/** Default part size: ~150 MB of runner become ~19 parts. */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/**
 * Yield `partBytes`-sized Buffers (the last may be shorter, never empty) made
 * from `chunks`. Each yielded Buffer is new; the caller may keep it while the
 * next part is filled. Throws RangeError unless MIN_PART_BYTES ≤ partBytes ≤ MAX_PART_BYTES.
 */
export async function* toParts(chunks: AsyncIterable<Uint8Array>, partBytes: number = DEFAULT_PART_BYTES): AsyncGenerator<Buffer> {
  if (!Number.isInteger(partBytes) || partBytes < MIN_PART_BYTES || partBytes > MAX_PART_BYTES) {
    throw new RangeError(`part size must be an integer in [${MIN_PART_BYTES}, ${MAX_PART_BYTES}], got ${partBytes}`);
  }
  let part: Buffer | undefined;
  let filled = 0;
  for await (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      part ??= Buffer.allocUnsafe(partBytes);
      const n = Math.min(partBytes - filled, chunk.byteLength - offset);
      part.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === partBytes) {
        const full = part;
        part = undefined;
        filled = 0;
        yield full;
      }
    }
  }
  if (part && filled > 0) yield part.subarray(0, filled);
}
