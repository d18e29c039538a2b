/**
 * Message layout: `[...identities, DELIMITER, signature, header, parent, metadata, content, ...buffers]`.
 * The HMAC-SHA256 signature covers every frame after it, buffers included. A receiver drops a
 * message whose signature is bad, missing or already seen (a replay), and counts it.
 * Pure apart from hashing: no sockets, no files.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

/** Separates routing identities from the signed part. */
export const DELIMITER = Buffer.from("<PLX|MSG>");

/** Every message type that crosses a socket. */
export type MsgType =
  // client <-> controller
  | "connect_request" | "connect_reply" | "ping" | "pong"
  | "apply_request" | "apply_reply" | "execute_request" | "execute_reply"
  | "query_request" | "query_reply" | "notification" | "stream"
  // controller <-> engine
  | "registration_request" | "registration_reply" | "supervise_request" | "engine_beat"
  | "engine_exit" | "control_request" | "control_reply" | "unregistration" | "error_reply";

/** Header frame. `date` is milliseconds since the epoch at the sender. */
export interface Header {
  msg_id: string;
  msg_type: MsgType;
  session: string;
  date: number;
}

/** A message with its payload buffers, before signing or after verification. */
export interface Message<C = Record<string, unknown>, M = Record<string, unknown>> {
  header: Header;
  parent: Partial<Header>;
  metadata: M;
  content: C;
  buffers: Buffer[];
}

/** A verified message plus the routing identities it came with. */
export interface Incoming<C = Record<string, unknown>, M = Record<string, unknown>> extends Message<C, M> {
  identities: Buffer[];
  /** The signed frames as received (delimiter onwards), for forwarding without re-signing. */
  raw: Buffer[];
}

/** Why a message was dropped. */
export type DropReason = "malformed" | "bad-signature" | "replay" | "stale";

/** Counters of dropped messages, by reason. */
export type DropCounts = Record<DropReason, number>;

/** Creates a random signing key (256 bits, hex). */
export function newKey(): string {
  return randomBytes(32).toString("hex");
}

/** Creates a message id. */
export function newMsgId(): string {
  return randomUUID();
}

const EMPTY_JSON = Buffer.from("{}");

function jsonFrame(value: object): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Signs and lays out messages, and verifies incoming frames with a time-bounded replay cache.
 * One per socket owner; the key comes from the connection file.
 */
export class Codec {
  private readonly key: Buffer;
  private readonly seen = new Map<string, number>();
  private lastPurge = Date.now();
  /** Dropped-message counters, by reason. */
  readonly dropped: DropCounts = { malformed: 0, "bad-signature": 0, replay: 0, stale: 0 };

  /**
   * @param key shared secret (hex or text); an empty key disables nothing: it is refused.
   * @param replayWindowMs how long a signature is remembered; older messages are refused as stale.
   */
  constructor(key: string, readonly session: string = randomUUID(), private readonly replayWindowMs = 60_000) {
    if (!key) throw new TypeError("a signing key is required");
    this.key = Buffer.from(key);
  }

  /** Builds a header for a new message of `type`. */
  header(type: MsgType, msgId: string = newMsgId()): Header {
    return { msg_id: msgId, msg_type: type, session: this.session, date: Date.now() };
  }

  /** Signs a message into frames, preceded by `identities` when routing through a ROUTER. */
  encode(message: Message<object, object>, identities: readonly Buffer[] = []): Buffer[] {
    const parts = [
      jsonFrame(message.header),
      Object.keys(message.parent).length === 0 ? EMPTY_JSON : jsonFrame(message.parent),
      Object.keys(message.metadata).length === 0 ? EMPTY_JSON : jsonFrame(message.metadata),
      jsonFrame(message.content),
      ...message.buffers,
    ];
    return [...identities, DELIMITER, this.sign(parts), ...parts];
  }

  /** HMAC-SHA256 (hex) over the given frames. */
  sign(parts: readonly Buffer[]): Buffer {
    const hmac = createHmac("sha256", this.key);
    for (const part of parts) hmac.update(part);
    return Buffer.from(hmac.digest("hex"));
  }

  /**
   * Verifies and parses frames. Returns `undefined` (and counts the reason) for anything that is
   * not a well-formed, correctly signed, fresh message.
   */
  decode(frames: readonly Buffer[]): Incoming | undefined {
    const split = frames.findIndex((f) => f.equals(DELIMITER));
    if (split < 0 || frames.length < split + 6) return this.drop("malformed");
    const signature = frames[split + 1] as Buffer;
    const parts = frames.slice(split + 2);
    const expected = this.sign(parts);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return this.drop("bad-signature");
    // 128 bits of the signature identify a message well enough for replay detection, at half
    // the memory per remembered message.
    const sigKey = signature.toString("latin1", 0, 32);
    if (this.seen.has(sigKey)) return this.drop("replay");
    let message: Incoming;
    try {
      message = {
        identities: frames.slice(0, split),
        raw: frames.slice(split),
        header: JSON.parse((parts[0] as Buffer).toString()) as Header,
        parent: JSON.parse((parts[1] as Buffer).toString()) as Partial<Header>,
        metadata: JSON.parse((parts[2] as Buffer).toString()) as Record<string, unknown>,
        content: JSON.parse((parts[3] as Buffer).toString()) as Record<string, unknown>,
        buffers: parts.slice(4),
      };
    } catch {
      return this.drop("malformed");
    }
    const header = message.header;
    if (typeof header !== "object" || header === null || typeof header.msg_id !== "string" || typeof header.msg_type !== "string") {
      return this.drop("malformed");
    }
    const now = Date.now();
    if (typeof header.date !== "number" || Math.abs(now - header.date) > this.replayWindowMs) return this.drop("stale");
    this.remember(sigKey, now);
    return message;
  }

  /** Total of dropped messages. */
  droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + b, 0);
  }

  private remember(sigKey: string, now: number): void {
    this.seen.set(sigKey, now);
    // Signatures older than the window cannot be replayed (the date check refuses them), so
    // forgetting them keeps the cache bounded by the message rate times the window.
    if (now - this.lastPurge > this.replayWindowMs / 4) {
      this.lastPurge = now;
      const cutoff = now - this.replayWindowMs;
      for (const [key, at] of this.seen) {
        if (at >= cutoff) break;
        this.seen.delete(key);
      }
    }
  }

  private drop(reason: DropReason): undefined {
    this.dropped[reason]++;
    return undefined;
  }
}
