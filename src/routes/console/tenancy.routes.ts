import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ZodRoutes } from '../zod-routes.ts';
import { actorOf } from './console-auth.ts';
import {
  accountSchema,
  consoleErrors,
  memberSchema,
  miniProgramSchema,
  nameSchema,
  passwordSchema,
  platformRoleSchema,
  superappSchema,
  teamKindSchema,
  teamRoleSchema,
  teamSchema,
  teamStatusSchema,
  userSchema,
} from './schemas.ts';

const teamIdParams = z.object({ teamId: z.string().min(1).max(64) });
const memberParams = teamIdParams.extend({ userId: z.string().min(1).max(64) });
const description = z.string().trim().max(500);

/** Users, teams and members, superapps, mini programs (SPEC §1). */
export async function tenancyRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  registerUserRoutes(routes);
  registerTeamRoutes(routes);
  registerMemberRoutes(routes);
  registerSuperappRoutes(routes);
  registerMiniProgramRoutes(routes);
}

function registerUserRoutes(routes: ZodRoutes) {
  const { users } = routes.services;

  routes.get(
    '/users',
    {
      config: { capability: 'platform.users.manage' },
      schema: {
        summary: 'List platform users',
        tags: ['console: users'],
        querystring: z.object({ search: z.string().max(64).optional() }),
        response: { 200: z.object({ items: z.array(userSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await users.list(actorOf(request), request.query.search) }),
  );

  routes.post(
    '/users',
    {
      config: { capability: 'platform.users.manage' },
      schema: {
        summary: 'Create a platform admin (super admin only) or a member',
        tags: ['console: users'],
        body: z.object({
          account: accountSchema,
          displayName: nameSchema,
          password: passwordSchema,
          platformRole: platformRoleSchema.exclude(['super_admin']),
        }),
        response: { 201: userSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await users.create(actorOf(request), request.body)),
  );

  routes.patch(
    '/users/:userId',
    {
      config: { capability: 'platform.users.manage' },
      schema: {
        summary: 'Enable or disable a user',
        tags: ['console: users'],
        params: z.object({ userId: z.string().min(1).max(64) }),
        body: z.object({ status: z.enum(['active', 'disabled']) }),
        response: { 200: userSchema, ...consoleErrors },
      },
    },
    async (request) => users.setStatus(actorOf(request), request.params.userId, request.body.status),
  );
}

function registerTeamRoutes(routes: ZodRoutes) {
  const { teams } = routes.services;

  routes.get(
    '/teams',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'Teams the caller reaches',
        tags: ['console: teams'],
        response: { 200: z.object({ items: z.array(teamSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await teams.list(actorOf(request)) }),
  );

  routes.post(
    '/teams',
    {
      config: { capability: 'team.create' },
      schema: {
        summary: 'Create a team with its Administrator',
        tags: ['console: teams'],
        body: z.object({
          kind: teamKindSchema,
          name: nameSchema,
          superappId: z.string().min(1).max(64).optional(),
          expiresAt: z.number().int().positive().nullable().optional(),
          administratorUserId: z.string().min(1).max(64),
        }),
        response: { 201: teamSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await teams.create(actorOf(request), request.body)),
  );

  routes.get(
    '/teams/:teamId',
    {
      config: { capability: 'team.view' },
      schema: { summary: 'One team', tags: ['console: teams'], params: teamIdParams, response: { 200: teamSchema, ...consoleErrors } },
    },
    async (request) => (await teams.get(actorOf(request), request.params.teamId)).view,
  );

  routes.patch(
    '/teams/:teamId',
    {
      config: { capability: 'team.manage' },
      schema: {
        summary: 'Rename, disable or set the expiry of a team',
        tags: ['console: teams'],
        params: teamIdParams,
        body: z.object({
          name: nameSchema.optional(),
          status: teamStatusSchema.optional(),
          expiresAt: z.number().int().positive().nullable().optional(),
        }),
        response: { 200: teamSchema, ...consoleErrors },
      },
    },
    async (request) => teams.update(actorOf(request), request.params.teamId, request.body),
  );
}

function registerMemberRoutes(routes: ZodRoutes) {
  const { teams } = routes.services;

  routes.get(
    '/teams/:teamId/members',
    {
      config: { capability: 'team.view' },
      schema: {
        summary: 'Team members and their roles',
        tags: ['console: teams'],
        params: teamIdParams,
        response: { 200: z.object({ items: z.array(memberSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await teams.listMembers(actorOf(request), request.params.teamId) }),
  );

  routes.post(
    '/teams/:teamId/members',
    {
      config: { capability: 'team.members.manage' },
      schema: {
        summary: 'Add a member with a role',
        tags: ['console: teams'],
        params: teamIdParams,
        body: z.object({ account: accountSchema, role: teamRoleSchema }),
        response: { 201: memberSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await teams.addMember(actorOf(request), request.params.teamId, request.body)),
  );

  routes.patch(
    '/teams/:teamId/members/:userId',
    {
      config: { capability: 'team.members.manage' },
      schema: {
        summary: "Change a member's role (making someone Administrator transfers the role)",
        tags: ['console: teams'],
        params: memberParams,
        body: z.object({ role: teamRoleSchema }),
        response: { 200: z.object({ items: z.array(memberSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({
      items: await teams.changeMemberRole(actorOf(request), request.params.teamId, request.params.userId, request.body.role),
    }),
  );

  routes.delete(
    '/teams/:teamId/members/:userId',
    {
      config: { capability: 'team.members.manage' },
      schema: { summary: 'Remove a member', tags: ['console: teams'], params: memberParams, response: { 204: z.null(), ...consoleErrors } },
    },
    async (request, reply) => {
      await teams.removeMember(actorOf(request), request.params.teamId, request.params.userId);
      return reply.status(204).send(null);
    },
  );
}

function registerSuperappRoutes(routes: ZodRoutes) {
  const { superapps } = routes.services;

  routes.get(
    '/superapps',
    {
      config: { capability: 'superapp.view' },
      schema: {
        summary: 'Superapps the caller reaches',
        tags: ['console: superapps'],
        response: { 200: z.object({ items: z.array(superappSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await superapps.list(actorOf(request)) }),
  );

  routes.post(
    '/superapps',
    {
      config: { capability: 'team.create' },
      schema: {
        summary: 'Create a superapp owned by a superapp team',
        tags: ['console: superapps'],
        body: z.object({ teamId: z.string().min(1).max(64), name: nameSchema, description: description.default('') }),
        response: { 201: superappSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await superapps.create(actorOf(request), request.body)),
  );

  routes.get(
    '/superapps/:applicationId',
    {
      config: { capability: 'superapp.view' },
      schema: {
        summary: 'One superapp',
        tags: ['console: superapps'],
        params: z.object({ applicationId: z.string().min(1).max(64) }),
        response: { 200: superappSchema, ...consoleErrors },
      },
    },
    async (request) => {
      const row = await superapps.get(actorOf(request), request.params.applicationId);
      return { applicationId: row.id, teamId: row.team_id, name: row.name, description: row.description, createdAt: row.created_at };
    },
  );

  routes.patch(
    '/superapps/:applicationId',
    {
      config: { capability: 'superapp.manage' },
      schema: {
        summary: 'Rename or describe a superapp',
        tags: ['console: superapps'],
        params: z.object({ applicationId: z.string().min(1).max(64) }),
        body: z.object({ name: nameSchema.optional(), description: description.optional() }),
        response: { 200: superappSchema, ...consoleErrors },
      },
    },
    async (request) => superapps.update(actorOf(request), request.params.applicationId, request.body),
  );
}

function registerMiniProgramRoutes(routes: ZodRoutes) {
  const { miniPrograms } = routes.services;

  routes.get(
    '/teams/:teamId/mini-programs',
    {
      config: { capability: 'mini_program.view' },
      schema: {
        summary: "A mini program team's mini programs",
        tags: ['console: mini programs'],
        params: teamIdParams,
        response: { 200: z.object({ items: z.array(miniProgramSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await miniPrograms.listByTeam(actorOf(request), request.params.teamId) }),
  );

  const miniProgramBody = z.object({
    name: nameSchema,
    iconUrl: z.string().trim().max(500).optional(),
    category: z.string().trim().max(100).optional(),
    kind: z.enum(['miniprogram', 'minigame']).optional(),
  });

  routes.post(
    '/teams/:teamId/mini-programs',
    {
      config: { capability: 'mini_program.manage' },
      schema: {
        summary: 'Register a mini program in a mini program team',
        tags: ['console: mini programs'],
        params: teamIdParams,
        body: miniProgramBody,
        response: { 201: miniProgramSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await miniPrograms.create(actorOf(request), request.params.teamId, request.body)),
  );

  routes.patch(
    '/mini-programs/:mnpId',
    {
      config: { capability: 'mini_program.manage' },
      schema: {
        summary: 'Edit a mini program',
        tags: ['console: mini programs'],
        params: z.object({ mnpId: z.string().min(1).max(64) }),
        body: miniProgramBody.partial(),
        response: { 200: miniProgramSchema, ...consoleErrors },
      },
    },
    async (request) => miniPrograms.update(actorOf(request), request.params.mnpId, request.body),
  );
}
