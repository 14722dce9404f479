import { createBrowserRouter, Navigate } from 'react-router';
import { builtNavItems } from '../navigation.ts';
import { routePaths } from '../route-paths.ts';
import { HomePage } from '../pages/home/home-page.tsx';
import { NotFoundPage } from '../pages/not-found/not-found-page.tsx';
import { SignInPage } from '../pages/sign-in/sign-in-page.tsx';
import { ConsoleLayout } from './console-layout.tsx';
import { NavItemRoute } from './nav-item-route.tsx';
import { RequireSession } from './require-session.tsx';

export const router = createBrowserRouter([
  { path: routePaths.signIn, element: <SignInPage /> },
  {
    element: <RequireSession />,
    children: [
      {
        element: <ConsoleLayout />,
        children: [
          { path: routePaths.home, element: <HomePage /> },
          { path: '/console', element: <Navigate to={routePaths.home} replace /> },
          ...builtNavItems.map((item) => ({ path: item.path, element: <NavItemRoute item={item} /> })),
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);
