import { Descriptions, Form, Input } from 'antd';
import type { ApprovalItem } from '../../api/types.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import type { Decision } from './use-approvals.ts';

function DecisionSummary({ item, team, miniProgram }: { item: ApprovalItem; team: string; miniProgram: string | undefined }) {
  const { t, formatTime } = useI18n();
  return (
    <Descriptions column={1} size="small" bordered style={{ marginBottom: 16 }}>
      <Descriptions.Item label={t('approvals.kind')}>{t(`approvalKind.${item.kind}`)}</Descriptions.Item>
      <Descriptions.Item label={t('approvals.approvalNo')}>{item.approvalNo}</Descriptions.Item>
      <Descriptions.Item label={t('approvals.team')}>{team}</Descriptions.Item>
      {item.mnpId && (
        <Descriptions.Item label={t('approvals.miniProgram')}>
          {miniProgram ? `${miniProgram} (${item.mnpId})` : item.mnpId}
        </Descriptions.Item>
      )}
      <Descriptions.Item label={t('approvals.merchant')}>{`${item.merchantId} — ${item.merchantName}`}</Descriptions.Item>
      {item.applyNote && <Descriptions.Item label={t('approvals.applyNote')}>{item.applyNote}</Descriptions.Item>}
      <Descriptions.Item label={t('approvals.requestedAtLabel')}>{formatTime(item.applyTime)}</Descriptions.Item>
    </Descriptions>
  );
}

interface ApprovalDecisionModalProps {
  /** The request being approved or rejected; null while closed. */
  decision: Decision | null;
  miniProgramNames: Map<string, string>;
  teamName(teamId: string): string;
  onDecide(decision: Decision, approvalNote: string | undefined): Promise<unknown>;
  onClose(): void;
}

/** Approve or Reject one request with a note to the requester: optional to approve, required to reject. */
export function ApprovalDecisionModal({ decision, miniProgramNames, teamName, onDecide, onClose }: ApprovalDecisionModalProps) {
  const { t } = useI18n();
  const approve = decision?.approve;
  return (
    <FormModal<{ approvalNote?: string }>
      title={approve ? t('approvals.approveTitle') : t('approvals.rejectTitle')}
      open={decision !== null}
      okText={approve ? t('approvals.approve') : t('approvals.reject')}
      onClose={onClose}
      onSubmit={(values) => onDecide(decision!, values.approvalNote)}
    >
      {decision && (
        <DecisionSummary
          item={decision.item}
          team={teamName(decision.item.teamId)}
          miniProgram={decision.item.mnpId ? miniProgramNames.get(decision.item.mnpId) : undefined}
        />
      )}
      <Form.Item
        label={t('approvals.approvalNote')}
        name="approvalNote"
        extra={approve ? t('approvals.noteOptional') : t('approvals.noteRequiredHelp')}
        rules={approve ? [] : [{ required: true, whitespace: true, message: t('approvals.noteRequired') }]}
      >
        <Input.TextArea rows={3} maxLength={500} showCount />
      </Form.Item>
    </FormModal>
  );
}
