import { keepPreviousData, useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp } from 'antd';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { ApprovalType } from '../../api/payment-status.ts';
import { virtualPaymentApi } from '../../api/virtual-payment-api.ts';
import type { ApprovalItem, ApprovalKind } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

export type ApprovalTab = 'pending' | 'decided';
export type KindFilter = ApprovalKind | 'all';

export interface Decision {
  item: ApprovalItem;
  approve: boolean;
}

export const approvalsPageSize = 20;
const statusesOfTab: Record<ApprovalTab, string> = { pending: '0', decided: '10,20,30' };

/**
 * The Approvals page's data for one superapp: a page of its requests, the names of the requesting mini
 * programs and teams, and the decide, disable-payment and unbind actions.
 */
export function useApprovals(applicationId: string | undefined, { tab, kind, page }: { tab: ApprovalTab; kind: KindFilter; page: number }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const { session } = useConsole();
  const queryClient = useQueryClient();

  const approvals = useQuery({
    queryKey: [...queryKeys.approvals(applicationId ?? ''), tab, kind, page],
    queryFn: () =>
      consoleApi.listApprovals(applicationId!, {
        approvalStatus: statusesOfTab[tab],
        kind: kind === 'all' ? undefined : kind,
        offset: (page - 1) * approvalsPageSize,
        limit: approvalsPageSize,
      }),
    enabled: applicationId !== undefined,
    placeholderData: keepPreviousData,
  });
  // The list carries ids only; the names come from the mini program teams of this superapp the caller sees.
  const requestingTeams = session.teams.filter((team) => team.kind === 'miniprogram' && team.superappId === applicationId);
  const miniProgramLists = useQueries({
    queries: requestingTeams.map((team) => ({
      queryKey: queryKeys.miniPrograms(team.id),
      queryFn: () => consoleApi.listMiniPrograms(team.id),
    })),
  });
  const miniProgramNames = new Map(
    miniProgramLists.flatMap((list) => list.data?.items ?? []).map((miniProgram) => [miniProgram.mnpId, miniProgram.name]),
  );
  const teamName = (teamId: string) => session.teams.find((team) => team.id === teamId)?.name ?? teamId;
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.approvals(applicationId ?? '') }),
      ...requestingTeams.map((team) => queryClient.invalidateQueries({ queryKey: queryKeys.miniPrograms(team.id) })),
    ]);

  // Ends what an approval made: disables the payment, revokes the item exemption, or unbinds the merchant.
  const endRecord = useMutation({
    mutationFn: (item: ApprovalItem) => {
      if (item.kind === 'payment_enable' || item.kind === 'virtual_payment_enable')
        return consoleApi.disablePayment(applicationId!, item.id!);
      if (item.kind === 'item_exemption') return virtualPaymentApi.revokeExemption(applicationId!, item.mnpId!);
      return consoleApi.unbindBySuperapp(applicationId!, item.id!);
    },
    onSuccess: async (_, item) => {
      const done = {
        payment_enable: t('approvals.disabled'),
        virtual_payment_enable: t('approvals.disabled'),
        item_exemption: t('approvals.exemptionRevoked'),
        merchant_binding: t('approvals.unbound'),
        virtual_item: t('common.saved'),
      }[item.kind];
      message.success(done);
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  /** Rejects with the server's error, for the decision's form to show. */
  const decide = async ({ item, approve }: Decision, note: string | undefined) => {
    const approvalNote = note?.trim() ?? '';
    await consoleApi.decideApproval(applicationId!, {
      approvalNo: item.approvalNo,
      approvalType: approve ? ApprovalType.Approve : ApprovalType.Reject,
      ...(approvalNote ? { approvalNote } : {}),
    });
    message.success(approve ? t('approvals.approved') : t('approvals.rejected'));
    await refresh();
  };

  return { approvals, miniProgramNames, teamName, refresh, endRecord, decide };
}
