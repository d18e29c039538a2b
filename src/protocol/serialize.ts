/**
 * Values on the wire: V8 structured clone, with large ArrayBuffer views carried as separate
 * frames so that megabytes of numbers are neither copied into nor out of the clone stream.
 */
import v8 from "node:v8";
import { SerializationError } from "../errors.js";
import { tooDeep } from "./canning.js";

/** Views of at least this many bytes travel as their own frame, without a copy. */
export const OUT_OF_BAND_MIN_BYTES = 64 * 1024;

type ViewConstructor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView; BYTES_PER_ELEMENT?: number };

// Order matters: it is the wire tag. Buffer is checked first because it is also a Uint8Array.
const VIEW_TYPES: readonly ViewConstructor[] = [
  Buffer as unknown as ViewConstructor,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView as unknown as ViewConstructor,
];

function viewTag(view: ArrayBufferView): number {
  if (Buffer.isBuffer(view)) return 0;
  for (let i = 1; i < VIEW_TYPES.length; i++) {
    if (view instanceof (VIEW_TYPES[i] as unknown as abstract new (...a: never[]) => unknown)) return i;
  }
  // Views from another realm (an engine's vm.Context) fail instanceof; match by tag name.
  const name = Object.prototype.toString.call(view).slice(8, -1);
  const index = VIEW_TYPES.findIndex((C) => (C as unknown as { name: string }).name === name);
  return index < 0 ? 2 : index;
}

class FrameSerializer extends v8.Serializer {
  readonly frames: Buffer[] = [];
  constructor() {
    super();
    // Without this V8 writes views inline and never calls _writeHostObject.
    (this as unknown as { _setTreatArrayBufferViewsAsHostObjects(on: boolean): void })._setTreatArrayBufferViewsAsHostObjects(true);
  }
  _writeHostObject(value: ArrayBufferView): void {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.writeUint32(viewTag(value));
    if (value.byteLength >= OUT_OF_BAND_MIN_BYTES) {
      this.writeUint32(1);
      this.writeUint32(this.frames.push(bytes) - 1);
    } else {
      this.writeUint32(0);
      this.writeUint32(value.byteLength);
      this.writeRawBytes(bytes);
    }
  }
}

class FrameDeserializer extends v8.Deserializer {
  constructor(
    head: Buffer,
    private readonly frames: readonly Buffer[],
  ) {
    super(head);
  }
  _readHostObject(): ArrayBufferView {
    const View = VIEW_TYPES[this.readUint32()];
    if (View === undefined) throw new SerializationError("unknown array view type in message");
    const outOfBand = this.readUint32() === 1;
    let bytes: Buffer;
    if (outOfBand) {
      const frame = this.frames[this.readUint32()];
      if (frame === undefined) throw new SerializationError("message refers to a missing buffer frame");
      bytes = frame;
    } else {
      bytes = Buffer.from(this.readRawBytes(this.readUint32()));
    }
    if (View === (Buffer as unknown as ViewConstructor)) return bytes;
    const width = View.BYTES_PER_ELEMENT ?? 1;
    // Typed arrays need aligned offsets; copy only when the frame happens to be misaligned.
    if (bytes.byteOffset % width !== 0) bytes = Buffer.from(bytes);
    return new View(bytes.buffer, bytes.byteOffset, bytes.byteLength / width);
  }
}

/** Serializes `value` to `[head, ...outOfBandFrames]`. Throws `SerializationError` naming `what`. */
export function encodeValue(value: unknown, what = "value"): Buffer[] {
  const serializer = new FrameSerializer();
  serializer.writeHeader();
  try {
    serializer.writeValue(value);
  } catch (error) {
    throw tooDeep(error, what) ?? new SerializationError(`${what} cannot be serialized: ${(error as Error).message}`, { cause: error });
  }
  return [serializer.releaseBuffer(), ...serializer.frames];
}

/** Inverse of {@link encodeValue}. */
export function decodeValue(frames: readonly Buffer[]): unknown {
  const [head, ...rest] = frames;
  if (head === undefined) throw new SerializationError("message carries no value frame");
  const deserializer = new FrameDeserializer(head, rest);
  deserializer.readHeader();
  return deserializer.readValue();
}

/** Finds the path of the first value structured clone refuses, for a precise error message. */
export function findUnserializablePath(value: unknown, path: string, seen = new Set<unknown>()): string | undefined {
  if (typeof value === "symbol") return path;
  if (typeof value === "function") return path;
  if (value === null || typeof value !== "object" || seen.has(value)) return undefined;
  seen.add(value);
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof Promise || value instanceof SharedArrayBuffer) return path;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  if (value instanceof Map) {
    let i = 0;
    for (const [k, v] of value) {
      const found = findUnserializablePath(k, `${path}.<key ${i}>`, seen) ?? findUnserializablePath(v, `${path}.get(${String(k)})`, seen);
      if (found) return found;
      i++;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const found = findUnserializablePath(v, `${path}.<item ${i++}>`, seen);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const where = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    let child: unknown;
    try {
      child = (value as Record<string, unknown>)[key];
    } catch {
      return where; // a getter that throws
    }
    const found = findUnserializablePath(child, where, seen);
    if (found) return found;
  }
  return undefined;
}
