/** What a debug sample or artifact file is, from its URL: decides how it is shown. */
export type MediaKind = 'image' | 'video' | 'audio' | 'other';

const KINDS: Record<string, MediaKind> = {
  png: 'image', jpg: 'image', jpeg: 'image', gif: 'image', webp: 'image', bmp: 'image', svg: 'image', avif: 'image',
  mp4: 'video', webm: 'video', ogv: 'video', mov: 'video',
  wav: 'audio', mp3: 'audio', ogg: 'audio', flac: 'audio', m4a: 'audio',
};

export function mediaKind(url: string): MediaKind {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? '';
  return KINDS[ext] ?? 'other';
}

/**
 * The URL if a browser may follow it (http, https, or relative to this server, such as `/files/...`); undefined for
 * anything else (`javascript:`, `data:`, `s3://`...), which is then shown as text only.
 */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** The last part of a URL's path, for link texts and download names. */
export function fileNameOf(url: string): string {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const name = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(name) || url;
  } catch {
    return name || url;
  }
}

/** "1.5 MB" */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
