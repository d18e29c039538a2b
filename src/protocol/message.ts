/**
 * Message layout: `[...identities, DELIMITER, signature, header, parent, metadata, content, ...buffers]`.
 * The HMAC-SHA256 signature covers the four JSON frames; the header carries a digest of each
 * payload buffer (`digests`: SHA-256, or a keyed Poly1305 tag for large buffers, see
 * `payload-digest.ts`), so the signature authenticates every byte without covering the buffers
 * themselves. A receiver drops a message whose signature is bad or missing, or
 * which it has already seen (a replay), and counts it.
 *
 * Two kinds of receivers: one that uses the payload hashes every buffer and compares it with
 * its digest before anything reads it (`"verify"`: engines, clients); one that only passes the
 * payload on (`"forward"`: the controller) checks the signature and that there is one buffer
 * per digest, and remembers the digest of each buffer, so that when it signs the buffers again
 * for the next hop it passes on the digests it was given instead of hashing the bytes. A buffer
 * altered on the way is then refused by the receiver that uses it.
 *
 * Replays are recognised without trusting clocks: every sender (one {@link Codec}, one session)
 * numbers its messages, and a receiver accepts from a session it knows only numbers above the
 * last one it accepted. The sender's date matters only for the first message of a session the
 * receiver does not know (or has forgotten), so a message that waited in a socket behind a busy
 * receiver is still accepted when it is finally read.
 * Pure apart from hashing: no sockets, no files.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { PayloadDigests } from "./payload-digest.js";

/** Separates routing identities from the signed part. */
export const DELIMITER = Buffer.from("<PLX|MSG>");

/** Every message type that crosses a socket (`wire.ts` gives each its content and metadata). */
export type MsgType =
  // client <-> controller
  | "ping"
  | "pong"
  | "apply_request"
  | "apply_reply"
  | "query_request"
  | "query_reply"
  | "notification"
  | "stream"
  | "error_reply"
  // controller <-> engine and supervisor
  | "registration_request"
  | "registration_reply"
  | "supervise_request"
  | "engine_beat"
  | "supervisor_beat"
  | "engine_exit"
  | "control_request";

/** Header frame. `date` is milliseconds since the epoch at the sender. */
export interface Header {
  msgId: string;
  msgType: MsgType;
  session: string;
  date: number;
  /** Position of the message in its session, set by {@link Codec.encode}; present on every decoded message. */
  seq?: number;
  /** The digest of each payload buffer, in order (see `payload-digest.ts`), set by {@link Codec.encode}; absent when there is none. */
  digests?: string[];
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
  /** The frames as received (delimiter onwards). */
  raw: Buffer[];
  /**
   * Set when the signature holds but a payload buffer does not match its digest (a verifying
   * receiver only): says which. The buffers must not be used; the message is counted as dropped.
   */
  damaged?: string;
}

/** Where the metadata and content frames are in {@link Incoming.raw}. */
export const RAW_METADATA = 4;
export const RAW_CONTENT = 5;

/** Why a message was dropped. */
export type DropReason = "malformed" | "bad-signature" | "bad-digest" | "replay" | "stale";

/**
 * What a receiver does with payload buffers: hash each against its signed digest (`verify`), or
 * only check there is one per digest and keep the digests to sign them again (`forward`).
 */
export type PayloadCheck = "verify" | "forward";

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

/** How far a new session's first message may be from the receiver's clock (either way). */
export const DEFAULT_REPLAY_WINDOW_MS = 60_000;

/**
 * Sessions remembered before the receiver starts forgetting those whose every message is
 * outside the replay window (a replay of them is then refused as stale). About 200 bytes each.
 */
const SESSION_MEMORY = 10_000;

/** What a receiver remembers of one sending session. */
interface SessionState {
  /** Highest sequence number accepted. */
  seq: number;
  /** Latest header date seen (the sender's clock): the session is forgettable once this is stale. */
  date: number;
}

/**
 * Signs and lays out messages, and verifies incoming frames, refusing replays by per-session
 * sequence numbers. One per socket owner (never two codecs with one session: their numbers
 * would collide); the key comes from the connection file.
 */
export class Codec {
  private readonly key: Buffer;
  private readonly digests: PayloadDigests;
  /** Known sending sessions, least recently heard first. */
  private readonly sessions = new Map<string, SessionState>();
  private nextSeq = 1;
  /** Dropped-message counters, by reason. */
  readonly dropped: DropCounts = { malformed: 0, "bad-signature": 0, "bad-digest": 0, replay: 0, stale: 0 };
  /**
   * Forwarding only: the signed digest each received buffer came with, reused when the buffer is
   * signed again (keyed by the buffer object, so a buffer made or changed here is hashed anew).
   */
  private readonly claimed = new WeakMap<Buffer, string>();

  /**
   * @param key shared secret (hex or text); an empty key disables nothing: it is refused.
   * @param replayWindowMs how far from the receiver's clock the first message of an unknown
   *   session may be dated; further is refused as stale.
   * @param payloads how received payload buffers are checked (see {@link PayloadCheck}).
   */
  constructor(
    key: string,
    readonly session: string = randomUUID(),
    private readonly replayWindowMs = DEFAULT_REPLAY_WINDOW_MS,
    readonly payloads: PayloadCheck = "verify",
  ) {
    if (!key) throw new TypeError("a signing key is required");
    if (!(replayWindowMs > 0)) throw new RangeError(`the replay window must be a positive number of ms, got ${String(replayWindowMs)}`);
    this.key = Buffer.from(key);
    this.digests = new PayloadDigests(this.key);
  }

  /** Builds a header for a new message of `type`. */
  header(type: MsgType, msgId: string = newMsgId()): Header {
    return { msgId, msgType: type, session: this.session, date: Date.now() };
  }

  /**
   * Signs a message into frames, preceded by `identities` when routing through a ROUTER. The
   * header gets this session's next sequence number (encode in the order of sending) and the
   * digests of the buffers.
   */
  encode(message: Message<object, object>, identities: readonly Buffer[] = []): Buffer[] {
    const digests = message.buffers.map((buffer) => this.claimed.get(buffer) ?? this.digests.of(buffer));
    const parts = [
      jsonFrame({ ...message.header, session: this.session, seq: this.nextSeq++, ...(digests.length > 0 ? { digests } : {}) }),
      Object.keys(message.parent).length === 0 ? EMPTY_JSON : jsonFrame(message.parent),
      Object.keys(message.metadata).length === 0 ? EMPTY_JSON : jsonFrame(message.metadata),
      jsonFrame(message.content),
    ];
    return [...identities, DELIMITER, this.sign(parts), ...parts, ...message.buffers];
  }

  /** HMAC-SHA256 (hex) over the given frames. */
  sign(parts: readonly Buffer[]): Buffer {
    const hmac = createHmac("sha256", this.key);
    for (const part of parts) hmac.update(part);
    return Buffer.from(hmac.digest("hex"));
  }

  /**
   * Verifies and parses frames. Returns `undefined` (and counts the reason) for anything that is
   * not a well-formed, correctly signed, fresh message. A verifying codec returns a message whose
   * buffer does not match its digest with `damaged` set (counted as `bad-digest`), so that its
   * receiver can answer it without using it.
   */
  decode(frames: readonly Buffer[]): Incoming | undefined {
    const split = frames.findIndex((f) => f.equals(DELIMITER));
    if (split < 0 || frames.length < split + 6) return this.drop("malformed");
    const signature = frames[split + 1] as Buffer;
    const parts = frames.slice(split + 2, split + 6);
    const expected = this.sign(parts);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return this.drop("bad-signature");
    let message: Incoming;
    try {
      message = {
        identities: frames.slice(0, split),
        raw: frames.slice(split),
        header: JSON.parse((parts[0] as Buffer).toString()) as Header,
        parent: JSON.parse((parts[1] as Buffer).toString()) as Partial<Header>,
        metadata: JSON.parse((parts[2] as Buffer).toString()) as Record<string, unknown>,
        content: JSON.parse((parts[3] as Buffer).toString()) as Record<string, unknown>,
        buffers: frames.slice(split + 6),
      };
    } catch {
      return this.drop("malformed");
    }
    const header = message.header;
    if (
      typeof header !== "object" ||
      header === null ||
      typeof header.msgId !== "string" ||
      typeof header.msgType !== "string" ||
      typeof header.session !== "string" ||
      !Number.isSafeInteger(header.seq) ||
      typeof header.date !== "number"
    ) {
      return this.drop("malformed");
    }
    const digests = header.digests ?? [];
    if (!Array.isArray(digests) || digests.length !== message.buffers.length || digests.some((d) => typeof d !== "string"))
      return this.drop("bad-digest");
    const refused = this.admit(header as Required<Header>);
    if (refused) return this.drop(refused);
    if (this.payloads === "forward") {
      message.buffers.forEach((buffer, i) => this.claimed.set(buffer, digests[i] as string));
      return message;
    }
    const bad = message.buffers.findIndex((buffer, i) => !this.digests.matches(buffer, digests[i] as string));
    if (bad < 0) return message;
    this.dropped["bad-digest"]++;
    return { ...message, damaged: `buffer ${bad + 1} of ${message.buffers.length} does not match its signed digest` };
  }

  /** Total of dropped messages. */
  droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + b, 0);
  }

  /** Sequence check for known sessions; date check for the first message of an unknown one. */
  private admit(header: Required<Header>): DropReason | undefined {
    const now = Date.now();
    const known = this.sessions.get(header.session);
    if (known) {
      if (header.seq <= known.seq) return "replay";
      // Re-inserted so that the map stays in least-recently-heard order.
      this.sessions.delete(header.session);
    } else if (Math.abs(now - header.date) > this.replayWindowMs) {
      return "stale";
    }
    this.sessions.set(header.session, { seq: header.seq, date: Math.max(known?.date ?? header.date, header.date) });
    if (this.sessions.size > SESSION_MEMORY) this.forgetStale(now);
    return undefined;
  }

  /**
   * Forgets the least recently heard sessions whose latest date is outside the window: any
   * replay of theirs is then refused as stale. Dates are the sender's, so a sender whose clock
   * runs ahead is remembered that much longer (its replays stay refused by number).
   */
  private forgetStale(now: number): void {
    for (const [session, state] of this.sessions) {
      if (this.sessions.size <= SESSION_MEMORY / 2 || now - state.date <= this.replayWindowMs) break;
      this.sessions.delete(session);
    }
  }

  private drop(reason: DropReason): undefined {
    this.dropped[reason]++;
    return undefined;
  }
}
