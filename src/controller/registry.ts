/**
 * The engine registry: ids from 0, never reused, each with its routing identity, supervisor
 * and outstanding tasks.
 */
import type { EngineRecord } from "../scheduler/records.js";

/** Registration facts reported by an engine. */
export interface EngineRegistration {
  pid: number;
  hostname: string;
  cwd: string;
  requestedId?: number;
  /** The engine held `requestedId` under a previous controller and asks for it back. */
  readopt?: boolean;
}

/** Registered engines, by id and by identity. */
export class EngineRegistry {
  private readonly byId = new Map<number, EngineRecord>();
  private readonly byIdentity = new Map<string, EngineRecord>();
  private readonly used = new Set<number>();
  private nextId = 0;

  /** Registers an engine; honours a requested id only if it was never used. */
  register(identity: Buffer, info: EngineRegistration, now = Date.now()): EngineRecord {
    const existing = this.byIdentity.get(identity.toString("latin1"));
    if (existing) return existing;
    const id = this.chooseId(info.requestedId, info.readopt === true);
    const record: EngineRecord = {
      id,
      identity,
      pid: info.pid,
      hostname: info.hostname,
      cwd: info.cwd,
      registered: now,
      lastBeat: now,
      direct: new Set(),
      balanced: new Set(),
      completed: 0,
      bytesIn: 0,
      bytesOut: 0,
      replySeq: 0,
      ackedSeq: 0,
    };
    this.byId.set(id, record);
    this.byIdentity.set(identity.toString("latin1"), record);
    return record;
  }

  /** Removes an engine; its id stays used. */
  remove(id: number): EngineRecord | undefined {
    const record = this.byId.get(id);
    if (!record) return undefined;
    this.byId.delete(id);
    this.byIdentity.delete(record.identity.toString("latin1"));
    return record;
  }

  /** Marks ids as handed out before (a restored controller must not give them again). */
  markUsed(ids: Iterable<number>): void {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || this.byId.has(id)) continue;
      this.used.add(id);
    }
  }

  get(id: number): EngineRecord | undefined {
    return this.byId.get(id);
  }

  byRoutingIdentity(identity: Buffer): EngineRecord | undefined {
    return this.byIdentity.get(identity.toString("latin1"));
  }

  /** Registered ids, sorted. */
  ids(): number[] {
    return [...this.byId.keys()].sort((a, b) => a - b);
  }

  all(): IterableIterator<EngineRecord> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  private chooseId(requested: number | undefined, readopt: boolean): number {
    const valid = requested !== undefined && Number.isInteger(requested) && requested >= 0;
    if (valid && (readopt ? !this.byId.has(requested) : !this.used.has(requested))) {
      this.used.add(requested);
      this.nextId = Math.max(this.nextId, requested + 1);
      return requested;
    }
    while (this.used.has(this.nextId)) this.nextId++;
    const id = this.nextId++;
    this.used.add(id);
    return id;
  }
}
