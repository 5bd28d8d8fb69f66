import { useEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import type { User } from '@tasklane/protocol';
import { errorMessage } from '../api';
import { href } from '../router';
import { signOut } from './session';
import '../styles/auth.css';

/** Arrow keys move between the menu's items, as in any menu. */
function moveFocus(event: ReactKeyboardEvent<HTMLDivElement>): void {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  event.preventDefault();
  const items = [...event.currentTarget.querySelectorAll<HTMLElement>('[role=menuitem]')];
  const at = items.indexOf(document.activeElement as HTMLElement);
  const next = event.key === 'ArrowDown' ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
  items[next]?.focus();
}

/**
 * The user menu at the right of the top bar: who is signed in, the profile page (key pairs) and signing out.
 * Where authentication is off there is no one to sign out; the profile page then says how to turn it on.
 */
export function UserMenu({ user, isAuthOn }: { user: User; isAuthOn: boolean }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string>();
  const ref = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (!ref.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    ref.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  const name = user.display_name || user.name;
  return (
    <div className="user-menu" ref={ref}>
      <button
        ref={buttonRef}
        type="button"
        className="user-menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        title={isAuthOn ? `Signed in as ${user.name}` : 'Authentication is off on this server'}
        onClick={() => {
          setError(undefined);
          setOpen((o) => !o);
        }}
      >
        <span className="user-avatar" aria-hidden="true">
          {name.slice(0, 1).toUpperCase()}
        </span>
        {name}
      </button>
      {open && (
        <div className="user-menu-list" role="menu" onKeyDown={moveFocus}>
          <p className="user-menu-who">
            {isAuthOn ? (
              <>
                Signed in as <strong>{user.name}</strong> ({user.role})
              </>
            ) : (
              'Authentication is off'
            )}
          </p>
          <a role="menuitem" href={href(['profile'])} onClick={() => setOpen(false)}>
            Profile &amp; API credentials
          </a>
          {isAuthOn && (
            <button
              type="button"
              role="menuitem"
              onClick={() => {
                setOpen(false);
                signOut().catch((err: unknown) => setError(errorMessage(err)));
              }}
            >
              Sign out
            </button>
          )}
        </div>
      )}
      {error && (
        <p className="user-menu-error" role="alert">
          Could not sign out, you are still signed in: {error}
        </p>
      )}
    </div>
  );
}
