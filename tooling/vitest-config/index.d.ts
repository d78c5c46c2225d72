import type { UserConfig } from 'vitest/config';
export declare function preset(test?: UserConfig['test']): UserConfig;
