import { useEffect, useRef, type ReactNode } from 'react';

/**
 * A native modal <dialog> (so Escape and focus trapping come free), shown for as long as it is rendered;
 * `onClose` runs on Escape. `className` adds to the shared "dialog" class.
 */
export function Modal({ title, className, onClose, children }: { title: string; className?: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={className ? `dialog ${className}` : 'dialog'}
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {children}
    </dialog>
  );
}

/**
 * A modal dialog with a form: a title, the fields, Cancel and a submit button. Render it only while open;
 * `onClose` runs on Escape and on the Cancel button.
 */
export function Dialog({
  title,
  children,
  onClose,
  onSubmit,
  submitLabel = 'OK',
  busy = false,
}: {
  title: string;
  children: ReactNode;
  onClose: () => void;
  onSubmit: () => void;
  submitLabel?: string;
  busy?: boolean;
}) {
  return (
    <Modal title={title} onClose={onClose}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        <h2>{title}</h2>
        <div className="dialog-body">{children}</div>
        <div className="dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
