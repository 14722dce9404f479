import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp } from 'antd';
import { consoleApi, queryKeys, type MerchantFields } from '../../api/console-api.ts';
import { BindingStatus } from '../../api/payment-status.ts';
import type { Binding } from '../../api/types.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';

export type BindingRequestKind = 'bind' | 'change';

/**
 * The Bind merchant page's data for one team: its binding overview and records, the merchants it may pick
 * (only while a request form needs them), and the request and unbind actions.
 */
export function useBindMerchant(teamId: string, { pickableNeeded }: { pickableNeeded: boolean }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();

  const overview = useQuery({ queryKey: queryKeys.binding(teamId), queryFn: () => consoleApi.getBindingOverview(teamId) });
  const records = useQuery({ queryKey: [...queryKeys.binding(teamId), 'records'], queryFn: () => consoleApi.listBindingRecords(teamId) });
  const pickable = useQuery({
    queryKey: [...queryKeys.binding(teamId), 'pickable'],
    queryFn: () => consoleApi.listPickableMerchants(teamId),
    enabled: pickableNeeded,
  });
  // A binding change disables or re-points the team's mini programs: their payment view follows.
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.binding(teamId) }),
      queryClient.invalidateQueries({ queryKey: queryKeys.miniProgramPayments(teamId) }),
    ]);

  const unbind = useMutation({
    mutationFn: (binding: Binding) => consoleApi.unbindByTeam(teamId, binding.id),
    onSuccess: async () => {
      message.success(t('binding.unbound'));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  /** Rejects with the server's error, for the request's form to show. */
  const request = async (kind: BindingRequestKind, merchant: MerchantFields) => {
    if (kind === 'change') await consoleApi.requestBindingChange(teamId, merchant);
    else await consoleApi.requestBinding(teamId, merchant);
    message.success(t('binding.requested'));
    await refresh();
  };

  const pending = overview.data?.pending ?? null;
  const latest = overview.data?.latest ?? null;
  return {
    overview,
    records,
    pickable,
    effective: overview.data?.effective ?? null,
    pending,
    /** The latest request, when it was rejected and nothing newer waits. */
    lastRejected: !pending && latest?.approvalStatus === BindingStatus.Rejected ? latest : null,
    unbind,
    request,
  };
}
