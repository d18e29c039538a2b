/**
 * The live engines as the scheduler places work on them: least recently used first, indexed
 * by load, so that the choice of the built-in `leastload` and `lru` schemes costs the same with
 * 2 engines or 500. Loads are the ledger's (the scheduler sets them from its view, and counts
 * the tasks it is sending until the ledger has applied them).
 *
 * A Set keeps insertion order, so "least recently used first" is a Set from which a used engine
 * is deleted and added again, in O(1). An engine always changes load when it is used (a task
 * sent, an answer received), so it enters its new load's bucket as the most recently used;
 * only a load set without use (a task adopted on restore) needs the bucket rebuilt in order.
 */

/** Live engines by LRU order and load. */
export class EnginePool {
  /** Every live engine, least recently used first. */
  private readonly order = new Set<number>();
  private readonly loads = new Map<number, number>();
  /** Engines by load, each least recently used first; no empty bucket is kept. */
  private readonly byLoad = new Map<number, Set<number>>();
  /** Engines below `hwm`, least recently used first (when hwm is 0, every engine is free). */
  private readonly free = new Set<number>();
  /** At most the lowest load: raised lazily to the lowest bucket when it is read. */
  private minLoad = 0;
  /** The most recently used engine, the last of `order` (a Set has no O(1) last). */
  private mru: number | undefined;

  /** @param hwm Outstanding tasks per engine; 0 means unlimited. */
  constructor(private readonly hwm: number) {}

  get size(): number {
    return this.order.size;
  }

  /** How many engines may take another task (Infinity with no hwm, when there is an engine). */
  get freeCount(): number {
    if (this.hwm === 0) return this.order.size > 0 ? Infinity : 0;
    return this.free.size;
  }

  has(id: number): boolean {
    return this.order.has(id);
  }

  load(id: number): number {
    return this.loads.get(id) ?? 0;
  }

  /** Engine ids, least recently used first. */
  ids(): IterableIterator<number> {
    return this.order.values();
  }

  /** Adds an engine as the most recently used. */
  add(id: number, load: number): void {
    if (this.order.has(id)) return;
    this.order.add(id);
    this.mru = id;
    this.loads.set(id, load);
    this.enter(id, load);
  }

  remove(id: number): void {
    const load = this.loads.get(id);
    if (load === undefined) return;
    this.order.delete(id);
    if (this.mru === id) this.mru = undefined;
    this.loads.delete(id);
    this.leave(id, load);
  }

  /** Marks an engine as the most recently used. */
  touch(id: number): void {
    if (!this.order.delete(id)) return;
    this.order.add(id);
    this.mru = id;
    const bucket = this.byLoad.get(this.load(id)) as Set<number>;
    bucket.delete(id);
    bucket.add(id);
    if (this.free.delete(id)) this.free.add(id);
  }

  setLoad(id: number, load: number): void {
    const old = this.loads.get(id);
    if (old === undefined || old === load) return;
    this.loads.set(id, load);
    this.leave(id, old);
    this.enter(id, load);
  }

  /** The engine `leastload` picks among the free ones: the least loaded, least recently used first. */
  leastLoaded(): number | undefined {
    if (this.order.size === 0) return undefined;
    // Loads move by one per task sent or answered, so this scan is amortized O(1).
    while (!this.byLoad.has(this.minLoad)) this.minLoad++;
    return this.isFree(this.minLoad) ? first(this.byLoad.get(this.minLoad)) : undefined;
  }

  /** The engine `lru` picks: the least recently used free one. */
  leastRecent(): number | undefined {
    return first(this.hwm === 0 ? this.order : this.free);
  }

  private isFree(load: number): boolean {
    return this.hwm === 0 || load < this.hwm;
  }

  private enter(id: number, load: number): void {
    let bucket = this.byLoad.get(load);
    if (!bucket) this.byLoad.set(load, (bucket = new Set()));
    this.insert(bucket, id);
    if (this.hwm > 0 && this.isFree(load)) this.insert(this.free, id);
    if (load < this.minLoad) this.minLoad = load;
  }

  private leave(id: number, load: number): void {
    const bucket = this.byLoad.get(load) as Set<number>;
    bucket.delete(id);
    this.free.delete(id);
    if (bucket.size === 0) this.byLoad.delete(load);
  }

  /** Adds an engine to a set kept in LRU order: at the end when it is the most recently used. */
  private insert(set: Set<number>, id: number): void {
    if (id === this.mru || set.size === 0) {
      set.add(id);
      return;
    }
    set.add(id);
    const members = [...this.order].filter((e) => set.has(e));
    set.clear();
    for (const e of members) set.add(e);
  }
}

function first(set: Set<number> | undefined): number | undefined {
  if (!set) return undefined;
  for (const id of set) return id;
  return undefined;
}
