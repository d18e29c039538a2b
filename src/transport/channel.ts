/**
 * One ZeroMQ socket with one reader loop and one send queue. zeromq.js allows a single pending
 * `send()` and `receive()` per socket (a second one fails with EBUSY), so every writer goes
 * through the queue and every message is read by the loop.
 *
 * What is queued within one turn of the event loop goes out together: after the turn's first
 * message, which leaves at once, the queue is sent from `setImmediate`, as batches (see
 * `src/protocol/batch.ts`), one per peer and turn unless it is large. A send costs per frame far more than per byte, so this is what lets a busy process
 * move thousands of small messages a second.
 */
// First: finds the module zeromq.js loads its addon with, before zeromq.js asks Node for it.
import "./zeromq-resolve.js";
import * as zmq from "zeromq";
import { envelopeStart, packBatches, unpackBatch } from "../protocol/batch.js";
import type { Batch } from "../protocol/batch.js";
import { Codec, DEFAULT_REPLAY_WINDOW_MS } from "../protocol/message.js";
import type { Incoming, PayloadCheck } from "../protocol/message.js";

/** Messages taken from the queue per round of the send loop (a round sends one batch or more per peer). */
const ROUND_MESSAGES = 1024;

// Without this, a process with messages queued for a vanished peer hangs at exit.
zmq.context.blocky = false;

/** A socket kind the channel can wrap. */
export type ZmqSocket = zmq.Router | zmq.Dealer;

/** Handler for verified messages. */
export type MessageHandler = (message: Incoming) => void;

/** Wraps a socket: verifies incoming frames with `codec`, queues outgoing frames. */
export class Channel {
  private readonly queue: Buffer[][] = [];
  private pumping = false;
  private closed = false;
  private reading: Promise<void> | undefined;
  /** Messages handed to the socket so far: how {@link flush} sees progress. */
  private sent = 0;
  /** Something was sent in this turn of the event loop: what comes next waits for the turn's end. */
  private sentThisTurn = false;

  constructor(
    readonly socket: ZmqSocket,
    private readonly codec: Codec,
  ) {}

  /**
   * Starts the reader loop; each verified message goes to `handler`, others are dropped,
   * counted by the codec and reported to `onDrop`. A message whose signature holds but whose
   * payload does not match its digests goes to `onDamaged` (to be answered without being used),
   * or is only dropped without it.
   */
  start(
    handler: MessageHandler,
    onError: (error: unknown) => void = () => {},
    onDrop: (total: number) => void = () => {},
    onDamaged?: MessageHandler,
  ): void {
    const receive = (message: Incoming): void => {
      if (message.damaged === undefined) handler(message);
      else if (onDamaged) onDamaged(message);
      else onDrop(this.codec.droppedTotal());
    };
    this.reading = (async () => {
      try {
        for await (const frames of this.socket) {
          const messages = unpackBatch(frames);
          if (messages === undefined) {
            this.codec.dropped.malformed++;
            onDrop(this.codec.droppedTotal());
            continue;
          }
          for (const message of messages) this.deliver(message, receive, onError, onDrop);
        }
      } catch (error) {
        // A receive pending at close() rejects with EAGAIN; that is a normal end.
        if (!this.closed) onError(error);
      }
    })();
  }

  private deliver(frames: Buffer[], handler: MessageHandler, onError: (error: unknown) => void, onDrop: (total: number) => void): void {
    const message = this.codec.decode(frames);
    if (message === undefined) {
      onDrop(this.codec.droppedTotal());
      return;
    }
    try {
      handler(message);
    } catch (error) {
      onError(error);
    }
  }

  /**
   * Queues already-encoded frames (`[routing ids…, DELIMITER, …]`) and sends them in order per
   * peer: the first message of a turn of the event loop at once (a lone round trip waits for
   * nothing), what follows in the same turn together once the turn is over.
   */
  sendFrames(frames: Buffer[]): void {
    if (this.closed) return;
    this.queue.push(frames);
    if (this.pumping) return;
    this.pumping = true;
    if (this.sentThisTurn) {
      setImmediate(() => void this.pump());
      return;
    }
    this.sentThisTurn = true;
    setImmediate(() => (this.sentThisTurn = false));
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        const round = this.queue.splice(0, ROUND_MESSAGES);
        for (const batch of batchesByPeer(round)) {
          try {
            await this.socket.send(batch.frames);
          } catch {
            // A peer that vanished (EHOSTUNREACH with mandatory routing) loses these messages
            // only; the hub notices the peer's death through its supervisor or heartbeat.
          }
          this.sent += batch.messages;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Waits until the send queue is handed to the socket. A long queue takes as long as it needs;
   * the wait gives up only when the socket takes nothing for `idleMs`.
   */
  async flush(idleMs = 1000): Promise<void> {
    let sent = this.sent;
    let progressAt = Date.now();
    while ((this.queue.length > 0 || this.pumping) && Date.now() - progressAt < idleMs) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (this.sent > sent) progressAt = Date.now();
      sent = this.sent;
    }
  }

  /** Hands queued messages to the socket (see {@link flush}), then closes it; the reader loop ends quietly. */
  async close(flushMs = 0): Promise<void> {
    if (this.closed) return;
    if (flushMs > 0) await this.flush(flushMs);
    this.closed = true;
    this.socket.close();
    await this.reading?.catch(() => {});
  }
}

/**
 * Groups encoded messages by peer (keeping each peer's order) and lays each group out as
 * batches. Messages to different peers have no order between them on a ROUTER anyway.
 */
function batchesByPeer(messages: readonly Buffer[][]): Batch[] {
  if (messages.length === 1) {
    // A message alone in its turn (a round trip at a time): no grouping to do.
    const frames = messages[0] as Buffer[];
    const start = Math.max(envelopeStart(frames), 0);
    return packBatches(frames.slice(0, start), [frames.slice(start)]);
  }
  const peers = new Map<string, { identities: Buffer[]; messages: Buffer[][] }>();
  for (const frames of messages) {
    const start = Math.max(envelopeStart(frames), 0);
    const identities = frames.slice(0, start);
    const key =
      identities.length === 1 ? (identities[0] as Buffer).toString("latin1") : identities.map((id) => id.toString("latin1")).join("\u0000");
    let peer = peers.get(key);
    if (!peer) peers.set(key, (peer = { identities, messages: [] }));
    peer.messages.push(start === 0 ? frames : frames.slice(start));
  }
  return [...peers.values()].flatMap((peer) => packBatches(peer.identities, peer.messages));
}

/**
 * The codec of one process's socket owner, checking payloads as `payloads` says. `PARALLAX_REPLAY_WINDOW_MS` shortens the replay
 * window, so that tests can hold messages longer than it without waiting a minute; it is not
 * meant for production (the default suits clocks that agree within a minute).
 * @throws RangeError when the variable is set but not a positive integer.
 */
export function newCodec(key: string, payloads: PayloadCheck = "verify"): Codec {
  const raw = process.env.PARALLAX_REPLAY_WINDOW_MS;
  if (raw === undefined || raw === "") return new Codec(key, undefined, DEFAULT_REPLAY_WINDOW_MS, payloads);
  const window = Number(raw);
  if (!Number.isSafeInteger(window) || window <= 0)
    throw new RangeError(`PARALLAX_REPLAY_WINDOW_MS must be a positive integer (ms), got ${JSON.stringify(raw)}`);
  return new Codec(key, undefined, window, payloads);
}

/**
 * Creates a DEALER connected to `address`; `linger` bounds how long unsent messages survive
 * close(). With `curveServerKey` the connection is encrypted (CURVE) and must reach that server.
 */
export function connectDealer(address: string, routingId?: string, linger = 0, curveServerKey?: string): zmq.Dealer {
  // With CURVE, each connecting socket uses a fresh key pair; only the server's key is shared.
  const curve = curveServerKey
    ? (() => {
        const own = zmq.curveKeyPair();
        return { curveServerKey, curvePublicKey: own.publicKey, curveSecretKey: own.secretKey };
      })()
    : {};
  const socket = new zmq.Dealer({ linger, sendHighWaterMark: 0, receiveHighWaterMark: 0, ...(routingId ? { routingId } : {}), ...curve });
  socket.connect(address);
  return socket;
}

/**
 * Creates a ROUTER bound to `address` (port 0 or `*` picks a free port) and returns it with its
 * endpoint. A peer sending a frame over `maxMessageSize` bytes is disconnected by libzmq before
 * the frame is held in memory (-1: no limit). With `curveSecretKey` the socket is a CURVE server.
 * `intakePerPeer` bounds the messages libzmq reads ahead from each peer (0: no bound): past it,
 * libzmq stops reading that peer's connection, so a flooding peer waits in its own memory
 * instead of this process's; nothing is dropped.
 */
export async function bindRouter(
  address: string,
  maxMessageSize = -1,
  curveSecretKey?: string,
  intakePerPeer = 0,
): Promise<{ socket: zmq.Router; endpoint: string }> {
  const curve = curveSecretKey ? { curveServer: true, curveSecretKey } : {};
  const socket = new zmq.Router({
    linger: 0,
    mandatory: false,
    sendHighWaterMark: 0,
    receiveHighWaterMark: intakePerPeer,
    maxMessageSize,
    ...curve,
  });
  await socket.bind(address);
  return { socket, endpoint: socket.lastEndpoint ?? address };
}
