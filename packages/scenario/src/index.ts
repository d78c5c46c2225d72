// @mixedmap/scenario — the scenario format, its validator and JSON Schema, and the runner.
export { ScenarioError, isScenarioError, formatProblem, Locations, type ScenarioProblem, type Loc } from './errors.js';
export {
  SCENARIO_SCHEMA, STEP_SCHEMA, MACHINE_SCHEMA, PTE_EXPECT, STEP_OPS, PROT_NAMES, MAP_FLAG_NAMES, FOLL_FLAG_NAMES,
  scenarioJsonSchema,
} from './format.js';
export {
  toJsonSchema, parseAddress, parseSize, parseHex, parseDelta, type Schema, type Field, type AddrExpr, type Delta,
} from './schema-dsl.js';
export { parseAndValidate, yamlErrorMessage, type ValidationResult } from './validate.js';
export { parseScenario, loadScenario, readScenarioText, ARCH_SHORT_NAMES, DRIVER_SHORT_NAMES, type LoadedScenario, type LoadOptions } from './load.js';
export { resolvePlugins, loadArch, type ResolvedPlugins, type PluginImporter } from './resolve.js';
export { PluginFault } from './guard.js';
export { retargetScenario, type RetargetOptions } from './retarget.js';
export {
  runScenario, startRun, runStep, finishRun, buildMachine, pluginFaultError, findStep, handlerChain, hexPfn, PROT_BITS, MAP_BITS, FOLL_BITS,
  type ScenarioResult, type StepResult, type Observation, type Check, type RunOptions, type StepOptions, type RunState, type PageObservation,
} from './runner.js';
export type * from './types.js';
