import { ApiClient } from 'tasklane/client';
import { sessionFetch } from './auth/session-store';

/**
 * The API client of the page: same origin as the UI, since the server serves both. Where auth is on, the browser
 * sends the session cookie with every call; a call answering 401 brings up the sign-in page (see sessionFetch).
 */
export const api = new ApiClient({ baseUrl: window.location.origin, fetch: sessionFetch });

/** A readable message for any error a call can throw (the server's messages already say what to do). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
