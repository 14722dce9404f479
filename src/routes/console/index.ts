import type { FastifyInstance } from 'fastify';
import { apiKeyRoutes } from './api-key.routes.ts';
import { approvalRoutes } from './approval.routes.ts';
import { auditRoutes } from './audit.routes.ts';
import { bindingRoutes } from './binding.routes.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { registerConsoleAuth } from './console-auth.ts';
import { credentialRoutes } from './credential.routes.ts';
import { enablementRoutes } from './enablement.routes.ts';
import { hostKeyRoutes } from './host-key.routes.ts';
import { exportRoutes } from './export.routes.ts';
import { notificationLogRoutes } from './notification-log.routes.ts';
import { orderRecordRoutes } from './order-record.routes.ts';
import { paymentDataRoutes } from './payment-data.routes.ts';
import { paymentConfigRoutes } from './payment-config.routes.ts';
import { reconciliationRoutes } from './reconciliation.routes.ts';
import { sessionRoutes } from './session.routes.ts';
import { tenancyRoutes } from './tenancy.routes.ts';
import { virtualPaymentRoutes } from './virtual-payment.routes.ts';

export const consoleApiPrefix = '/api/v1';

/** The console JSON API, under one prefix, behind one auth hook. */
export async function consoleRoutes(app: FastifyInstance) {
  registerConsoleAuth(app);
  guardRoutesWith(app, 'console-session');
  await app.register(sessionRoutes);
  await app.register(tenancyRoutes);
  await app.register(apiKeyRoutes);
  await app.register(auditRoutes);
  await app.register(paymentConfigRoutes);
  await app.register(hostKeyRoutes);
  await app.register(bindingRoutes);
  await app.register(enablementRoutes);
  await app.register(approvalRoutes);
  await app.register(credentialRoutes);
  await app.register(virtualPaymentRoutes);
  await app.register(orderRecordRoutes);
  await app.register(notificationLogRoutes);
  await app.register(exportRoutes);
  await app.register(paymentDataRoutes);
  await app.register(reconciliationRoutes);
}
