/**
 * The controller's heart: a socket of its own that echoes clients' pings from a worker thread.
 *
 * Messages on one connection arrive in order, so a ping queued behind a 512 MiB request waits
 * for all of it, and a controller busy with a large message answers nothing meanwhile. Either
 * made a live controller look dead to its clients. The heart has its own connection and its own
 * thread, so neither can delay it. Like IPython Parallel's heart device, it tells that the
 * controller's process is alive, not that its main loop is free; pings on the main socket still
 * tell a restarted controller (a new session) from the one that was there.
 */
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import * as zmq from "zeromq";

/** Largest frame the heart accepts (a ping is a few bytes, a CURVE handshake a few hundred); a bigger one disconnects its sender. */
const PING_LIMIT = 4096;

/**
 * The heart's thread, as source: it runs compiled or under tsx alike, with nothing to resolve
 * but the zeromq package (whose URL it is given).
 */
const HEART_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
let heart;
const stop = () => {
  if (heart && !heart.closed) heart.close();
  parentPort.close();
};
import(workerData.zeromq)
  .then(async (zmq) => {
    const curve = workerData.curveSecretKey ? { curveServer: true, curveSecretKey: workerData.curveSecretKey } : {};
    heart = new zmq.Router({ linger: 0, maxMessageSize: workerData.pingLimit, ...curve });
    await heart.bind(workerData.address);
    parentPort.once("message", stop);
    parentPort.postMessage({ endpoint: heart.lastEndpoint });
    for await (const frames of heart) await heart.send(frames);
  })
  .catch((error) => {
    if (heart && heart.closed) return;
    parentPort.postMessage({ error: String(error && error.message ? error.message : error) });
    stop();
  });
`;

/** A running heart. */
export interface Heart {
  /** The address it is bound to (`tcp://host:port`). */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts the heart's thread, bound to `address` (port 0 or `*` picks a free one); with
 * `curveSecretKey` it is a CURVE server like the controller's other sockets.
 */
export function startHeart(address: string, curveSecretKey?: string): Promise<Heart> {
  const worker = new Worker(HEART_THREAD, {
    eval: true,
    workerData: { address, curveSecretKey, pingLimit: PING_LIMIT, zeromq: import.meta.resolve("zeromq") },
  });
  worker.unref();
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (message: { endpoint?: string; error?: string }) => {
      if (message.error !== undefined || message.endpoint === undefined) {
        reject(new Error(`the controller's heart could not bind ${address}: ${message.error ?? "no endpoint"}`));
        return;
      }
      resolve({
        endpoint: message.endpoint,
        async stop() {
          // The thread closes its socket and ends by itself: terminating a thread that holds an
          // open ZeroMQ socket aborts the process.
          const exited = once(worker, "exit");
          worker.ref();
          worker.postMessage("stop");
          await exited;
        },
      });
    });
  });
}

/**
 * A client's side of the heart: `ping()` sends one ping (none while the previous one is still
 * being handed to the socket), and `onBeat` runs for every echo.
 */
export class HeartMonitor {
  private readonly socket: zmq.Dealer;
  private sending = false;

  constructor(address: string, onBeat: () => void, curveServerKey?: string) {
    const own = curveServerKey ? zmq.curveKeyPair() : undefined;
    this.socket = new zmq.Dealer({
      linger: 0,
      // A controller that is away does not need a backlog of pings when it comes back.
      sendHighWaterMark: 1,
      ...(own ? { curveServerKey, curvePublicKey: own.publicKey, curveSecretKey: own.secretKey } : {}),
    });
    this.socket.connect(address);
    void this.listen(onBeat);
  }

  ping(): void {
    if (this.sending || this.socket.closed) return;
    this.sending = true;
    this.socket.send(Buffer.from("ping")).then(
      () => (this.sending = false),
      () => (this.sending = false),
    );
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }

  private async listen(onBeat: () => void): Promise<void> {
    try {
      for await (const _ of this.socket) onBeat();
    } catch {
      // Closed while waiting: the client is closing.
    }
  }
}
