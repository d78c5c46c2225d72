// The typed form of a validated scenario.

import type { AddrExpr, Delta } from './schema-dsl.js';
import type { Locations } from './errors.js';

export type { AddrExpr, Delta };

export interface RegionSpec {
  name: string;
  start: number;
  size: number;
  kind: 'ram' | 'device' | 'flash' | 'segment';
  structPages?: boolean;
}

export interface PluginRef {
  /** what the scenario wrote: a short name, a package name or a path */
  spec: string;
  /** a path (relative to the scenario file) rather than a package */
  isPath: boolean;
  /** field path in the scenario, for errors */
  field: string;
}

export interface DriverRef extends PluginRef {
  settings: Record<string, unknown>;
}

export interface MachineSpec {
  arch: PluginRef;
  kernel: string;
  kernelOptions: {
    debugVm?: boolean;
    memcg?: boolean;
    variant?: string[];
    features?: Record<string, unknown>;
  };
  archOptions: Record<string, unknown>;
  memory: { ram?: number; regions?: RegionSpec[] };
  drivers: DriverRef[];
  debug?: boolean;
}

export interface TaskSpec {
  name: string;
  threads: string[];
}

export interface PteExpect {
  none?: boolean;
  present?: boolean;
  write?: boolean;
  dirty?: boolean;
  young?: boolean;
  special?: boolean;
  cache?: boolean | string | number;
  pfn?: number | 'zero' | { sameAs: AddrExpr };
}

export interface Expect {
  outcome?: string;
  ret?: number;
  handlers?: string[];
  handlersInclude?: string[];
  faults?: number;
  oops?: string;
  pte?: PteExpect;
  ptes?: Record<string, PteExpect>;
  normalPage?: null | 'page' | 'zero';
  page?: { at?: AddrExpr; count?: Delta; mapcount?: Delta; flags?: string[] };
  rss?: { anon?: Delta; file?: Delta };
  reports?: string[];
  noReports?: boolean;
  vmaFlags?: string[];
  vmaFlagsNot?: string[];
  pgoff?: number;
  value?: { sameAs?: AddrExpr; differsFrom?: AddrExpr };
  freePages?: Delta;
  pageTableBytes?: Delta;
}

export interface Step {
  /** 0-based position in `steps` */
  index: number;
  /** field path of the step, "steps[3]" */
  field: string;
  id?: string;
  op: string;
  /** the task (process) the step runs in */
  task: string;
  /** the thread it runs on (the task's first thread unless `thread:` named another) */
  thread: string;
  note?: string;
  /** op arguments as validated (sizes converted to numbers, addresses to AddrExpr) */
  args: Record<string, unknown>;
  expect?: Expect;
}

export interface Scenario {
  /** the scenario file (or the name given with its text) */
  file: string;
  /** directory relative plugin paths resolve against */
  dir: string;
  name: string;
  description?: string;
  reference?: string;
  machine: MachineSpec;
  tasks: TaskSpec[];
  steps: Step[];
  expectLeaks: boolean;
  /** positions of every field, for errors found while running */
  locs: Locations;
}
