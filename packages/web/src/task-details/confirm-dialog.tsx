import { ActionDialog } from './action-dialog';

/** Asks before a destructive action; the action runs (and may fail, readably) inside the dialog. */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  message: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  return (
    <ActionDialog title={title} submitLabel={confirmLabel} onSubmit={onConfirm} onClose={onClose}>
      <p className="confirm-message">{message}</p>
    </ActionDialog>
  );
}
