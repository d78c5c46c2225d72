import { defineConfig } from 'tsup';
import { preset } from '@mixedmap/tsup-config';

// the worker script is its own entry: parallel explorations start it as a worker thread
export default defineConfig(preset({ entry: ['src/index.ts', 'src/worker.ts'] }));
