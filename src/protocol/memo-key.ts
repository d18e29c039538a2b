/**
 * Memo keys of pure tasks (`pure: true`): two submissions with the same function source and the
 * same serialized arguments share one execution.
 */
import { createHash } from "node:crypto";

/** Versions the key layout: changing how keys are built must not match keys built the old way. */
const DOMAIN = "parallax-memo-v1";

const encoder = new TextEncoder();

/** An 8-byte big-endian length, so each field's end is unambiguous. */
function lengthPrefix(byteLength: number): Uint8Array {
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(byteLength));
  return prefix;
}

/**
 * The memo key of a call: sha256 (hex) over the function source and the argument frames, each
 * length-prefixed, so moving bytes between frames, or between the source and the first frame,
 * always gives another key.
 * @throws TypeError when the source is not a string or a frame is not a Uint8Array.
 */
export function memoKey(fnSource: string, argFrames: readonly Uint8Array[]): string {
  if (typeof fnSource !== "string") throw new TypeError(`memoKey: fnSource must be a string, got ${typeof fnSource}`);
  if (!Array.isArray(argFrames)) throw new TypeError(`memoKey: argFrames must be an array of Uint8Array, got ${typeof argFrames}`);
  const hash = createHash("sha256");
  const add = (bytes: Uint8Array): void => {
    hash.update(lengthPrefix(bytes.byteLength));
    hash.update(bytes);
  };
  add(encoder.encode(DOMAIN));
  add(encoder.encode(fnSource));
  argFrames.forEach((frame, i) => {
    if (!(frame instanceof Uint8Array))
      throw new TypeError(`memoKey: argFrames[${i}] must be a Uint8Array, got ${frame === null ? "null" : typeof frame}`);
    add(frame);
  });
  return hash.digest("hex");
}
