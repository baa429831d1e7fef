/**
 * The live dashboard: a read-only HTTP server over a lab (see {@link startServer}) and the page in web/.
 */
export { DEFAULT_PORT, type Dashboard, type ServeOptions, startServer } from "./server.js";
export { LabWatcher, type LabSnapshot, type LiveRun } from "./live.js";
export { contentType, inside, safeFile, webDir } from "./paths.js";
export { MAX_SAMPLE_TOKENS, type SampleRequest, type SampleResult, sampleRun } from "./sample.js";
