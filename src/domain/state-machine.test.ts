import { describe, expect, it } from 'vitest';
import { BindingStatus, bindingMachine, EnablementStatus, enablementMachine } from './approval-state.ts';
import { defineStateMachine, InvalidTransitionError, validateDefinition } from './state-machine.ts';

describe('defineStateMachine', () => {
  const door = defineStateMachine({
    name: 'door',
    states: ['OPEN', 'SHUT', 'GONE'],
    initial: 'OPEN',
    terminal: ['GONE'],
    transitions: [
      { from: 'OPEN', event: 'shut', to: 'SHUT' },
      { from: 'SHUT', event: 'open', to: 'OPEN' },
      { from: 'SHUT', event: 'burn', to: 'GONE' },
    ],
  });

  it('answers which transitions exist', () => {
    expect(door.next('OPEN', 'shut')).toBe('SHUT');
    expect(door.next('OPEN', 'open')).toBeUndefined();
    expect(door.transition('SHUT', 'burn')).toBe('GONE');
    expect(() => door.transition('GONE', 'open')).toThrow(InvalidTransitionError);
    expect(door.can('SHUT', 'open')).toBe(true);
    expect(door.canReach('OPEN', 'GONE')).toBe(false);
    expect(door.eventsFrom('SHUT')).toEqual(['open', 'burn']);
    expect(door.isTerminal('GONE')).toBe(true);
    expect(door.isState('SHUT')).toBe(true);
    expect(door.isState('AJAR')).toBe(false);
  });

  it.each([
    [{ initial: 'NOPE' }, 'initial state NOPE is not a state'],
    [{ terminal: ['NOPE'] }, 'terminal state NOPE is not a state'],
    [
      {
        transitions: [
          { from: 'A', event: 'go', to: 'C' },
          { from: 'A', event: 'go', to: 'B' },
        ],
      },
      'event go from A is ambiguous',
    ],
    [
      {
        transitions: [
          { from: 'A', event: 'go', to: 'X' },
          { from: 'A', event: 'b', to: 'B' },
          { from: 'A', event: 'c', to: 'C' },
        ],
      },
      'X is not a state',
    ],
    [{ transitions: [{ from: 'A', event: 'b', to: 'B' }] }, 'state C is unreachable'],
    [
      {
        terminal: ['B'],
        transitions: [
          { from: 'A', event: 'b', to: 'B' },
          { from: 'B', event: 'c', to: 'C' },
        ],
      },
      'terminal state B has a way out',
    ],
  ])('refuses an unsound definition at load (%j)', (change, problem) => {
    const definition = {
      name: 'abc',
      states: ['A', 'B', 'C'],
      initial: 'A',
      terminal: [] as string[],
      transitions: [
        { from: 'A', event: 'b', to: 'B' },
        { from: 'B', event: 'c', to: 'C' },
      ],
      ...change,
    };
    expect(validateDefinition(definition).join('; ')).toContain(problem);
    expect(() => defineStateMachine(definition)).toThrow(/State machine abc is invalid/);
  });
});

describe('defineStateMachine over numeric wire states', () => {
  const states = [0, 1, 2] as const;
  it('refuses a transition to or from an unknown state', () => {
    expect(() =>
      defineStateMachine<0 | 1 | 2 | 9, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [0], to: 9 }] }),
    ).toThrow(/9 is not a state/);
    expect(() =>
      defineStateMachine<0 | 1 | 2 | 9, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [9], to: 1 }] }),
    ).toThrow(/9 is not a state/);
  });
  it('refuses an ambiguous event, an unreachable state and an unknown initial state', () => {
    expect(() =>
      defineStateMachine<0 | 1 | 2, 'go'>({
        name: 't',
        states,
        initial: 0,
        transitions: [
          { event: 'go', from: [0], to: 1 },
          { event: 'go', from: [0], to: 2 },
        ],
      }),
    ).toThrow(/event go from 0 is ambiguous/);
    expect(() =>
      defineStateMachine<0 | 1 | 2, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [0], to: 1 }] }),
    ).toThrow(/state 2 is unreachable/);
    expect(() => defineStateMachine({ name: 't', states, initial: 5 as 0, transitions: [] })).toThrow(/initial state/);
  });
  it('tells the number 0 from the string "0"', () => {
    const machine = defineStateMachine<0 | '0', 'go'>({
      name: 't',
      states: [0, '0'],
      initial: 0,
      transitions: [{ event: 'go', from: 0, to: '0' }],
    });
    expect(machine.next(0, 'go')).toBe('0');
    expect(machine.next('0', 'go')).toBeUndefined();
    expect(machine.isState('0')).toBe(true);
    expect(machine.isState(1)).toBe(false);
  });
});

describe('merchant binding machine (SPEC §2.1)', () => {
  it('PENDING → EFFECTIVE | REJECTED; EFFECTIVE → UNBOUND (unbind or replace); nothing else', () => {
    const all = [0, 10, 20, 30] as const;
    const allowed: Record<string, BindingStatus | undefined> = { '0:approve': 10, '0:reject': 20, '10:unbind': 30, '10:replace': 30 };
    for (const from of all) {
      for (const event of ['approve', 'reject', 'unbind', 'replace'] as const) {
        expect(bindingMachine.next(from, event), `${from} ${event}`).toBe(allowed[`${from}:${event}`]);
      }
    }
    expect(bindingMachine.initial).toBe(BindingStatus.Pending);
  });
});

describe('payment enablement machine (SPEC §2.2)', () => {
  it('apply from never/rejected/disabled; approve/reject from pending; disable from approved', () => {
    const allowed: Record<string, number> = {
      '-1:apply': 0,
      '20:apply': 0,
      '30:apply': 0,
      '0:approve': 10,
      '0:reject': 20,
      '10:disable': 30,
    };
    for (const from of [-1, 0, 10, 20, 30] as const) {
      for (const event of ['apply', 'approve', 'reject', 'disable'] as const) {
        expect(enablementMachine.next(from, event), `${from} ${event}`).toBe(allowed[`${from}:${event}`]);
      }
    }
    expect(enablementMachine.eventsFrom(EnablementStatus.Approved)).toEqual(['disable']);
    expect(enablementMachine.stateName(EnablementStatus.NeverApplied)).toBe('never applied');
  });
});
