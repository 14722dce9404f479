import { defineStateMachine } from './state-machine.ts';

/** Merchant binding status values: part of the wire contract (SPEC §7 "Status values"). */
export const BindingStatus = { Pending: 0, Effective: 10, Rejected: 20, Unbound: 30 } as const;
export type BindingStatus = (typeof BindingStatus)[keyof typeof BindingStatus];
export type BindingEvent = 'approve' | 'reject' | 'unbind' | 'replace';

/**
 * SPEC §2.1. One row per request: PENDING → EFFECTIVE | REJECTED; EFFECTIVE → UNBOUND when the team or
 * the superapp unbinds, or when an approved change request replaces it.
 */
export const bindingMachine = defineStateMachine<BindingStatus, BindingEvent>({
  name: 'merchant binding',
  states: [BindingStatus.Pending, BindingStatus.Effective, BindingStatus.Rejected, BindingStatus.Unbound],
  stateNames: { 0: 'pending', 10: 'effective', 20: 'rejected', 30: 'unbound' },
  initial: BindingStatus.Pending,
  terminal: [BindingStatus.Rejected, BindingStatus.Unbound],
  transitions: [
    { event: 'approve', from: BindingStatus.Pending, to: BindingStatus.Effective },
    { event: 'reject', from: BindingStatus.Pending, to: BindingStatus.Rejected },
    { event: 'unbind', from: BindingStatus.Effective, to: BindingStatus.Unbound },
    { event: 'replace', from: BindingStatus.Effective, to: BindingStatus.Unbound },
  ],
});

/** Payment enablement status values on the wire (SPEC §7); `NeverApplied` is only ever reported, never stored. */
export const EnablementStatus = { NeverApplied: -1, Pending: 0, Approved: 10, Rejected: 20, Disabled: 30 } as const;
export type EnablementStatus = (typeof EnablementStatus)[keyof typeof EnablementStatus];
export type EnablementEvent = 'apply' | 'approve' | 'reject' | 'disable';

/**
 * SPEC §2.2, the state of one mini program's payment: PENDING → APPROVED | REJECTED; REJECTED → PENDING
 * (re-apply); APPROVED → DISABLED; DISABLED → PENDING (re-apply). Each application is its own row with its
 * own ApprovalNo, so `apply` inserts a new pending row (guarded by the one-pending index) while the other
 * events update a row in place.
 */
export const enablementMachine = defineStateMachine<EnablementStatus, EnablementEvent>({
  name: 'payment enablement',
  states: [
    EnablementStatus.NeverApplied,
    EnablementStatus.Pending,
    EnablementStatus.Approved,
    EnablementStatus.Rejected,
    EnablementStatus.Disabled,
  ],
  stateNames: { [-1]: 'never applied', 0: 'pending', 10: 'approved', 20: 'rejected', 30: 'disabled' },
  initial: EnablementStatus.NeverApplied,
  transitions: [
    {
      event: 'apply',
      from: [EnablementStatus.NeverApplied, EnablementStatus.Rejected, EnablementStatus.Disabled],
      to: EnablementStatus.Pending,
    },
    { event: 'approve', from: EnablementStatus.Pending, to: EnablementStatus.Approved },
    { event: 'reject', from: EnablementStatus.Pending, to: EnablementStatus.Rejected },
    { event: 'disable', from: EnablementStatus.Approved, to: EnablementStatus.Disabled },
  ],
});

/** The two kinds of approval a superapp decides (the approvals list's `Kind`). */
export const approvalKinds = ['merchant_binding', 'payment_enable'] as const;
export type ApprovalKind = (typeof approvalKinds)[number];

/** ApprovalType of the decide actions (SPEC §3). */
export const ApprovalType = { Approve: 10, Reject: 20 } as const;
export type ApprovalType = (typeof ApprovalType)[keyof typeof ApprovalType];
