import type { Driver, Machine, Task } from '@mixedmap/core';
export interface DevSettings {
  mode: 'insert-mixed' | 'insert-pfn' | 'remap';
  /** the pfn for a file page index; `own` are the driver's own RAM pages */
  pfnFor: (index: number, own: number[]) => number;
  ownPages?: number;
  allowPrivate?: boolean;
  flags?: number;
}
export interface DevState {
  own: number[];
}
export declare function device(s: DevSettings): Driver<Record<string, unknown>, DevState>;
export declare function devState(k: Machine): DevState;
export declare function mapDev(k: Machine, p: Task, pages: number, prot: number, flags: number, offset?: number): number;
export declare function clean<T extends { violations?: string[]; outcome: string }>(r: T): T;
