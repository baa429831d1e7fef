/**
 * Bring your own runs: parsers that turn other trainers' logs (Hugging Face Trainer state, TensorBoard event files,
 * W&B / generic CSV and JSONL, nanoGPT and llm.c text logs) into runs of a lab, through the store's public API.
 */
export { IngestError } from "./errors.js";
export { SOURCE_FORMATS, type ColumnNames, type LoggedStep, type ParseOptions, type ParsedRun, type SourceFormat } from "./types.js";
export { detectFormat, parseSource } from "./detect.js";
export { gpt2Shape, parsePythonJson, parseTrainerState } from "./hf-trainer.js";
export { parseTensorBoard, readScalars, type TensorBoardScalar } from "./tensorboard.js";
export { TFRecordError, crc32c, maskedCrc32c, readRecords } from "./tfrecord.js";
export { parseCsvRuns, parseJsonlRuns } from "./table.js";
export { parseTextLog } from "./text-log.js";
export { type IngestOptions, type IngestResult, type IngestedRun, importSources, readSources, resolveRun, summarize } from "./ingest.js";
