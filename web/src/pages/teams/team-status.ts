import type { TeamStatus } from '../../api/types.ts';

export const teamStatusColors: Record<TeamStatus, string> = { active: 'green', disabled: 'default', expired: 'orange' };
