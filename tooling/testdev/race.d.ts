import type { Machine, OpResult, Thread } from '@mixedmap/core';
export declare function startAccesses(k: Machine, threads: Thread[], addr: number, write?: boolean): void;
export declare function stepTo(k: Machine, t: Thread, prefix: string): void;
export declare function finishAccess(k: Machine, t: Thread): OpResult;
