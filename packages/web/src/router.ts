import { useEffect, useState } from 'react';

/** The current route: the path and query after `#`, e.g. `#/projects/abc/tasks?status=completed`. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function readRoute(): Route {
  const hash = window.location.hash.replace(/^#/, '') || '/projects';
  const [path = '', search = ''] = hash.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

/**
 * Turns a path address (`/tasks/<id>`, the links the SDK and the CLI print) into the hash address of the same page,
 * once at start-up, so that both kinds of link open the right page.
 */
export function adoptPathAddress(): void {
  const { pathname, search, hash } = window.location;
  if (hash || pathname === '/' || pathname === '/index.html') return;
  window.history.replaceState(null, '', `/#${pathname}${search}`);
}

/** Follows the address bar (hash routing keeps every page shareable and needs nothing from the server). */
export function useRoute(): Route {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Builds a hash link from path parts and query values (empty values are left out). */
export function href(parts: string[], query: Record<string, string | number | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const q = search.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '');
}
