/**
 * Memo keys of pure tasks: a hash of the function source and the serialized arguments.
 */
import { createHash } from "node:crypto";

/** sha256 over the source and argument frames, each length-prefixed so splits cannot collide. */
export function memoKey(fnSource: string, argFrames: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  const length = Buffer.alloc(8);
  const add = (bytes: Uint8Array) => {
    length.writeBigUInt64BE(BigInt(bytes.byteLength));
    hash.update(length);
    hash.update(bytes);
  };
  add(Buffer.from(fnSource));
  for (const frame of argFrames) add(frame);
  return hash.digest("hex");
}
