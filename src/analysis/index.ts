/** One typed, stored analysis of a sweep: fits on cooled-down endpoints, leave-future-out predictions. */
export { type AnalysisOptions, type EndpointInput, type TargetInput, analyzeEndpoints, frontierOf, leaveFutureOut } from "./analyze.js";
export { type SweepAnalysisOptions, type SweepInput, type TargetRun, analyzeInput, analyzeSweep, storedAnalysis, sweepInput, targetInput } from "./sweep.js";
export type * from "./types.js";
