import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsFixtures } from '../../test/fixtures/keys/index.ts';
import { OutboundError, PinnedAgentPool, responseExcerptOf, sendOutbound } from './pinned-http.ts';

const sandbox = { allowPrivateTargets: [], sandboxRelaxed: true };
const loopbackAllowed = { allowPrivateTargets: ['127.0.0.1/32'], sandboxRelaxed: false };

interface Received {
  host: string | undefined;
  url: string | undefined;
  body: string;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('responseExcerptOf', () => {
  it('keeps the first 1 KB of a public answer and nothing of a loopback, private or link-local one', () => {
    const body = Buffer.from('x'.repeat(5000));
    expect(responseExcerptOf({ address: '8.8.8.8', body })).toHaveLength(1024);
    expect(responseExcerptOf({ address: '2001:4860:4860::8888', body })).toHaveLength(1024);
    for (const address of ['127.0.0.1', '::1', '10.1.2.3', '192.168.0.9', '169.254.169.254', '::ffff:127.0.0.1']) {
      expect(responseExcerptOf({ address, body }), address).toBeNull();
    }
  });
});

describe('sendOutbound', () => {
  const received: Received[] = [];
  let port: number;
  let tlsPort: number;
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ host: request.headers.host, url: request.url, body: Buffer.concat(chunks).toString() });
      if (request.url === '/redirect') return void response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      if (request.url === '/hang') return;
      if (request.url === '/big') return void response.writeHead(200).end('x'.repeat(5000));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  };
  const server = createServer(handler);
  const tlsServer = createHttpsServer({ key: tlsFixtures.serverKeyPem, cert: tlsFixtures.serverCertPem }, handler);
  beforeAll(async () => {
    port = await listen(server);
    tlsPort = await listen(tlsServer as unknown as Server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    tlsServer.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => tlsServer.close(resolve));
  });

  it('posts to an allowed loopback target and reads the answer', async () => {
    const response = await sendOutbound(
      { url: `http://127.0.0.1:${port}/notify?a=1`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' },
      { policy: sandbox },
    );
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('{"ok":true}');
    expect(received.at(-1)).toEqual({ host: `127.0.0.1:${port}`, url: '/notify?a=1', body: '{"x":1}' });
  });

  it('with a pool, keeps one connection per origin and set of checked addresses, and reports the address it reached', async () => {
    let connections = 0;
    const count = () => (connections += 1);
    server.on('connection', count);
    const agents = new PinnedAgentPool({ maxSocketsPerAgent: 2 });
    try {
      const send = (url: string, lookup?: () => Promise<Array<{ address: string; family: 4 }>>) =>
        sendOutbound(
          { url, method: 'POST', headers: {}, body: '{}' },
          { policy: { ...loopbackAllowed, sandboxRelaxed: true }, agents, ...(lookup ? { lookup } : {}) },
        );
      for (let i = 0; i < 3; i += 1) {
        const response = await send(`http://127.0.0.1:${port}/kept`);
        expect(response.status).toBe(200);
        expect(response.address).toBe('127.0.0.1');
      }
      expect(connections).toBe(1);
      // Another origin (a name, though it resolves to the same address) gets connections of its own.
      await send(`http://merchant.test:${port}/kept`, async () => [{ address: '127.0.0.1', family: 4 }]);
      expect(connections).toBe(2);
      // The same origin checked to other addresses never borrows a connection made for the first ones.
      const target = (addresses: string[]) => ({
        url: new URL(`http://merchant.test:${port}/`),
        hostname: 'merchant.test',
        address: addresses[0]!,
        family: 4 as const,
        addresses: addresses.map((address) => ({ address, family: 4 as const })),
      });
      expect(agents.agentFor(target(['127.0.0.1']), undefined)).toBe(agents.agentFor(target(['127.0.0.1']), undefined));
      expect(agents.agentFor(target(['127.0.0.1']), undefined)).not.toBe(agents.agentFor(target(['10.0.0.1', '127.0.0.1']), undefined));
    } finally {
      server.off('connection', count);
      agents.destroy();
    }
  });

  it('resolves a name once and connects to the checked address, keeping the name in Host', async () => {
    let lookups = 0;
    const lookup = async () => {
      lookups += 1;
      // A rebinding resolver: the first answer passes the check, any later one would point elsewhere.
      return [{ address: lookups === 1 ? '127.0.0.1' : '10.9.9.9', family: 4 }];
    };
    const response = await sendOutbound(
      { url: `http://merchant.test:${port}/pinned`, method: 'GET', headers: {} },
      { policy: { ...loopbackAllowed, sandboxRelaxed: true }, lookup },
    );
    expect(response.status).toBe(200);
    expect(response.address).toBe('127.0.0.1');
    expect(lookups).toBe(1);
    expect(received.at(-1)).toMatchObject({ host: `merchant.test:${port}`, url: '/pinned' });
  });

  it('offers every checked address to the connection, so an unreachable IPv6 record falls back to IPv4', async () => {
    const lookup = async () => [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ];
    const response = await sendOutbound(
      { url: `http://localhost.test:${port}/both`, method: 'GET', headers: {} },
      { policy: sandbox, lookup },
    );
    expect(response.status).toBe(200);
    expect(response.address).toBe('127.0.0.1');
  });

  it('speaks TLS to the pinned address while verifying the certificate for the name', async () => {
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const url = `https://${tlsFixtures.hostname}:${tlsPort}/tls`;
    const response = await sendOutbound(
      { url, method: 'POST', headers: {}, body: 'hi' },
      { policy: loopbackAllowed, lookup, tls: { ca: tlsFixtures.caPem } },
    );
    expect(response.status).toBe(200);
    expect(received.at(-1)).toMatchObject({ host: `${tlsFixtures.hostname}:${tlsPort}`, body: 'hi' });
    // Another name on the same address fails the certificate check.
    const wrongName = sendOutbound(
      { url: `https://other.merchant.test:${tlsPort}/tls`, method: 'GET', headers: {} },
      { policy: loopbackAllowed, lookup, tls: { ca: tlsFixtures.caPem } },
    );
    await expect(wrongName).rejects.toBeInstanceOf(OutboundError);
  });

  it('refuses before connecting when the policy says no', async () => {
    const before = received.length;
    const error = await sendOutbound(
      { url: `http://127.0.0.1:${port}/x`, method: 'GET', headers: {} },
      { policy: { allowPrivateTargets: [], sandboxRelaxed: false } },
    ).catch((e) => e);
    expect(error).toMatchObject({ failure: 'refused', mayHaveArrived: false });
    const https = await sendOutbound(
      { url: `https://127.0.0.1:${port}/x`, method: 'GET', headers: {} },
      { policy: { allowPrivateTargets: [], sandboxRelaxed: false } },
    ).catch((e) => e);
    expect(https).toMatchObject({ failure: 'refused' });
    expect(received.length).toBe(before);
  });

  it('does not follow redirects', async () => {
    const response = await sendOutbound(
      { url: `http://127.0.0.1:${port}/redirect`, method: 'POST', headers: {}, body: '{}' },
      { policy: sandbox },
    );
    expect(response.status).toBe(302);
    expect(received.at(-1)!.url).toBe('/redirect');
  });

  it('gives up at the deadline', async () => {
    const started = Date.now();
    const error = await sendOutbound(
      { url: `http://127.0.0.1:${port}/hang`, method: 'POST', headers: {}, body: '{}', timeoutMs: 300 },
      { policy: sandbox },
    ).catch((e) => e);
    expect(error).toMatchObject({ failure: 'timeout', mayHaveArrived: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps only the first bytes of a large answer, or fails, as asked', async () => {
    const truncated = await sendOutbound(
      { url: `http://127.0.0.1:${port}/big`, method: 'GET', headers: {}, maxResponseBytes: 1024, onOversizedResponse: 'truncate' },
      { policy: sandbox },
    );
    expect(truncated.body).toHaveLength(1024);
    expect(truncated.truncated).toBe(true);
    await expect(
      sendOutbound({ url: `http://127.0.0.1:${port}/big`, method: 'GET', headers: {}, maxResponseBytes: 1024 }, { policy: sandbox }),
    ).rejects.toMatchObject({ failure: 'oversized' });
  });

  it('reports a refused connection as certainly not arrived', async () => {
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await sendOutbound({ url: `http://127.0.0.1:${closedPort}/`, method: 'GET', headers: {} }, { policy: sandbox }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ failure: 'connect', mayHaveArrived: false });
  });
});
