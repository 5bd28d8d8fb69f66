import { useSyncExternalStore } from 'react';
import type { User } from '@tasklane/protocol';

/**
 * Where the page stands with the server's authentication:
 * - `checking`: users.get_current_user has not answered yet;
 * - `open`: authentication is off, there is no sign-in (the UI works as it always did);
 * - `signed-in`: the session cookie works; `expires` is when it ends unless renewed;
 * - `signed-out`: a call answered 401 (or the user signed out): the sign-in page shows, the address stays;
 * - `unknown`: the first check failed otherwise (server unreachable...): the pages show their own errors, as before.
 */
export type SessionState =
  | { phase: 'checking' }
  | { phase: 'open'; user: User }
  | { phase: 'signed-in'; user: User; expires: string }
  | { phase: 'signed-out'; ended: SessionEnd | undefined; lastUserName: string | undefined }
  | { phase: 'unknown'; error: string };

/** Why a session ended, shown above the sign-in form; undefined on a first visit. */
export type SessionEnd = 'expired' | 'invalid' | 'removed_user' | 'signed_out' | 'signed_out_elsewhere';

let state: SessionState = { phase: 'checking' };
const listeners = new Set<() => void>();

export function getSession(): SessionState {
  return state;
}

export function setSession(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The session state, re-rendering on every change. */
export function useSession(): SessionState {
  return useSyncExternalStore(subscribeSession, getSession);
}

/** The name of the user the page last knew, to fill in the sign-in form after a session ends. */
export function knownUserName(current: SessionState): string | undefined {
  if (current.phase === 'signed-in') return current.user.name;
  if (current.phase === 'signed-out') return current.lastUserName;
  return undefined;
}

/**
 * What a 401's `error_data.reason` means for the page: a first visit (no cookie yet) shows the form without a
 * notice; a cookie that stopped working says why. A cookie past its Max-Age is not sent at all, so "no credentials"
 * after having been signed in means the session ran out (or another tab signed out).
 */
export function sessionEndOf(reason: unknown, wasSignedIn: boolean): SessionEnd | undefined {
  if (reason === 'expired_token') return 'expired';
  if (reason === 'invalid_token') return 'invalid';
  if (reason === 'removed_user') return 'removed_user';
  return wasSignedIn ? 'expired' : undefined;
}

/** Endpoints whose 401 is an answer for the caller to show, not the end of the session. */
const OWN_REFUSALS = ['auth.sign_in'];

/**
 * The page's fetch: any API call (or file) that answers 401 ends the session, wherever it was made, so every page
 * gets the sign-in page without handling it; the call still fails as before for its caller.
 */
export const sessionFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.status === 401) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const endpoint = new URL(url, window.location.origin).pathname.replace(/^\/(v\d+\.\d+\/)?/, '');
    if (!OWN_REFUSALS.includes(endpoint)) noteRefusal(await readReason(response.clone()));
  }
  return response;
};

async function readReason(response: Response): Promise<unknown> {
  try {
    const body = (await response.json()) as { meta?: { error_data?: { reason?: unknown } } };
    return body.meta?.error_data?.reason;
  } catch {
    return undefined;
  }
}

function noteRefusal(reason: unknown): void {
  const current = getSession();
  if (current.phase === 'signed-out') return;
  setSession({ phase: 'signed-out', ended: sessionEndOf(reason, current.phase === 'signed-in'), lastUserName: knownUserName(current) });
}
