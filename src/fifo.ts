/**
 * A first-in, first-out queue on an array: push and shift cost O(1) amortized. A Map or Set
 * used as a queue (iterate to its first entry, delete it) costs time in proportion to the
 * entries already deleted from its front, which V8 keeps as holes that iteration skips until
 * the table is rebuilt: about 45 µs a step for 10,000 entries, 200 µs for 200,000.
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed front once it is most of the array, so memory follows the queue's size.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
