import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HostAnswer, HostFields, HostMessageKind, HostSender } from '../../services/payments/index.ts';
import { signatureFailureMessage } from '../../services/auth/index.ts';
import { buildHostXml, HostXmlError, parseHostXml } from './host-xml.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';

/** Where the host API lives (SPEC §4.5: `{PUBLIC_URL}/superapp/pay/...`, as the demo host apps call it). */
export const hostApiPrefix = '/superapp/pay';

/** A host message never needs more than a few hundred bytes. */
const hostBodyLimit = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the host API's auth hook: the message's fields and who signed it. */
    hostMessage: { fields: HostFields; sender: HostSender } | null;
  }
  interface FastifyContextConfig {
    /** Which host message a route takes (the auth hook verifies it against the right superapp). */
    hostMessage?: HostMessageKind;
  }
}

class HostBodyError extends Error {}

/** `<xml>` (as Android's XmlSerializer writes it, or with CDATA) or a flat JSON object, as string fields. */
export function parseHostBody(raw: Buffer): HostFields {
  const text = raw.toString('utf8');
  const start = text.replace(/^\uFEFF/, '').trimStart()[0];
  if (start === '<') {
    try {
      return parseHostXml(text);
    } catch (error) {
      if (error instanceof HostXmlError) throw new HostBodyError(`The XML body is not accepted: ${error.message}`);
      throw error;
    }
  }
  if (start === '{') {
    let json: unknown;
    try {
      json = parseBoundedJson(text);
    } catch (error) {
      throw new HostBodyError(error instanceof JsonLimitError ? error.message : 'The JSON body does not parse');
    }
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
      if (typeof value === 'string') fields[name] = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) fields[name] = String(value);
      else if (value !== null) throw new HostBodyError(`The JSON field ${name} must be a string or an integer`);
    }
    return fields;
  }
  throw new HostBodyError('The body must be <xml>...</xml> (application/xml) or a JSON object');
}

function sendAnswer(reply: FastifyReply, answer: HostAnswer) {
  // The demo hosts treat anything but 2xx as a failure: every answer, FAIL included, is 200 XML.
  return reply
    .status(200)
    .header('content-type', 'application/xml; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(buildHostXml(answer));
}

const fail = (message: string): HostAnswer => ({ return_code: 'FAIL', return_msg: message });

/**
 * The host API (SPEC §4.5): `queryPreOrder`, `payOrder` and `refundResult`, XML or JSON in, XML out,
 * always HTTP 200. One hook parses and authenticates every message (HMAC host-key signature, timestamp
 * window, nonce replay store); the operations decide what an unsigned message may do.
 */
export async function hostRoutes(app: FastifyInstance) {
  const { hostPayments, signatureFailures } = app.services;
  app.decorateRequest('hostMessage', null);
  guardRoutesWith(app, 'host-message');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: hostBodyLimit }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendAnswer(reply, fail('The body is too large'));
    if (error.statusCode && error.statusCode < 500) return sendAnswer(reply, fail('The request is not a host API message'));
    request.log.error({ err: error }, 'host API request failed');
    return sendAnswer(reply, fail('System error: report it again later'));
  });
  app.setNotFoundHandler((_request, reply) => sendAnswer(reply, fail('No such host API call')));

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const kind = request.routeOptions.config.hostMessage;
    if (!kind) return;
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let fields: HostFields;
    try {
      fields = parseHostBody(raw);
    } catch (error) {
      if (error instanceof HostBodyError) return sendAnswer(reply, fail(error.message));
      throw error;
    }
    if (await signatureFailures.isBlocked('host', request.ip)) return sendAnswer(reply, fail(signatureFailureMessage));
    const authentication = await hostPayments.authenticate(kind, fields, request.headers, raw);
    if (!authentication.ok) {
      await signatureFailures.recordFailure('host', request.ip);
      return sendAnswer(reply, fail(authentication.message));
    }
    request.hostMessage = { fields, sender: authentication.sender };
  });

  const message = (request: FastifyRequest) => request.hostMessage!;
  const tags = ['host API'];
  const described = (kind: HostMessageKind, summary: string, description: string) => ({
    config: { capability: 'public' as const, hostMessage: kind },
    bodyLimit: hostBodyLimit,
    schema: {
      summary,
      description:
        `${description}\n\n` +
        "Body: `application/xml` (`<xml><field>value</field>...</xml>`, as Android's XmlSerializer writes it) or a flat JSON object. " +
        'Answer: always HTTP 200, `application/xml`, with `return_code` SUCCESS or FAIL and `return_msg`. ' +
        'Signed messages carry `Paythrough-Timestamp`, `Paythrough-Nonce` and `Paythrough-Signature` ' +
        '(docs/channel-protocol.md, "The host API").',
      tags,
    },
  });

  app.post(
    '/queryPreOrder',
    described(
      'queryPreOrder',
      'Look a pre-order up by prepay_id before charging for it',
      'Fields: `appid`, `nonce_str`, `prepay_id`. ' +
        'Answers `prepay_id`, `out_trade_no`, `total_fee` (minor units), `fee_type`, `body`, `time_expire` (RFC 3339); ' +
        'FAIL for a paid, closed or expired order. Signature optional.',
    ),
    async (request, reply) => sendAnswer(reply, await hostPayments.queryPreOrder(message(request).fields, message(request).sender)),
  );
  app.post(
    '/payOrder',
    described(
      'payOrder',
      'Report a payment the superapp took for a pre-order',
      'Fields: `prepay_id`, `out_trade_no`, `total_fee`, optional `transaction_id`, `time_end`, `result_code`, `fee_type`. ' +
        'Idempotent. Signed with the host key, except for superapps on the sandbox channel while the sandbox is on.',
    ),
    async (request, reply) => sendAnswer(reply, await hostPayments.payOrder(message(request).fields, message(request).sender)),
  );
  app.post(
    '/refundResult',
    described(
      'refundResult',
      'Report how a refund sent to the refund webhook ended (host-reported mode)',
      'Fields: `mchid`, `out_refund_no`, `refund_status` (SUCCESS, CLOSED or ABNORMAL), optional `refund_id`, `refund_fee`, ' +
        '`application_id` (the refund webhook names it; needed when another superapp has the same merchant ID and refund number). ' +
        'Always signed with the host key.',
    ),
    async (request, reply) => sendAnswer(reply, await hostPayments.refundResult(message(request).fields, message(request).sender)),
  );
}
