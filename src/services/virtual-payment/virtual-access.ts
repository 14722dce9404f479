import type { Executor } from '../../db/schema.ts';
import { requireAllowed, requireVisible, type Actor } from '../../domain/access.ts';
import type { Capability } from '../../domain/permissions.ts';
import { accessMiniProgram } from '../tenancy/index.ts';

/**
 * A mini program as virtual payment setup reaches it: visible to the caller through `view` (else "not found", as a
 * made-up id is), and with `act` the caller must also be allowed that (else "unauthorized").
 */
export async function accessVirtualSetup(db: Executor, actor: Actor, mnpId: string, view: Capability, act?: Capability) {
  const access = await accessMiniProgram(db, actor, mnpId);
  requireVisible(actor, view, access.scope, 'Mini program');
  if (act) requireAllowed(actor, act, access.scope);
  return access;
}
