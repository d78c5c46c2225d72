import { defineConfig } from 'tsup';
import { preset } from '@mixedmap/tsup-config';

export default defineConfig(preset());
