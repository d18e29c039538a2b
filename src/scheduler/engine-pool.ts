/**
 * The live engines as the scheduler places work on them: least recently used first, and the
 * free ones (below their capacity) indexed by load, so that the choice of the built-in
 * `leastload` and `lru` schemes costs the same with 2 engines or 500. Loads are the ledger's (the
 * scheduler sets them from its view, and counts the tasks it is sending until the ledger has
 * applied them). Each engine has its own capacity: `hwm` for all, or what adaptive prefetch
 * allows it from the length of its recent tasks. With refills in batches (adaptive prefetch), an
 * engine that reached its capacity takes no task until its load is down to half of it, and is
 * then topped up at once: tasks reach it several to a message instead of one per answer.
 *
 * A Set keeps insertion order, so "least recently used first" is a Set from which a used engine
 * is deleted and added again, in O(1). An engine always changes load when it is used (a task
 * sent, an answer received), so it enters its new load's bucket as the most recently used;
 * only a change without use (a task adopted on restore) needs the bucket rebuilt in order.
 */

/** Live engines by LRU order, and the free ones by load. */
export class EnginePool {
  /** Every live engine, least recently used first. */
  private readonly order = new Set<number>();
  private readonly loads = new Map<number, number>();
  /** Tasks each engine may hold; Infinity when unlimited. */
  private readonly capacities = new Map<number, number>();
  /** Free engines by load, each least recently used first; no empty bucket is kept. */
  private readonly byLoad = new Map<number, Set<number>>();
  /** Engines below their capacity, least recently used first. */
  private readonly free = new Set<number>();
  /** At most the lowest load of a free engine: raised lazily to the lowest bucket when it is read. */
  private minLoad = 0;
  /** The most recently used engine, the last of `order` (a Set has no O(1) last). */
  private mru: number | undefined;
  /** With refills in batches: engines that reached their capacity and wait to be down to half of it. */
  private readonly full = new Set<number>();
  private readonly initialCapacity: number;

  /**
   * @param hwm Outstanding tasks per engine until {@link setCapacity} says otherwise; 0 means unlimited.
   * @param refillInBatches An engine at its capacity is free again only at half of it.
   */
  constructor(
    hwm: number,
    private readonly refillInBatches = false,
  ) {
    this.initialCapacity = hwm === 0 ? Infinity : hwm;
  }

  get size(): number {
    return this.order.size;
  }

  /** How many engines may take another task. */
  get freeCount(): number {
    return this.free.size;
  }

  has(id: number): boolean {
    return this.order.has(id);
  }

  load(id: number): number {
    return this.loads.get(id) ?? 0;
  }

  /** Whether the engine may take another task. */
  isFree(id: number): boolean {
    return this.free.has(id);
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
    this.capacities.set(id, this.initialCapacity);
    this.enter(id);
  }

  remove(id: number): void {
    if (!this.order.has(id)) return;
    this.leave(id);
    this.order.delete(id);
    if (this.mru === id) this.mru = undefined;
    this.loads.delete(id);
    this.capacities.delete(id);
    this.full.delete(id);
  }

  /** Marks an engine as the most recently used. */
  touch(id: number): void {
    if (!this.order.delete(id)) return;
    this.order.add(id);
    this.mru = id;
    if (!this.free.delete(id)) return;
    this.free.add(id);
    const bucket = this.byLoad.get(this.load(id)) as Set<number>;
    bucket.delete(id);
    bucket.add(id);
  }

  setLoad(id: number, load: number): void {
    const old = this.loads.get(id);
    if (old === undefined || old === load) return;
    this.leave(id);
    this.loads.set(id, load);
    this.enter(id);
  }

  /** How many tasks the engine may hold (at least 1). */
  setCapacity(id: number, capacity: number): void {
    const old = this.capacities.get(id);
    if (old === undefined || old === capacity) return;
    this.leave(id);
    this.capacities.set(id, capacity);
    this.enter(id);
  }

  /** The engine `leastload` picks among the free ones: the least loaded, least recently used first. */
  leastLoaded(): number | undefined {
    if (this.free.size === 0) return undefined;
    // Loads move by one per task sent or answered, so this scan is amortized O(1).
    while (!this.byLoad.has(this.minLoad)) this.minLoad++;
    return first(this.byLoad.get(this.minLoad));
  }

  /** The engine `lru` picks: the least recently used free one. */
  leastRecent(): number | undefined {
    return first(this.free);
  }

  /** Indexes the engine by its load, if it is free. */
  private enter(id: number): void {
    const load = this.load(id);
    const capacity = this.capacities.get(id) as number;
    if (this.refillInBatches) {
      if (load >= capacity) this.full.add(id);
      else if (load <= capacity / 2) this.full.delete(id);
    }
    if (load >= capacity || this.full.has(id)) return;
    let bucket = this.byLoad.get(load);
    if (!bucket) this.byLoad.set(load, (bucket = new Set()));
    this.insert(bucket, id);
    this.insert(this.free, id);
    if (load < this.minLoad) this.minLoad = load;
  }

  /** Takes the engine out of the free index (before its load or capacity changes). */
  private leave(id: number): void {
    if (!this.free.delete(id)) return;
    const load = this.load(id);
    const bucket = this.byLoad.get(load) as Set<number>;
    bucket.delete(id);
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
