import { randomString } from './ids.ts';

/**
 * SPEC §2.2: an APIv3 key is exactly 32 characters mixing digits, upper- and lower-case letters.
 * Returns what is wrong with a candidate, or undefined when it is acceptable.
 */
export function apiV3KeyProblem(candidate: string): string | undefined {
  if (candidate.length !== 32) return `must be exactly 32 characters (got ${candidate.length})`;
  if (!/^[A-Za-z0-9]+$/.test(candidate)) return 'may contain only digits and letters';
  if (!/[0-9]/.test(candidate) || !/[A-Z]/.test(candidate) || !/[a-z]/.test(candidate)) {
    return 'must mix digits, upper-case and lower-case letters';
  }
  return undefined;
}

/** A random acceptable APIv3 key (the demo world's, and a suggestion the console may offer). */
export function generateApiV3Key(): string {
  for (;;) {
    const candidate = randomString(32);
    if (!apiV3KeyProblem(candidate)) return candidate;
  }
}
