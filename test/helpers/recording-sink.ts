import type { ChannelEvent, ChannelEventSink, ChannelEventSource } from '../../src/channels/channel.ts';

/** A ChannelEventSink for tests: records what it accepts, and refuses the next `failNext` events. */
export class RecordingSink implements ChannelEventSink {
  readonly events: Array<{ event: ChannelEvent; source: ChannelEventSource }> = [];
  failNext = 0;
  refused = 0;

  async handle(event: ChannelEvent, source: ChannelEventSource): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.refused += 1;
      throw new Error('sink refused the event (test)');
    }
    this.events.push({ event, source });
  }

  types(): string[] {
    return this.events.map((entry) => entry.event.type);
  }

  clear(): void {
    this.events.length = 0;
  }
}
