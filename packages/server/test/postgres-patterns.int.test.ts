// Name patterns on PostgreSQL mean what they mean on SQLite: RE2's syntax, rewritten for PostgreSQL's engine
// (storage/sql/postgres-pattern.ts), answers the same names as RE2 itself (re2js, what SQLite's regexp runs) for every
// construct of RE2's syntax, against names with newlines, non-ASCII letters and digits, and long runs. Through the
// dialect's own SQL, on the run's PostgreSQL (one database, no server: only the match is under test).
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { RE2JS } from 're2js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_DIALECT } from '../src/storage/sql/dialect.js';
import { postgresSkipReason, testPostgres } from '../../../test/support/postgres.js';

const postgres = testPostgres();

const NAMES = [
  'examples/sub', 'Examples/Sub2', 'eval-01', 'EVAL-12', 'train-03', 'train-٣', 'ab', 'b', 'a\nb', 'x\nb', 'ab\n', 'a\tb',
  'a b', 'a.b', 'a\u00a0b', 'cat', 'concat', 'a cat here', 'at', 'A', 'aaa', 'a'.repeat(255), 'a'.repeat(256),
  'a'.repeat(300), 'a'.repeat(301), 'é', 'É', 'Ωmega', 'ωmega', 'x]', 'a-', '-', '{', 'x{', 'a{,2}', '', '_', 'snake_case',
  '😀 emoji', 'line1\nline2', 'Tab\there', '\\', 'a\\b', '1+1=2', '(paren)', '[bracket]', '$cash', '^caret',
];

/** RE2's syntax, construct by construct (each pattern as RE2 accepts it). */
const PATTERNS = [
  // plain and anchors
  '^examples/sub$', 'sub', '^EXAMPLES', 'b$', '\\Aab', 'ab\\z', 'ab$', '^$',
  // flags, at the start, in the middle and scoped
  '(?i)^Eval-\\d{2}\\z', '(?s)a.b', 'a.b', '(?m)^b', '(?m)b$', '(?m:^b)|^x', '(?s:.)b', 'x(?s).b', '(?U)a+b', '(?i:A)b',
  '(?ms)^line2$', '(?m)a$(?-m)',
  // groups
  '^(?P<kind>train|eval)-0[[:digit:]]$', '(?<k>a)b', '(?:a|b)c', '(a|b)*c', 'a|', '()b', '((a))b',
  // word boundaries
  '\\bcat\\b', '\\Bat', 'cat\\B',
  // Perl classes (ASCII in RE2)
  '\\d', '^\\d+$', '-\\d$', '\\D', '^\\w+$', '\\W', '\\s', '^\\S+$', '[\\d.]', '[^\\d\\s]', '[\\D]', '[^\\W]',
  // POSIX classes
  '[[:alpha:]]+\\d', '[[:^alpha:]]', '[[:punct:]]', '^[[:space:]]', '[[:space:]]', '[[:upper:]]', '^[[:word:]]+$', '[[:xdigit:]]{2}',
  // brackets
  '[^a]', '^[^a]+$', '[^\\n]x', '[]a]', '[a-]', '[-a]', '[^]a]', '[a\\]]', '[\\\\]', '[\\x41-\\x43]', '[é]', '[^é]', '[.]',
  // Unicode classes
  '\\pL', '^\\pL+$', '\\p{Greek}', '\\PL', '\\p{^Greek}', '[\\p{Lu}]', '\\p{Nd}', '\\pN', '[^\\p{L}]', '\\p{Any}',
  // escapes
  '\\x41', '\\x{e9}', '\\x{1F600}', '\\101', '\\012', '\\n', '\\t', '\\Qa.b\\E', '\\Qa.b', '\\.\\*\\+', '\\(paren\\)', '\\[', '\\$cash', '\\^',
  '\\\\', 'a\\\\b',
  // repeats, with RE2's 1,000 against PostgreSQL's 255
  'a{2}', '^a{255}$', '^a{256}$', '^a{300}$', 'a{2,}', '^a{256,300}$', '^a{250,}$', '^a{0,301}$', '^(?:a{2}){150}$', 'a{,2}', 'x{',
  'a*?b', 'a+?', 'a??b', 'a{2,3}?', '(.*a){20}', '^(a+)+$',
  // non-ASCII literals and case
  'é', 'É', 'ΩMEGA', '😀',
];

describe.skipIf(!postgres)(`name patterns on PostgreSQL${postgres ? '' : ` (skipped: ${postgresSkipReason()})`}`, () => {
  let url: string;
  let db: Kysely<Record<string, never>>;
  beforeAll(async () => {
    url = await postgres!.newDatabase();
    db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) });
  });
  afterAll(async () => {
    await db?.destroy();
    if (url) await postgres!.dropDatabase(url);
  });

  async function matchedOnPostgres(pattern: string): Promise<string[]> {
    const { rows } = await sql<{ name: string }>`
      SELECT name FROM unnest(${NAMES}::text[]) WITH ORDINALITY AS t(name, i)
      WHERE ${POSTGRES_DIALECT.matchesPattern('name', pattern)} ORDER BY i`.execute(db);
    return rows.map((row) => row.name);
  }

  it('answer the names RE2 answers, for every construct of its syntax', async () => {
    const differences: { pattern: string; re2: string[]; postgres: string[] }[] = [];
    for (const pattern of PATTERNS) {
      const re = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
      const re2 = NAMES.filter((name) => re.test(name));
      const onPostgres = await matchedOnPostgres(pattern);
      if (JSON.stringify(onPostgres) !== JSON.stringify(re2)) differences.push({ pattern, re2, postgres: onPostgres });
    }
    expect(differences).toEqual([]);
  });

  it('refuse what PostgreSQL cannot do with case ignored, naming it', async () => {
    await expect(matchedOnPostgres('(?-i)Abc')).rejects.toThrow(
      /body\.name: a case-sensitive part \(\(\?-i\)\) in the pattern cannot be matched on this server's database \(PostgreSQL\)/,
    );
  });
});
