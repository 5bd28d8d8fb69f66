// Writes docs/api.md from the endpoint table of @tasklane/protocol (built). Run: npm run docs:api
import { writeFileSync } from 'node:fs';
import { renderApiDocs } from '@tasklane/protocol';

const target = new URL('../docs/api.md', import.meta.url);
writeFileSync(target, renderApiDocs());
process.stdout.write(`wrote ${target.pathname}\n`);
