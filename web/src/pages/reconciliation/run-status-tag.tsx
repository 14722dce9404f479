import { Tag } from 'antd';
import type { RunStatus } from '../../api/reconciliation-api.ts';

const runStatusColors: Record<RunStatus, string> = {
  PENDING: 'default',
  RUNNING: 'processing',
  DONE: 'success',
  RETRYING: 'warning',
  FAILED: 'error',
  NO_STATEMENT: 'default',
};

/** A reconciliation day's or run's status. */
export function RunStatusTag({ status }: { status: RunStatus }) {
  return <Tag color={runStatusColors[status]}>{status}</Tag>;
}
