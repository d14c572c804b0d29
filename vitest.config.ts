import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      '@modelkit/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
      '@modelkit/registry': fileURLToPath(new URL('./packages/registry/src/index.ts', import.meta.url)),
      '@modelkit/runner': fileURLToPath(new URL('./packages/runner/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
