import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderApiDocs } from './api-docs.js';
import { ENDPOINTS } from './endpoints.js';

describe('docs/api.md', () => {
  const rendered = renderApiDocs();

  it('lists every endpoint with its request and response fields', () => {
    for (const name of Object.keys(ENDPOINTS)) expect(rendered).toContain(`### ${name}\n`);
    expect(rendered).toContain('| `task` **(required)** | id |');
    expect(rendered).toContain('| `queue_name` | string | queue by name; created when missing |');
  });

  it('is up to date with the endpoint table (regenerate with: npm run docs:api)', () => {
    const onDisk = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    expect(onDisk === rendered, 'docs/api.md is stale: run npm run docs:api').toBe(true);
  });
});
