import { useState } from 'react';
import type { NewCredential } from '@tasklane/protocol';
import { api } from '../api';
import { CopyButton } from '../components/copy-button';
import { Modal } from '../components/dialog';
import { ActionDialog } from '../task-details/action-dialog';
import { clearmlConfSnippet, environmentSnippet } from './key-pair-snippets';

/** Asks for an optional label and makes a key pair; `onCreated` gets it with its secret. */
export function CreateCredentialsDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (credential: NewCredential) => void }) {
  const [label, setLabel] = useState('');
  return (
    <ActionDialog
      title="Create new credentials"
      submitLabel="Create"
      onClose={onClose}
      onSubmit={async () => {
        const trimmed = label.trim();
        const { credentials } = await api.call('auth.create_credentials', trimmed ? { label: trimmed } : {});
        onCreated(credentials);
      }}
    >
      <label>
        Label (optional)
        <input
          autoFocus
          value={label}
          maxLength={256}
          placeholder="e.g. laptop, training cluster"
          onChange={(e) => setLabel(e.target.value)}
        />
      </label>
      <p className="muted">The label helps you tell your key pairs apart, e.g. when revoking one.</p>
    </ActionDialog>
  );
}

/**
 * A new key pair, the one time its secret is shown: both keys with copy buttons, and ready-made settings for
 * ClearML's clients (clearml.conf) and for environment variables, with this server's address.
 */
export function NewCredentialsDialog({ credential, onClose }: { credential: NewCredential; onClose: () => void }) {
  const setup = { origin: window.location.origin, accessKey: credential.access_key, secretKey: credential.secret_key };
  const conf = clearmlConfSnippet(setup);
  const env = environmentSnippet(setup);
  return (
    <Modal title="New credentials" className="new-credentials" onClose={onClose}>
      <h2>New credentials{credential.label ? `: ${credential.label}` : ''}</h2>
      <p className="secret-warning" role="note">
        <strong>Copy the secret key now: you won’t see it again.</strong> Only a hash of it is kept on the server. If you
        lose it, revoke this key pair and create a new one.
      </p>
      <dl className="key-pair">
        <div>
          <dt>Access key</dt>
          <dd>
            <code data-field="access-key">{credential.access_key}</code>
            <CopyButton text={credential.access_key} title="Copy the access key" />
          </dd>
        </div>
        <div>
          <dt>Secret key</dt>
          <dd>
            <code data-field="secret-key">{credential.secret_key}</code>
            <CopyButton text={credential.secret_key} title="Copy the secret key" />
          </dd>
        </div>
      </dl>
      <div className="snippet-head">
        <h3>clearml.conf</h3>
        <CopyButton text={conf} title="Copy the clearml.conf section" />
      </div>
      <p className="muted">
        For ClearML’s SDK and agent: put this in <code>~/clearml.conf</code> (in place of its <code>api</code> section), or
        paste it into <code>clearml-init</code>.
      </p>
      <pre className="code snippet" data-snippet="clearml.conf">
        {conf}
      </pre>
      <div className="snippet-head">
        <h3>Environment variables</h3>
        <CopyButton text={env} title="Copy the environment variables" />
      </div>
      <p className="muted">For Tasklane’s SDK, agent and CLI (TASKLANE_…) and for ClearML’s clients (CLEARML_…).</p>
      <pre className="code snippet" data-snippet="environment">
        {env}
      </pre>
      <div className="dialog-buttons">
        <button type="button" className="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}
