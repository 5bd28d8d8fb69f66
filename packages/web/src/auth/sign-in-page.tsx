import { useEffect, useRef, useState, type FormEvent } from 'react';
import { TasklaneError } from 'tasklane/client';
import { errorMessage } from '../api';
import { checkSession, signIn } from './session';
import type { SessionEnd } from './session-store';
import '../styles/auth.css';

const ENDED: Record<SessionEnd, string> = {
  expired: 'Your session has ended. Sign in again to continue where you were.',
  invalid: 'Your session is no longer valid (the server may have been set up anew). Sign in again to continue where you were.',
  removed_user: 'Your user was removed from this server. Ask an admin for an account to continue.',
  signed_out: 'You have signed out.',
  signed_out_elsewhere: 'You signed out in another tab.',
};

/** What went wrong: a message (and the field to fix), or a wait after too many failed attempts. */
type Problem = { kind: 'message'; text: string; field?: 'name' | 'password' } | { kind: 'wait'; untilMs: number };

/** Seconds left until `untilMs`, rounded up (so the count ends at 1 s, then the form opens). */
function secondsLeft(untilMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
}

/**
 * The sign-in page, shown in place of any page while there is no working session; the address stays as it was, so
 * after signing in the page the user was going to opens.
 */
export function SignInPage({ ended, lastUserName }: { ended: SessionEnd | undefined; lastUserName: string | undefined }) {
  const [name, setName] = useState(lastUserName ?? '');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [nowMs, setNowMs] = useState(() => Date.now());
  const nameRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    (lastUserName ? passwordRef : nameRef).current?.focus();
    // Only on arrival: later focus follows what happened (see submit).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const waitS = problem?.kind === 'wait' ? secondsLeft(problem.untilMs, nowMs) : 0;
  useEffect(() => {
    if (problem?.kind !== 'wait') return;
    const tick = setInterval(() => setNowMs(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [problem]);
  useEffect(() => {
    if (problem?.kind === 'wait' && waitS === 0) {
      setProblem(undefined);
      passwordRef.current?.focus();
    }
  }, [problem, waitS]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy || waitS > 0) return;
    if (name.trim() === '') {
      setProblem({ kind: 'message', text: 'Enter your user name.', field: 'name' });
      nameRef.current?.focus();
      return;
    }
    if (password === '') {
      setProblem({ kind: 'message', text: 'Enter your password.', field: 'password' });
      passwordRef.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(undefined);
    try {
      await signIn(name.trim(), password);
      // Signed in: the app shows the page at the address in place of this one.
    } catch (error) {
      setBusy(false);
      setPassword('');
      if (error instanceof TasklaneError && error.code === 'TOO_MANY_REQUESTS') {
        const retryS = Number(error.details?.retry_after_sec) || 60;
        const now = Date.now();
        setNowMs(now);
        setProblem({ kind: 'wait', untilMs: now + retryS * 1000 });
        return;
      }
      if (error instanceof TasklaneError && error.details?.reason === 'auth_off') {
        // The server was restarted with authentication off: no sign-in needed any more.
        void checkSession();
        return;
      }
      const isWrong = error instanceof TasklaneError && error.details?.reason === 'wrong_password';
      setProblem(isWrong ? { kind: 'message', text: error.message, field: 'password' } : { kind: 'message', text: `Could not sign in: ${errorMessage(error)}` });
      passwordRef.current?.focus();
    }
  };

  const problemText =
    problem?.kind === 'wait'
      ? `Too many failed sign-ins for this user or from this address: try again in ${waitS} s.`
      : problem?.text;
  return (
    <main className="sign-in-page">
      <form className="sign-in" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="sign-in-title">
        <p className="sign-in-brand">Tasklane</p>
        <h1 id="sign-in-title">Sign in</h1>
        <p className="muted sign-in-host">to {window.location.host}</p>
        {ended && !problemText && (
          <p className="sign-in-notice" role="status">
            {ENDED[ended]}
          </p>
        )}
        <label>
          User name
          <input
            ref={nameRef}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={problem?.kind === 'message' && problem.field === 'name' ? true : undefined}
            aria-describedby={problemText ? 'sign-in-problem' : undefined}
          />
        </label>
        <label>
          Password
          <input
            ref={passwordRef}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={problem?.kind === 'message' && problem.field === 'password' ? true : undefined}
            aria-describedby={problemText ? 'sign-in-problem' : undefined}
          />
        </label>
        {problemText && (
          <p id="sign-in-problem" className="error" role="alert">
            {problemText}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || waitS > 0}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted sign-in-help">
          No account yet? An admin adds one with <code>tasklane users add NAME --password-stdin</code>.
        </p>
      </form>
    </main>
  );
}
