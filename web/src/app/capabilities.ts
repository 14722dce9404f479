import type { AccessLevel, Capability, Session, SessionTeam } from '../api/types.ts';

function stronger(a: AccessLevel | undefined, b: AccessLevel | undefined): AccessLevel | undefined {
  if (a === 'write' || b === 'write') return 'write';
  return a ?? b;
}

/** The caller's level for a capability: platform-wide or in the given team, whichever is stronger. */
export function levelIn(session: Session, team: SessionTeam | undefined, capability: Capability): AccessLevel | undefined {
  return stronger(session.capabilities[capability], team?.capabilities[capability]);
}
