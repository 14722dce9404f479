/**
 * Whether a database error is a unique-constraint violation (SQLite or PostgreSQL). Services pre-check
 * the "one at a time" rules; the unique indexes catch the races those checks cannot see.
 */
export function isUniqueViolation(error: unknown): boolean {
  const candidate = error as { code?: unknown; message?: unknown } | null;
  if (!candidate || typeof candidate !== 'object') return false;
  if (candidate.code === '23505') return true;
  return typeof candidate.code === 'string' && candidate.code.startsWith('SQLITE_CONSTRAINT') && /UNIQUE/i.test(String(candidate.message));
}
