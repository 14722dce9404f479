import { ApiKeyService } from './api-key.service.ts';
import { AuditService } from './audit.service.ts';
import { AuthService } from './auth.service.ts';
import type { ServiceDependencies } from './dependencies.ts';
import { DemoWorldService } from './demo-world.service.ts';
import { ManagementAuthService } from './management-auth.service.ts';
import { MiniProgramService } from './mini-program.service.ts';
import { PlatformService } from './platform.service.ts';
import { RateLimiter } from './rate-limiter.ts';
import { SuperappService } from './superapp.service.ts';
import { TeamService } from './team.service.ts';
import { UserService } from './user.service.ts';

/** Every service, built once per app from the same dependencies. */
export function createServices(deps: ServiceDependencies) {
  const { db, clock, secretBox, passwordHasher } = deps;
  const rateLimiter = new RateLimiter(db, clock);
  const tenancy = {
    users: new UserService(db, clock, passwordHasher),
    teams: new TeamService(db, clock),
    superapps: new SuperappService(db, clock),
    miniPrograms: new MiniProgramService(db, clock),
    apiKeys: new ApiKeyService(db, clock, secretBox),
  };
  return {
    ...tenancy,
    rateLimiter,
    auth: new AuthService(db, clock, passwordHasher, rateLimiter),
    audit: new AuditService(db),
    managementAuth: new ManagementAuthService(db, clock, tenancy.apiKeys),
    platform: new PlatformService(db, clock),
    demoWorld: new DemoWorldService(db, clock, secretBox, deps.config, tenancy),
  };
}

export type Services = ReturnType<typeof createServices>;
