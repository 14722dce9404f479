import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp } from 'antd';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

/** The Standard payment page's data for one team: its mini programs' payment status, its binding, and the request action. */
export function useStandardPayment(teamId: string) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const { level } = useConsole();
  const queryClient = useQueryClient();

  const miniPrograms = useQuery({
    queryKey: queryKeys.miniProgramPayments(teamId),
    queryFn: () => consoleApi.listMiniProgramPayments(teamId),
  });
  // Why a request is not possible now: no effective binding, or the superapp has payment off.
  const binding = useQuery({
    queryKey: queryKeys.binding(teamId),
    queryFn: () => consoleApi.getBindingOverview(teamId),
    enabled: level('merchant_binding.view') !== undefined,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.miniProgramPayments(teamId) });

  /** Rejects with the server's error, for the request's form to show. */
  const requestPayment = async (mnpId: string, applyNote: string) => {
    await consoleApi.requestPayment(mnpId, applyNote.trim());
    message.success(t('standardPayment.requested'));
    await refresh();
  };

  return { miniPrograms, binding, refresh, requestPayment };
}
