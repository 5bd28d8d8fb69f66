import { useState, type ReactNode } from 'react';
import { errorMessage } from '../api';
import { Dialog } from '../components/dialog';
import { ErrorBox } from '../components/error-box';

/**
 * A dialog that runs an async action on submit: busy while it runs, closes when it succeeds, and keeps the server's
 * message on screen when it fails (so the user can change the input and try again).
 */
export function ActionDialog({
  title,
  submitLabel,
  onSubmit,
  onClose,
  children,
}: {
  title: string;
  submitLabel: string;
  onSubmit: () => Promise<void>;
  onClose: () => void;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit();
      onClose();
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} submitLabel={submitLabel} busy={busy} onClose={onClose} onSubmit={() => void submit()}>
      {children}
      <ErrorBox message={error} />
    </Dialog>
  );
}
