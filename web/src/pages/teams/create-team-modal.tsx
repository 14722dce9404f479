import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import { Form, Input, Radio, Select } from 'antd';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { Items, Superapp, TeamKind } from '../../api/types.ts';
import { fromLocalInputValue } from '../../components/date-time.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

interface NewTeamValues {
  kind: TeamKind;
  name: string;
  superappId?: string;
  expiresAt?: string;
  administratorUserId: string;
}

interface CreateTeamModalProps {
  open: boolean;
  /** The superapps a mini program team may belong to. */
  superapps: UseQueryResult<Items<Superapp>>;
  onCreated(): Promise<unknown>;
  onClose(): void;
}

/** Creates a mini program or superapp team with its Administrator, an active platform member. */
export function CreateTeamModal({ open, superapps, onCreated, onClose }: CreateTeamModalProps) {
  const { t } = useI18n();
  // Only while the form is open: the list of every user is for choosing the Administrator.
  const users = useQuery({ queryKey: queryKeys.users, queryFn: () => consoleApi.listUsers(), enabled: open });
  return (
    <FormModal<NewTeamValues>
      title={t('teams.create')}
      open={open}
      okText={t('common.create')}
      initialValues={{ kind: 'miniprogram' }}
      onClose={onClose}
      onSubmit={async ({ expiresAt, superappId, ...values }) => {
        const team = await consoleApi.createTeam({
          ...values,
          expiresAt: fromLocalInputValue(expiresAt),
          ...(values.kind === 'miniprogram' ? { superappId } : {}),
        });
        await onCreated();
        return team;
      }}
    >
      <Form.Item label={t('teams.kind')} name="kind" rules={[{ required: true }]}>
        <Radio.Group
          optionType="button"
          options={(['miniprogram', 'superapp'] as const).map((kind) => ({ value: kind, label: t(`teamKind.${kind}`) }))}
        />
      </Form.Item>
      <Form.Item label={t('teams.name')} name="name" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
        <Input maxLength={100} />
      </Form.Item>
      <Form.Item noStyle dependencies={['kind']}>
        {({ getFieldValue }) =>
          getFieldValue('kind') === 'miniprogram' && (
            <Form.Item label={t('teams.superapp')} name="superappId" rules={[{ required: true, message: t('common.required') }]}>
              <Select
                loading={superapps.isPending}
                options={superapps.data?.items.map((superapp) => ({ value: superapp.applicationId, label: superapp.name }))}
                showSearch={{ optionFilterProp: 'label' }}
              />
            </Form.Item>
          )
        }
      </Form.Item>
      <Form.Item
        label={t('teams.administrator')}
        name="administratorUserId"
        extra={t('teams.administratorHelp')}
        rules={[{ required: true, message: t('common.required') }]}
      >
        <Select
          loading={users.isPending}
          showSearch={{ optionFilterProp: 'label' }}
          options={users.data?.items
            .filter((user) => user.platformRole === 'member' && user.status === 'active')
            .map((user) => ({ value: user.id, label: `${user.displayName} (${user.account})` }))}
        />
      </Form.Item>
      <Form.Item label={t('teams.expiresAt')} name="expiresAt">
        <Input type="datetime-local" />
      </Form.Item>
    </FormModal>
  );
}
