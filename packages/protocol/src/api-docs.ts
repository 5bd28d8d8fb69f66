import { z } from 'zod';
import { ENDPOINTS, API_VERSION, type EndpointName } from './endpoints.js';

type JsonSchema = {
  type?: string | string[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  description?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
};

function typeOf(node: JsonSchema | undefined, depth = 0): string {
  if (!node) return 'any';
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  const union = node.anyOf ?? node.oneOf;
  if (union) return [...new Set(union.map((n) => typeOf(n, depth)))].join(' \\| ');
  const type = Array.isArray(node.type) ? node.type.join(' \\| ') : node.type;
  if (type === 'array') return `${typeOf(node.items, depth)}[]`;
  if (type === 'object') {
    if (node.properties && depth < 1) {
      return `{${Object.keys(node.properties).join(', ')}}`;
    }
    if (node.additionalProperties && typeof node.additionalProperties === 'object') {
      return `map of ${typeOf(node.additionalProperties, depth + 1)}`;
    }
    return 'object';
  }
  if (type === 'string' && node.pattern === '^[0-9a-f]{32}$') return 'id';
  return type ?? 'any';
}

function constraints(node: JsonSchema): string {
  const parts: string[] = [];
  if (node.minLength !== undefined && node.minLength > 1) parts.push(`at least ${node.minLength} characters`);
  if (node.minimum !== undefined && node.minimum > Number.MIN_SAFE_INTEGER) parts.push(`≥ ${node.minimum}`);
  if (node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER) parts.push(`≤ ${node.maximum}`);
  return parts.join(', ');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function fieldsTable(schema: z.ZodType, io: 'input' | 'output'): string {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  const properties = Object.entries(json.properties ?? {});
  if (properties.length === 0) return '_no fields_';
  const required = new Set(json.required ?? []);
  const rows = properties.map(([name, node]) => {
    const notes = [node.description ?? '', constraints(node), node.default !== undefined ? `default ${JSON.stringify(node.default)}` : '']
      .filter(Boolean)
      .join('; ');
    const isRequired = io === 'input' && required.has(name);
    return `| \`${name}\`${isRequired ? ' **(required)**' : ''} | ${typeOf(node)} | ${cell(notes)} |`;
  });
  return ['| field | type | notes |', '|---|---|---|', ...rows].join('\n');
}

/** Renders `docs/api.md` from the endpoint table: every endpoint with its request and response fields. */
export function renderApiDocs(): string {
  const names = Object.keys(ENDPOINTS) as EndpointName[];
  const services = [...new Set(names.map((n) => n.split('.')[0]!))];
  const out: string[] = [
    '# Tasklane API reference',
    '',
    '<!-- Generated from packages/protocol/src/endpoints.ts by `npm run docs:api`; do not edit by hand. -->',
    '',
    `The server speaks ClearML's wire conventions (API version ${API_VERSION}):`,
    '',
    '- Path `/[vX.Y/]<service>.<action>`; any HTTP method (ClearML clients send GET with a body); JSON body, where',
    '  query-string fields are merged in (`a.b=1` nests, `a[]=x` makes a list). An empty body means `{}`.',
    '- Every reply is `{"meta": {...}, "data": {...}}`; the HTTP status equals `meta.result_code`. On an error,',
    '  `meta.result_msg` says what was wrong and what to do, and `meta.error_data.code` holds the error code',
    '  (see [errors.md](errors.md)).',
    '- Ids are 32-character hex strings; times are ISO-8601 UTC. Unknown body fields are ignored.',
    '',
    '## Endpoints',
    '',
    ...services.map((s) => `- **${s}**: ${names.filter((n) => n.startsWith(`${s}.`)).map((n) => `[\`${n}\`](#${n.replace('.', '')})`).join(', ')}`),
  ];
  for (const service of services) {
    out.push('', `## ${service}`);
    for (const name of names.filter((n) => n.startsWith(`${service}.`))) {
      const definition = ENDPOINTS[name];
      out.push(
        '',
        `### ${name}`,
        '',
        definition.summary,
        '',
        'Request:',
        '',
        fieldsTable(definition.request, 'input'),
        '',
        'Response `data`:',
        '',
        fieldsTable(definition.response, 'output'),
      );
    }
  }
  return `${out.join('\n')}\n`;
}
