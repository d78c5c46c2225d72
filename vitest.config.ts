import { defineConfig } from 'vitest/config';
import { preset } from '@mixedmap/vitest-config';

export default defineConfig(
  preset({
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
  }),
);
