import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { channelProtocolPaths, signChannelMessage, verifyChannelSignature } from '../src/channels/protocol.ts';
import {
  statementPageToWire,
  statementQueryFromWire,
  summarizeStatementLines,
  wireStatementQuerySchema,
  type StatementLine,
} from '../src/channels/statement.ts';
import { tlsFixtures } from '../test/fixtures/keys/index.ts';
import { copiesOnStatement, lineOf, type BenchDay } from './reconciliation-day.ts';

/**
 * The reconciliation bench's channel, in a process of its own (`node --import tsx bench/reconciliation-statement-server.ts`,
 * its settings in PAYTHROUGH_BENCH_STATEMENT as JSON): serves the day's signed statement over HTTPS on loopback as
 * `tlsFixtures.hostname`, each page generated from the item index in the cursor, never the whole day in memory.
 * Sends `{port}` to its parent once listening. Only the statement query is served.
 */

interface Settings {
  day: BenchDay;
  applicationId: string;
  billDate: string;
  channelKey: string;
}

const settings = JSON.parse(process.env.PAYTHROUGH_BENCH_STATEMENT ?? '') as Settings;
const { day } = settings;

function* statementLines(): Generator<StatementLine> {
  for (let index = 0; index < day.items; index++) {
    const copies = copiesOnStatement(index);
    for (let copy = 0; copy < copies; copy++) yield lineOf(day, index);
  }
}

// The whole day's summary (on every page), counted once in a pass that holds one line at a time.
const summary = [...summarizeStatementLines(statementLines()).values()];
const statementId = `BENCH-${settings.billDate}-${day.items}`;

/** A page from cursor `item:copiesAlreadyListed`: the next `limit` lines and where the next page starts. */
function page(cursor: string | null, limit: number): { lines: StatementLine[]; next: string | null } {
  let [index, done] = cursor === null ? [0, 0] : (cursor.split(':').map(Number) as [number, number]);
  const lines: StatementLine[] = [];
  while (index < day.items && lines.length < limit) {
    const copies = copiesOnStatement(index);
    while (done < copies && lines.length < limit) {
      lines.push(lineOf(day, index));
      done += 1;
    }
    if (done >= copies) {
      index += 1;
      done = 0;
    }
  }
  return { lines, next: index < day.items ? `${index}:${done}` : null };
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      ...signChannelMessage(settings.channelKey, text, { nowMs: Date.now() }),
    })
    .end(text);
}

async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const signature = verifyChannelSignature({ headers: request.headers, body: raw, channelKeys: [settings.channelKey], nowMs: Date.now() });
  if (!signature.ok) return answer(response, 401, { code: 'SIGN_ERROR', message: signature.message });
  if (request.url !== channelProtocolPaths.queryStatement) return answer(response, 404, { code: 'PARAM_ERROR', message: 'no such path' });
  const input = wireStatementQuerySchema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!input.success) return answer(response, 400, { code: 'PARAM_ERROR', message: input.error.message });
  const query = statementQueryFromWire(input.data);
  if (query.applicationId !== settings.applicationId || query.billDate !== settings.billDate)
    return answer(response, 404, { code: 'NOT_SUPPORTED', message: 'the bench serves one superapp and one day' });
  const { lines, next } = page(query.cursor, query.limit);
  answer(
    response,
    200,
    statementPageToWire({
      applicationId: query.applicationId,
      billDate: query.billDate,
      statementId,
      lines,
      nextCursor: next,
      summary,
    }),
  );
}

const server = createServer({ key: tlsFixtures.serverKeyPem, cert: tlsFixtures.serverCertPem }, (request, response) => {
  serve(request, response).catch((error: unknown) => answer(response, 500, { code: 'SYSTEM_ERROR', message: String(error) }));
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
