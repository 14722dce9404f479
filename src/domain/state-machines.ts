/**
 * State machines as data (SPEC §2): each machine lists its states and its transitions; `defineMachine`
 * validates the definition when the module loads, so a typo fails at startup rather than mid-approval.
 * Persisting a transition is the services' job: a compare-and-set update plus a history row.
 */
export interface TransitionDefinition<S extends number, E extends string> {
  event: E;
  from: readonly S[];
  to: S;
}

export interface MachineDefinition<S extends number, E extends string> {
  name: string;
  states: Readonly<Record<S, string>>;
  /** The state a new record starts in. */
  initial: S;
  transitions: readonly TransitionDefinition<S, E>[];
}

export interface StateMachine<S extends number, E extends string> {
  readonly name: string;
  readonly initial: S;
  /** The state after `event` in `from`, or undefined when the event is not allowed there. */
  next(from: S, event: E): S | undefined;
  can(from: S, event: E): boolean;
  /** The events allowed in a state. */
  eventsFrom(from: S): E[];
  stateName(state: S): string;
}

export function defineMachine<S extends number, E extends string>(definition: MachineDefinition<S, E>): StateMachine<S, E> {
  const states = new Set(Object.keys(definition.states).map(Number));
  const problem = (message: string) => new Error(`State machine ${definition.name}: ${message}`);
  if (!states.has(definition.initial)) throw problem(`the initial state ${definition.initial} is not a state`);
  const table = new Map<string, S>();
  for (const transition of definition.transitions) {
    if (!states.has(transition.to)) throw problem(`${transition.event} leads to unknown state ${transition.to}`);
    if (transition.from.length === 0) throw problem(`${transition.event} has no source state`);
    for (const from of transition.from) {
      if (!states.has(from)) throw problem(`${transition.event} starts from unknown state ${from}`);
      const key = `${from}:${transition.event}`;
      if (table.has(key)) throw problem(`${transition.event} is defined twice from state ${from}`);
      table.set(key, transition.to);
    }
  }
  // Every state must be reachable from the initial one, or the definition has a dead state.
  const reached = new Set<number>([definition.initial]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const transition of definition.transitions) {
      if (!reached.has(transition.to) && transition.from.some((from) => reached.has(from))) {
        reached.add(transition.to);
        grew = true;
      }
    }
  }
  const unreachable = [...states].filter((state) => !reached.has(state));
  if (unreachable.length > 0) throw problem(`states ${unreachable.join(', ')} cannot be reached`);

  return {
    name: definition.name,
    initial: definition.initial,
    next: (from, event) => table.get(`${from}:${event}`),
    can: (from, event) => table.has(`${from}:${event}`),
    eventsFrom: (from) => definition.transitions.filter((t) => t.from.includes(from)).map((t) => t.event),
    stateName: (state) => definition.states[state] ?? String(state),
  };
}

/** Merchant binding status values (SPEC §7). */
export const BindingStatus = { Pending: 0, Effective: 10, Rejected: 20, Unbound: 30 } as const;
export type BindingStatus = (typeof BindingStatus)[keyof typeof BindingStatus];
export type BindingEvent = 'approve' | 'reject' | 'unbind' | 'replace';

/**
 * SPEC §2.1. One row per request: PENDING → EFFECTIVE | REJECTED; EFFECTIVE → UNBOUND when the team or
 * the superapp unbinds, or when an approved change request replaces it.
 */
export const bindingMachine = defineMachine<BindingStatus, BindingEvent>({
  name: 'merchant binding',
  states: { 0: 'pending', 10: 'effective', 20: 'rejected', 30: 'unbound' },
  initial: BindingStatus.Pending,
  transitions: [
    { event: 'approve', from: [BindingStatus.Pending], to: BindingStatus.Effective },
    { event: 'reject', from: [BindingStatus.Pending], to: BindingStatus.Rejected },
    { event: 'unbind', from: [BindingStatus.Effective], to: BindingStatus.Unbound },
    { event: 'replace', from: [BindingStatus.Effective], to: BindingStatus.Unbound },
  ],
});

/** Payment enablement status values (SPEC §7); `NeverApplied` is only ever reported, never stored. */
export const EnablementStatus = { NeverApplied: -1, Pending: 0, Approved: 10, Rejected: 20, Disabled: 30 } as const;
export type EnablementStatus = (typeof EnablementStatus)[keyof typeof EnablementStatus];
export type EnablementEvent = 'apply' | 'approve' | 'reject' | 'disable';

/**
 * SPEC §2.2, the state of one mini program's payment: PENDING → APPROVED | REJECTED; REJECTED → PENDING
 * (re-apply); APPROVED → DISABLED; DISABLED → PENDING (re-apply). Each application is its own row with its
 * own ApprovalNo, so `apply` inserts a new pending row (guarded by the one-pending index) while the other
 * events update a row in place.
 */
export const enablementMachine = defineMachine<EnablementStatus, EnablementEvent>({
  name: 'payment enablement',
  states: { [-1]: 'never applied', 0: 'pending', 10: 'approved', 20: 'rejected', 30: 'disabled' } as Record<EnablementStatus, string>,
  initial: EnablementStatus.NeverApplied,
  transitions: [
    { event: 'apply', from: [EnablementStatus.NeverApplied, EnablementStatus.Rejected, EnablementStatus.Disabled], to: EnablementStatus.Pending },
    { event: 'approve', from: [EnablementStatus.Pending], to: EnablementStatus.Approved },
    { event: 'reject', from: [EnablementStatus.Pending], to: EnablementStatus.Rejected },
    { event: 'disable', from: [EnablementStatus.Approved], to: EnablementStatus.Disabled },
  ],
});

/** The two kinds of approval a superapp decides (the approvals list's `Kind`). */
export const approvalKinds = ['merchant_binding', 'payment_enable'] as const;
export type ApprovalKind = (typeof approvalKinds)[number];

/** ApprovalType of the decide actions. */
export const ApprovalType = { Approve: 10, Reject: 20 } as const;
export type ApprovalType = (typeof ApprovalType)[keyof typeof ApprovalType];
