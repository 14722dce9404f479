import type { ChannelKind } from '../../db/payment-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { reconciliationRepository } from '../../repositories/reconciliation.repository.ts';
import type { ChannelResolver } from '../payments/index.ts';
import type { StatementSource, StatementSources } from './statement-reconciliation.service.ts';

/**
 * A run reads the statement where its connection's money went (SPEC §7 "a connection is kind + URL"): the
 * connection's channel, reached as its orders and refunds reach it; a channel that serves none makes the run NO_STATEMENT.
 */
export class ConnectionStatementSources implements StatementSources {
  constructor(
    private readonly db: DatabaseClient,
    private readonly channels: ChannelResolver,
  ) {}

  async statementSourceFor(run: { application_id: string; channel_connection_id: number }): Promise<StatementSource> {
    const connection = await reconciliationRepository.findConnection(this.db, run.channel_connection_id);
    if (!connection || connection.application_id !== run.application_id) return { unavailable: 'the channel connection is gone' };
    const channel = await this.channels.channelFor({
      channel_kind: connection.kind as ChannelKind,
      application_id: run.application_id,
      channel_connection_id: run.channel_connection_id,
    });
    if (!channel) return { unavailable: `the ${connection.kind} channel of this connection cannot be reached (no key or address)` };
    if (!channel.queryStatement) return { unavailable: `the ${connection.kind} channel serves no statements` };
    return { channel };
  }
}
