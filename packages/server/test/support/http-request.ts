import { request } from 'node:http';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: any;
}

export interface HttpRequestInit {
  method?: string;
  /** Text is sent as UTF-8; a Buffer byte for byte (e.g. invalid UTF-8). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Fails the request (rejects) when no whole reply has arrived after this long. @default no limit */
  timeoutMs?: number;
}

/**
 * Sends one request with node:http, which (unlike fetch) can send a body with GET, as ClearML's SDK does.
 */
export function httpRequest(baseUrl: string, path: string, init: HttpRequestInit = {}): Promise<HttpReply> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const req = request(
      url,
      {
        method: init.method ?? 'POST',
        headers: {
          ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    if (init.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        req.destroy(new Error(`no reply within ${init.timeoutMs} ms: ${req.method} ${url.pathname}`));
      }, init.timeoutMs);
    }
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
