/**
 * An open-loop scheduler: each operation has a fixed target rate, and its arrivals are due at fixed
 * intervals whatever the server does (a request is sent when due, not when the previous one answered).
 * Latency is measured from the moment a request was due, so time spent queued behind a slow server or
 * a late timer counts (no coordinated omission).
 */

export type Outcome = { ok: true } | { ok: false; kind: string };

export interface ScheduledOperation {
  name: string;
  /** Arrivals per second. */
  rate: number;
  /** Sends one request; `skipped` when there is nothing to act on yet (e.g. no paid order to refund). */
  run(): Promise<Outcome> | 'skipped';
}

export interface OperationTally {
  name: string;
  offered: number;
  latenciesMs: number[];
  errors: Record<string, number>;
  skipped: number;
  lastCompletionMs: number;
}

export interface ScheduleResult {
  windowStartMs: number;
  windowMs: number;
  tallies: OperationTally[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operations` for `warmupMs` (not recorded) then `durationMs` (recorded), then waits for every
 * request still in flight. Each operation's first arrival is at a random phase within its interval, so
 * operations do not fire in lockstep.
 */
export async function runOpenLoop(
  operations: ScheduledOperation[],
  options: { warmupMs: number; durationMs: number; onMeasuring?: () => void },
): Promise<ScheduleResult> {
  const start = performance.now();
  const windowStartMs = start + options.warmupMs;
  const end = windowStartMs + options.durationMs;
  const tallies = operations.map((operation): OperationTally => ({
    name: operation.name,
    offered: 0,
    latenciesMs: [],
    errors: {},
    skipped: 0,
    lastCompletionMs: windowStartMs,
  }));
  const intervals = operations.map((operation) => 1000 / operation.rate);
  const nextDue = intervals.map((interval) => start + Math.random() * interval);
  const inFlight = new Set<Promise<void>>();
  let measuringAnnounced = false;

  const fire = (index: number, dueMs: number) => {
    const measured = dueMs >= windowStartMs;
    const tally = tallies[index]!;
    if (measured) tally.offered += 1;
    const started = operations[index]!.run();
    if (started === 'skipped') {
      if (measured) tally.skipped += 1;
      return;
    }
    const settled = started.then(
      (outcome) => {
        if (!measured) return;
        const now = performance.now();
        tally.lastCompletionMs = Math.max(tally.lastCompletionMs, now);
        if (outcome.ok) tally.latenciesMs.push(now - dueMs);
        else tally.errors[outcome.kind] = (tally.errors[outcome.kind] ?? 0) + 1;
      },
      (error: unknown) => {
        if (!measured) return;
        const kind = `exception_${error instanceof Error ? error.message.slice(0, 60) : 'unknown'}`;
        tally.errors[kind] = (tally.errors[kind] ?? 0) + 1;
      },
    );
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };

  for (;;) {
    const now = performance.now();
    if (!measuringAnnounced && now >= windowStartMs) {
      measuringAnnounced = true;
      options.onMeasuring?.();
    }
    let soonest = Number.POSITIVE_INFINITY;
    for (let index = 0; index < operations.length; index += 1) {
      while (nextDue[index]! <= now && nextDue[index]! < end) {
        fire(index, nextDue[index]!);
        nextDue[index]! += intervals[index]!;
      }
      if (nextDue[index]! < end) soonest = Math.min(soonest, nextDue[index]!);
    }
    if (soonest === Number.POSITIVE_INFINITY) break;
    await sleep(Math.max(0, soonest - performance.now()));
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  return { windowStartMs, windowMs: options.durationMs, tallies };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
