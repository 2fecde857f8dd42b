// The playground page: built into dist/playground/ (beside the compiled server,
// so the Docker image's `COPY dist` carries it) and served at /playground/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/playground/',
  build: {
    outDir: fileURLToPath(new URL('../dist/playground', import.meta.url)),
    emptyOutDir: true,
    // Everything in the bundle: the page loads nothing from elsewhere (the CSP allows only 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
