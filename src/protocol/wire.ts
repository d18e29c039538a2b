/**
 * The typed wire: what each message type carries, and the checks that turn a verified message
 * into one of them. A process checks every message once, where it enters (the hub, an engine, a
 * supervisor, a client), and handles the result as a discriminated union on `type`, the way
 * vscode-jsonrpc's `Message.isRequest` narrows a JSON-RPC message: no cast of contents after
 * that point. A malformed message becomes a ProtocolError naming the message and the field.
 * Pure: no I/O.
 */
import { ProtocolError } from "../errors.js";
import {
  APPLY_CONTENT,
  CONTROL,
  EMPTY,
  NOTIFICATION,
  PROCESS_STATS,
  REPLY_CONTENT,
  REPLY_METADATA,
  REQUEST_METADATA,
  WIRE_ERROR,
} from "./content-guards.js";
import type {
  ApplyContent,
  ControlContent,
  Empty,
  EngineBeatContent,
  EngineExitContent,
  ErrorReplyContent,
  NotificationContent,
  RegistrationContent,
  RegistrationReplyContent,
  ReplyContent,
  ReplyMetadata,
  RequestMetadata,
  StreamContent,
  SuperviseContent,
  SupervisorBeatContent,
} from "./contents.js";
import { array, boolean, integer, literal, nullable, number, object, optional, problemAt, string } from "./guard.js";
import type { Guard } from "./guard.js";
import type { Codec, Incoming, Message, MsgType } from "./message.js";
import { QUERY_REPLY_CONTENT, QUERY_REQUEST } from "./query-table.js";
import type { QueryReplyContent, QueryRequest } from "./query-table.js";

/** What each message type carries. */
export interface WireTable {
  ping: { content: Empty; metadata: Empty };
  pong: { content: Empty; metadata: Empty };
  apply_request: { content: ApplyContent; metadata: RequestMetadata };
  apply_reply: { content: ReplyContent; metadata: ReplyMetadata };
  stream: { content: StreamContent; metadata: Empty };
  query_request: { content: QueryRequest; metadata: Empty };
  /** Checked against the query's own reply shape by the client, which knows what it asked. */
  query_reply: { content: QueryReplyContent; metadata: Empty };
  notification: { content: NotificationContent; metadata: Empty };
  error_reply: { content: ErrorReplyContent; metadata: Empty };
  registration_request: { content: RegistrationContent; metadata: Empty };
  registration_reply: { content: RegistrationReplyContent; metadata: Empty };
  supervise_request: { content: SuperviseContent; metadata: Empty };
  engine_beat: { content: EngineBeatContent; metadata: Empty };
  supervisor_beat: { content: SupervisorBeatContent; metadata: Empty };
  engine_exit: { content: EngineExitContent; metadata: Empty };
  control_request: { content: ControlContent; metadata: Empty };
}

/** A verified message of type `T`, its content and metadata checked; `type` narrows the union. */
export type WireMessage<T extends MsgType = MsgType> = {
  [K in T]: Incoming<WireTable[K]["content"], WireTable[K]["metadata"]> & { type: K };
}[T];

/** Content of a message of type `T`, as a sender builds it. */
export type ContentOf<T extends MsgType> = WireTable[T]["content"];
/** Metadata of a message of type `T`, as a sender builds it. */
export type MetadataOf<T extends MsgType> = WireTable[T]["metadata"];

/** The optional parts of an outgoing message: empty when absent. */
export interface OutgoingParts<T extends MsgType> {
  metadata?: MetadataOf<T>;
  /** The msg id of the message this one answers. */
  parentId?: string | undefined;
  buffers?: Buffer[];
}

/** A new message of type `T` in `codec`'s session, for `codec.encode`: the sender's types are checked here. */
export function outgoing<T extends MsgType>(
  codec: Codec,
  type: T,
  content: ContentOf<T>,
  parts: OutgoingParts<T> = {},
): Message<ContentOf<T>, MetadataOf<T>> {
  return {
    header: codec.header(type),
    parent: parts.parentId === undefined ? {} : { msgId: parts.parentId },
    metadata: parts.metadata ?? {},
    content,
    buffers: parts.buffers ?? [],
  };
}

const ENGINE_BEAT = object<EngineBeatContent>({ engineId: integer, stats: optional(PROCESS_STATS) });

/** Content and metadata guards of every message type: a type without them does not compile. */
const MESSAGES: { [T in MsgType]: { content: Guard<WireTable[T]["content"]>; metadata: Guard<WireTable[T]["metadata"]> } } = {
  ping: { content: EMPTY, metadata: EMPTY },
  pong: { content: EMPTY, metadata: EMPTY },
  apply_request: { content: APPLY_CONTENT, metadata: REQUEST_METADATA },
  apply_reply: { content: REPLY_CONTENT, metadata: REPLY_METADATA },
  stream: { content: object<StreamContent>({ name: literal("stdout", "stderr"), text: string }), metadata: EMPTY },
  query_request: { content: QUERY_REQUEST, metadata: EMPTY },
  query_reply: { content: QUERY_REPLY_CONTENT, metadata: EMPTY },
  notification: { content: NOTIFICATION, metadata: EMPTY },
  error_reply: { content: object<ErrorReplyContent>({ error: WIRE_ERROR }), metadata: EMPTY },
  registration_request: {
    content: object<RegistrationContent>({
      pid: integer,
      hostname: string,
      requestedId: optional(integer),
      readopt: optional(boolean),
      held: optional(array(string)),
      cwd: string,
    }),
    metadata: EMPTY,
  },
  registration_reply: { content: object<RegistrationReplyContent>({ id: integer, heartbeatInterval: number }), metadata: EMPTY },
  supervise_request: {
    content: object<SuperviseContent>({ engineId: integer, pid: optional(integer), supervisorPid: integer }),
    metadata: EMPTY,
  },
  engine_beat: { content: ENGINE_BEAT, metadata: EMPTY },
  supervisor_beat: { content: object<SupervisorBeatContent>({ beats: array(ENGINE_BEAT) }), metadata: EMPTY },
  engine_exit: {
    content: object<EngineExitContent>({ engineId: integer, code: nullable(integer), signal: nullable(string), reason: optional(string) }),
    metadata: EMPTY,
  },
  control_request: { content: CONTROL, metadata: EMPTY },
};

/**
 * Checks a verified message against the types a receiver accepts. Returns the typed message,
 * or a ProtocolError naming the message type and the first field that was wrong.
 */
export function checkMessage<const T extends MsgType>(message: Incoming, accepted: readonly T[]): WireMessage<T> | ProtocolError {
  const type = message.header.msgType;
  if (!(accepted as readonly string[]).includes(type)) return new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  const guards = MESSAGES[type];
  const problem = problemAt(guards.content, message.content, "content") ?? problemAt(guards.metadata, message.metadata, "metadata");
  if (problem !== undefined) return new ProtocolError(`malformed ${type} ${message.header.msgId}: ${problem}`);
  // The message itself, tagged: a discriminant at the top level is what narrows the union.
  (message as Incoming & { type: MsgType }).type = type;
  return message as unknown as WireMessage<T>;
}

/**
 * A receiver's entrance: checks each message against the types it accepts and counts those it
 * refuses. One per receiving socket.
 */
export class WireGate<T extends MsgType> {
  /** Messages refused so far (unknown type or malformed). */
  refused = 0;

  constructor(private readonly accepted: readonly T[]) {}

  /** The typed message, or the ProtocolError that says why it was refused (and counted). */
  admit(message: Incoming): WireMessage<T> | ProtocolError {
    const checked = checkMessage(message, this.accepted);
    if (checked instanceof ProtocolError) this.refused++;
    return checked;
  }
}
