import { ApiClient } from 'tasklane/client';

/** The API client of the page: same origin as the UI, since the server serves both. */
export const api = new ApiClient({ baseUrl: window.location.origin });

/** A readable message for any error a call can throw (the server's messages already say what to do). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
