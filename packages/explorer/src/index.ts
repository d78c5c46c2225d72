// @mixedmap/explorer — every interleaving of racing faults, as herd7 does for litmus tests.
export { loadLitmus, type Litmus } from './litmus.js';
export { explore, firstMoves, mergeResults, type ExploreOptions, type ExploreResult, type FinalState, type TraceMove } from './explore.js';
export { parseCondition, evaluate, locations, locationText, PredicateError, type Condition, type Expr, type Value } from './predicate.js';
export { renderExplore, renderTrace, exploreJson } from './render.js';
export { stateKey } from './state.js';
export { exploreFile, type ParallelOptions } from './parallel.js';
