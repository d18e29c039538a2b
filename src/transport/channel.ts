/**
 * One ZeroMQ socket with one reader loop and one send queue. zeromq.js allows a single pending
 * `send()` and `receive()` per socket (a second one fails with EBUSY), so every writer goes
 * through the queue and every message is read by the loop.
 */
import * as zmq from "zeromq";
import { Codec, DEFAULT_REPLAY_WINDOW_MS } from "../protocol/message.js";
import type { Incoming } from "../protocol/message.js";

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

  constructor(
    readonly socket: ZmqSocket,
    private readonly codec: Codec,
  ) {}

  /**
   * Starts the reader loop; each verified message goes to `handler`, others are dropped,
   * counted by the codec and reported to `onDrop`.
   */
  start(handler: MessageHandler, onError: (error: unknown) => void = () => {}, onDrop: (total: number) => void = () => {}): void {
    this.reading = (async () => {
      try {
        for await (const frames of this.socket) {
          const message = this.codec.decode(frames);
          if (message === undefined) {
            onDrop(this.codec.droppedTotal());
            continue;
          }
          try {
            handler(message);
          } catch (error) {
            onError(error);
          }
        }
      } catch (error) {
        // A receive pending at close() rejects with EAGAIN; that is a normal end.
        if (!this.closed) onError(error);
      }
    })();
  }

  /** Queues already-encoded frames. */
  sendFrames(frames: Buffer[]): void {
    if (this.closed) return;
    this.queue.push(frames);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const frames = this.queue.shift() as Buffer[];
        try {
          await this.socket.send(frames);
        } catch {
          // A peer that vanished (EHOSTUNREACH with mandatory routing) loses this message only;
          // the hub notices the peer's death through its supervisor or heartbeat.
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
    let left = this.queue.length;
    let progressAt = Date.now();
    while ((this.queue.length > 0 || this.pumping) && Date.now() - progressAt < idleMs) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (this.queue.length < left) progressAt = Date.now();
      left = this.queue.length;
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
 * The codec of one process's socket owner. `PARALLAX_REPLAY_WINDOW_MS` shortens the replay
 * window, so that tests can hold messages longer than it without waiting a minute; it is not
 * meant for production (the default suits clocks that agree within a minute).
 * @throws RangeError when the variable is set but not a positive integer.
 */
export function newCodec(key: string): Codec {
  const raw = process.env.PARALLAX_REPLAY_WINDOW_MS;
  if (raw === undefined || raw === "") return new Codec(key, undefined, DEFAULT_REPLAY_WINDOW_MS);
  const window = Number(raw);
  if (!Number.isSafeInteger(window) || window <= 0)
    throw new RangeError(`PARALLAX_REPLAY_WINDOW_MS must be a positive integer (ms), got ${JSON.stringify(raw)}`);
  return new Codec(key, undefined, window);
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
