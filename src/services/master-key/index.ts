export {
  type MasterKeyInstance,
  MasterKeyInstanceService,
  masterKeyHeartbeatMs,
  masterKeyLivenessMs,
} from './master-key-instance.service.ts';
export { type MasterKeyRotationOptions, MasterKeyRotationService, type MasterKeyRotationSummary } from './master-key-rotation.service.ts';
