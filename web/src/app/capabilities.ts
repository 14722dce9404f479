import type { AccessLevel, Capability, Session, SessionTeam } from '../api/types.ts';
import type { NavItem } from '../navigation.ts';

function stronger(a: AccessLevel | undefined, b: AccessLevel | undefined): AccessLevel | undefined {
  if (a === 'write' || b === 'write') return 'write';
  return a ?? b;
}

/** The caller's level for a capability: platform-wide or in the given team, whichever is stronger. */
export function levelIn(session: Session, team: SessionTeam | undefined, capability: Capability): AccessLevel | undefined {
  return stronger(session.capabilities[capability], team?.capabilities[capability]);
}

/**
 * A nav item shows when its team kind (if any) matches the current team and the caller holds one of its
 * capabilities at any level. The levels come from the server's permission table via GET /session.
 */
export function isNavItemVisible(item: NavItem, session: Session, team: SessionTeam | undefined): boolean {
  if (item.teamKind && team?.kind !== item.teamKind) return false;
  if (item.needsTeam && !team) return false;
  if (item.capabilities === 'everyone') return true;
  return item.capabilities.some((capability) => levelIn(session, team, capability) !== undefined);
}
