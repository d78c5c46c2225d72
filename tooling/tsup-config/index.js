// Shared tsup preset. Plain JS on purpose: config loaders do not transpile .ts from node_modules.
/** @param {import('tsup').Options} [overrides] */
export function preset(overrides = {}) {
  return {
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    dts: true,
    clean: true,
    sourcemap: true,
    splitting: false,
    ...overrides,
  };
}
