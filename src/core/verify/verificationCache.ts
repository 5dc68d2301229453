import { companionOf, type Companion } from '../artifacts/companions';
import type { VerificationResult } from './result';

export interface VerificationCacheOptions {
  /** Verifies one artifact against its companions. */
  verify(artifact: string, companions: readonly Companion[], signal: AbortSignal): Promise<VerificationResult>;
  /** Whether a regular file exists at `path` (a companion alone, without its file, gets no result). */
  exists(path: string): Promise<boolean>;
  /** Called with the artifacts whose result changed or disappeared. */
  onDidChange(artifacts: readonly string[]): void;
  /** Called when a verification throws (a bug, not bad input). */
  onError?(artifact: string, error: unknown): void;
  /** How many artifacts are verified at once. */
  concurrency?: number;
}

/**
 * Results for every artifact in a workspace that has companions, kept current as files
 * change. Work is queued and bounded; a result that was computed from contents that have
 * changed since is thrown away and recomputed.
 */
export class VerificationCache {
  private readonly results = new Map<string, VerificationResult>();
  /** Artifact path → its known companions, by companion path. */
  private readonly companions = new Map<string, Map<string, Companion>>();
  private readonly queue = new Set<string>();
  private readonly running = new Map<string, AbortController>();
  private readonly dirty = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private disposed = false;

  constructor(private readonly options: VerificationCacheOptions) {}

  get(artifact: string): VerificationResult | undefined {
    return this.results.get(artifact);
  }

  /** Paths of artifacts with companions, and of the companions themselves. */
  verifiablePaths(): string[] {
    const paths: string[] = [];
    for (const [artifact, companions] of this.companions) {
      paths.push(artifact, ...companions.keys());
    }
    return paths;
  }

  companionsOf(artifact: string): Companion[] {
    return [...(this.companions.get(artifact)?.values() ?? [])];
  }

  /** A file was found, created or changed. */
  changed(path: string): void {
    const found = companionOf(path);
    if (found) {
      let known = this.companions.get(found.artifact);
      if (!known) this.companions.set(found.artifact, (known = new Map()));
      known.set(path, found.companion);
      this.schedule(found.artifact);
    } else if (this.companions.has(path)) {
      this.schedule(path);
    }
  }

  /** A file or folder was deleted. */
  deleted(path: string): void {
    const touched = new Set<string>();
    const prefix = path.endsWith('/') ? path : `${path}/`;
    for (const [artifact, known] of this.companions) {
      for (const companion of known.keys()) {
        if (companion === path || companion.startsWith(prefix)) {
          known.delete(companion);
          touched.add(artifact);
        }
      }
      if (artifact === path || artifact.startsWith(prefix)) touched.add(artifact);
    }
    const gone: string[] = [];
    for (const artifact of touched) {
      if (this.companions.get(artifact)?.size === 0) this.companions.delete(artifact);
      this.schedule(artifact);
      if (this.results.delete(artifact)) gone.push(artifact);
    }
    if (gone.length) this.options.onDidChange(gone);
  }

  /** Verify everything again (the trusted root changed, or the user asked). */
  refreshAll(): void {
    for (const artifact of this.companions.keys()) this.schedule(artifact);
  }

  /** Verify one artifact now and wait for its result. */
  async verifyNow(artifact: string): Promise<VerificationResult | undefined> {
    this.schedule(artifact);
    await this.whenIdle();
    return this.results.get(artifact);
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.queue.size === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  dispose(): void {
    this.disposed = true;
    for (const controller of this.running.values()) controller.abort();
    this.queue.clear();
    this.notifyIdle();
  }

  private schedule(artifact: string): void {
    if (this.disposed) return;
    const running = this.running.get(artifact);
    if (running) {
      // Contents changed under a running verification: its result is stale.
      running.abort();
      this.dirty.add(artifact);
      return;
    }
    this.queue.add(artifact);
    this.pump();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 4;
    for (const artifact of this.queue) {
      if (this.running.size >= limit) break;
      this.queue.delete(artifact);
      void this.run(artifact);
    }
    this.notifyIdle();
  }

  private async run(artifact: string): Promise<void> {
    const controller = new AbortController();
    this.running.set(artifact, controller);
    let changed = false;
    try {
      const companions = this.companionsOf(artifact);
      const present = companions.length > 0 && (await this.options.exists(artifact));
      if (!present) {
        changed = this.results.delete(artifact);
      } else {
        const result = await this.options.verify(artifact, companions, controller.signal);
        if (!controller.signal.aborted && !this.disposed) {
          this.results.set(artifact, result);
          changed = true;
        }
      }
    } catch (e) {
      if (!controller.signal.aborted) this.options.onError?.(artifact, e);
    } finally {
      this.running.delete(artifact);
      if (changed) this.options.onDidChange([artifact]);
      if (this.dirty.delete(artifact)) this.queue.add(artifact);
      this.pump();
    }
  }

  private notifyIdle(): void {
    if (this.queue.size > 0 || this.running.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
