/** Merchant binding status values: part of the wire contract (SPEC §7 "Status values"). */
export const BindingStatus = { Pending: 0, Effective: 10, Rejected: 20, Unbound: 30 } as const;
/** Payment enablement status values on the wire (SPEC §7); -1 is "never applied". */
export const EnablementStatus = { NeverApplied: -1, Pending: 0, Approved: 10, Rejected: 20, Disabled: 30 } as const;
/** ApprovalType of a decision (SPEC §3). */
export const ApprovalType = { Approve: 10, Reject: 20 } as const;

export type BindingStatusValue = (typeof BindingStatus)[keyof typeof BindingStatus];
export type EnablementStatusValue = (typeof EnablementStatus)[keyof typeof EnablementStatus];
