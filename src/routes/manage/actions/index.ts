import type { ManagementAction } from '../management-action.ts';

/** Every management API action; the router looks actions up here by X-TC-Action. */
export const managementActions: ManagementAction[] = [];
