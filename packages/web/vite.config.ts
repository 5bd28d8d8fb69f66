import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev -w @tasklane/web` proxies the API to a server started with `npm start`.
const API_TARGET = 'http://127.0.0.1:8008';

export default defineConfig({
  plugins: [react()],
  // Plotly (~4.6 MB) is its own chunk, fetched only when a plot is shown: the limit is set above it on purpose.
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 5000 },
  server: { proxy: { '^/(v\\d+\\.\\d+/)?\\w+\\.\\w+$': API_TARGET, '/files/': API_TARGET } },
});
