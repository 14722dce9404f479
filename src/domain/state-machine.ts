/**
 * A state machine as data: named transitions `from --event--> to`. `defineStateMachine` validates the
 * definition when the module loads (unknown states, ambiguous events, unreachable states, exits from
 * terminal states), so a bad table fails at boot, not on the first payment that hits it.
 *
 * Persist a transition as compare-and-set (`UPDATE ... SET state = :to WHERE id = :id AND state = :from`);
 * this module only answers which transitions exist.
 */
export interface TransitionDefinition<S extends string, E extends string> {
  from: S;
  event: E;
  to: S;
}

export interface StateMachineDefinition<S extends string, E extends string> {
  name: string;
  states: readonly S[];
  initial: S;
  /** States with no way out. */
  terminal: readonly S[];
  transitions: ReadonlyArray<TransitionDefinition<S, E>>;
}

export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  constructor(
    readonly machine: string,
    readonly from: string,
    readonly event: string,
  ) {
    super(`${machine}: no transition from ${from} on ${event}`);
  }
}

export interface StateMachine<S extends string, E extends string> {
  readonly definition: StateMachineDefinition<S, E>;
  /** The state `event` leads to from `from`, or undefined when it does not apply. */
  next(from: S, event: E): S | undefined;
  /** Like `next`, but throws InvalidTransitionError when the event does not apply. */
  transition(from: S, event: E): S;
  can(from: S, event: E): boolean;
  /** True when some event leads from `from` to `to`. */
  canReach(from: S, to: S): boolean;
  isTerminal(state: S): boolean;
  isState(value: string): value is S;
  /** The events that apply in a state. */
  eventsFrom(from: S): E[];
}

export function defineStateMachine<const S extends string, const E extends string>(
  definition: StateMachineDefinition<S, E>,
): StateMachine<S, E> {
  const problems = validateDefinition(definition);
  if (problems.length > 0) throw new Error(`State machine ${definition.name} is invalid: ${problems.join('; ')}`);
  const table = new Map<string, S>();
  for (const t of definition.transitions) table.set(`${t.from}\u0000${t.event}`, t.to);
  const states = new Set<string>(definition.states);
  const terminal = new Set<string>(definition.terminal);
  return {
    definition,
    next: (from, event) => table.get(`${from}\u0000${event}`),
    transition(from, event) {
      const to = table.get(`${from}\u0000${event}`);
      if (to === undefined) throw new InvalidTransitionError(definition.name, from, event);
      return to;
    },
    can: (from, event) => table.has(`${from}\u0000${event}`),
    canReach: (from, to) => definition.transitions.some((t) => t.from === from && t.to === to),
    isTerminal: (state) => terminal.has(state),
    isState: (value): value is S => states.has(value),
    eventsFrom: (from) => definition.transitions.filter((t) => t.from === from).map((t) => t.event),
  };
}

/** Everything wrong with a definition (empty when it is sound). Exported for tests. */
export function validateDefinition<S extends string, E extends string>(definition: StateMachineDefinition<S, E>): string[] {
  const problems: string[] = [];
  const states = new Set<string>(definition.states);
  if (states.size !== definition.states.length) problems.push('a state is listed twice');
  if (!states.has(definition.initial)) problems.push(`initial state ${definition.initial} is not a state`);
  for (const state of definition.terminal) if (!states.has(state)) problems.push(`terminal state ${state} is not a state`);
  const seen = new Set<string>();
  for (const t of definition.transitions) {
    if (!states.has(t.from)) problems.push(`transition ${t.from} --${t.event}--> ${t.to}: ${t.from} is not a state`);
    if (!states.has(t.to)) problems.push(`transition ${t.from} --${t.event}--> ${t.to}: ${t.to} is not a state`);
    if (definition.terminal.includes(t.from)) problems.push(`terminal state ${t.from} has a way out (${t.event})`);
    const key = `${t.from}\u0000${t.event}`;
    if (seen.has(key)) problems.push(`event ${t.event} from ${t.from} is ambiguous`);
    seen.add(key);
  }
  const reachable = new Set<string>([definition.initial]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const t of definition.transitions) {
      if (reachable.has(t.from) && !reachable.has(t.to)) {
        reachable.add(t.to);
        grew = true;
      }
    }
  }
  for (const state of definition.states) if (!reachable.has(state)) problems.push(`state ${state} is unreachable`);
  return problems;
}
