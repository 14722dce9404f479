import { describe, expect, it } from 'vitest';
import { BindingStatus, bindingMachine, defineMachine, EnablementStatus, enablementMachine } from './state-machines.ts';

describe('defineMachine', () => {
  const states = { 0: 'a', 1: 'b', 2: 'c' } as const;
  it('refuses a transition to or from an unknown state', () => {
    expect(() => defineMachine<0 | 1 | 2 | 9, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [0], to: 9 }] } as never)).toThrow(/unknown state 9/);
    expect(() => defineMachine<0 | 1 | 2 | 9, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [9], to: 1 }] } as never)).toThrow(/unknown state 9/);
  });
  it('refuses an ambiguous event, an unreachable state and an unknown initial state', () => {
    expect(() =>
      defineMachine<0 | 1 | 2, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [0], to: 1 }, { event: 'go', from: [0], to: 2 }] }),
    ).toThrow(/defined twice/);
    expect(() => defineMachine<0 | 1 | 2, 'go'>({ name: 't', states, initial: 0, transitions: [{ event: 'go', from: [0], to: 1 }] })).toThrow(/2 cannot be reached/);
    expect(() => defineMachine({ name: 't', states, initial: 5 as 0, transitions: [] })).toThrow(/initial state/);
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
    const allowed: Record<string, number> = { '-1:apply': 0, '20:apply': 0, '30:apply': 0, '0:approve': 10, '0:reject': 20, '10:disable': 30 };
    for (const from of [-1, 0, 10, 20, 30] as const) {
      for (const event of ['apply', 'approve', 'reject', 'disable'] as const) {
        expect(enablementMachine.next(from, event), `${from} ${event}`).toBe(allowed[`${from}:${event}`]);
      }
    }
    expect(enablementMachine.eventsFrom(EnablementStatus.Approved)).toEqual(['disable']);
    expect(enablementMachine.stateName(EnablementStatus.NeverApplied)).toBe('never applied');
  });
});
