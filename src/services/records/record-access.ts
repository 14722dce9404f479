import type { Executor } from '../../db/schema.ts';
import { accessLevel, type Actor } from '../../domain/access.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import type { Capability } from '../../domain/permissions.ts';
import { miniProgramRepository } from '../../repositories/mini-program.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { scopeOfTeam } from '../tenancy/index.ts';
import type { RecordScope } from '../../domain/record-scope.ts';
import { recordScopeOf } from './record-scope.ts';

const isUnauthorized = (error: unknown) => error instanceof AppError && error.code === 'UnauthorizedOperation';

/**
 * The record scope for a list. A caller without records (review staff) is refused (SPEC §7), except
 * that naming a mini program outside their reach is "not found" like any other unreachable thing.
 */
export async function listScopeOf(
  db: Executor,
  actor: Actor,
  capability: Capability,
  mnpIds: readonly string[] | undefined,
): Promise<RecordScope> {
  try {
    return await recordScopeOf(db, actor, capability);
  } catch (error) {
    if (isUnauthorized(error) && mnpIds?.length) {
      for (const mnpId of mnpIds) {
        const miniProgram = await miniProgramRepository.findById(db, mnpId);
        const team = miniProgram ? await teamRepository.findById(db, miniProgram.team_id) : undefined;
        if (!team || !accessLevel(actor, 'mini_program.view', await scopeOfTeam(db, team))) throw notFound(`Mini program ${mnpId}`);
      }
    }
    throw error;
  }
}

/** The record scope for one record by id: a caller without records finds no record at all. */
export async function detailScopeOf(db: Executor, actor: Actor, capability: Capability, what: string): Promise<RecordScope> {
  try {
    return await recordScopeOf(db, actor, capability);
  } catch (error) {
    if (isUnauthorized(error)) throw notFound(what);
    throw error;
  }
}
