import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/client.ts';
import { queryKeys } from '../api/console-api.ts';

function signedOutOn(error: unknown) {
  // An expired or revoked session anywhere sends the console back to the sign-in page.
  if (error instanceof ApiError && error.status === 401) queryClient.setQueryData(queryKeys.session, null);
}

export const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: signedOutOn }),
  mutationCache: new MutationCache({ onError: signedOutOn }),
  defaultOptions: {
    queries: {
      // Client errors (403, 404, ...) will not change on retry.
      retry: (failures, error) => !(error instanceof ApiError && error.status < 500) && failures < 2,
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
});
