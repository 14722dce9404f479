import { Flex, Spin } from 'antd';
import { Navigate, Outlet, useLocation } from 'react-router';
import { LoadError } from '../components/load-error.tsx';
import { routePaths } from '../route-paths.ts';
import { ConsoleProvider } from './console-context.tsx';
import { useSession } from './use-session.ts';

/** Everything below needs a signed-in user; others go to the sign-in page and come back afterwards. */
export function RequireSession() {
  const location = useLocation();
  const { data: session, isPending, error } = useSession();
  if (isPending) {
    return (
      <Flex justify="center" align="center" style={{ minHeight: '100vh' }}>
        <Spin size="large" />
      </Flex>
    );
  }
  if (error) return <LoadError error={error} />;
  if (!session) {
    const next = location.pathname + location.search;
    const search = next === routePaths.home ? '' : `?next=${encodeURIComponent(next)}`;
    return <Navigate to={`${routePaths.signIn}${search}`} replace />;
  }
  return (
    <ConsoleProvider key={session.user.id} session={session}>
      <Outlet />
    </ConsoleProvider>
  );
}
