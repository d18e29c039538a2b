/**
 * Runnable tasks: higher priority first, FIFO within a priority. A binary heap keyed by
 * (priority, sequence); removal is lazy (removed ids are skipped when they surface).
 */

/** What the queue holds. */
export interface Prioritized {
  readonly id: string;
  readonly priority: number;
}

interface Slot<T> {
  item: T;
  seq: number;
}

/** A stable priority queue. */
export class ReadyQueue<T extends Prioritized> {
  private readonly heap: Slot<T>[] = [];
  private readonly live = new Map<string, number>();
  private seq = 0;

  /** Items queued and not removed. */
  get size(): number {
    return this.live.size;
  }

  /** Adds an item (re-adding an id replaces its previous entry). */
  push(item: T): void {
    const slot = { item, seq: this.seq++ };
    this.live.set(item.id, slot.seq);
    this.heap.push(slot);
    this.up(this.heap.length - 1);
  }

  /** Removes and returns the next item. */
  pop(): T | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0] as Slot<T>;
      const last = this.heap.pop() as Slot<T>;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.down(0);
      }
      if (this.live.get(top.item.id) === top.seq) {
        this.live.delete(top.item.id);
        return top.item;
      }
    }
    return undefined;
  }

  /** Removes an item by id; returns whether it was queued. */
  remove(id: string): boolean {
    return this.live.delete(id);
  }

  private before(a: Slot<T>, b: Slot<T>): boolean {
    return a.item.priority !== b.item.priority ? a.item.priority > b.item.priority : a.seq < b.seq;
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i] as Slot<T>, heap[parent] as Slot<T>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Slot<T>, heap[i] as Slot<T>];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && this.before(heap[l] as Slot<T>, heap[best] as Slot<T>)) best = l;
      if (r < heap.length && this.before(heap[r] as Slot<T>, heap[best] as Slot<T>)) best = r;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best] as Slot<T>, heap[i] as Slot<T>];
      i = best;
    }
  }
}
