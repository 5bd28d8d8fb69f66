/** Packages the agent provides itself (linked from its own installation), never installed from a registry. */
export const PROVIDED_PACKAGES = ['tasklane', '@tasklane/protocol'];

function isProvided(name: string): boolean {
  return PROVIDED_PACKAGES.includes(name) || name.startsWith('@tasklane/');
}

/** `@scope/name@1.2.3` → `@scope/name`; `name@^1` → `name`; `name` → `name`. */
export function packageNameOf(spec: string): string {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  return at === -1 ? spec : spec.slice(0, at);
}

/**
 * The `npm install` arguments for a task's recorded requirements (`script.requirements.npm`: one `name@version` per
 * line, as the SDK records them, possibly marked ` (dev)` or ` (dev, not installed)`). Blank lines and `#` comments
 * are skipped, and so is the Tasklane SDK, which the agent links from its own installation instead.
 *
 * @example npmSpecsFromRequirements({ npm: 'commander@14.0.3\nzod@4.1.12 (dev)\ntasklane@0.1.0' })
 * // ['commander@14.0.3', 'zod@4.1.12']
 */
export function npmSpecsFromRequirements(requirements: Record<string, unknown> | undefined): string[] {
  const text = requirements?.npm;
  if (typeof text !== 'string') return [];
  const specs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+\([^)]*\)\s*$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const spec = line.split(/\s+/)[0]!;
    if (isProvided(packageNameOf(spec))) continue;
    if (!specs.includes(spec)) specs.push(spec);
  }
  return specs;
}
