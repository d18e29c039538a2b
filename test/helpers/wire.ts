/**
 * Reading what the controller sends to a raw ZeroMQ peer, which may be a batch of messages.
 */
import type * as zmq from "zeromq";
import { unpackBatch } from "../../src/protocol/batch.js";
import type { Codec, Incoming } from "../../src/protocol/message.js";

/** Every message of one received ZeroMQ message that `codec` verifies, in order. */
export function decodeAll(codec: Codec, frames: Buffer[]): Incoming[] {
  return (unpackBatch(frames) ?? []).flatMap((message) => codec.decode(message) ?? []);
}

/** The first verified message of the next ZeroMQ message `socket` receives. */
export async function receiveOne(socket: zmq.Dealer, codec: Codec): Promise<Incoming | undefined> {
  return decodeAll(codec, await socket.receive())[0];
}
