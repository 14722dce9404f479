// The wire's status values are the server's own (src/domain), so the console cannot drift from them.
export {
  ApprovalType,
  BindingStatus,
  EnablementStatus,
  ExemptionStatus,
  ItemStatus,
  RevisionStatus,
} from '../../../src/domain/approval-state.ts';
