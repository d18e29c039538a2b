/**
 * One parsed object for each small JSON frame the hub keeps in its task records, shared by every
 * record whose frame has the same bytes. The requests of a map, or of one function applied again
 * and again, carry the same content frame (op, the function's source) and mostly the same
 * metadata, and most replies the same content (`{"status":"ok"}`). Parsed once per message, each
 * record held its own copy of them for as long as it was kept (10,000 finished records by
 * default), long enough to be promoted to V8's old generation: about a fifth of what a no-op
 * task left in the controller's heap. Shared objects are frozen, as one record must not change
 * another's.
 */

/** Frames over this size are not shared: a large unique frame would be pinned by the cache. */
const MAX_FRAME_BYTES = 16 * 1024;
/** Distinct frames remembered; the cache starts again when it is full (a new burst of tasks). */
const MAX_ENTRIES = 64;

/** Freezes an object parsed from JSON and everything in it. */
function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}

/** A bounded cache from frame bytes to the object parsed from them. */
export class SharedJson {
  private readonly known = new Map<string, object>();

  /**
   * The object shared for `frame`'s bytes, or `parsed` (parsed from `frame` and now frozen and
   * shared) when this frame is new. A frame over 16 KiB gives `parsed` back as it is.
   */
  share<T extends object>(frame: Buffer | undefined, parsed: T): T {
    if (frame === undefined || frame.byteLength > MAX_FRAME_BYTES) return parsed;
    const key = frame.toString("latin1");
    const known = this.known.get(key);
    if (known !== undefined) return known as T;
    if (this.known.size >= MAX_ENTRIES) this.known.clear();
    deepFreeze(parsed);
    this.known.set(key, parsed);
    return parsed;
  }
}
