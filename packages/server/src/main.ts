import type { ServerConfig } from './config.js';
import { buildApp, type AppDependencies, type TasklaneApp } from './app.js';

export interface RunningServer extends TasklaneApp {
  /** The base URL, e.g. `http://127.0.0.1:8008`. */
  url: string;
  close(): Promise<void>;
}

/** Builds the server and listens on the configured host and port (0 picks a free port). */
export async function startServer(config: ServerConfig, deps: AppDependencies = {}): Promise<RunningServer> {
  const built = await buildApp(config, deps);
  try {
    await built.app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await built.app.close();
    throw error;
  }
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { ...built, url: `http://${host}:${port}`, close: () => built.app.close() };
}
