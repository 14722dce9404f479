import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The server compiled by `tsc -p tsconfig.build.json` (npm ci's prepare step) lives in dist/, mirroring
// the sources. It is used only while it is at least as new as every source, so an edited checkout never
// runs stale code: it falls back to the sources through tsx until the next build.

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestTypeScript(root, folders) {
  let newest = 0;
  for (const folder of folders) {
    for (const entry of readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts'))
        newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/**
 * The compiled file of `source` (e.g. `src/cli/main.ts`) when it exists and is as new as every TypeScript
 * file under `folders` (paths from `root`, the repository by default); otherwise null.
 */
export function freshCompiledFileOf(source, folders, root = repositoryRoot) {
  const compiled = path.join(root, 'dist', source.replace(/\.ts$/, '.js'));
  if (!existsSync(compiled)) return null;
  return statSync(compiled).mtimeMs >= newestTypeScript(root, folders) ? compiled : null;
}
