#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so the package needs no separate build of the server.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
