/**
 * A state machine as data: named transitions `from --event--> to`, over string states (an order's
 * `trade_state`) or numeric ones (an approval's status on the wire). `defineStateMachine` validates the
 * definition when the module loads (unknown states, ambiguous events, unreachable states, exits from
 * terminal states), so a bad table fails at boot, not on the first payment that hits it.
 *
 * Persist a transition as compare-and-set (`UPDATE ... SET state = :to WHERE id = :id AND state = :from`)
 * with its history row and outbox event in the same transaction; this module only answers which
 * transitions exist.
 */
export type StateValue = string | number;

export interface TransitionDefinition<S extends StateValue, E extends string> {
  /** One source state, or several that the same event leaves the same way. */
  from: S | readonly S[];
  event: E;
  to: S;
}

export interface StateMachineDefinition<S extends StateValue, E extends string> {
  name: string;
  states: readonly S[];
  /** Readable names of states whose value says nothing by itself (numeric wire values). */
  stateNames?: Readonly<Partial<Record<S, string>>>;
  /** The state a new record starts in. */
  initial: S;
  /** States with no way out. */
  terminal?: readonly S[];
  transitions: ReadonlyArray<TransitionDefinition<S, E>>;
}

export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  constructor(
    readonly machine: string,
    readonly from: StateValue,
    readonly event: string,
  ) {
    super(`${machine}: no transition from ${from} on ${event}`);
  }
}

export interface StateMachine<S extends StateValue, E extends string> {
  readonly definition: StateMachineDefinition<S, E>;
  readonly name: string;
  readonly initial: S;
  /** The state `event` leads to from `from`, or undefined when it does not apply. */
  next(from: S, event: E): S | undefined;
  /** Like `next`, but throws InvalidTransitionError when the event does not apply. */
  transition(from: S, event: E): S;
  can(from: S, event: E): boolean;
  /** True when some event leads from `from` to `to`. */
  canReach(from: S, to: S): boolean;
  isTerminal(state: S): boolean;
  isState(value: unknown): value is S;
  /** The events that apply in a state. */
  eventsFrom(from: S): E[];
  /** The state's readable name (its value when it has none). */
  stateName(state: S): string;
}

const sourcesOf = <S extends StateValue>(from: S | readonly S[]): readonly S[] => (Array.isArray(from) ? from : [from as S]);
const keyOf = (from: StateValue, event: string) => `${typeof from}:${from}\u0000${event}`;

export function defineStateMachine<const S extends StateValue, const E extends string>(
  definition: StateMachineDefinition<S, E>,
): StateMachine<S, E> {
  const problems = validateDefinition(definition);
  if (problems.length > 0) throw new Error(`State machine ${definition.name} is invalid: ${problems.join('; ')}`);
  const table = new Map<string, S>();
  for (const t of definition.transitions) for (const from of sourcesOf(t.from)) table.set(keyOf(from, t.event), t.to);
  const states = new Set<unknown>(definition.states);
  const terminal = new Set<StateValue>(definition.terminal ?? []);
  const leaves = (t: TransitionDefinition<S, E>, from: S) => sourcesOf(t.from).includes(from);
  return {
    definition,
    name: definition.name,
    initial: definition.initial,
    next: (from, event) => table.get(keyOf(from, event)),
    transition(from, event) {
      const to = table.get(keyOf(from, event));
      if (to === undefined) throw new InvalidTransitionError(definition.name, from, event);
      return to;
    },
    can: (from, event) => table.has(keyOf(from, event)),
    canReach: (from, to) => definition.transitions.some((t) => leaves(t, from) && t.to === to),
    isTerminal: (state) => terminal.has(state),
    isState: (value): value is S => states.has(value),
    eventsFrom: (from) => definition.transitions.filter((t) => leaves(t, from)).map((t) => t.event),
    stateName: (state) => definition.stateNames?.[state] ?? String(state),
  };
}

/** Everything wrong with a definition (empty when it is sound). Exported for tests. */
export function validateDefinition<S extends StateValue, E extends string>(definition: StateMachineDefinition<S, E>): string[] {
  const problems: string[] = [];
  const states = new Set<StateValue>(definition.states);
  const terminal = definition.terminal ?? [];
  if (states.size !== definition.states.length) problems.push('a state is listed twice');
  if (!states.has(definition.initial)) problems.push(`initial state ${definition.initial} is not a state`);
  for (const state of terminal) if (!states.has(state)) problems.push(`terminal state ${state} is not a state`);
  const seen = new Set<string>();
  for (const t of definition.transitions) {
    const sources = sourcesOf(t.from);
    if (sources.length === 0) problems.push(`event ${t.event} has no source state`);
    if (!states.has(t.to)) problems.push(`transition --${t.event}--> ${t.to}: ${t.to} is not a state`);
    for (const from of sources) {
      if (!states.has(from)) problems.push(`transition ${from} --${t.event}--> ${t.to}: ${from} is not a state`);
      if (terminal.includes(from)) problems.push(`terminal state ${from} has a way out (${t.event})`);
      const key = keyOf(from, t.event);
      if (seen.has(key)) problems.push(`event ${t.event} from ${from} is ambiguous`);
      seen.add(key);
    }
  }
  const reachable = new Set<StateValue>([definition.initial]);
  for (let grew = true; grew;) {
    grew = false;
    for (const t of definition.transitions) {
      if (!reachable.has(t.to) && sourcesOf(t.from).some((from) => reachable.has(from))) {
        reachable.add(t.to);
        grew = true;
      }
    }
  }
  for (const state of definition.states) if (!reachable.has(state)) problems.push(`state ${state} is unreachable`);
  return problems;
}
