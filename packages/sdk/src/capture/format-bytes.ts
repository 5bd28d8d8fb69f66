/**
 * Formats a byte count for people, in SI units: `512 bytes`, `200 KB`, `12.3 MB`.
 * @internal
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${trimZero(bytes / 1000)} KB`;
  if (bytes < 1_000_000_000) return `${trimZero(bytes / 1_000_000)} MB`;
  return `${trimZero(bytes / 1_000_000_000)} GB`;
}

function trimZero(value: number): string {
  return value.toFixed(1).replace(/\.0$/, '');
}
