/**
 * The compiled file of `source` when it exists and is as new as every TypeScript file under `folders` (paths
 * from `root`, the repository by default); otherwise null.
 */
export function freshCompiledFileOf(source: string, folders: readonly string[], root?: string): string | null;
