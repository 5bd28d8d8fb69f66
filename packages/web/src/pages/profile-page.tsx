import { useState } from 'react';
import type { Credential, NewCredential, User } from '@tasklane/protocol';
import { api } from '../api';
import { CreateCredentialsDialog, NewCredentialsDialog } from '../auth/credentials-dialogs';
import { useSession } from '../auth/session-store';
import { ErrorBox } from '../components/error-box';
import { Fields } from '../components/fields';
import { formatTime } from '../format-time';
import { ConfirmDialog } from '../task-details/confirm-dialog';
import { useAsync } from '../use-async';
import '../styles/auth.css';

/** `#/profile`: who is signed in, and their key pairs (ClearML's Settings → Profile and workspace credentials). */
export function ProfilePage() {
  const session = useSession();
  if (session.phase === 'signed-in') return <SignedInProfile user={session.user} />;
  if (session.phase === 'open') return <AuthOffProfile user={session.user} />;
  return (
    <section className="profile-page">
      <h1>Profile</h1>
      <ErrorBox message={session.phase === 'unknown' ? `Could not ask the server who you are: ${session.error}` : undefined} />
    </section>
  );
}

function UserFields({ user, isAuthOn }: { user: User; isAuthOn: boolean }) {
  return (
    <Fields
      rows={[
        ['Name', user.name],
        ['Display name', user.display_name],
        ['Role', user.role === 'admin' ? 'admin (manages users and everyone’s key pairs)' : 'user'],
        ...(isAuthOn ? ([['Member since', formatTime(user.created)]] as [string, string][]) : []),
      ]}
    />
  );
}

function AuthOffProfile({ user }: { user: User }) {
  return (
    <section className="profile-page">
      <h1>Profile</h1>
      <div className="profile-card">
        <UserFields user={user} isAuthOn={false} />
      </div>
      <h2>API credentials</h2>
      <div className="auth-off-notice" data-auth="off">
        <p>
          <strong>Authentication is off on this server.</strong> Nobody signs in and no key pairs are needed: anyone who
          can reach this port can use everything, and tasks record the user name each client sends.
        </p>
        <p>To turn it on, make the first admin on the server’s machine (you are asked for a password):</p>
        <pre className="code snippet">tasklane users add admin --admin --password-stdin</pre>
        <p>
          then restart the server (<code>tasklane server</code>). Authentication turns on by itself once a user exists
          (<code>--auth auto</code>, the default; <code>--auth on</code> forces it). Then sign in here with that user and
          create key pairs for the SDK, the agent and the CLI on this page.
        </p>
      </div>
    </section>
  );
}

function SignedInProfile({ user }: { user: User }) {
  const keys = useAsync(() => api.call('auth.get_credentials', {}), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<NewCredential>();
  const [revoking, setRevoking] = useState<Credential>();
  const credentials = (keys.data?.credentials ?? []).slice().sort((a, b) => b.created.localeCompare(a.created));
  return (
    <section className="profile-page">
      <h1>Profile</h1>
      <div className="profile-card">
        <UserFields user={user} isAuthOn />
      </div>
      <h2>API credentials</h2>
      <p className="muted">
        Key pairs let the SDK, the agent, the CLI and ClearML’s own clients act as you. Each one works until revoked.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create new credentials
        </button>
      </div>
      <ErrorBox message={keys.error} />
      {keys.data && credentials.length === 0 && <p className="muted">You have no key pairs yet.</p>}
      {credentials.length > 0 && (
        <table className="grid credentials-table">
          <thead>
            <tr>
              <th>Access key</th>
              <th>Label</th>
              <th>Created</th>
              <th>Last used</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {credentials.map((c) => (
              <tr key={c.access_key} data-access-key={c.access_key}>
                <td className="access-key">{c.access_key}</td>
                <td>{c.label ?? <span className="muted">—</span>}</td>
                <td>{formatTime(c.created)}</td>
                <td>{c.last_used ? formatTime(c.last_used) : <span className="muted">never</span>}</td>
                <td>
                  <button type="button" onClick={() => setRevoking(c)} aria-label={`Revoke ${c.access_key}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <CreateCredentialsDialog
          onClose={() => setCreating(false)}
          onCreated={(credential) => {
            setCreated(credential);
            keys.reload();
          }}
        />
      )}
      {created && <NewCredentialsDialog credential={created} onClose={() => setCreated(undefined)} />}
      {revoking && (
        <ConfirmDialog
          title="Revoke key pair"
          message={
            `Revoke access key ${revoking.access_key}${revoking.label ? ` (${revoking.label})` : ''}? ` +
            'Every SDK, agent or CLI that uses it is refused from its next request on. This cannot be undone.'
          }
          confirmLabel="Revoke"
          onConfirm={async () => {
            await api.call('auth.revoke_credentials', { access_key: revoking.access_key });
            keys.reload();
          }}
          onClose={() => setRevoking(undefined)}
        />
      )}
    </section>
  );
}
