// The bad-input sweep of issue 13: every endpoint of ENDPOINTS gets a few dozen to a few hundred malformed requests,
// derived from its request schema (wrong types, missing fields, huge and deep values, bad, unknown and wrong-kind ids,
// invalid and catastrophic patterns, hostile keys) or from the wire (content types, broken JSON, invalid UTF-8, JSON
// lines with a bad line, bodies that are not objects), sent to a server that holds a realistic data set. Every reply
// must be a short 4xx in ClearML's envelope (or a success, when the request is in fact valid and changes nothing),
// quickly, with the server answering other clients between batches. Afterwards the stored data is unchanged (the API's
// view and every row of the database, SQLite or PostgreSQL), Object.prototype is untouched, and ordinary requests
// answer exactly as before.
//
// Writes are only ever sent with a seeded id when the request schema refuses the body; a write body the schema
// accepts is sent with an id of nothing (so the service must refuse it), and bodies the schema accepts for the
// endpoints that create (no id to aim elsewhere) go to a second, scratch server, whose later reads must still work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENDPOINTS,
  ERROR_STATUS,
  EventsAddScalarsRequestSchema,
  ScalarEventInputSchema,
  MAX_JSON_VALUES,
  SINGLE_VALUE_ITERATION,
  countJsonValues,
  findJsonHazard,
  isWriteEndpoint,
  newId,
  parseEvent,
  parseEventBatch,
  type EndpointName,
} from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { openDatabaseReader, type DatabaseReader } from './support/database-reader.js';
import { makeModel, makeProject, makeTask } from './support/factories.js';
import { httpRequest, type HttpReply } from './support/http-request.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** No reply within this is a hang. */
const REQUEST_TIMEOUT_MS = 5_000;
/** An error reply's result_msg must stay under this (a hostile input must not come back whole). */
const MAX_MESSAGE_CHARS = 2_000;
/** queues.get_default between batches must answer within this. */
const PROBE_LIMIT_MS = 500;
/** Requests in flight at once. */
const CONCURRENCY = 4;
/** What the server refuses with 413 (its default maxRequestBytes). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const T0 = 1_700_000_000_000;
/** A name that catastrophic patterns backtrack on (40 characters and no match at the end). */
const BACKTRACK_BAIT = `${'a'.repeat(40)}!`;

// -----------------------------------------------------------------------------------------------------------------
// Reading zod schemas (zod 4's definitions), just enough to derive values from them.

interface ZodLike {
  _zod: { def: ZodDef };
}
interface ZodDef {
  type: string;
  [key: string]: any;
}
const defOf = (schema: ZodLike): ZodDef => schema._zod.def;

type Kind = 'string' | 'id' | 'number' | 'int' | 'boolean' | 'enum' | 'literal' | 'array' | 'record' | 'object' | 'union' | 'custom' | 'other';

/** A schema without its optional/default/nullable/preprocess wrappers, and whether a value is required. */
function unwrap(schema: ZodLike): { inner: ZodLike; required: boolean } {
  let inner = schema;
  let required = true;
  for (;;) {
    const def = defOf(inner);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') {
      required = false;
      inner = def.innerType;
    } else if (def.type === 'nullable') {
      inner = def.innerType;
    } else if (def.type === 'pipe') {
      // z.preprocess(fn, schema) is pipe(transform, schema); schema.transform(fn) is pipe(schema, transform).
      inner = defOf(def.in).type === 'transform' ? def.out : def.in;
    } else {
      return { inner, required };
    }
  }
}

function kindOf(schema: ZodLike): Kind {
  const def = defOf(schema);
  const formats = ((def.checks ?? []) as ZodLike[]).map((check) => defOf(check).format);
  switch (def.type) {
    case 'string':
      return formats.includes('regex') ? 'id' : 'string'; // the only pattern in the request schemas is ID_PATTERN
    case 'number':
      return formats.includes('safeint') ? 'int' : 'number';
    case 'boolean':
    case 'enum':
    case 'literal':
    case 'array':
    case 'record':
    case 'object':
    case 'union':
    case 'custom':
      return def.type;
    default:
      return 'other';
  }
}

const shapeOf = (schema: ZodLike): Record<string, ZodLike> => defOf(unwrap(schema).inner).shape as Record<string, ZodLike>;

// -----------------------------------------------------------------------------------------------------------------
// The seeded data set, and ids by the kind of thing a field names.

type EntityKind = 'task' | 'model' | 'queue' | 'project' | 'worker';

interface Seeded {
  projects: { main: string; sub: string; bait: string };
  tasks: Record<'draft' | 'queued' | 'queuedDefault' | 'running' | 'completed' | 'failed' | 'stopped' | 'published' | 'archived' | 'bait', string>;
  models: Record<'output' | 'input' | 'published' | 'bait', string>;
  queues: { sweep: string; default: string };
  worker: string;
  sampleScrollId: string;
}

/** Which kind of thing a field names (`task`, `ids` of the models service, `parent` of a project...). */
function entityOf(endpoint: EndpointName, field: string): EntityKind | undefined {
  const service = endpoint.split('.')[0];
  const ofService: EntityKind = service === 'models' ? 'model' : service === 'queues' ? 'queue' : service === 'projects' ? 'project' : 'task';
  switch (field) {
    case 'task':
    case 'tasks':
    case 'new_task_parent':
      return 'task';
    case 'model':
    case 'models.input.model':
      return 'model';
    case 'queue':
      return 'queue';
    case 'project':
    case 'projects':
    case 'new_task_project':
      return 'project';
    case 'worker':
      return endpoint.startsWith('workers.') ? 'worker' : undefined;
    case 'parent':
    case 'ids':
    case 'id':
      return ofService;
    default:
      return undefined;
  }
}

/** Ids of nothing: the right shape, never stored. */
const GHOST: Record<EntityKind, string> = {
  task: newId(),
  model: newId(),
  queue: newId(),
  project: newId(),
  worker: `ghost-worker-${newId().slice(0, 8)}`,
};

function seededIdOf(seeded: Seeded, kind: EntityKind): string {
  switch (kind) {
    case 'task':
      return seeded.tasks.running;
    case 'model':
      return seeded.models.output;
    case 'queue':
      return seeded.queues.sweep;
    case 'project':
      return seeded.projects.main;
    case 'worker':
      return seeded.worker;
  }
}

/** An id of another kind of thing than the field names (a model's id as a task id...). */
function wrongKindIdOf(seeded: Seeded, kind: EntityKind): string {
  switch (kind) {
    case 'task':
      return seeded.models.output;
    case 'model':
      return seeded.tasks.completed;
    case 'queue':
      return seeded.tasks.queued;
    case 'project':
      return seeded.queues.sweep;
    case 'worker':
      return seeded.tasks.running;
  }
}

/**
 * Endpoints whose body names nothing stored — they create something, or act on the caller's own session — so there is
 * no id to point elsewhere: bodies their schema accepts go to the scratch server.
 */
const CREATING: ReadonlySet<EndpointName> = new Set<EndpointName>([
  'auth.sign_out',
  'auth.create_credentials',
  'projects.create',
  'tasks.create',
  'models.create',
  'queues.create',
  'workers.register',
  'workers.status_report',
]);

// -----------------------------------------------------------------------------------------------------------------
// Base bodies: the smallest valid body of each endpoint, aimed at the seeded data or at ghosts.

type Target = 'seeded' | 'ghost';

interface BaseContext {
  endpoint: EndpointName;
  seeded: Seeded;
  /** Who the endpoint's primary id (its first id field) points at; other ids always point at seeded data. */
  primary: Target;
}

function stringBase(field: string): string {
  switch (field) {
    case 'name':
      return 'sweep base name';
    case 'uri':
      return 'file:///weights/sweep-base.bin';
    case 'new_location':
      return '';
    case 'metric':
      return 'images';
    case 'variant':
      return 'sample';
    case 'type':
      return 'model';
    default:
      return 'sweep';
  }
}

/** A valid value for a field; `isPrimary` is set for the endpoint's first id field. */
function baseValue(ctx: BaseContext, field: string, schema: ZodLike, isPrimary: boolean): unknown {
  const { inner } = unwrap(schema);
  const kind = kindOf(inner);
  const entity = entityOf(ctx.endpoint, field);
  const def = defOf(inner);
  if (entity && (kind === 'id' || kind === 'string')) {
    return isPrimary && ctx.primary === 'ghost' ? GHOST[entity] : seededIdOf(ctx.seeded, entity);
  }
  switch (kind) {
    case 'id':
      return GHOST.task;
    case 'string':
      return stringBase(field);
    case 'number':
    case 'int':
      return 1;
    case 'boolean':
      return false;
    case 'enum':
      return Object.values(def.entries as Record<string, string>)[0];
    case 'literal':
      return (def.values as unknown[])[0];
    case 'array':
      return [baseValue(ctx, field, def.element, isPrimary)];
    case 'record':
      return {};
    case 'object':
      return baseObject(ctx, inner, false);
    case 'union':
      return baseValue(ctx, field, (def.options as ZodLike[])[0]!, isPrimary);
    default:
      return undefined;
  }
}

/** The required fields of an object schema, with base values. */
function baseObject(ctx: BaseContext, schema: ZodLike, isTop: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  let primaryTaken = !isTop;
  for (const [field, fieldSchema] of Object.entries(shapeOf(schema))) {
    const isEntity = entityOf(ctx.endpoint, field) !== undefined;
    const isPrimary = isEntity && !primaryTaken;
    if (isPrimary) primaryTaken = true;
    if (!unwrap(fieldSchema).required) continue;
    body[field] = baseValue(ctx, field, fieldSchema, isPrimary);
  }
  return body;
}

/** One scalar event of the base bodies of events.add and events.add_batch. */
function baseEvent(task: string, iter: number): Record<string, unknown> {
  return { type: 'training_stats_scalar', task, timestamp: T0 + iter, iter, metric: 'sweep', variant: 'base', value: 0.5 };
}

/** The base body of an endpoint, and the object schema its fields come from (for events.add_batch: its second event). */
function baseBody(ctx: BaseContext): { body: unknown; schema: ZodLike; prefix: (string | number)[] } {
  const task = ctx.primary === 'ghost' ? GHOST.task : ctx.seeded.tasks.running;
  switch (ctx.endpoint) {
    case 'events.add':
      return { body: baseEvent(task, 1), schema: ScalarEventInputSchema as unknown as ZodLike, prefix: [] };
    case 'events.add_batch':
      return { body: [baseEvent(task, 1), baseEvent(task, 2)], schema: ScalarEventInputSchema as unknown as ZodLike, prefix: [1] };
    case 'events.add_scalars':
      return {
        body: { task, series: [{ metric: 'sweep', variant: 'columns', iter: [1, 2], value: [0.5, 0.25] }] },
        schema: EventsAddScalarsRequestSchema as unknown as ZodLike,
        prefix: [],
      };
    default: {
      const schema = ENDPOINTS[ctx.endpoint].request as unknown as ZodLike;
      const body = baseObject(ctx, schema, true);
      if (ctx.endpoint === 'events.next_debug_image_sample') body.scroll_id = ctx.seeded.sampleScrollId;
      return { body, schema, prefix: [] };
    }
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Bodies on the wire. A value may hold raw JSON text (a number JSON.stringify cannot write, a key that would not
// survive as a JS object key, deep nesting), spliced in when it is serialized.

const rawTexts: string[] = [];
/** Stands for raw JSON text inside a value; `serialize` puts the text in its place. */
function raw(text: string): string {
  rawTexts.push(text);
  return `@@raw:${rawTexts.length - 1}@@`;
}
function serialize(value: unknown): string {
  return JSON.stringify(value).replace(/"@@raw:(\d+)@@"/g, (_, index: string) => rawTexts[Number(index)]!);
}

/** An object or array nested `depth` levels (`{}` is 1), as JSON text. */
function nestedText(depth: number, kind: 'object' | 'array' = 'object'): string {
  return kind === 'object' ? `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** A request of the sweep, with what the wire rules and the request schema say of it. */
interface SweepCase {
  endpoint: EndpointName;
  label: string;
  request: WireRequest;
  /** `refused`: the edge or the schema must refuse it; `valid`: the service decides (success or 4xx). */
  verdict: 'refused' | 'valid';
  /** A write aimed at an id of nothing: a success must say it changed nothing. */
  isAimedAtNothing?: boolean;
}

/** What a mutation makes of a base body. */
interface Draft {
  label: string;
  /** A value, serialized with `serialize`... */
  body?: unknown;
  /** ...or the bytes themselves. */
  raw?: string | Buffer;
  /** @default 'application/json'; null sends no Content-Type */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** @default 'POST' */
  method?: string;
  query?: string;
  path?: string;
}

function toWire(endpoint: EndpointName, draft: Draft): WireRequest {
  const body = draft.raw ?? (draft.body === undefined ? undefined : serialize(draft.body));
  const contentType = draft.contentType === undefined ? 'application/json' : draft.contentType;
  return {
    method: draft.method ?? 'POST',
    path: `${draft.path ?? `/${endpoint}`}${draft.query ? `?${draft.query}` : ''}`,
    headers: { ...(contentType !== null ? { 'content-type': contentType } : {}), ...draft.headers },
    ...(body !== undefined ? { body } : {}),
  };
}

// -----------------------------------------------------------------------------------------------------------------
// The judge: what the documented rules say of a request. The edge: a body needs a JSON Content-Type, a write needs
// one even without a body, no compressed bodies, nothing over 16 MiB, valid JSON (JSON lines for the json-lines
// types), no key reaching a prototype, no nesting past 64 and (but for event writes) at most MAX_JSON_VALUES values.
// Then the endpoint's request schema (events: the batch and event rules of the protocol).

const JSON_MEDIA_TYPES = ['application/json', 'application/json-lines', 'application/x-ndjson'];

function mediaTypeOf(headers: Record<string, string>): string | undefined {
  const type = headers['content-type'];
  return type === undefined ? undefined : type.split(';', 1)[0]!.trim().toLowerCase();
}

function judge(endpoint: EndpointName, request: WireRequest): 'refused' | 'valid' {
  const bytes = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
  const media = mediaTypeOf(request.headers);
  const isJson = media !== undefined && JSON_MEDIA_TYPES.includes(media);
  if (bytes.length > MAX_REQUEST_BYTES) return 'refused';
  if (request.headers['content-encoding']) return 'refused';
  if (!isJson && (bytes.length > 0 || isWriteEndpoint(endpoint))) return 'refused';
  const query = new URL(request.path, 'http://x').searchParams;
  if ([...query.keys()].length > 0) {
    // The sweep sends hostile query strings, which are refused, and reads with their base body as the query alone,
    // which the service judges (query values are text, coerced as ClearML does).
    const isHostile = [...query.keys()].some((key) => key.split('.').some((part) => ['__proto__', 'constructor', 'prototype'].includes(part)) || key.split('.').length > 64);
    return isHostile || bytes.length > 0 || isWriteEndpoint(endpoint) ? 'refused' : 'valid';
  }
  const text = bytes.toString('utf8').trim();
  let value: unknown;
  try {
    if (media === 'application/json-lines' || media === 'application/x-ndjson') {
      value = text
        .split('\n')
        .filter((line) => line.trim().length > 0)
        .map((line) => JSON.parse(line) as unknown);
      if ((value as unknown[]).some((line) => findJsonHazard(line) !== undefined)) return 'refused';
    } else {
      value = text.length === 0 ? {} : (JSON.parse(text) as unknown);
      if (findJsonHazard(value) !== undefined) return 'refused';
    }
  } catch {
    return 'refused';
  }
  const isEventWrite = endpoint === 'events.add_batch' || endpoint === 'events.add' || endpoint === 'events.add_scalars';
  if (!isEventWrite && countJsonValues(value, MAX_JSON_VALUES) > MAX_JSON_VALUES) return 'refused';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { method: _method, _allow_extra_fields_: _extra, ...rest } = value as Record<string, unknown>;
    value = rest;
  }
  try {
    if (endpoint === 'events.add_batch') {
      if (!Array.isArray(value)) return 'refused';
      parseEventBatch(value);
      return 'valid';
    }
    if (endpoint === 'events.add') {
      parseEvent(value);
      return 'valid';
    }
  } catch {
    return 'refused';
  }
  return ENDPOINTS[endpoint].request.safeParse(value).success ? 'valid' : 'refused';
}

// -----------------------------------------------------------------------------------------------------------------
// Mutations.

/** A value, or a function of the base body that makes it. */
type Sample = [label: string, value: unknown];

const LONG_STRING = 'l'.repeat(100_000);
const HUGE_STRING = 'h'.repeat(1_000_000);

const WRONG_TYPES: Sample[] = [
  ['null', null],
  ['true', true],
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['"x"', 'x'],
  ['""', ''],
  ['{}', {}],
  ['[]', []],
  ['[null]', [null]],
  ['{x:1}', { x: 1 }],
];
/** Fewer wrong types for nested fields. */
const NESTED_WRONG_TYPES: Sample[] = [
  ['null', null],
  ['true', true],
  ['-1', -1],
  ['"x"', 'x'],
  ['{}', {}],
  ['[]', []],
];

const STRING_SAMPLES: Sample[] = [
  ['blank', '   '],
  ['100 kB string', LONG_STRING],
  ['NUL byte', 'a\u0000b'],
  ['lone surrogate', 'a\ud800b'],
  ['SQL', "x' OR '1'='1'; DROP TABLE tasks; --"],
  ['LIKE wildcards', '%_*?'],
  ['path traversal', '../../../../etc/passwd'],
  ['template', '${process.exit()}{{7*7}}<script>alert(1)</script>'],
  ['513 characters', 'n'.repeat(513)],
  ['unicode', '\u202e\ufeff\u0301😀\uffff'],
  ['"NaN"', 'NaN'],
  ['"1e999"', '1e999'],
];

const NUMBER_SAMPLES: Sample[] = [
  ['2^53', 2 ** 53],
  ['-2^53', -(2 ** 53)],
  ['1e308', 1e308],
  ['5e-324', 5e-324],
  ['2^31', 2 ** 31],
  ['-2^31 - 1', -(2 ** 31) - 1],
  ['1e21', 1e21],
  ['-0.5', -0.5],
  ['"1"', '1'],
  ['1e999 (Infinity)', raw('1e999')],
  ['-1e999', raw('-1e999')],
  ['NaN literal', raw('NaN')],
  ['hex literal', raw('0x10')],
  ['leading zero', raw('012')],
  ['1.0', raw('1.0')],
];

const BOOLEAN_SAMPLES: Sample[] = [
  ['"true"', 'true'],
  ['1', 1],
  ['"false"', 'false'],
];

const PATTERN_SAMPLES: Sample[] = [
  ['pattern (', '('],
  ['pattern [', '['],
  ['pattern ^(a+)+$', '^(a+)+$'],
  ['pattern (a|aa)+$', '(a|aa)+$'],
  ['pattern (.*a){20}', '(.*a){20}'],
  ['pattern (a*)*b', '(a*)*b'],
  ['pattern of 1025 characters', 'a'.repeat(1025)],
  ['pattern of 100 kB', `(${'a|'.repeat(50_000)}b)`],
  ['pattern with a backreference', '(a)\\1'],
  ['pattern with a lookahead', '(?=a)a'],
  ['pattern \\', '\\'],
  ['pattern *', '*'],
  ['pattern a{99999}', 'a{99999}{99999}'],
  ['pattern \\p{L}', '\\p{L}+'],
  ['pattern with NUL', '\u0000'],
];

/** Record keys that are hostile to code that indexes objects: as raw JSON, so that `__proto__` stays a key. */
function hostileRecords(value: unknown): Sample[] {
  const v = serialize(value);
  return [
    ['key __proto__', raw(`{"__proto__": ${v}}`)],
    ['key constructor.prototype', raw(`{"constructor": {"prototype": ${v}}}`)],
    ['key prototype', raw(`{"prototype": ${v}}`)],
    ['escaped key __proto__', raw(`{"\\u005f_proto__": ${v}}`)],
    ['key toString', { toString: value, hasOwnProperty: value, valueOf: value }],
    ['empty key', { '': value }],
    ['dotted key', { 'a.b.c': value }],
    ['$ key', { $where: value, $gt: value }],
    ['NUL key', { 'a\u0000b': value }],
    ['10 kB key', { ['k'.repeat(10_000)]: value }],
    ['10,000 keys', Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, value]))],
  ];
}

function idSamples(seeded: Seeded, entity: EntityKind | undefined): Sample[] {
  const hex = newId();
  const samples: Sample[] = [
    ['id "x"', 'x'],
    ['id of 31 hex', hex.slice(0, 31)],
    ['id of 33 hex', `${hex}0`],
    ['upper-case id', hex.toUpperCase()],
    ['id with a space', ` ${hex}`],
    ['id with NUL', `${hex}\u0000`],
    ['id *', '*'],
    ['id SQL', "' OR '1'='1"],
    ['id %', '%'],
    ['id of nothing', hex],
    ['two ids in one string', `${hex},${newId()}`],
    ['id "null"', 'null'],
  ];
  if (entity) samples.push([`${entity} id of the wrong kind`, wrongKindIdOf(seeded, entity)]);
  return samples;
}

/** `fields` of an object schema: top-level ones, and those of nested objects (and of object list items) to depth 2. */
interface FieldRef {
  path: (string | number)[];
  name: string;
  schema: ZodLike;
  required: boolean;
  depth: number;
}

function fieldsOf(schema: ZodLike, path: (string | number)[] = [], depth = 0): FieldRef[] {
  const refs: FieldRef[] = [];
  for (const [name, fieldSchema] of Object.entries(shapeOf(schema))) {
    const { inner, required } = unwrap(fieldSchema);
    refs.push({ path: [...path, name], name, schema: fieldSchema, required, depth });
    if (depth >= 1) continue;
    const kind = kindOf(inner);
    if (kind === 'object') refs.push(...fieldsOf(inner, [...path, name], depth + 1));
    if (kind === 'array') {
      const element = unwrap(defOf(inner).element).inner;
      if (kindOf(element) === 'object') refs.push(...fieldsOf(element, [...path, name, 0], depth + 1));
    }
  }
  return refs;
}

function getAt(body: unknown, path: readonly (string | number)[]): unknown {
  let value: any = body;
  for (const part of path) value = typeof value === 'object' && value !== null ? value[part] : undefined;
  return value;
}

function setAt(body: unknown, path: (string | number)[], value: unknown, remove = false): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let target: any = copy;
  for (const [i, part] of path.entries()) {
    if (i === path.length - 1) {
      if (remove) delete target[part];
      else target[part] = value;
      break;
    }
    if (typeof target[part] !== 'object' || target[part] === null) target[part] = typeof path[i + 1] === 'number' ? [] : {};
    target = target[part];
  }
  return copy;
}

/** Field mutations: a function of the base body, so that the same mutation can be aimed at seeded data or at ghosts. */
type Mutation = { label: string; apply: (base: unknown) => Draft };

function fieldMutations(ctx: BaseContext, schema: ZodLike, prefix: (string | number)[], isRead: boolean): Mutation[] {
  const mutations: Mutation[] = [];
  for (const ref of fieldsOf(schema)) {
    const path = [...prefix, ...ref.path];
    const where = path.join('.');
    const { inner } = unwrap(ref.schema);
    const kind = kindOf(inner);
    const entity = entityOf(ctx.endpoint, ref.name);
    const top = ref.depth === 0;
    const samples: Sample[] = [...(top ? WRONG_TYPES : NESTED_WRONG_TYPES)];
    if (kind === 'string' || kind === 'id') {
      samples.push(...(top ? STRING_SAMPLES : STRING_SAMPLES.slice(0, 4)));
      if (top) samples.push(['1 MB string', HUGE_STRING]);
      if (entity || kind === 'id') samples.push(...idSamples(ctx.seeded, entity));
      if (isRead && top) samples.push(...PATTERN_SAMPLES);
    }
    if (kind === 'number' || kind === 'int') samples.push(...(top ? NUMBER_SAMPLES : NUMBER_SAMPLES.slice(0, 6)));
    if (kind === 'boolean') samples.push(...BOOLEAN_SAMPLES);
    if (kind === 'enum') {
      const first = Object.values(defOf(inner).entries as Record<string, string>)[0]!;
      samples.push(['unknown option', 'no_such_option'], ['upper-case option', first.toUpperCase()], ['option with a space', `${first} `]);
    }
    if (kind === 'array' || kind === 'custom') {
      // An item as the base has it (so a list aimed at ghosts holds ghosts), or a valid one.
      const fallback = kind === 'array' ? baseValue(ctx, ref.name, defOf(inner).element, false) : 1;
      const itemOf = (base: unknown) => getAt(base, [...path, 0]) ?? fallback;
      samples.push(
        ['100,000 valid items', (base) => Array.from({ length: 100_000 }, () => itemOf(base))],
        ['100,000 wrong items', Array.from({ length: 100_000 }, () => 0)],
        ['nested list', (base) => [[itemOf(base)]]],
        ['list of objects', (base) => [{ x: itemOf(base) }]],
      );
      if (entity) samples.push(['1,000 ids of nothing', Array.from({ length: 1_000 }, () => newId())]);
      if (entity) samples.push(['list of wrong-kind ids', [wrongKindIdOf(ctx.seeded, entity), GHOST[entity]]]);
    }
    if (kind === 'record' || kind === 'object') {
      const valueSchema = kind === 'record' ? defOf(inner).valueType : undefined;
      const value = valueSchema ? (baseValue(ctx, 'value', valueSchema, false) ?? 'v') : 'v';
      samples.push(...(top ? hostileRecords(value) : hostileRecords(value).slice(0, 4)));
    }
    if (top) {
      // Nesting: the body is level 1, so a value nested n - 1 levels makes a body of n.
      for (const depth of [63, 64, 65, 1000]) samples.push([`body nested ${depth} deep`, raw(nestedText(depth - 1))]);
      samples.push(['body nested 65 deep in lists', raw(nestedText(64, 'array'))]);
    }
    if (ref.required) mutations.push({ label: `${where}: missing`, apply: (base) => ({ label: '', body: setAt(base, path, undefined, true) }) });
    for (const [label, value] of samples) {
      const valueOf = typeof value === 'function' ? (value as (base: unknown) => unknown) : () => value;
      mutations.push({ label: `${where}: ${label}`, apply: (base) => ({ label: '', body: setAt(base, path, valueOf(base)) }) });
    }
  }
  return mutations;
}

/** Mutations of the whole request: the body's shape and bytes, its content type, extra keys, method, query, path. */
function wireMutations(endpoint: EndpointName): Mutation[] {
  const text = (base: unknown) => serialize(base);
  // The extra keys next to the base's fields (events.add_batch: as one more event of the list).
  const withExtra = (extra: string) => (base: unknown) => {
    const body = text(base);
    if (body.startsWith('[')) return `${body.slice(0, -1)}, ${extra}]`;
    return body === '{}' ? extra : `${extra.slice(0, -1)}, ${body.slice(1)}`;
  };
  const m = (label: string, apply: (base: unknown) => Omit<Draft, 'label'>): Mutation => ({ label, apply: (base) => ({ label, ...apply(base) }) });
  const mutations: Mutation[] = [
    // Not JSON, or not one object.
    ...[
      ['{', '{'],
      ['{"a":}', '{"a":}'],
      ['trailing comma', '{"a": 1,}'],
      ['single quotes', "{'a': 1}"],
      ['NaN', 'NaN'],
      ['undefined', 'undefined'],
      ['two objects', '{"a": 1}{"b": 2}'],
      ['NUL byte', '\u0000'],
      ['[]', '[]'],
      ['"x"', '"x"'],
      ['1', '1'],
      ['null', 'null'],
      ['true', 'true'],
      ['[{}]', '[{}]'],
      ['whitespace only', ' \n\t '],
      ['array nested 100,000 deep', nestedText(100_000, 'array')],
      ['object nested 100,000 deep', nestedText(100_000)],
    ].map(([label, body]) => m(`body ${label}`, () => ({ raw: body }))),
    m('empty body', () => ({ raw: '' })),
    m('base in a list', (base) => ({ raw: `[${text(base)}]` })),
    // Hostile keys next to valid fields.
    ...[
      ['__proto__', '{"__proto__": {"polluted": "yes", "comment": "INJECTED"}}'],
      ['constructor.prototype', '{"constructor": {"prototype": {"polluted": "yes"}}}'],
      ['prototype', '{"prototype": {"polluted": "yes"}}'],
      ['escaped __proto__', '{"\\u005f_proto__": {"polluted": "yes"}}'],
      ['nested __proto__', '{"extra": {"deeper": {"__proto__": {"polluted": "yes"}}}}'],
      ['__proto__ in a list', '{"extra": [{"__proto__": {"polluted": "yes"}}]}'],
      ['dotted and $ keys', '{"a.b": 1, "$where": "1", "$gt": ""}'],
      ['NUL key', '{"a\\u0000b": 1}'],
      ['100 kB key', `{"${'k'.repeat(100_000)}": 1}`],
      ['unknown fields', '{"no_such_field": 1, "another": {"x": [1, 2]}}'],
      ['ClearML client noise', '{"method": "get", "_allow_extra_fields_": true}'],
    ].map(([label, extra]) => m(`extra key ${label}`, (base) => ({ raw: withExtra(extra!)(base) }))),
    // Bytes that are not UTF-8: inside a string, and outside any.
    m('invalid UTF-8 in a string', (base) => ({ raw: invalidUtf8InString(base) })),
    m('invalid UTF-8 outside strings', (base) => ({ raw: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text(base))]) })),
    m('UTF-16 body', (base) => ({ raw: Buffer.from(text(base), 'utf16le'), contentType: 'application/json; charset=utf-16' })),
    m('byte order mark', (base) => ({ raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text(base))]) })),
    // Content types.
    ...[
      ['text/plain', 'text/plain'],
      ['text/plain;charset=UTF-8', 'text/plain;charset=UTF-8'],
      ['form', 'application/x-www-form-urlencoded'],
      ['multipart', 'multipart/form-data; boundary=x'],
      ['xml', 'application/xml'],
      ['application/jsonx', 'application/jsonx'],
      ['empty', ''],
      ['upper case', 'APPLICATION/JSON'],
      ['charset latin1', 'application/json; charset=latin1'],
    ].map(([label, type]) => m(`Content-Type ${label}`, (base) => ({ raw: text(base), contentType: type }))),
    m('no Content-Type with a body', (base) => ({ raw: text(base), contentType: null })),
    m('no Content-Type, no body', () => ({ contentType: null })),
    m('gzip Content-Encoding', (base) => ({ raw: text(base), headers: { 'content-encoding': 'gzip' } })),
    // JSON lines.
    m('JSON lines, a bad second line', (base) => ({ raw: `${oneLine(base)}\n{"bad": \n`, contentType: 'application/json-lines' })),
    m('JSON lines, the base', (base) => ({ raw: `${oneLine(base)}\n`, contentType: 'application/x-ndjson' })),
    m('JSON lines, __proto__ on a line', (base) => ({ raw: `${oneLine(base)}\n{"__proto__": {"polluted": "yes"}}\n`, contentType: 'application/json-lines' })),
    m('JSON lines, a line nested 65 deep', (base) => ({ raw: `${oneLine(base)}\n${nestedText(65)}\n`, contentType: 'application/json-lines' })),
    // Methods, query strings, paths.
    m('GET with the base as query only', (base) => ({ method: 'GET', contentType: null, query: queryOf(base) })),
    m('query __proto__', (base) => ({ raw: text(base), query: '__proto__.polluted=yes&__proto__.comment=INJECTED' })),
    m('query constructor.prototype', (base) => ({ raw: text(base), query: 'constructor.prototype.polluted=yes' })),
    m('query nested 100 deep', (base) => ({ raw: text(base), query: `${'a.'.repeat(100)}b=1` })),
  ];
  if (endpoint === 'events.add_batch') {
    mutations.push(
      m('JSON lines, the base events and a bad one', (base) => ({
        raw: `${(base as unknown[]).map((e) => JSON.stringify(e)).join('\n')}\n{"type": "log", "task": 1}\n`,
        contentType: 'application/json-lines',
      })),
      m('JSON lines, no events', () => ({ raw: '\n\n', contentType: 'application/json-lines' })),
      m('10,000 bad events', () => ({ body: Array.from({ length: 10_000 }, () => ({ type: 'training_stats_scalar', value: 'x' })) })),
      m('a list of lists', () => ({ body: [[1], [2]] })),
    );
  }
  return mutations;
}

/** The base with an extra field holding bytes that are not UTF-8 (the server's decoder makes them U+FFFD). */
function invalidUtf8InString(base: unknown): Buffer {
  const body = serialize(base);
  if (!body.startsWith('{')) return Buffer.concat([Buffer.from('["'), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"]')]);
  const tail = body === '{}' ? '"}' : `", ${body.slice(1)}`;
  return Buffer.concat([Buffer.from('{"x": "'), Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80]), Buffer.from(tail)]);
}

/** The base on one line (for JSON lines): events.add_batch's base is a list, its events go one a line. */
function oneLine(base: unknown): string {
  return Array.isArray(base) ? base.map((e) => serialize(e)).join('\n') : serialize(base);
}

function queryOf(base: unknown): string {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return 'x=1';
  return new URLSearchParams(
    Object.entries(base as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  ).toString();
}

/** The requests that are not about one endpoint's body: unknown endpoints and paths, a body over the limit. */
function edgeCases(): SweepCase[] {
  const cases: SweepCase[] = [];
  const add = (label: string, request: WireRequest) => cases.push({ endpoint: 'queues.get_default', label, request, verdict: 'refused' });
  const post = (path: string, body = '{}') => ({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
  for (const path of ['/tasks.no_such', '/tasks.__proto__', '/tasks.constructor', '/__proto__.x', '/constructor.prototype', '/tasks.hasOwnProperty', '/v9.99/nothing.here', '/v2.23/tasks.toString']) {
    add(`path ${path}`, post(path));
  }
  add('a body over 16 MiB', post('/tasks.get_all', `{"name": "${'x'.repeat(MAX_REQUEST_BYTES)}"}`));
  // Just under 16 MiB: eight million wrong list items (a validator that made an error of each ran out of memory).
  const zeros = `[${'0,'.repeat(7_999_999)}0]`;
  for (const [path, body] of [
    ['/tasks.create', `{"name": "sweep", "models": {"output": ${zeros}}}`],
    ['/tasks.get_all', `{"tags": ${zeros}}`],
    ['/tasks.edit_hyper_params', `{"task": "${GHOST.task}", "hyperparams": ${zeros}}`],
    ['/events.add_batch', zeros],
    ['/events.add_scalars', `{"task": "${GHOST.task}", "series": ${zeros}}`],
    ['/events.add', `{"type": "training_stats_vector", "task": "${GHOST.task}", "values": ${zeros}}`],
  ] as const) {
    add(`${path}: eight million wrong list items (16 MB)`, post(path, body));
  }
  add('a JSON-lines body over 16 MiB', {
    method: 'POST',
    path: '/events.add_batch',
    headers: { 'content-type': 'application/json-lines' },
    body: `${'{"type": "log", "task": "x", "msg": "m"}\n'.repeat(420_000)}`,
  });
  return cases;
}

/** Every case of an endpoint. */
function casesOf(endpoint: EndpointName, seeded: Seeded): { main: SweepCase[]; scratch: SweepCase[] } {
  const isRead = !isWriteEndpoint(endpoint);
  const seededBase = baseBody({ endpoint, seeded, primary: 'seeded' });
  const ghostBase = baseBody({ endpoint, seeded, primary: 'ghost' });
  const mutations = [
    { label: 'the base body', apply: (base: unknown) => ({ label: '', body: base }) },
    ...fieldMutations({ endpoint, seeded, primary: 'seeded' }, seededBase.schema, seededBase.prefix, isRead),
    ...wireMutations(endpoint),
  ];
  const main: SweepCase[] = [];
  const scratch: SweepCase[] = [];
  for (const mutation of mutations) {
    const onSeeded = toWire(endpoint, mutation.apply(seededBase.body));
    const verdict = judge(endpoint, onSeeded);
    if (isRead || verdict === 'refused') {
      main.push({ endpoint, label: mutation.label, request: onSeeded, verdict });
    } else if (CREATING.has(endpoint)) {
      scratch.push({ endpoint, label: mutation.label, request: onSeeded, verdict });
    } else {
      // A write the schema accepts: aimed at an id of nothing, it must change nothing.
      const onGhost = toWire(endpoint, mutation.apply(ghostBase.body));
      main.push({ endpoint, label: `${mutation.label} (aimed at an id of nothing)`, request: onGhost, verdict: judge(endpoint, onGhost), isAimedAtNothing: true });
    }
  }
  return { main, scratch };
}

// -----------------------------------------------------------------------------------------------------------------
// Sending and checking.

interface Outcome {
  sweepCase: SweepCase;
  status: number;
  ms: number;
  problem?: string;
}

const KNOWN_CODES = new Set(Object.keys(ERROR_STATUS));

async function send(url: string, sweepCase: SweepCase): Promise<Outcome> {
  const started = performance.now();
  let reply: HttpReply;
  try {
    reply = await httpRequest(url, sweepCase.request.path, {
      method: sweepCase.request.method,
      headers: sweepCase.request.headers,
      ...(sweepCase.request.body !== undefined ? { body: sweepCase.request.body } : {}),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  } catch (error) {
    return { sweepCase, status: 0, ms: performance.now() - started, problem: `no reply: ${(error as Error).message}` };
  }
  const ms = performance.now() - started;
  return { sweepCase, status: reply.status, ms, problem: problemOf(sweepCase, reply) };
}

function problemOf(sweepCase: SweepCase, reply: HttpReply): string | undefined {
  const meta = reply.json?.meta;
  const message: unknown = meta?.result_msg;
  const brief = typeof message === 'string' ? message.slice(0, 160) : reply.text.slice(0, 160);
  if (reply.status >= 500) return `${reply.status}: ${brief}`;
  if (!meta || meta.result_code !== reply.status || !('data' in reply.json)) return `${reply.status} without ClearML's envelope: ${brief}`;
  if (typeof message !== 'string' || message.length === 0) return `${reply.status} with an empty result_msg`;
  if (message.length >= MAX_MESSAGE_CHARS) return `${reply.status} with a result_msg of ${message.length} characters: ${brief}`;
  if (reply.status >= 400 && !KNOWN_CODES.has(meta.error_data?.code)) return `${reply.status} without a known error code: ${brief}`;
  if (reply.status < 400 && sweepCase.verdict === 'refused') return `accepted (${reply.status}) a request its schema refuses`;
  if (reply.status >= 300 && reply.status < 400) return `${reply.status}: ${brief}`;
  if (reply.status < 300 && sweepCase.isAimedAtNothing && !saysNothingChanged(reply.json.data)) {
    return `a write aimed at an id of nothing succeeded: ${JSON.stringify(reply.json.data).slice(0, 160)}`;
  }
  return undefined;
}

/** Whether a write's answer says it changed nothing: no id succeeded (bulk actions), every count 0. */
function saysNothingChanged(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  return Object.entries(data).every(([key, value]) =>
    key === 'succeeded' ? Array.isArray(value) && value.length === 0 : key === 'failed' || value === 0,
  );
}

/** Sends cases CONCURRENCY at a time, in order. */
async function sendAll(url: string, cases: readonly SweepCase[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const index = next++;
        outcomes[index] = await send(url, cases[index]!);
      }
    }),
  );
  return outcomes;
}

async function probe(url: string): Promise<number> {
  const started = performance.now();
  const reply = await httpRequest(url, '/queues.get_default', { method: 'GET', timeoutMs: REQUEST_TIMEOUT_MS });
  if (reply.status !== 200) throw new Error(`queues.get_default answered ${reply.status}: ${reply.text.slice(0, 200)}`);
  return performance.now() - started;
}

function describeOutcome(outcome: Outcome): string {
  return `${outcome.sweepCase.endpoint} [${outcome.sweepCase.label}] → ${outcome.problem}`;
}

// -----------------------------------------------------------------------------------------------------------------
// The data set, the snapshot, the ordinary requests.

async function seed(api: ApiClient, url: string): Promise<Seeded> {
  const main = await makeProject(api, 'sweep');
  const sub = await makeProject(api, 'sweep/sub');
  const bait = await makeProject(api, BACKTRACK_BAIT);
  const { id: sweepQueue } = await api.call('queues.create', { name: 'sweep-queue', tags: ['gpu'] });
  const { id: defaultQueue } = await api.call('queues.get_default', {});
  const hyperparams = {
    Args: {
      lr: { section: 'Args', name: 'lr', value: '0.001', type: 'float' },
      epochs: { section: 'Args', name: 'epochs', value: '10', type: 'int' },
    },
    General: { seed: { section: 'General', name: 'seed', value: '42', type: 'int', description: 'random seed' } },
  };
  const configuration = { General: { name: 'General', value: '{"batch": 32}', type: 'dictionary' } };
  const fields = { project: main.id, hyperparams, configuration, tags: ['sweep', 'seeded'], comment: 'seeded for the bad-input sweep' };

  const draft = await makeTask(api, { ...fields, name: 'sweep draft' });
  const queued = await makeTask(api, { ...fields, name: 'sweep queued', status: 'queued', queue: sweepQueue });
  const queued2 = await makeTask(api, { ...fields, name: 'sweep queued 2', status: 'queued', queue: sweepQueue });
  const queuedDefault = await makeTask(api, { ...fields, name: 'sweep queued default', status: 'queued' });
  const running = await makeTask(api, { ...fields, project: sub.id, name: 'sweep running', status: 'in_progress' });
  const completed = await makeTask(api, { ...fields, name: 'sweep completed', status: 'in_progress', type: 'testing' });
  const failed = await makeTask(api, { ...fields, name: 'sweep failed', status: 'failed' });
  const stopped = await makeTask(api, { ...fields, name: 'sweep stopped', status: 'stopped' });
  const published = await makeTask(api, { ...fields, name: 'sweep published', status: 'completed' });
  const archived = await makeTask(api, { ...fields, name: 'sweep archived', status: 'completed' });
  const baitTask = await makeTask(api, { name: BACKTRACK_BAIT, project: bait.id });
  await api.call('queues.move_task_to_front', { queue: sweepQueue, task: queued2 });

  for (const task of [running, completed]) {
    await api.call('events.add_scalars', {
      task,
      series: [
        { metric: 'loss', variant: 'train', iter: [0, 1, 2, 3, 4], value: [1, 0.8, 0.6, 0.5, 0.45], timestamp: [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4] },
        { metric: 'loss', variant: 'val', iter: [0, 2, 4], value: [1.1, 0.7, 0.5], timestamp: [T0, T0 + 2, T0 + 4] },
      ],
    });
    const events = [
      ...Array.from({ length: 5 }, (_, i) => ({ type: 'log', task, timestamp: T0 + i, level: 'info', msg: `line ${i}`, id: `log-${i}` })),
      { type: 'plot', task, timestamp: T0 + 5, iter: 4, metric: 'confusion', variant: 'matrix', plot_str: '{"data": [{"z": [[1, 0], [0, 1]]}]}' },
      { type: 'training_stats_vector', task, timestamp: T0 + 6, iter: 4, metric: 'hist', variant: 'weights', values: [1, 2, 3] },
      { type: 'training_stats_scalar', task, timestamp: T0 + 7, iter: SINGLE_VALUE_ITERATION, metric: 'Summary', variant: 'accuracy', value: 0.93 },
      ...[1, 2, 3].flatMap((iter) =>
        ['sample', 'other'].map((variant) => ({
          type: 'training_debug_image',
          task,
          timestamp: T0 + 10 + iter,
          iter,
          metric: 'images',
          variant,
          key: `images/${variant}/${iter}.png`,
          url: `http://127.0.0.1/files/${task}/images/${variant}/${iter}.png`,
        })),
      ),
    ];
    const reply = await httpRequest(url, '/events.add_batch', {
      body: events.map((e) => JSON.stringify(e)).join('\n'),
      headers: { 'content-type': 'application/json-lines' },
    });
    if (reply.status !== 200) throw new Error(`seeding events failed: ${reply.text}`);
  }
  await api.call('tasks.add_or_update_artifacts', {
    task: completed,
    artifacts: [{ key: 'predictions', type: 'table', mode: 'output', uri: 'file:///artifacts/predictions.csv', content_size: 1234, hash: 'abc' }],
  });
  const outputModel = await makeModel(api, { name: 'sweep output model', task: completed, project: main.id, framework: 'PyTorch', labels: { cat: 0, dog: 1 } });
  await api.call('tasks.add_or_update_model', { task: completed, name: 'best', model: outputModel, type: 'output', iteration: 4 });
  await api.call('models.add_or_update_metadata', { model: outputModel, metadata: [{ key: 'accuracy', type: 'float', value: '0.93' }] });
  await api.call('tasks.completed', { task: completed });
  const inputModel = await makeModel(api, { name: 'sweep input model', project: main.id, framework: 'TensorFlow' });
  await api.call('tasks.add_or_update_model', { task: draft, name: 'pretrained', model: inputModel, type: 'input' });
  const publishedModel = await makeModel(api, { name: 'sweep published model', project: sub.id });
  await api.call('models.set_ready', { model: publishedModel, publish_task: false });
  const baitModel = await makeModel(api, { name: BACKTRACK_BAIT });
  await api.call('tasks.publish', { task: published });
  await api.call('tasks.archive', { tasks: [archived] });
  await api.call('workers.register', { worker: 'sweep-worker', queues: [sweepQueue], tags: ['gpu'] });
  await api.call('workers.status_report', { worker: 'sweep-worker', timestamp: Date.now(), task: running, queue: sweepQueue, machine_stats: { cpu_usage: [12.5] } });
  const sample = await api.call('events.get_debug_image_sample', { task: running, metric: 'images', variant: 'sample' });

  return {
    projects: { main: main.id, sub: sub.id, bait: bait.id },
    tasks: { draft, queued, queuedDefault, running, completed, failed, stopped, published, archived, bait: baitTask },
    models: { output: outputModel, input: inputModel, published: publishedModel, bait: baitModel },
    queues: { sweep: sweepQueue, default: defaultQueue },
    worker: 'sweep-worker',
    sampleScrollId: sample.scroll_id,
  };
}

/** Ordinary requests (and ordinary refusals), answered the same before and after the sweep. */
function ordinaryRequests(seeded: Seeded): [EndpointName, Record<string, unknown>][] {
  const all = Object.values(seeded.tasks);
  const requests: [EndpointName, Record<string, unknown>][] = [
    ['tasks.get_all', { search_hidden: true }],
    ['tasks.get_all', { system_tags: ['-archived'], order_by: ['-last_update'], only_fields: ['name', 'status', 'hyperparams.Args'] }],
    ['tasks.get_all', { name: '^sweep ', order_by: ['hyperparams.Args.lr'] }],
    ['tasks.get_all', { name: '^(a+)+$' }],
    ['tasks.get_all', { search_text: 'completed', status: ['completed', 'published'] }],
    ['tasks.get_all', { project: [seeded.projects.main], include_subprojects: true, page: 0, page_size: 3 }],
    ['models.get_all', { search_hidden: true }],
    ['models.get_all', { name: 'sweep', order_by: ['-created'], framework: ['PyTorch'] }],
    ['models.get_frameworks', {}],
    ['projects.get_all', { search_hidden: true }],
    ['projects.get_all_ex', { include_stats: true }],
    ['projects.get_all', { basename: '^sub$' }],
    ['projects.get_hyper_parameters', { project: seeded.projects.main }],
    ['projects.get_unique_metric_variants', {}],
    ['projects.get_task_tags', { include_system: true }],
    ['queues.get_all', {}],
    ['queues.get_by_id', { queue: seeded.queues.sweep }],
    ['queues.peek_task', { queue: seeded.queues.sweep }],
    ['queues.get_num_entries', { queue: seeded.queues.default }],
    ['queues.get_default', {}],
    ['workers.get_all', { last_seen: 1_000_000 }],
    ['tasks.get_hyper_params', { tasks: all }],
    ['tasks.get_configurations', { tasks: all }],
    ['tasks.get_configuration_names', { tasks: all }],
    ['models.get_by_id', { model: seeded.models.output }],
    ['projects.get_by_id', { project: seeded.projects.sub }],
    // Refusals are behaviour too.
    ['tasks.get_by_id', { task: GHOST.task }],
    ['tasks.get_by_id', { task: 'x' }],
    ['tasks.get_all', { name: '(' }],
  ];
  for (const task of all) {
    requests.push(
      ['tasks.get_by_id', { task }],
      ['events.get_task_events', { task, batch_size: 10_000 }],
      ['events.get_task_log', { task, batch_size: 100 }],
      ['events.download_task_log', { task, line_type: 'text' }],
      ['events.scalar_metrics_iter_histogram', { task }],
      ['events.get_task_plots', { task, iters: 10 }],
      ['events.get_scalar_metrics_and_variants', { task }],
      ['events.get_task_latest_scalar_values', { task }],
      ['events.debug_images', { metrics: [{ task }], iters: 10 }],
    );
  }
  requests.push(
    ['events.get_task_single_value_metrics', { tasks: all }],
    ['events.get_task_metrics', { tasks: all }],
    ['events.multi_task_scalar_metrics_iter_histogram', { tasks: [seeded.tasks.running, seeded.tasks.completed] }],
    ['events.get_debug_image_sample', { task: seeded.tasks.running, metric: 'images', variant: 'sample', iteration: 2 }],
    ['events.next_debug_image_sample', { task: seeded.tasks.running, scroll_id: seeded.sampleScrollId }],
  );
  return requests;
}

interface Answer {
  status: number;
  data: unknown;
  message: string;
}

/**
 * The answers to the ordinary requests. The one value that changes by itself is a worker's `task.running_time`
 * (seconds since its task started, computed at each read): it is left out.
 */
async function answers(url: string, requests: readonly [EndpointName, Record<string, unknown>][]): Promise<Answer[]> {
  const result: Answer[] = [];
  for (const [endpoint, body] of requests) {
    const reply = await httpRequest(url, `/${endpoint}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, timeoutMs: REQUEST_TIMEOUT_MS });
    const data = reply.json?.data;
    if (endpoint === 'workers.get_all') for (const worker of data.workers) delete worker.task?.running_time;
    result.push({ status: reply.status, data, message: reply.json?.meta?.result_msg });
  }
  return result;
}

/** What differs between two dumps, briefly: rows gone and rows new, per table. */
function dumpDifferences(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
  const differences: string[] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = new Set(before[table] ?? []);
    const is = new Set(after[table] ?? []);
    const gone = [...was].filter((row) => !is.has(row));
    const added = [...is].filter((row) => !was.has(row));
    for (const row of gone.slice(0, 3)) differences.push(`${table}: row gone: ${row.slice(0, 300)}`);
    for (const row of added.slice(0, 3)) differences.push(`${table}: row new: ${row.slice(0, 300)}`);
    if (gone.length + added.length > 6) differences.push(`${table}: ${gone.length} rows gone, ${added.length} new in all`);
  }
  return differences;
}

// -----------------------------------------------------------------------------------------------------------------

describe('bad-input sweep: malformed requests to every endpoint', () => {
  let server: TestServer;
  let scratch: TestServer;
  let seeded: Seeded;
  let reader: DatabaseReader;
  let before: { dump: Record<string, string[]>; answers: Answer[]; prototypeKeys: string[] };
  let ordinary: [EndpointName, Record<string, unknown>][];
  const outcomes: Outcome[] = [];
  const scratchOutcomes: Outcome[] = [];
  const slowProbes: string[] = [];
  let sweepMs = 0;

  beforeAll(async () => {
    [server, scratch] = await Promise.all([startTestServer(), startTestServer()]);
    reader = await openDatabaseReader(server.dbUrl);
    seeded = await seed(server.api, server.url);
    ordinary = ordinaryRequests(seeded);
    before = { dump: await reader.dump(), answers: await answers(server.url, ordinary), prototypeKeys: Object.getOwnPropertyNames(Object.prototype) };

    const started = performance.now();
    const endpoints = Object.keys(ENDPOINTS) as EndpointName[];
    const scratchCases: SweepCase[] = [];
    for (const endpoint of endpoints) {
      const { main, scratch: forScratch } = casesOf(endpoint, seeded);
      outcomes.push(...(await sendAll(server.url, main)));
      scratchCases.push(...forScratch);
      const ms = await probe(server.url);
      if (ms > PROBE_LIMIT_MS) slowProbes.push(`after ${endpoint}: queues.get_default took ${Math.round(ms)} ms`);
    }
    outcomes.push(...(await sendAll(server.url, edgeCases())));
    scratchOutcomes.push(...(await sendAll(scratch.url, scratchCases)));
    sweepMs = performance.now() - started;
    // ~19,000 requests: 2-3 minutes on SQLite, more on PostgreSQL (a transaction per request, over a socket), and more
    // again on a test machine shared by other runs.
  }, 360_000);

  afterAll(async () => {
    await reader?.close();
    await Promise.all([server?.close(), scratch?.close()]);
  });

  it('covers every endpoint with many requests', () => {
    const perEndpoint = new Map<string, number>();
    for (const { sweepCase } of outcomes) perEndpoint.set(sweepCase.endpoint, (perEndpoint.get(sweepCase.endpoint) ?? 0) + 1);
    const thin = Object.keys(ENDPOINTS).filter((endpoint) => (perEndpoint.get(endpoint) ?? 0) < 40);
    expect(thin).toEqual([]);
    // eslint-disable-next-line no-console
    console.info(
      `bad-input sweep: ${outcomes.length} requests to the seeded server and ${scratchOutcomes.length} accepted creations to a scratch ` +
        `server in ${(sweepMs / 1000).toFixed(1)} s; slowest ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms; ` +
        `${outcomes.filter((o) => o.status >= 200 && o.status < 300).length} answered 2xx (valid by design)`,
    );
  });

  it('answers each with a short 4xx in the envelope (or a success when it is valid), never a 5xx, never hanging', () => {
    expect(outcomes.filter((o) => o.problem !== undefined).map(describeOutcome)).toEqual([]);
  });

  it('stays responsive: queues.get_default answers fast between batches', () => {
    expect(slowProbes).toEqual([]);
  });

  it('changed nothing stored: every row of the database is as before', async () => {
    expect(dumpDifferences(before.dump, await reader.dump())).toEqual([]);
  });

  it('left Object.prototype alone', () => {
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(before.prototypeKeys);
    const probeObject: Record<string, unknown> = {};
    expect({ polluted: probeObject.polluted, comment: probeObject.comment }).toEqual({});
  });

  it('answers ordinary requests exactly as before', async () => {
    const after = await answers(server.url, ordinary);
    const changed = ordinary.flatMap(([endpoint, body], i) =>
      JSON.stringify(after[i]) === JSON.stringify(before.answers[i]) ? [] : [`${endpoint} ${JSON.stringify(body).slice(0, 120)}`],
    );
    expect(changed).toEqual([]);
    expect(after).toEqual(before.answers);
  });

  it('answers bodies the schema accepts for creating things (on a scratch server) with no 5xx, and later reads still work', async () => {
    const failures = scratchOutcomes.filter((o) => o.problem !== undefined).map(describeOutcome);
    const reads: [EndpointName, Record<string, unknown>][] = [
      ['tasks.get_all', { search_hidden: true }],
      ['tasks.get_all', { order_by: ['hyperparams.toString.hasOwnProperty.value', '-hyperparams.a.b.c.value', 'name'] }],
      ['tasks.get_all', { search_text: 'sweep', only_fields: ['name', 'hyperparams', 'runtime', 'configuration'] }],
      ['projects.get_all_ex', { include_stats: true }],
      ['projects.get_hyper_parameters', {}],
      ['projects.get_unique_metric_variants', {}],
      ['projects.get_task_tags', { include_system: true }],
      ['models.get_all', { order_by: ['-last_update'] }],
      ['models.get_frameworks', {}],
      ['queues.get_all', {}],
      ['workers.get_all', {}],
    ];
    for (const [endpoint, body] of reads) {
      const reply = await httpRequest(scratch.url, `/${endpoint}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, timeoutMs: REQUEST_TIMEOUT_MS });
      if (reply.status !== 200) failures.push(`${endpoint}: ${reply.status} ${reply.json?.meta?.result_msg?.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
  });
});
