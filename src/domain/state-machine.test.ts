import { describe, expect, it } from 'vitest';
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
    [{ transitions: [{ from: 'A', event: 'go', to: 'C' }, { from: 'A', event: 'go', to: 'B' }] }, 'event go from A is ambiguous'],
    [{ transitions: [{ from: 'A', event: 'go', to: 'X' }, { from: 'A', event: 'b', to: 'B' }, { from: 'A', event: 'c', to: 'C' }] }, 'X is not a state'],
    [{ transitions: [{ from: 'A', event: 'b', to: 'B' }] }, 'state C is unreachable'],
    [{ terminal: ['B'], transitions: [{ from: 'A', event: 'b', to: 'B' }, { from: 'B', event: 'c', to: 'C' }] }, 'terminal state B has a way out'],
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
