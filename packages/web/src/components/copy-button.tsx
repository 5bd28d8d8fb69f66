import { useEffect, useRef, useState } from 'react';

/**
 * Copies through a selected, off-screen text area: for pages served over plain HTTP from another host than
 * localhost, where browsers give no navigator.clipboard. Placed beside the button, so it is inside an open modal
 * dialog (the rest of the page is inert then).
 */
function copyBySelection(text: string, near: HTMLElement): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'copy-scratch';
  (near.parentElement ?? document.body).append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
    near.focus();
  }
}

/** A button that copies `text` to the clipboard and says so ("Copied") for a moment. */
export function CopyButton({ text, label = 'Copy', title }: { text: string; label?: string; title?: string }) {
  const [outcome, setOutcome] = useState<'copied' | 'failed'>();
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (outcome === undefined) return;
    const timer = setTimeout(() => setOutcome(undefined), outcome === 'copied' ? 2000 : 6000);
    return () => clearTimeout(timer);
  }, [outcome]);
  const copy = async () => {
    let copied = false;
    if (navigator.clipboard?.writeText) {
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch {
        copied = false;
      }
    }
    if (!copied && ref.current) copied = copyBySelection(text, ref.current);
    setOutcome(copied ? 'copied' : 'failed');
  };
  return (
    <span className="copy">
      <button ref={ref} type="button" className="copy-button" title={title} onClick={() => void copy()}>
        {outcome === 'copied' ? 'Copied' : label}
      </button>
      <span className="copy-outcome" role="status">
        {outcome === 'failed' ? 'Could not copy: select the text and press Ctrl+C (⌘C).' : ''}
      </span>
    </span>
  );
}
