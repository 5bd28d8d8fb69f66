import type { ReactNode } from 'react';

/** A label/value list; empty values show as a dash. */
export function Fields({ rows }: { rows: [string, ReactNode | string | number | null | undefined][] }) {
  return (
    <dl className="fields">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value === undefined || value === null || value === '' ? '—' : typeof value === 'number' ? String(value) : value}</dd>
        </div>
      ))}
    </dl>
  );
}
