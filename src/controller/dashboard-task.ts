/**
 * Everything the hub knows of one task, for the dashboard's task page.
 */
import type { DashboardModel } from "./dashboard-model.js";
import type { TaskDetails, TaskLink, ViewState } from "../protocol/dashboard-feed.js";
import { dependenciesOf, finishedState, labelOf } from "./dashboard-model.js";
import type { TaskRecord } from "../scheduler/records.js";
import type { Hub } from "./hub.js";

/** Longest output or source text the page receives. */
const OUTPUT_LIMIT = 64 * 1024;

function clip(text: string | undefined): string {
  if (!text) return "";
  return text.length > OUTPUT_LIMIT ? `${text.slice(0, OUTPUT_LIMIT)}\n… (${text.length - OUTPUT_LIMIT} more characters)` : text;
}

function bytes(buffers: readonly Buffer[]): number {
  return buffers.reduce((sum, b) => sum + b.byteLength, 0);
}

function link(hub: Hub, model: DashboardModel, msgId: string): TaskLink {
  const record = hub.db.get(msgId);
  if (!record) return { msgId, label: null, state: hub.db.wasCulled(msgId) ? "culled" : "unknown" };
  return { msgId, label: labelOf(record), state: stateOf(record, model) };
}

function stateOf(record: TaskRecord, model: DashboardModel): ViewState {
  if (record.phase === "done") return finishedState(record);
  return model.view(record.msgId)?.state ?? (record.engineId === undefined ? "waiting" : "queued");
}

/** The task page's data, or undefined when the hub does not hold the task. */
export function taskDetails(hub: Hub, model: DashboardModel, msgId: string): TaskDetails | undefined {
  const record = hub.db.get(msgId);
  if (!record) return undefined;
  const meta = record.requestMetadata;
  const content = record.requestContent;
  const fn = "fn" in content ? content.fn : undefined;
  const engine = record.engineId === undefined ? undefined : hub.registry.get(record.engineId);
  const error = record.reply?.content.error;
  const kinds = (id: string) => [
    ...(meta.argRefs?.includes(id) ? ["argument"] : []),
    ...(meta.after?.ids.includes(id) ? ["after"] : []),
    ...(meta.follow?.ids.includes(id) ? ["follow"] : []),
  ];
  const { argRefs: _argRefs, memoKey: _memoKey, ...flags } = meta;
  return {
    msgId,
    label: labelOf(record),
    state: stateOf(record, model),
    op: content.op,
    fn: fn
      ? "src" in fn
        ? { ...(fn.name ? { name: fn.name } : {}), source: clip(fn.src) }
        : { module: fn.path, exportName: fn.exportName }
      : null,
    balanced: record.balanced,
    client: Buffer.from(record.client, "latin1").toString("hex").slice(0, 16),
    submitted: record.submitted,
    started: record.started ?? null,
    completed: record.completed ?? null,
    engine: record.engineId === undefined ? null : { id: record.engineId, host: engine?.hostname ?? null, pid: engine?.pid ?? null },
    flags,
    dependencies: dependenciesOf(record).map((id) => ({ ...link(hub, model, id), kinds: kinds(id) })),
    dependents: model.dependents(msgId).map((id) => link(hub, model, id)),
    attempts: model.view(msgId)?.attempts ?? null,
    requestBytes: bytes(record.requestBuffers),
    resultBytes: record.reply ? bytes(record.reply.buffers) : null,
    stdout: clip(record.reply?.metadata.stdout),
    stderr: clip(record.reply?.metadata.stderr),
    error: error
      ? {
          ename: error.ename,
          evalue: clip(error.evalue),
          remoteStack: clip(error.remoteStack),
          code: error.code ?? error.remoteCode ?? null,
          engineId: error.engineId ?? null,
        }
      : null,
    resubmitted: record.resubmitted ?? null,
  };
}
