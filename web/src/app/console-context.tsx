import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import type { AccessLevel, Capability, Session, SessionTeam } from '../api/types.ts';
import { levelIn } from './capabilities.ts';

const currentTeamStorageKey = 'paythrough.currentTeam';

export interface ConsoleValue {
  session: Session;
  /** The team chosen in the team switcher (undefined when the caller reaches no team). */
  currentTeam: SessionTeam | undefined;
  selectTeam(teamId: string): void;
  /** The level for a capability, platform-wide or in the current team. */
  level(capability: Capability): AccessLevel | undefined;
  /** The level for a capability, platform-wide or in the given team (for rows of other teams). */
  levelInTeam(capability: Capability, teamId: string | null | undefined): AccessLevel | undefined;
}

const ConsoleContext = createContext<ConsoleValue | null>(null);

export function ConsoleProvider({ session, children }: { session: Session; children: ReactNode }) {
  const [chosenTeamId, setChosenTeamId] = useState(() => localStorage.getItem(currentTeamStorageKey));
  const selectTeam = useCallback((teamId: string) => {
    localStorage.setItem(currentTeamStorageKey, teamId);
    setChosenTeamId(teamId);
  }, []);

  const value = useMemo<ConsoleValue>(() => {
    // A remembered team the caller no longer reaches (or another user's choice) falls back to the first team.
    const currentTeam =
      session.teams.find((team) => team.id === chosenTeamId) ?? session.teams.find((team) => team.myRole) ?? session.teams[0];
    return {
      session,
      currentTeam,
      selectTeam,
      level: (capability) => levelIn(session, currentTeam, capability),
      levelInTeam: (capability, teamId) =>
        levelIn(
          session,
          session.teams.find((team) => team.id === teamId),
          capability,
        ),
    };
  }, [session, chosenTeamId, selectTeam]);

  return <ConsoleContext.Provider value={value}>{children}</ConsoleContext.Provider>;
}

export function useConsole(): ConsoleValue {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error('useConsole outside ConsoleProvider');
  return value;
}
