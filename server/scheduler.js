// Runs the server's engine for profiles whose deadline passed or whose
// records arrived, then sends the messages that are due, in batches, on a
// timer. `tick()` does one round and is what tests call with their own clock.
export class Scheduler {
  constructor({ runner, dispatcher, config, log }) {
    this.runner = runner;
    this.dispatcher = dispatcher;
    this.config = { enabled: true, intervalMs: 1000, batch: 100, ...(config ?? {}) };
    this.log = log;
    this.timer = null;
    this.running = null;
    this.stopped = true;
  }

  /**
   * One round: batches of profile runs until none is due (at most 10), each followed by a batch
   * of due dispatches, so messages wait for one batch of runs, not for the whole backlog.
   */
  async tick() {
    if (this.running) return this.running; // never two rounds at once
    this.running = (async () => {
      let runs = 0;
      let sent = 0;
      for (let round = 0; round < 10; round += 1) {
        const n = await this.runner.runDue(this.config.batch);
        runs += n;
        sent += await this.dispatcher.sendDue(this.config.batch);
        if (n < this.config.batch) break;
      }
      return { runs, sent };
    })();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  /** Ticks every `intervalMs` until stop(). */
  start() {
    if (!this.config.enabled || !this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      try {
        await this.tick();
      } catch (err) {
        this.log?.error?.({ err: err.message }, 'scheduler round failed');
      }
      if (!this.stopped) {
        this.timer = setTimeout(loop, this.config.intervalMs);
        this.timer.unref?.();
      }
    };
    this.timer = setTimeout(loop, 0);
    this.timer.unref?.();
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.running) await this.running.catch(() => {});
  }
}
