/**
 * The client's history: the most recent msg ids it submitted, oldest first. Older ids are
 * trimmed in batches, so that a submission costs O(1) however long the history is: trimming one
 * id at every push moves the whole array each time, which made a 200,000-item map spend most
 * of its submission doing that.
 */
export class RecentIds {
  /** The kept ids, and (up to `limit`) older ones that wait to be trimmed. */
  private readonly ids: string[] = [];

  constructor(private readonly limit: number) {}

  /** Number of ids kept (at most `limit`). */
  get length(): number {
    return Math.min(this.ids.length, this.limit);
  }

  push(id: string): void {
    this.ids.push(id);
    if (this.ids.length >= 2 * this.limit) this.ids.splice(0, this.ids.length - this.limit);
  }

  /** The id at `index` (negative counts from the newest), or undefined when out of range. */
  at(index: number): string | undefined {
    const length = this.length;
    if (!Number.isInteger(index) || index >= length || index < -length) return undefined;
    return this.ids[index < 0 ? this.ids.length + index : this.ids.length - length + index];
  }

  /** The kept ids, oldest first (a copy). */
  list(): string[] {
    return this.ids.slice(this.ids.length - this.length);
  }
}
