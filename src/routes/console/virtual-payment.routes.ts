import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PaymentType } from '../../domain/approval-state.ts';
import { actorOf } from './console-auth.ts';
import { applicationIdParams, approvalNoResponse, enablementDescriptionSchema, mnpIdParams } from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';
import {
  appKeySchema,
  deliveryViewSchema,
  exemptionSchema,
  itemChangesBody,
  itemSchema,
  newItemBody,
  productIdParams,
} from './virtual-payment-schemas.ts';

/**
 * Commercialization → Virtual payment (SPEC §8.1): request permission, basic configuration (AppKey, delivery URL),
 * items and the approval exemption; the superapp revokes exemptions here and decides requests on its Approvals page.
 */
export async function virtualPaymentRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { enablements, virtualAccounts, virtualDelivery, virtualItems, itemExemptions } = app.services;
  const tags = ['console: virtual payment'];
  const applyBody = z.object({ applyNote: z.string().trim().min(1).max(500) });

  routes.get(
    '/mini-programs/:mnpId/virtual-payment',
    {
      config: { capability: 'mini_program.view' },
      schema: {
        summary: "A mini program's virtual payment (PaymentType 2) approval state (-1 never applied)",
        tags,
        params: mnpIdParams,
        response: { 200: enablementDescriptionSchema, ...consoleErrors },
      },
    },
    async (request) => enablements.describe(actorOf(request), request.params.mnpId, PaymentType.Virtual),
  );

  routes.post(
    '/mini-programs/:mnpId/virtual-payment/requests',
    {
      config: { capability: 'virtual_payment.request' },
      schema: {
        summary: 'Request virtual payment (also re-applies after a rejection or disabling)',
        tags,
        params: mnpIdParams,
        body: applyBody,
        response: { 201: approvalNoResponse, ...consoleErrors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(
        await enablements.request(actorOf(request), {
          mnpId: request.params.mnpId,
          applyNote: request.body.applyNote,
          paymentType: PaymentType.Virtual,
        }),
      ),
  );

  routes.get(
    '/mini-programs/:mnpId/virtual-payment/config',
    {
      config: { capability: 'virtual_delivery.view' },
      schema: {
        summary: 'Basic configuration: the virtual payment account (never its AppKey) and the delivery URL',
        tags,
        params: mnpIdParams,
        response: { 200: deliveryViewSchema, ...consoleErrors },
      },
    },
    async (request) => virtualDelivery.view(actorOf(request), request.params.mnpId),
  );

  routes.put(
    '/mini-programs/:mnpId/virtual-payment/delivery-url',
    {
      config: { capability: 'virtual_delivery.manage' },
      schema: {
        summary: 'Set the delivery URL (https, no query string; http only on a sandbox superapp)',
        tags,
        params: mnpIdParams,
        body: z.object({ deliveryUrl: z.string().trim().min(1).max(1024) }),
        response: { 200: deliveryViewSchema, ...consoleErrors },
      },
    },
    async (request) => virtualDelivery.setDeliveryUrl(actorOf(request), request.params.mnpId, request.body.deliveryUrl),
  );

  routes.get(
    '/mini-programs/:mnpId/virtual-payment/app-key',
    {
      config: { capability: 'virtual_app_key.manage' },
      schema: {
        summary: 'The AppKey in clear (MP admin and senior developer; each view is audited)',
        tags,
        params: mnpIdParams,
        response: { 200: appKeySchema, ...consoleErrors },
      },
    },
    async (request) => virtualAccounts.viewAppKey(actorOf(request), request.params.mnpId),
  );

  routes.post(
    '/mini-programs/:mnpId/virtual-payment/app-key/reset',
    {
      config: { capability: 'virtual_app_key.manage' },
      schema: {
        summary: 'Issue a new AppKey; the old one is revoked at once',
        tags,
        params: mnpIdParams,
        response: { 200: appKeySchema, ...consoleErrors },
      },
    },
    async (request) => virtualAccounts.resetAppKey(actorOf(request), request.params.mnpId),
  );

  routes.get(
    '/mini-programs/:mnpId/virtual-items',
    {
      config: { capability: 'virtual_item.view' },
      schema: {
        summary: "The mini program's items: the version that sells and any pending revision",
        tags,
        params: mnpIdParams,
        response: { 200: z.object({ items: z.array(itemSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await virtualItems.list(actorOf(request), request.params.mnpId) }),
  );

  routes.post(
    '/mini-programs/:mnpId/virtual-items',
    {
      config: { capability: 'virtual_item.edit' },
      schema: {
        summary: 'Save a new item (PENDING; APPROVED at once under an approved exemption)',
        tags,
        params: mnpIdParams,
        body: newItemBody,
        response: { 201: itemSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await virtualItems.create(actorOf(request), request.params.mnpId, request.body)),
  );

  routes.get(
    '/mini-programs/:mnpId/virtual-items/:productId',
    {
      config: { capability: 'virtual_item.view' },
      schema: { summary: 'One item', tags, params: productIdParams, response: { 200: itemSchema, ...consoleErrors } },
    },
    async (request) => virtualItems.get(actorOf(request), request.params.mnpId, request.params.productId),
  );

  routes.patch(
    '/mini-programs/:mnpId/virtual-items/:productId',
    {
      config: { capability: 'virtual_item.edit' },
      schema: {
        summary: 'Edit an item: an approved one keeps selling while the revision waits; a rejected or offline one is resubmitted',
        tags,
        params: productIdParams,
        body: itemChangesBody,
        response: { 200: itemSchema, ...consoleErrors },
      },
    },
    async (request) => virtualItems.edit(actorOf(request), request.params.mnpId, request.params.productId, request.body),
  );

  routes.post(
    '/mini-programs/:mnpId/virtual-items/:productId/offline',
    {
      config: { capability: 'virtual_item.edit' },
      schema: { summary: 'Take an approved item offline', tags, params: productIdParams, response: { 200: itemSchema, ...consoleErrors } },
    },
    async (request) => virtualItems.offline(actorOf(request), request.params.mnpId, request.params.productId),
  );

  routes.post(
    '/mini-programs/:mnpId/virtual-items/:productId/resubmit',
    {
      config: { capability: 'virtual_item.edit' },
      schema: {
        summary: 'Submit a rejected or offline item for approval again',
        tags,
        params: productIdParams,
        response: { 200: itemSchema, ...consoleErrors },
      },
    },
    async (request) => virtualItems.resubmit(actorOf(request), request.params.mnpId, request.params.productId),
  );

  routes.get(
    '/mini-programs/:mnpId/item-exemption',
    {
      config: { capability: 'item_exemption.view' },
      schema: {
        summary: 'The approval exemption for items (-1 never requested)',
        tags,
        params: mnpIdParams,
        response: { 200: exemptionSchema, ...consoleErrors },
      },
    },
    async (request) => itemExemptions.describe(actorOf(request), request.params.mnpId),
  );

  routes.post(
    '/mini-programs/:mnpId/item-exemption/requests',
    {
      config: { capability: 'item_exemption.request' },
      schema: {
        summary: 'Request the approval exemption for items',
        tags,
        params: mnpIdParams,
        body: applyBody,
        response: { 201: approvalNoResponse, ...consoleErrors },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await itemExemptions.request(actorOf(request), { mnpId: request.params.mnpId, applyNote: request.body.applyNote })),
  );

  routes.post(
    '/superapps/:applicationId/item-exemptions/revoke',
    {
      config: { capability: 'approval.decide' },
      schema: {
        summary: "Revoke a mini program's approved exemption: its items wait for approval again",
        tags,
        params: applicationIdParams,
        body: z.object({ mnpId: z.string().min(1).max(64), note: z.string().max(500).optional() }),
        response: { 204: z.null(), ...consoleErrors },
      },
    },
    async (request, reply) => {
      await itemExemptions.revoke(actorOf(request), { applicationId: request.params.applicationId, ...request.body });
      return reply.status(204).send(null);
    },
  );
}
