/**
 * Batches: several signed messages to one peer in one ZeroMQ message.
 *
 * What a ZeroMQ send costs is mostly per frame, not per byte: each frame over 128 bytes is
 * handed to libzmq without a copy and released later on the main thread through an
 * asynchronous callback, and each message wakes the I/O thread. A signed message has six
 * frames or more, so a task cost a dozen of them. A batch copies the small frames of all its
 * messages into one frame and keeps large ones as frames of their own:
 *
 * ```
 * [routing ids…] BATCH  packed  large frame…
 * ```
 *
 * `packed` holds, for each message in order, its frame count (u32, big-endian), then for each
 * frame either its length (u32) and its bytes, or {@link EXTERNAL} for the next large frame.
 * The frames of each message start with `DELIMITER` and are exactly what {@link Codec.encode}
 * produced, so every message keeps its own signature: the batch itself is not signed (like the
 * routing ids), and a damaged batch only yields messages that fail verification.
 * Pure: no sockets.
 */
import { DELIMITER } from "./message.js";

/** Marks a batch, where a single message has `DELIMITER`. */
export const BATCH = Buffer.from("<PLX|BAT>");

/** A frame length that says: this frame is the next large frame after `packed`. */
const EXTERNAL = 0xffff_ffff;

/** Frames up to this size are copied into `packed`; larger ones travel as their own frames. */
export const INLINE_MAX_BYTES = 8 * 1024;

/**
 * Upper bound of `packed`. Small enough for any receiver's single-frame limit (which is the
 * message limit plus 64 KiB), large enough for a few hundred small messages.
 */
export const PACKED_MAX_BYTES = 60 * 1024;

/** A batch also ends once its large frames exceed this, so that one peer's bulk data does not hold others' small messages. */
const EXTERNAL_MAX_BYTES = 1024 * 1024;

/** One ZeroMQ message of `messages` messages, ready to send. */
export interface Batch {
  frames: Buffer[];
  messages: number;
}

/** Index of the first frame after the routing ids (`DELIMITER` or {@link BATCH}), or -1. */
export function envelopeStart(frames: readonly Buffer[]): number {
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i] as Buffer;
    if (frame === DELIMITER || frame === BATCH || frame.equals(DELIMITER) || frame.equals(BATCH)) return i;
  }
  return -1;
}

/** Bytes a frame takes in `packed`. */
function packedSize(frame: Buffer): number {
  return frame.byteLength <= INLINE_MAX_BYTES ? 4 + frame.byteLength : 4;
}

/**
 * Lays out messages for one peer (each as encoded, without routing ids) as batches, in order,
 * each preceded by `identities`. A message is never split across batches.
 */
export function packBatches(identities: readonly Buffer[], messages: readonly (readonly Buffer[])[]): Batch[] {
  const batches: Batch[] = [];
  let start = 0;
  while (start < messages.length) {
    let end = start;
    let size = 0;
    let external = 0;
    // Always at least one message, however large its small frames add up to.
    do {
      const message = messages[end] as readonly Buffer[];
      let messageSize = 4;
      let messageExternal = 0;
      for (const frame of message) {
        messageSize += packedSize(frame);
        if (frame.byteLength > INLINE_MAX_BYTES) messageExternal += frame.byteLength;
      }
      if (end > start && size + messageSize > PACKED_MAX_BYTES) break;
      size += messageSize;
      external += messageExternal;
      end++;
    } while (end < messages.length && external <= EXTERNAL_MAX_BYTES);
    batches.push({ frames: [...identities, BATCH, ...pack(messages.slice(start, end), size)], messages: end - start });
    start = end;
  }
  return batches;
}

/** `packed` and the large frames of `messages`, which take `size` bytes packed. */
function pack(messages: readonly (readonly Buffer[])[], size: number): Buffer[] {
  const packed = Buffer.allocUnsafe(size);
  const large: Buffer[] = [];
  let at = 0;
  for (const message of messages) {
    at = packed.writeUInt32BE(message.length, at);
    for (const frame of message) {
      if (frame.byteLength > INLINE_MAX_BYTES) {
        at = packed.writeUInt32BE(EXTERNAL, at);
        large.push(frame);
      } else {
        at = packed.writeUInt32BE(frame.byteLength, at);
        at += frame.copy(packed, at);
      }
    }
  }
  return [packed, ...large];
}

/** Bytes of one slab of payload copies (see {@link copyPayload}). */
const SLAB_BYTES = 8 * 1024;
/** The slab payload copies are cut from, and how much of it is taken. */
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/**
 * A copy of a small payload frame, cut from slabs that hold payload copies only. A receiver
 * keeps payloads (a controller keeps every task's arguments and result until its record is
 * culled); `Buffer.from` would cut them from Node's shared pool, where each kept payload of a
 * few dozen bytes sat among short-lived frames and pinned its 8 KiB slab: 10,000 records pinned
 * about 800 slabs (6.5 MB) for 1 MB of payloads. Here payloads kept one after the other share
 * slabs, which are freed once the records that arrived together are gone. Offsets stay
 * 8-aligned, as in Node's pool, so typed arrays can view a payload without a copy.
 */
function copyPayload(frame: Buffer): Buffer {
  const length = frame.byteLength;
  if (length > SLAB_BYTES / 2) {
    const own = Buffer.allocUnsafeSlow(length);
    frame.copy(own);
    return own;
  }
  if (slabUsed + length > slab.byteLength) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = slab.subarray(slabUsed, slabUsed + length);
  frame.copy(copy);
  slabUsed = (slabUsed + length + 7) & ~7;
  return copy;
}

/**
 * The messages of a ZeroMQ message, each as `[routing ids…, DELIMITER, …]`: the message itself
 * when it is not a batch, or `undefined` when the batch is malformed. Payload frames (after the
 * four JSON frames) are copied out of `packed` (see {@link copyPayload}), so that a stored task
 * argument or result does not keep the whole batch in memory.
 */
export function unpackBatch(frames: readonly Buffer[]): Buffer[][] | undefined {
  const start = envelopeStart(frames);
  if (start < 0 || !(frames[start] as Buffer).equals(BATCH)) return [frames as Buffer[]];
  const identities = frames.slice(0, start);
  const packed = frames[start + 1];
  if (packed === undefined) return undefined;
  let next = start + 2;
  let at = 0;
  const messages: Buffer[][] = [];
  while (at < packed.byteLength) {
    if (at + 4 > packed.byteLength) return undefined;
    const count = packed.readUInt32BE(at);
    at += 4;
    const message = [...identities];
    for (let i = 0; i < count; i++) {
      if (at + 4 > packed.byteLength) return undefined;
      const length = packed.readUInt32BE(at);
      at += 4;
      if (length === EXTERNAL) {
        const frame = frames[next++];
        if (frame === undefined) return undefined;
        message.push(frame);
        continue;
      }
      if (at + length > packed.byteLength) return undefined;
      const frame = packed.subarray(at, at + length);
      // Frames 0-5 are DELIMITER, signature and the four JSON frames, read once and dropped.
      message.push(i >= 6 ? copyPayload(frame) : frame);
      at += length;
    }
    messages.push(message);
  }
  return next === frames.length ? messages : undefined;
}
