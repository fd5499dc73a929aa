import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// Served by the gateway under /admin/; every asset name carries its content hash (the gateway caches them for a year).
export default defineConfig({
  base: '/admin/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The polyfill would be an inline script, which the console's Content-Security-Policy forbids; browsers the
    // console supports all preload modules natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
