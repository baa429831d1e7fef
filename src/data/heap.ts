/**
 * The priority queue of byte-level BPE: a binary min-heap of (key, tie) number pairs, ordered by key, then by tie.
 * Training takes the most frequent pair first (key −count, tie the pair), encoding applies the best-ranked merge
 * first (key the merge rank, tie the position). Keys and ties live in two parallel arrays, so pushes allocate nothing.
 */
export class PairHeap {
  private keys: number[] = [];
  private ties: number[] = [];

  /** Number of entries. */
  get size(): number {
    return this.keys.length;
  }

  /** Adds (key, tie). */
  push(key: number, tie: number): void {
    this.keys.push(key);
    this.ties.push(tie);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes and returns the smallest entry [key, tie]; the heap must not be empty. */
  pop(): [number, number] {
    const top: [number, number] = [this.keys[0], this.ties[0]];
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.keys.pop();
    this.ties.pop();
    const n = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  /** Whether entry i comes before entry j. */
  private before(i: number, j: number): boolean {
    const ki = this.keys[i];
    const kj = this.keys[j];
    return ki < kj || (ki === kj && this.ties[i] < this.ties[j]);
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
    const t = this.ties[i];
    this.ties[i] = this.ties[j];
    this.ties[j] = t;
  }
}
