import type { User } from '@tasklane/protocol';
import { TasklaneError } from 'tasklane/client';
import { api, errorMessage } from '../api';
import { refreshDelayMs, retryDelayMs } from './refresh-delay';
import { getSession, knownUserName, setSession, subscribeSession } from './session-store';

/** Tabs of the UI tell each other when someone signs in or out, so all of them follow. */
type TabMessage = { type: 'signed-in'; user: User; expires: string } | { type: 'signed-out' };

const channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel('tasklane-session');

function tell(message: TabMessage): void {
  channel?.postMessage(message);
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof TasklaneError && error.code === 'UNAUTHORIZED';
}

/**
 * Asks the server who the page is for. Where auth is on and the cookie works, the session is renewed at once: the
 * answer says when it ends, which users.get_current_user does not, and opening the UI counts as using it.
 * A 401 has already turned the page to the sign-in form (see sessionFetch).
 */
export async function checkSession(): Promise<void> {
  try {
    const { user, auth } = await api.call('users.get_current_user', {});
    if (!auth) {
      setSession({ phase: 'open', user });
      return;
    }
    const renewed = await api.call('auth.refresh_session', {});
    setSession({ phase: 'signed-in', user: renewed.user, expires: renewed.expires });
  } catch (error) {
    if (isUnauthorized(error)) return;
    if (getSession().phase === 'checking') setSession({ phase: 'unknown', error: errorMessage(error) });
  }
}

/** Signs in with a password; throws the server's error (wrong password, too many attempts) for the form to show. */
export async function signIn(name: string, password: string): Promise<void> {
  const { user, expires } = await api.call('auth.sign_in', { name, password });
  setSession({ phase: 'signed-in', user, expires });
  tell({ type: 'signed-in', user, expires });
}

/**
 * Signs out (the server clears the cookie) and shows the sign-in page, here and in the other tabs. Throws when the
 * server did not answer: the page cannot clear an HttpOnly cookie itself, so it stays signed in and says so.
 */
export async function signOut(): Promise<void> {
  const current = getSession();
  await api.call('auth.sign_out', {});
  setSession({ phase: 'signed-out', ended: 'signed_out', lastUserName: knownUserName(current) });
  tell({ type: 'signed-out' });
}

let timer: ReturnType<typeof setTimeout> | undefined;
/** When the pending renewal is due (epoch ms): a timer does not run while the computer sleeps, so waking up checks. */
let dueAtMs: number | undefined;
let refreshing = false;

function schedule(delayMs: number): void {
  clearTimeout(timer);
  dueAtMs = Date.now() + delayMs;
  timer = setTimeout(() => void refreshNow(), delayMs);
}

function unschedule(): void {
  clearTimeout(timer);
  timer = undefined;
  dueAtMs = undefined;
}

async function refreshNow(): Promise<void> {
  const current = getSession();
  if (current.phase !== 'signed-in' || refreshing) return;
  refreshing = true;
  unschedule();
  try {
    const { user, expires } = await api.call('auth.refresh_session', {});
    if (getSession().phase === 'signed-in') setSession({ phase: 'signed-in', user, expires });
  } catch (error) {
    // A 401 has shown the sign-in page; anything else (server restarting, network away) is retried while time is left.
    if (!isUnauthorized(error) && getSession().phase === 'signed-in') schedule(retryDelayMs(current.expires, Date.now()));
  } finally {
    refreshing = false;
  }
}

/**
 * Keeps the session alive while the UI is open: renews it when half its lifetime has passed, and checks whether a
 * renewal came due while the tab was hidden or the computer asleep. Follows sign-ins and sign-outs of other tabs.
 * Call once, at start-up.
 */
export function keepSessionAlive(): void {
  let scheduledFor: string | undefined;
  subscribeSession(() => {
    const current = getSession();
    if (current.phase !== 'signed-in') {
      scheduledFor = undefined;
      unschedule();
      return;
    }
    if (current.expires === scheduledFor) return;
    scheduledFor = current.expires;
    schedule(refreshDelayMs(current.expires, Date.now()));
  });
  const catchUp = () => {
    if (document.visibilityState === 'visible' && dueAtMs !== undefined && Date.now() >= dueAtMs) void refreshNow();
  };
  document.addEventListener('visibilitychange', catchUp);
  window.addEventListener('focus', catchUp);
  channel?.addEventListener('message', (event: MessageEvent<TabMessage>) => {
    const message = event.data;
    const current = getSession();
    if (message.type === 'signed-in' && current.phase !== 'open') {
      setSession({ phase: 'signed-in', user: message.user, expires: message.expires });
    } else if (message.type === 'signed-out' && current.phase === 'signed-in') {
      setSession({ phase: 'signed-out', ended: 'signed_out_elsewhere', lastUserName: current.user.name });
    }
  });
}
