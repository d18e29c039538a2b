/**
 * Runnable tasks waiting for an engine: higher priority first, FIFO within a priority. A binary
 * heap keyed by (priority, insertion sequence) gives O(log n) push and pop with a stable order.
 * Removal is lazy: a removed id stays in the heap and is skipped when it surfaces, and the heap
 * is rebuilt when stale entries outnumber live ones, so memory stays proportional to `size`.
 */

/** What the queue holds. */
export interface Prioritized {
  readonly id: string;
  readonly priority: number;
}

interface Slot<T> {
  readonly item: T;
  /** Identifies this entry (liveness); unique per push. */
  readonly seq: number;
  /** Position within its priority: the push sequence, or the one the caller kept. */
  readonly order: number;
}

/** Rebuild only past this many entries: compacting tiny heaps costs more than it saves. */
const COMPACT_MIN = 64;

/** A stable priority queue of items with distinct ids. */
export class ReadyQueue<T extends Prioritized> {
  private heap: Slot<T>[] = [];
  /** Live ids → sequence number of their current entry; anything else in the heap is stale. */
  private readonly live = new Map<string, number>();
  private seq = 0;

  /** Number of queued items (removed ones excluded). */
  get size(): number {
    return this.live.size;
  }

  /** Whether an item with this id is queued. */
  has(id: string): boolean {
    return this.live.has(id);
  }

  /**
   * Adds an item behind those of the same priority. Re-adding a queued id replaces its entry
   * (and moves it to the back of its priority). `order` puts it back where it stood instead
   * (a value from {@link orderOf} taken when it was popped), for items that could not be placed.
   * @throws TypeError when the priority is not a number (NaN would break the heap order).
   */
  push(item: T, order?: number): void {
    if (typeof item.priority !== "number" || Number.isNaN(item.priority)) {
      throw new TypeError(`priority of ${item.id} must be a number, got ${String(item.priority)}`);
    }
    const seq = this.seq++;
    const slot: Slot<T> = { item, seq, order: order ?? seq };
    this.live.set(item.id, slot.seq);
    this.heap.push(slot);
    this.up(this.heap.length - 1);
    this.maybeCompact();
  }

  /** The position (within its priority) of the item `pop()` would return next. */
  nextOrder(): number | undefined {
    this.dropStale();
    return this.heap[0]?.order;
  }

  /** Removes and returns the next item (highest priority, earliest pushed), or undefined. */
  pop(): T | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    this.live.delete(top.item.id);
    return top.item;
  }

  /** The item {@link pop} would return, without removing it. */
  peek(): T | undefined {
    this.dropStale();
    return this.heap[0]?.item;
  }

  /** Removes an item by id; returns whether it was queued. */
  remove(id: string): boolean {
    const removed = this.live.delete(id);
    if (removed) this.maybeCompact();
    return removed;
  }

  private isLive(slot: Slot<T>): boolean {
    return this.live.get(slot.item.id) === slot.seq;
  }

  private dropStale(): void {
    while (this.heap.length > 0 && !this.isLive(this.heap[0] as Slot<T>)) this.removeTop();
  }

  private removeTop(): void {
    const last = this.heap.pop() as Slot<T>;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.down(0);
  }

  /** Rebuilds the heap from live entries once stale ones are the majority (O(n), amortized O(1)). */
  private maybeCompact(): void {
    if (this.heap.length < COMPACT_MIN || this.heap.length <= 2 * this.live.size) return;
    this.heap = this.heap.filter((slot) => this.isLive(slot));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** Heap order: higher priority first, then lower sequence (earlier push). */
  private before(a: Slot<T>, b: Slot<T>): boolean {
    return a.item.priority !== b.item.priority ? a.item.priority > b.item.priority : a.order < b.order;
  }

  private swap(i: number, j: number): void {
    const heap = this.heap;
    [heap[i], heap[j]] = [heap[j] as Slot<T>, heap[i] as Slot<T>];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.heap[i] as Slot<T>, this.heap[parent] as Slot<T>)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < heap.length && this.before(heap[left] as Slot<T>, heap[best] as Slot<T>)) best = left;
      if (right < heap.length && this.before(heap[right] as Slot<T>, heap[best] as Slot<T>)) best = right;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}
