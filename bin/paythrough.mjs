#!/usr/bin/env node
// Runs the compiled server (dist/, built by npm ci) while it is as new as the sources; otherwise the
// TypeScript sources directly through tsx, so a checkout being edited needs no build step.
import { pathToFileURL } from 'node:url';
import { freshCompiledFileOf } from './compiled-build.mjs';

const compiled = freshCompiledFileOf('src/cli/main.ts', ['src']);
if (compiled) {
  // Stack traces name the TypeScript lines.
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
