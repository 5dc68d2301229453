import { classify, type Companion } from '../artifacts/companions';
import type { VerificationResult } from './result';
import { internalErrorName } from '../errors';

export interface VerificationCacheOptions {
  /** Verifies one artifact against its companions. */
  verify(artifact: string, companions: readonly Companion[], signal: AbortSignal): Promise<VerificationResult>;
  /** Whether a regular file exists at `path` (a companion alone, without its file, gets no result). */
  exists(path: string): Promise<boolean>;
  /** The files a content-defined companion (checksum list, attestations) is about. */
  targetsOf?(companion: Companion): Promise<readonly string[]>;
  /**
   * A cheap identity of the files' current contents (e.g. inode, size, mtime of each);
   * an unchanged fingerprint under the same trust generation reuses the result.
   */
  fingerprint?(paths: readonly string[]): Promise<string>;
  /** Called with the artifacts whose result changed or disappeared. */
  onDidChange(artifacts: readonly string[]): void;
  /** Called when a verification throws (a bug, not bad input). */
  onError?(artifact: string, error: unknown): void;
  /** How many artifacts are verified at once. */
  concurrency?: number;
}

interface Entry {
  readonly result: VerificationResult;
  readonly fingerprint?: string;
  readonly generation: number;
}

/**
 * Results for every artifact in a workspace that has companions, kept current as files
 * change. Work is queued and bounded; a result computed from contents that changed since
 * is thrown away and recomputed; unchanged files are not verified twice.
 */
export class VerificationCache {
  private readonly entries = new Map<string, Entry>();
  /** Artifact path → its known companions, by companion path. */
  private readonly companions = new Map<string, Map<string, Companion>>();
  /** Content-defined companion → the artifacts it currently names. */
  private readonly targets = new Map<string, Set<string>>();
  private queue = new Set<string>();
  /** Callers of verifyNow waiting for one artifact. */
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly running = new Map<string, AbortController>();
  private readonly dirty = new Set<string>();
  private intake: Promise<void> = Promise.resolve();
  private pendingIntake = 0;
  private idleWaiters: Array<() => void> = [];
  private generation = 0;
  private disposed = false;

  constructor(private readonly options: VerificationCacheOptions) {}

  get(artifact: string): VerificationResult | undefined {
    return this.entries.get(artifact)?.result;
  }

  /** Paths of artifacts with companions, and of the companions themselves. */
  verifiablePaths(): string[] {
    const paths = new Set<string>();
    for (const [artifact, companions] of this.companions) {
      paths.add(artifact);
      for (const c of companions.keys()) paths.add(c);
    }
    return [...paths];
  }

  companionsOf(artifact: string): Companion[] {
    return [...(this.companions.get(artifact)?.values() ?? [])];
  }

  /** Whether an artifact has something to verify: a known companion other than a lone certificate. */
  hasEvidence(artifact: string): boolean {
    for (const companion of this.companions.get(artifact)?.values() ?? []) {
      if (companion.kind !== 'certificate') return true;
    }
    return false;
  }

  /** A file was found, created or changed. */
  changed(path: string): void {
    const match = classify(path);
    if (match?.by === 'name') {
      this.link(match.artifact, match.companion);
      this.schedule(match.artifact);
    } else if (match?.by === 'content') {
      this.enqueueIntake(() => this.retarget(match.companion));
    }
    // A file can be a companion (SHA256SUMS) and an artifact (of SHA256SUMS.asc) at once.
    if (this.companions.has(path)) this.schedule(path);
  }

  /** A file or folder was deleted. */
  deleted(path: string): void {
    const touched = new Set<string>();
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const gone = (p: string) => p === path || p.startsWith(prefix);
    for (const companion of [...this.targets.keys()]) {
      if (gone(companion)) this.targets.delete(companion);
    }
    for (const [artifact, known] of this.companions) {
      for (const companion of known.keys()) {
        if (gone(companion)) {
          known.delete(companion);
          touched.add(artifact);
        }
      }
      if (gone(artifact)) touched.add(artifact);
    }
    const removed: string[] = [];
    for (const artifact of touched) {
      if (this.companions.get(artifact)?.size === 0) this.companions.delete(artifact);
      this.schedule(artifact);
      if (this.entries.delete(artifact)) removed.push(artifact);
    }
    if (removed.length) this.options.onDidChange(removed);
  }

  /** Verify everything again because what is trusted changed (trusted root, policy, settings). */
  trustChanged(): void {
    this.generation++;
    this.recheckAll();
  }

  /** Check everything again; unchanged files keep their results. */
  recheckAll(): void {
    for (const artifact of this.companions.keys()) this.schedule(artifact);
  }

  /** Verify one artifact ahead of the queue, ignoring any cached result, and wait for it alone. */
  async verifyNow(artifact: string): Promise<VerificationResult | undefined> {
    await this.intake;
    this.entries.delete(artifact);
    const done = new Promise<void>((resolve) => {
      const list = this.waiters.get(artifact) ?? [];
      list.push(resolve);
      this.waiters.set(artifact, list);
    });
    if (!this.running.has(artifact)) this.queue = new Set([artifact, ...this.queue]);
    this.schedule(artifact);
    await done;
    return this.get(artifact);
  }

  /** Resolves when every companion seen so far has been read and linked (not verified). */
  async settled(): Promise<void> {
    await this.intake;
  }

  /** Resolves when nothing is queued, running or being read. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  dispose(): void {
    this.disposed = true;
    for (const controller of this.running.values()) controller.abort();
    this.queue.clear();
    for (const artifact of [...this.waiters.keys()]) this.release(artifact);
    this.notifyIdle();
  }

  private release(artifact: string): void {
    const list = this.waiters.get(artifact);
    this.waiters.delete(artifact);
    for (const resolve of list ?? []) resolve();
  }

  private link(artifact: string, companion: Companion): void {
    let known = this.companions.get(artifact);
    if (!known) this.companions.set(artifact, (known = new Map()));
    known.set(companion.path, companion);
  }

  /** Re-reads which artifacts a content-defined companion names, and updates the links. */
  private async retarget(companion: Companion): Promise<void> {
    const now = new Set(this.options.targetsOf ? await this.options.targetsOf(companion).catch(() => []) : []);
    const before = this.targets.get(companion.path) ?? new Set<string>();
    this.targets.set(companion.path, now);
    for (const artifact of before) {
      if (!now.has(artifact)) {
        this.companions.get(artifact)?.delete(companion.path);
        if (this.companions.get(artifact)?.size === 0) this.companions.delete(artifact);
      }
      this.schedule(artifact);
    }
    for (const artifact of now) {
      this.link(artifact, companion);
      this.schedule(artifact);
    }
  }

  private enqueueIntake(task: () => Promise<void>): void {
    this.pendingIntake++;
    this.intake = this.intake.then(task).finally(() => {
      this.pendingIntake--;
      this.notifyIdle();
    });
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
      // A certificate alone (F.pem without F.sig) is no evidence.
      const present = companions.some((c) => c.kind !== 'certificate') && (await this.options.exists(artifact));
      if (!present) {
        changed = this.entries.delete(artifact);
      } else {
        const generation = this.generation;
        const fingerprint = await this.options.fingerprint?.([artifact, ...companions.map((c) => c.path)]);
        const cached = this.entries.get(artifact);
        if (fingerprint === undefined || cached?.fingerprint !== fingerprint || cached.generation !== generation) {
          const result = await this.options.verify(artifact, companions, controller.signal);
          if (!controller.signal.aborted && !this.disposed) {
            this.entries.set(artifact, { result, fingerprint, generation });
            changed = true;
          }
        }
      }
    } catch (e) {
      if (!controller.signal.aborted && !this.disposed) {
        this.options.onError?.(artifact, e);
        // Every file gets a result: a verifier that broke is "cannot be checked", never silence.
        this.entries.set(artifact, { result: brokenResult(artifact, e), generation: this.generation });
        changed = true;
      }
    } finally {
      this.running.delete(artifact);
      if (changed) this.options.onDidChange([artifact]);
      if (this.dirty.delete(artifact)) this.queue.add(artifact);
      else if (!this.queue.has(artifact)) this.release(artifact);
      this.pump();
    }
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.running.size === 0 && this.pendingIntake === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The result of a file whose verification threw: the error named (class and message), nothing it read. */
function brokenResult(artifact: string, error: unknown): VerificationResult {
  const named = internalErrorName(error);
  return {
    artifact,
    state: 'unverifiable',
    summary: `The verifier broke on this file (${named}); this is not a verdict on it. Report it with the log (Output › Sigstore).`,
    evidence: [],
    checkedAt: new Date(),
    internalError: named,
  };
}
