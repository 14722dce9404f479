/**
 * Runs a job every `intervalMs` without overlapping runs. The interval is only how often to look for
 * work; what is due is decided by the injectable clock inside the job, so tests call the job directly
 * after moving the clock instead of waiting.
 */
export interface JobLoop {
  stop(): Promise<void>;
}

export function startJobLoop(
  name: string,
  intervalMs: number,
  run: () => Promise<unknown>,
  onError: (name: string, error: unknown) => void = (job, error) =>
    process.stderr.write(`[paythrough] job ${job} failed: ${String(error)}\n`),
): JobLoop {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = run()
      .catch((error) => onError(name, error))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
