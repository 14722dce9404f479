import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../domain/clock.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { type NonceStore, type SignatureFailureLimiter, signatureFailureMessage } from '../../services/auth/index.ts';
import type { ChannelEventSink } from '../../channels/channel.ts';
import { channelCallbackRoute } from '../../channels/protocol.ts';
import { receiveChannelEvent } from '../../channels/http/callbacks.ts';

/**
 * `POST /channel/v1/superapps/{applicationId}/events`: where a superapp's HTTP channel posts its
 * events. Answers 204 once the sink accepted the event (the channel stops retrying), 401 / 400 for an
 * unauthentic or malformed callback, 404 for a superapp without an HTTP channel, 500 when the sink
 * failed (the channel retries).
 */
export interface ChannelCallbackRoutesOptions {
  /** The channel keys of a superapp whose channel is the HTTP protocol; null when it has none. */
  channelKeysFor(applicationId: string): Promise<readonly string[] | null>;
  sink: ChannelEventSink;
  nonces: NonceStore;
  clock: Clock;
  /** Counts failed signatures per client address and refuses the address once over the limit. */
  signatureFailures: SignatureFailureLimiter;
}

export async function channelCallbackRoutes(app: FastifyInstance, options: ChannelCallbackRoutesOptions) {
  guardRoutesWith(app, 'channel-signature');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  // Fastify's own refusals (body too large, wrong content type) in the protocol's {code, message} shape.
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'channel callback failed');
    return reply
      .status(status)
      .send(
        status === 500
          ? { code: 'SYSTEM_ERROR', message: 'The event was not accepted; send it again later' }
          : { code: 'PARAM_ERROR', message: error.message },
      );
  });
  app.post<{ Params: { applicationId: string } }>(
    channelCallbackRoute,
    { config: { capability: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      const { applicationId } = request.params;
      if (await options.signatureFailures.isBlocked('channel', request.ip))
        return reply.status(429).send({ code: 'FREQUENCY_LIMITED', message: signatureFailureMessage });
      const channelKeys = await options.channelKeysFor(applicationId);
      if (!channelKeys || channelKeys.length === 0)
        return reply.status(404).send({ code: 'RESOURCE_NOT_EXISTS', message: 'No HTTP channel for this superapp' });
      const received = await receiveChannelEvent({
        headers: request.headers,
        rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        channelKeys,
        nonceScope: `channel-callback:${applicationId}`,
        nonces: options.nonces,
        nowMs: options.clock.nowMs(),
      });
      if (!received.ok) {
        if (received.status === 401) await options.signatureFailures.recordFailure('channel', request.ip);
        return reply.status(received.status).send({ code: received.code, message: received.message });
      }
      try {
        await options.sink.handle(received.event, { channelKind: 'http', applicationId });
      } catch (error) {
        request.log.error({ err: error, eventId: received.event.eventId }, 'channel event not accepted');
        return reply.status(500).send({ code: 'SYSTEM_ERROR', message: 'The event was not accepted; send it again later' });
      }
      return reply.status(204).send();
    },
  );
}
