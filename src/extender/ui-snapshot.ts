/**
 * A value rebuilt at most once per interval, however many ask: the web view's /ui/state is served
 * from it so that any number of open pages (or a page told to poll every millisecond) costs the
 * process that answers kube-scheduler one build per second at most. One per server instance.
 */
export class SnapshotCache<T> {
  private value: T | undefined;
  private builtAt = -Infinity;
  builds = 0;
  constructor(
    private readonly build: () => T,
    /** A monotonic clock, not the server's `now` (tests freeze that one). */
    private readonly clock: () => number = () => performance.now(),
    readonly minIntervalMs = 1000,
  ) {}

  get(): T {
    const t = this.clock();
    if (this.value === undefined || t - this.builtAt >= this.minIntervalMs) {
      this.value = this.build();
      this.builtAt = t;
      this.builds++;
    }
    return this.value;
  }
}
