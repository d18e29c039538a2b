/**
 * The link between an engine and the supervisor that started it: one JSON message a line over a
 * pipe the engine holds as its file descriptor 3. Node's IPC channel carried these messages
 * before, but a child started with one sets it up before its first line runs, which loads
 * `child_process`, `dgram`, V8's serializer and more: about 5 % of an engine's CPU to start, paid
 * by every engine of a host. A pipe read as a socket costs less.
 */
import { Socket } from "node:net";

/** The engine's end of the link: its file descriptor. */
export const LINK_FD = 3;

/** One end of a link: sends messages of type `Out`, hands those of type `In` to its handler. */
export class SupervisorLink<In, Out> {
  private pending = "";
  private handler: (message: In) => void = () => undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.receive(chunk));
    // Writing to an end that is gone fails with EPIPE; that the other end is gone, `onClose` tells.
    socket.on("error", () => undefined);
  }

  /** The engine's end, on the pipe its supervisor gave it. */
  static ofEngine<In, Out>(): SupervisorLink<In, Out> {
    return new SupervisorLink(new Socket({ fd: LINK_FD, readable: true, writable: true }));
  }

  /** Replaces the handler of received messages. */
  onMessage(handler: (message: In) => void): void {
    this.handler = handler;
  }

  /** Calls `handler` once the other end has closed the link (its process is gone). */
  onClose(handler: () => void): void {
    this.socket.once("close", handler);
  }

  /** Sends a message; one sent after the other end is gone is dropped. */
  send(message: Out): void {
    if (this.socket.writable) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  private receive(chunk: string): void {
    const lines = (this.pending + chunk).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) if (line.length > 0) this.handler(JSON.parse(line) as In);
  }
}
