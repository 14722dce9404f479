import type { ManagementAction } from '../management-action.ts';
import { paymentDataActions } from './payment-data.actions.ts';
import { paymentEnablementActions } from './payment-enablement.actions.ts';
import { reconciliationActions } from './reconciliation.actions.ts';
import { recordActions } from './records.actions.ts';
import { refundSettlementActions } from './refund-settlement.actions.ts';

/** Every management API action; the router looks actions up here by X-TC-Action. */
export const managementActions: ManagementAction[] = [
  ...paymentEnablementActions,
  ...paymentDataActions,
  ...recordActions,
  ...refundSettlementActions,
  ...reconciliationActions,
];
