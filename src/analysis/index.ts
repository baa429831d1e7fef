/** One typed, stored analysis of a sweep: fits on cooled-down endpoints, leave-future-out predictions. */
export { type AnalysisOptions, type EndpointInput, type TargetInput, analyzeEndpoints, frontierOf, leaveFutureOut } from "./analyze.js";
export { type SweepAnalysisOptions, type SweepInput, analyzeInput, analyzeSweep, storedAnalysis, sweepInput } from "./sweep.js";
export type * from "./types.js";
