import { useQuery } from '@tanstack/react-query';
import { Select } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../api/console-api.ts';
import type { Superapp } from '../api/types.ts';
import { useI18n } from '../i18n/i18n-context.tsx';
import { useConsole } from './console-context.tsx';

export interface TeamSuperapp {
  /** The superapps the current superapp team owns. */
  superapps: Superapp[];
  /** The one the page works on: the chosen one, else the first. */
  superapp: Superapp | undefined;
  select(applicationId: string): void;
  isPending: boolean;
  error: Error | null;
}

/** The superapp a superapp-team page works on (a team may own several; the page offers a choice then). */
export function useTeamSuperapp(): TeamSuperapp {
  const { currentTeam } = useConsole();
  const [chosen, select] = useState<string | null>(null);
  const query = useQuery({ queryKey: queryKeys.superapps, queryFn: consoleApi.listSuperapps });
  const superapps = (query.data?.items ?? []).filter((superapp) => superapp.teamId === currentTeam?.id);
  const superapp = superapps.find((candidate) => candidate.applicationId === chosen) ?? superapps[0];
  return { superapps, superapp, select, isPending: query.isPending, error: query.error };
}

/** A choice of superapp, shown only when the team owns more than one. */
export function SuperappSelect({ teamSuperapp }: { teamSuperapp: TeamSuperapp }) {
  const { t } = useI18n();
  if (teamSuperapp.superapps.length < 2) return null;
  return (
    <Select
      aria-label={t('payment.superapp')}
      value={teamSuperapp.superapp?.applicationId}
      onChange={teamSuperapp.select}
      options={teamSuperapp.superapps.map((superapp) => ({ value: superapp.applicationId, label: superapp.name }))}
      style={{ minWidth: 220 }}
    />
  );
}
