import { describe, expect, it } from 'vitest';
import { isId, newId, shortId } from './ids.js';

describe('ids', () => {
  it('are 32 lowercase hex characters, as ClearML clients expect', () => {
    const id = newId();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(isId(id)).toBe(true);
    expect(newId()).not.toBe(id);
    expect(isId('default')).toBe(false);
    expect(shortId(id)).toBe(id.slice(0, 8));
  });
});
