// The typed wire: every malformed shape is refused with a ProtocolError that names the message
// and the field, and well-formed messages of every kind pass with their type.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProtocolError, TaskAborted, toWire } from "../../src/errors.js";
import type { Incoming, MsgType } from "../../src/protocol/message.js";
import { problemAt } from "../../src/protocol/guard.js";
import { QUERY_REPLY } from "../../src/protocol/query-table.js";
import { WireGate, checkMessage } from "../../src/protocol/wire.js";

const ALL: MsgType[] = [
  "ping",
  "pong",
  "apply_request",
  "apply_reply",
  "query_request",
  "query_reply",
  "notification",
  "stream",
  "error_reply",
  "registration_request",
  "registration_reply",
  "supervise_request",
  "engine_beat",
  "supervisor_beat",
  "engine_exit",
  "control_request",
];

function incoming(msgType: string, content: unknown, metadata: unknown = {}): Incoming {
  return {
    header: { msgId: "m-1", msgType: msgType as MsgType, session: "s", date: Date.now(), seq: 1 },
    parent: {},
    metadata: metadata as Record<string, unknown>,
    content: content as Record<string, unknown>,
    buffers: [],
    identities: [],
    raw: [],
  };
}

/** Asserts that the message is refused with a ProtocolError whose message matches `reason`. */
function refused(msgType: string, content: unknown, metadata: unknown, reason: RegExp): void {
  const result = checkMessage(incoming(msgType, content, metadata), ALL);
  assert.ok(result instanceof ProtocolError, `${msgType} ${JSON.stringify(content)} ${JSON.stringify(metadata)} was accepted`);
  assert.match(result.message, reason);
  assert.match(result.message, new RegExp(`^(malformed ${msgType} m-1: |unknown message type)`));
}

const source = { __parallax_can__: "source", src: "(x) => x", name: "f" };

test("well-formed messages of every type pass, narrowed by their type", () => {
  const samples: Array<[MsgType, unknown, unknown?]> = [
    ["ping", {}],
    ["pong", {}],
    ["apply_request", { op: "call", fn: source, canned: true, argFrames: 1, refFrames: { a: [1, 2] } }, { engine: 0, label: "x" }],
    ["apply_request", { op: "map", fn: { __parallax_can__: "module", path: "/m.js", exportName: "default" } }, { retries: 2 }],
    ["apply_request", { op: "execute", code: "1 + 1", filename: "x.js" }],
    ["apply_request", { op: "push", canned: false }],
    ["apply_request", { op: "pull", names: ["a", "b"] }],
    ["apply_request", { op: "pull", names: "a" }],
    ["apply_request", { op: "clear" }],
    ["apply_request", { op: "require", modules: { fs: "node:fs" } }],
    [
      "apply_request",
      { op: "call", fn: source },
      { after: { ids: ["a"], all: true, success: true, failure: false }, targets: [0, 1], argRefs: ["a"], memoKey: "k" },
    ],
    ["apply_reply", { status: "ok", canned: true }, { engineId: 0, started: 1, completed: 2, replySeq: 3, stdout: "", fromHub: false }],
    ["apply_reply", { status: "aborted", error: toWire(new TaskAborted("gone"), "engine", 1) }],
    ["apply_reply", { status: "error", error: { ename: "E", evalue: "v", remoteStack: "", origin: "user", code: "ENOENT", item: 2 } }],
    ["stream", { name: "stdout", text: "hi" }],
    ["query_request", { op: "get_result", msgIds: ["a"] }],
    ["query_request", { op: "abort", msgIds: "all" }],
    ["query_request", { op: "db_query", filter: { label: "x" }, keys: ["label"] }],
    ["query_reply", { msgIds: [] }],
    ["notification", { event: "registration", id: 0, info: { pid: 1, hostname: "h" } }],
    ["notification", { event: "shutdown" }],
    ["error_reply", { error: toWire(new ProtocolError("no"), "controller") }],
    ["registration_request", { pid: 1, hostname: "h", cwd: "/", readopt: true, requestedId: 3, held: ["a"] }],
    ["registration_reply", { id: 0, heartbeatInterval: 1000 }],
    ["supervise_request", { engineId: 0, pid: 2, supervisorPid: 3 }],
    ["engine_beat", { engineId: 0, stats: { cpu: 12.5, rss: 1e6 } }],
    ["supervisor_beat", { beats: [{ engineId: 0, stats: { cpu: 12.5, rss: 1e6 } }, { engineId: 1 }] }],
    ["supervisor_beat", { beats: [] }],
    ["engine_exit", { engineId: 0, code: null, signal: "SIGKILL", reason: "oom" }],
    ["control_request", { op: "ack", seq: 4 }],
    ["control_request", { op: "abort", msgIds: ["a"] }],
    ["control_request", { op: "signal", signal: "SIGINT" }],
  ];
  for (const [type, content, metadata] of samples) {
    const result = checkMessage(incoming(type, content, metadata ?? {}), ALL);
    assert.ok(!(result instanceof ProtocolError), `${type} ${JSON.stringify(content)}: ${String(result)}`);
    assert.equal(result.type, type);
  }
});

test("a message type the receiver does not accept is refused by name", () => {
  const result = checkMessage(incoming("engine_beat", { engineId: 0 }), ["ping", "apply_request"]);
  assert.ok(result instanceof ProtocolError);
  assert.match(result.message, /unknown message type "engine_beat"/);
  refused("no_such_type", {}, {}, /unknown message type "no_such_type"/);
});

test("malformed apply requests are refused naming the field, per op", () => {
  refused("apply_request", [], {}, /content must be an object, got an array/);
  refused("apply_request", { op: "launch" }, {}, /content\.op must be one of "call", "map", .* got the string "launch"/);
  refused("apply_request", { fn: source }, {}, /content\.op must be one of/);
  refused("apply_request", { op: "call" }, {}, /content\.fn must be an object, got undefined/);
  refused("apply_request", { op: "call", fn: { ...source, src: 42 } }, {}, /content\.fn\.src must be a string, got number 42/);
  refused(
    "apply_request",
    { op: "map", fn: { __parallax_can__: "result", msgId: "a" } },
    {},
    /content\.fn\.__parallax_can__ must be one of "source", "module", got the string "result"/,
  );
  refused("apply_request", { op: "call", fn: source, refFrames: { a: [1] } }, {}, /content\.refFrames\.a must be a pair/);
  refused("apply_request", { op: "call", fn: source, argFrames: 1.5 }, {}, /content\.argFrames must be an integer, got number 1\.5/);
  refused("apply_request", { op: "execute" }, {}, /content\.code must be a string, got undefined/);
  refused("apply_request", { op: "pull", names: [1] }, {}, /content\.names must be a name or a list of names, got an array/);
  refused("apply_request", { op: "require", modules: { fs: 1 } }, {}, /content\.modules\.fs must be a string/);
  refused("apply_request", { op: "push", canned: "yes" }, {}, /content\.canned must be true or false/);
});

test("malformed request metadata is refused naming the field", () => {
  const call = { op: "call", fn: source };
  refused("apply_request", call, { engine: "0" }, /metadata\.engine must be an integer, got the string "0"/);
  refused(
    "apply_request",
    call,
    { after: { ids: "a", all: true, success: true, failure: false } },
    /metadata\.after\.ids must be an array/,
  );
  refused("apply_request", call, { follow: { ids: [], all: true, success: true } }, /metadata\.follow\.failure must be true or false/);
  refused("apply_request", call, { targets: [0, "1"] }, /metadata\.targets\[1\] must be an integer/);
  refused("apply_request", call, { timeout: null }, /metadata\.timeout must be a number, got null/);
  refused("apply_request", call, [], /metadata must be an object/);
});

test("malformed replies and their errors are refused naming the field", () => {
  refused("apply_reply", { status: "done" }, {}, /content\.status must be one of "ok", "error", "aborted"/);
  refused("apply_reply", { status: "error", error: "boom" }, {}, /content\.error must be an object, got the string "boom"/);
  const error = { ename: "E", evalue: "v", remoteStack: "" };
  refused(
    "apply_reply",
    { status: "error", error: { ...error, origin: "elsewhere" } },
    {},
    /content\.error\.origin must be one of "controller", "engine", "user"/,
  );
  refused(
    "apply_reply",
    { status: "error", error: { ...error, origin: "controller", code: "ENOENT" } },
    {},
    /content\.error\.code must be one of "PARALLAX_ERROR"/,
  );
  refused(
    "apply_reply",
    { status: "error", error: { ...error, evalue: 1, origin: "user" } },
    {},
    /content\.error\.evalue must be a string/,
  );
  refused("apply_reply", { status: "ok" }, { replySeq: "3" }, /metadata\.replySeq must be an integer/);
  refused("stream", { name: "stdin", text: "" }, {}, /content\.name must be one of "stdout", "stderr"/);
  refused("error_reply", { error: "refused" }, {}, /content\.error must be an object/);
});

test("malformed engine, supervisor and control messages are refused naming the field", () => {
  refused("registration_request", { hostname: "h", cwd: "/" }, {}, /content\.pid must be an integer, got undefined/);
  refused("registration_request", { pid: 1, hostname: "h", cwd: "/", held: "a" }, {}, /content\.held must be an array/);
  refused("registration_reply", { id: 0 }, {}, /content\.heartbeatInterval must be a number/);
  refused("supervise_request", { engine_id: 0, supervisorPid: 1 }, {}, /content\.engineId must be an integer, got undefined/);
  refused("engine_beat", { engineId: 0, stats: { cpu: null, rss: 1 } }, {}, /content\.stats\.cpu must be a number, got null/);
  refused("supervisor_beat", { engineId: 0 }, {}, /content\.beats must be an array, got undefined/);
  refused("supervisor_beat", { beats: [{ engineId: 0 }, { engineId: "1" }] }, {}, /content\.beats\[1\]\.engineId must be an integer/);
  refused("engine_exit", { engineId: 0, code: "1", signal: null }, {}, /content\.code must be an integer, got the string "1"/);
  refused("control_request", { op: "explode" }, {}, /content\.op must be one of "ack", "abort", /);
  refused("control_request", { op: "abort" }, {}, /content\.msgIds must be an array, got undefined/);
  refused("control_request", { op: "ack", seq: -0.5 }, {}, /content\.seq must be an integer/);
  refused("notification", { event: "registration", id: 0 }, {}, /content\.info must be an object, got undefined/);
});

test("malformed queries are refused naming the field, per op", () => {
  refused("query_request", { op: "drop_tables" }, {}, /content\.op must be one of "connect", /);
  refused("query_request", { op: "get_result", msgIds: "a" }, {}, /content\.msgIds must be an array, got the string "a"/);
  refused("query_request", { op: "abort", msgIds: "some" }, {}, /content\.msgIds must be a list of msg ids or "all"/);
  refused("query_request", { op: "signal" }, {}, /content\.signal must be a string, got undefined/);
  refused("query_request", { op: "resubmit", msgIds: ["a"], newIds: [1] }, {}, /content\.newIds\[0\] must be a string, got number 1/);
  refused("query_request", { op: "shutdown", hub: "yes" }, {}, /content\.hub must be true or false/);
  refused("query_request", { op: "queue_status", targets: [0.5] }, {}, /content\.targets\[0\] must be an integer/);
  refused("query_reply", "ok", {}, /content must be an object, got the string "ok"/);
});

test("query replies are checked against the shape of the query asked", () => {
  assert.equal(problemAt(QUERY_REPLY.history, { msgIds: ["a"] }, "content"), undefined);
  assert.match(String(problemAt(QUERY_REPLY.history, { records: [] }, "content")), /content\.msgIds must be an array, got undefined/);
  assert.equal(problemAt(QUERY_REPLY.queue_status, { 0: { queue: 1, tasks: 0, completed: 3 }, unassigned: 0 }, "content"), undefined);
  assert.match(
    String(problemAt(QUERY_REPLY.queue_status, { 0: { queue: 1 }, unassigned: 0 }, "content")),
    /content\.0\.tasks must be an integer/,
  );
  assert.match(String(problemAt(QUERY_REPLY.queue_status, { x: {}, unassigned: 0 }, "content")), /content\.x is not an engine id/);
  const finished = { msgId: "a", status: "ok", content: { status: "ok" }, metadata: {}, frames: [0, 1], submitted: 1 };
  assert.equal(
    problemAt(QUERY_REPLY.get_result, { results: [finished, { msgId: "b", status: "pending", engineId: null }] }, "content"),
    undefined,
  );
  assert.match(
    String(problemAt(QUERY_REPLY.get_result, { results: [{ ...finished, frames: [0] }] }, "content")),
    /content\.results\[0\]\.frames must be a pair/,
  );
  assert.match(
    String(problemAt(QUERY_REPLY.get_result, { results: [{ msgId: "a", status: "lost" }] }, "content")),
    /content\.results\[0\]\.status/,
  );
  assert.match(
    String(problemAt(QUERY_REPLY.connect, { engines: [{ id: 0 }], heartbeatInterval: 1, maxMessageBytes: 1 }, "content")),
    /content\.engines\[0\]\.pid/,
  );
});

test("a gate counts what it refuses and passes the rest", () => {
  const gate = new WireGate(["ping", "apply_request"]);
  assert.ok(!(gate.admit(incoming("ping", {})) instanceof ProtocolError));
  assert.ok(gate.admit(incoming("pong", {})) instanceof ProtocolError);
  assert.ok(gate.admit(incoming("apply_request", { op: "call" })) instanceof ProtocolError);
  assert.equal(gate.refused, 2);
});
