// @mixedmap/oracle — run a scenario on the live Linux kernel and compare it with the model.
export { runOracle, compareRuns, renderOracle, oracleUnavailable, OracleUnavailable, type OracleOptions, type OracleResult, type OracleStep, type Difference } from './oracle.js';
export { loadOracleScenario, ORACLE_OPS } from './load.js';
export { planScenario, programText, DEFAULT_LIMIT, type Plan, type PlannedStep, type PlannedFile, type MapRef } from './plan.js';
export { runModel, type ModelRun, type SideStep, type TaskView, type MappingView, type PageView } from './model.js';
export { runExecutor, defaultExecutorPath, executorAvailable, ExecutorError, type ExecutorHeader, type ExecutorRun, type RawStep, type SpawnOptions } from './executor.js';
