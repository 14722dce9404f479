import type { z } from 'zod';
import type { Actor } from '../../domain/access.ts';
import type { Capability } from '../../domain/permissions.ts';
import type { Services } from '../../composition.ts';

export interface ActionContext {
  actor: Actor;
  services: Services;
}

/** One management API action: its request schema (PascalCase fields, as on the wire) and its `Data`. */
export interface ManagementAction<Input extends z.ZodType = z.ZodType> {
  name: string;
  /** The SPEC §1.1 capability the action needs (the service checks it on the resource it loads). */
  capability: Capability;
  input: Input;
  run(context: ActionContext, input: z.output<Input>): Promise<unknown>;
}

export const defineAction = <Input extends z.ZodType>(action: ManagementAction<Input>): ManagementAction =>
  action as unknown as ManagementAction;
