// Shared vitest preset. Workspace packages export a "source" condition that points at src/,
// so tests run against the TypeScript sources without a build.
/** @param {import('vitest/config').UserConfig['test']} [test] */
export function preset(test = {}) {
  return {
    resolve: { conditions: ['source', 'import', 'module', 'default'] },
    ssr: { resolve: { conditions: ['source', 'import', 'module', 'default'] } },
    test: {
      environment: 'node',
      testTimeout: 60_000,
      ...test,
    },
  };
}
