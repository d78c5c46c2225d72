import type { Machine, OpResult, Task } from '@mixedmap/core';
export interface World {
  k: Machine;
  tasks: Task[];
  maps: Map<Task, number[]>;
}
export interface CommonOp {
  op: string;
  map?: number;
  page?: number;
  pages?: number;
  prot?: number;
  write?: boolean;
  thread?: number;
}
export declare function newWorld(k: Machine): World;
export declare function pickTask(w: World, index: number): Task | undefined;
export declare function pickAddress(w: World, t: Task, o: CommonOp): number;
export declare function runCommonOp(w: World, t: Task, o: CommonOp, check: (what: string, r: OpResult) => void): boolean;
export declare function exitAll(w: World, check: (what: string, r: OpResult) => void): void;
