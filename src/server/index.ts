/**
 * The live dashboard: a read-only HTTP server over a lab (see {@link startServer}) and the page in web/.
 */
export { DEFAULT_PORT, type Dashboard, type ServeOptions, startServer } from "./server.js";
export { LabWatcher, type LabSnapshot, type LiveRun } from "./live.js";
export { contentType, inside, playgroundDir, safeFile, webDir } from "./paths.js";
export { ISOLATION_HEADERS, PLAYGROUND_PORT, type Playground, type PlaygroundOptions, startPlayground } from "./playground.js";
export { MAX_SAMPLE_TOKENS, type SampleRequest, type SampleResult, sampleRun } from "./sample.js";
