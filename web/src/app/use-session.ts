import { useQuery, type QueryClient } from '@tanstack/react-query';
import { setCsrfToken } from '../api/client.ts';
import { consoleApi, queryKeys } from '../api/console-api.ts';
import type { Session } from '../api/types.ts';

/** Loads the session; its CSRF token is handed to the API client before anyone can use it. */
export async function loadSession(): Promise<Session | null> {
  const session = await consoleApi.getSession();
  setCsrfToken(session?.csrfToken ?? null);
  return session;
}

export function useSession() {
  return useQuery({ queryKey: queryKeys.session, queryFn: loadSession, staleTime: 60_000 });
}

/** Replaces the session after sign-in or sign-out; every other cached answer belonged to the old one. */
export function storeSession(client: QueryClient, session: Session | null) {
  setCsrfToken(session?.csrfToken ?? null);
  client.removeQueries({ predicate: (query) => query.queryKey[0] !== queryKeys.session[0] });
  client.setQueryData(queryKeys.session, session);
}
