import { defineConfig } from 'tsup';
import { preset } from '@mixedmap/tsup-config';

// The bundle turns every module-level constant (VM_*, PG_*, FOLL_*, …) into a `var` the whole package
// shares, and V8 reads such a variable from its cell, with a type check, at every use: a few
// instructions per constant on every fault and every pte of zap, fork and gup. Terser, with only its
// constant propagation on, writes the literal value in their place (and changes nothing else).
export default defineConfig(
  preset({
    minify: 'terser',
    terserOptions: {
      module: true,
      mangle: false,
      compress: { defaults: false, toplevel: true, reduce_vars: true, evaluate: true },
      format: { beautify: true, comments: 'all' },
    },
  }),
);
