import { z } from 'zod';
import { capabilities } from '../../domain/permissions.ts';
import { platformRoles, superappTeamRoles, teamKinds, teamStatuses } from '../../domain/roles.ts';

export const errorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});

/** The error responses every console route may return. */
export const consoleErrors = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  409: errorResponse,
  429: errorResponse,
  500: errorResponse,
  503: errorResponse,
};

const trimmed = (max: number) => z.string().trim().min(1).max(max);
export const nameSchema = trimmed(100);
export const accountSchema = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only');
export const passwordSchema = z.string().min(10, 'at least 10 characters').max(128);
export const idParam = (name: string) => z.object({ [name]: z.string().min(1).max(64) });

export const platformRoleSchema = z.enum(platformRoles);
export const teamKindSchema = z.enum(teamKinds);
export const teamRoleSchema = z.enum(superappTeamRoles);
export const teamStatusSchema = z.enum(teamStatuses);
export const accessLevelSchema = z.enum(['read', 'write']);
export const capabilityMapSchema = z.partialRecord(z.enum(capabilities as [string, ...string[]]), accessLevelSchema);

export const userSchema = z.object({
  id: z.string(),
  account: z.string(),
  displayName: z.string(),
  platformRole: platformRoleSchema,
  status: z.enum(['active', 'disabled']),
  createdAt: z.number(),
});

export const teamSchema = z.object({
  id: z.string(),
  kind: teamKindSchema,
  name: z.string(),
  status: teamStatusSchema,
  effectiveStatus: teamStatusSchema,
  expiresAt: z.number().nullable(),
  superappId: z.string().nullable(),
  createdAt: z.number(),
  myRole: teamRoleSchema.nullable(),
});

export const memberSchema = z.object({
  userId: z.string(),
  account: z.string(),
  displayName: z.string(),
  role: teamRoleSchema,
  joinedAt: z.number(),
});

export const superappSchema = z.object({
  applicationId: z.string(),
  teamId: z.string(),
  name: z.string(),
  description: z.string(),
  createdAt: z.number(),
});

export const miniProgramSchema = z.object({
  mnpId: z.string(),
  teamId: z.string(),
  name: z.string(),
  iconUrl: z.string(),
  category: z.string(),
  kind: z.enum(['miniprogram', 'minigame']),
  createdAt: z.number(),
});

export const apiKeySchema = z.object({
  id: z.string(),
  secretId: z.string(),
  description: z.string(),
  status: z.enum(['active', 'revoked']),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
});

/** POST /me/password's answer. */
export const passwordChangedSchema = z.object({
  /** The caller's new session's CSRF token (the cookie carries the new session). */
  csrfToken: z.string(),
  /** The caller's API keys that still work: a password change does not revoke them. */
  activeApiKeys: z.array(apiKeySchema),
});
