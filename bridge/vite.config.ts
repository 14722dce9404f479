import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The host bridge as one browser script, `bridge/dist/paythrough-bridge.js`, exposing `window.PaythroughBridge`;
// the Paythrough server serves it at `/bridge/paythrough-bridge.js`.
export default defineConfig({
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    lib: {
      entry: fileURLToPath(new URL('./src/paythrough-bridge.ts', import.meta.url)),
      name: 'PaythroughBridge',
      formats: ['iife'],
      fileName: () => 'paythrough-bridge.js',
    },
  },
});
