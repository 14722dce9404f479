export { capabilityMapOf, scopeOfTeam } from './access-scope.ts';
export { AuditService, recordAudit } from './audit.service.ts';
export { MiniProgramService } from './mini-program.service.ts';
export { accessMiniProgram, accessMiniProgramTeam, accessSuperapp, seesSuperapp } from './payment-access.ts';
export { PlatformService, ensurePlatformId } from './platform.service.ts';
export { SuperappService } from './superapp.service.ts';
export { TeamService } from './team.service.ts';
export { UserService } from './user.service.ts';
