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

/** SPEC §8.1: an enablement record is per (mini program, PaymentType): 1 standard, 2 virtual (SAS's `QueryData` values). */
export const PaymentType = { Standard: 1, Virtual: 2 } as const;
export type PaymentType = (typeof PaymentType)[keyof typeof PaymentType];

/** Virtual item status values (SPEC §8.1). Only APPROVED items sell. */
export const ItemStatus = { Pending: 0, Approved: 10, Rejected: 20, Offline: 30 } as const;
export type ItemStatus = (typeof ItemStatus)[keyof typeof ItemStatus];
export type ItemEvent = 'approve' | 'reject' | 'offline' | 'resubmit';

/**
 * SPEC §8.1, an item's state: PENDING → APPROVED | REJECTED; APPROVED → OFFLINE; REJECTED | OFFLINE → PENDING.
 * Editing an APPROVED item leaves it APPROVED (the approved version sells) and opens a pending revision.
 */
export const itemMachine = defineStateMachine<ItemStatus, ItemEvent>({
  name: 'virtual item',
  states: [ItemStatus.Pending, ItemStatus.Approved, ItemStatus.Rejected, ItemStatus.Offline],
  stateNames: { 0: 'pending', 10: 'approved', 20: 'rejected', 30: 'offline' },
  initial: ItemStatus.Pending,
  transitions: [
    { event: 'approve', from: ItemStatus.Pending, to: ItemStatus.Approved },
    { event: 'reject', from: ItemStatus.Pending, to: ItemStatus.Rejected },
    { event: 'offline', from: ItemStatus.Approved, to: ItemStatus.Offline },
    { event: 'resubmit', from: [ItemStatus.Rejected, ItemStatus.Offline], to: ItemStatus.Pending },
  ],
});

/** One submitted version of an item, decided by the superapp (approval kind `virtual_item`); a withdrawn one was overtaken. */
export const RevisionStatus = { Pending: 0, Approved: 10, Rejected: 20, Withdrawn: 30 } as const;
export type RevisionStatus = (typeof RevisionStatus)[keyof typeof RevisionStatus];
export type RevisionEvent = 'approve' | 'reject' | 'withdraw';

export const revisionMachine = defineStateMachine<RevisionStatus, RevisionEvent>({
  name: 'virtual item revision',
  states: [RevisionStatus.Pending, RevisionStatus.Approved, RevisionStatus.Rejected, RevisionStatus.Withdrawn],
  stateNames: { 0: 'pending', 10: 'approved', 20: 'rejected', 30: 'withdrawn' },
  initial: RevisionStatus.Pending,
  terminal: [RevisionStatus.Approved, RevisionStatus.Rejected, RevisionStatus.Withdrawn],
  transitions: [
    { event: 'approve', from: RevisionStatus.Pending, to: RevisionStatus.Approved },
    { event: 'reject', from: RevisionStatus.Pending, to: RevisionStatus.Rejected },
    { event: 'withdraw', from: RevisionStatus.Pending, to: RevisionStatus.Withdrawn },
  ],
});

/** The approval exemption for virtual items (SPEC §8.1); `NeverApplied` is only ever reported. */
export const ExemptionStatus = { NeverApplied: -1, Pending: 0, Approved: 10, Rejected: 20, Revoked: 30 } as const;
export type ExemptionStatus = (typeof ExemptionStatus)[keyof typeof ExemptionStatus];
export type ExemptionEvent = 'apply' | 'approve' | 'reject' | 'revoke';

/** PENDING → APPROVED | REJECTED; APPROVED → REVOKED; a new request (its own row) after a rejection or revocation. */
export const exemptionMachine = defineStateMachine<ExemptionStatus, ExemptionEvent>({
  name: 'item approval exemption',
  states: [
    ExemptionStatus.NeverApplied,
    ExemptionStatus.Pending,
    ExemptionStatus.Approved,
    ExemptionStatus.Rejected,
    ExemptionStatus.Revoked,
  ],
  stateNames: { [-1]: 'never applied', 0: 'pending', 10: 'approved', 20: 'rejected', 30: 'revoked' },
  initial: ExemptionStatus.NeverApplied,
  transitions: [
    {
      event: 'apply',
      from: [ExemptionStatus.NeverApplied, ExemptionStatus.Rejected, ExemptionStatus.Revoked],
      to: ExemptionStatus.Pending,
    },
    { event: 'approve', from: ExemptionStatus.Pending, to: ExemptionStatus.Approved },
    { event: 'reject', from: ExemptionStatus.Pending, to: ExemptionStatus.Rejected },
    { event: 'revoke', from: ExemptionStatus.Approved, to: ExemptionStatus.Revoked },
  ],
});

/** The kinds of approval a superapp decides (the approvals list's `Kind`). */
export const approvalKinds = ['merchant_binding', 'payment_enable', 'virtual_payment_enable', 'virtual_item', 'item_exemption'] as const;
export type ApprovalKind = (typeof approvalKinds)[number];

/** ApprovalType of the decide actions (SPEC §3). */
export const ApprovalType = { Approve: 10, Reject: 20 } as const;
export type ApprovalType = (typeof ApprovalType)[keyof typeof ApprovalType];
