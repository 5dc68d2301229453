/**
 * Heavy synchronous work (a bundle's certificate, log and signature checks take ~10 ms)
 * waits for a turn; at most one turn is granted per event-loop iteration. Concurrent
 * verifications then cannot run back to back in one iteration and starve the host's
 * timers and I/O (an editor must stay responsive while a folder is verified).
 */
const waiting: Array<() => void> = [];
let scheduled = false;

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(grant);
    }
  });
}

function grant(): void {
  // The turn's work runs in the microtasks right after this callback; an immediate queued
  // now runs in the next iteration, after timers and I/O had their chance.
  waiting.shift()?.();
  if (waiting.length > 0) setImmediate(grant);
  else scheduled = false;
}
