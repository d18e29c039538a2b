/**
 * Moving payload buffers between the engine's main thread and its task thread. `postMessage`
 * copies an ArrayBuffer twice (into the message, then out of it on the other thread), and
 * buffers received from ZeroMQ are external memory that V8 copies even when asked to transfer
 * it. So a large buffer is copied once into a fresh ArrayBuffer, which is then transferred: one
 * copy instead of two. The original is left alone, which matters for results: they are views
 * of the namespace's own values, which must never be detached. A small buffer is cloned, as
 * the bytes it views only.
 */

/** Below this, a copy costs less than setting up a transfer. */
const TRANSFER_MIN_BYTES = 64 * 1024;

/** Buffers ready to post, and the list to transfer with them. */
export interface Transferable {
  buffers: Uint8Array[];
  transfer: ArrayBuffer[];
}

/** Prepares `buffers` for `postMessage(…, transfer)`. */
export function forTransfer(buffers: readonly Uint8Array[]): Transferable {
  const transfer: ArrayBuffer[] = [];
  const out = buffers.map((buffer) => {
    if (buffer.byteLength < TRANSFER_MIN_BYTES) {
      // postMessage clones a view's whole ArrayBuffer: a payload of a few bytes cut from an
      // 8 KiB slab, or a small view of a large array, would carry all of it. Its own bytes only.
      return buffer.byteLength === buffer.buffer.byteLength ? buffer : new Uint8Array(buffer);
    }
    const own = new Uint8Array(buffer.byteLength);
    own.set(buffer);
    transfer.push(own.buffer);
    return own;
  });
  return { buffers: out, transfer };
}
