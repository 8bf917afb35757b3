// Builds the UI into web/dist, which `mamori serve` serves under a strict CSP
// (no inline scripts or styles). `npm run dev` proxies the API to a local `mamori serve`.
import { defineConfig } from 'vite';

const server = 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Every asset is a file of its own (nothing inlined as a data: URL).
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: server, changeOrigin: false },
      '/healthz': { target: server, changeOrigin: false },
    },
  },
});
