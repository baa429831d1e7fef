/**
 * Few-shot evaluation: GPT-3's arithmetic and word-scrambling tasks (and JSONL task files), the k-shot harness,
 * the synthetic arithmetic pretraining stream, and the contamination audit.
 *
 * ```ts
 * import { resolveTask, evaluateTask } from "../evals/index.js";
 * const { model, tokenizer } = loadModel("runs/cpu-1m", await createBackend("auto"));
 * const results = await evaluateTask(model, tokenizer, resolveTask("arithmetic-2da"), { shots: [0, 1, 8], n: 2000 });
 * // [{ task: "arithmetic-2da", shots: 0, n: 2000, accuracy, stderr, meanLogLikelihood, meanShots, ... }, ...]
 * ```
 * {@link registerArithmeticSource} registers the `arithmetic:TASKS[:PROBLEMS]` source with data/ for `prepare`.
 */
export {
  type EvalTask,
  type TaskItem,
  type TaskSplit,
  EVAL_SIDE_FRACTION,
  EvalError,
  hash32,
  onEvalSide,
} from "./task.js";
export {
  type ArithmeticOp,
  type ArithmeticProblem,
  type ArithmeticSpec,
  ARITHMETIC_TASKS,
  arithmeticItem,
  arithmeticPatterns,
  arithmeticSpec,
  arithmeticTask,
  binaryProblem,
  compositeProblem,
  parseArithmeticItem,
  problemSpace,
  randomProblem,
  sampleProblems,
} from "./arithmetic.js";
export {
  type ScrambleKind,
  INSERTION_CHARS,
  UNSCRAMBLE_DESCRIPTION,
  WORD_TASKS,
  corpusWords,
  scramblable,
  scramble,
  wordItem,
  wordTask,
} from "./words.js";
export { fileTask, readTaskFile } from "./jsonl.js";
export { type ResolveTaskOptions, TASK_NAMES, canonicalTaskName, listTasks, resolveTask, resolveTasks } from "./tasks.js";
export { type EncodeOptions, type EncodedExample, chooseDemos, encodeExample, promptText } from "./prompt.js";
export {
  type EvalOptions,
  type EvalResult,
  type ScoreOptions,
  type ScoredExample,
  buildExamples,
  evaluateTask,
  evaluateTasks,
  scoreExamples,
} from "./harness.js";
export {
  type ArithmeticStreamOptions,
  type MixOptions,
  DEFAULT_STREAM_PROBLEMS,
  arithmeticDocuments,
  arithmeticSource,
  arithmeticTokens,
  mixArithmetic,
  parseStreamArgs,
  registerArithmeticSource,
  streamSpecs,
} from "./stream.js";
export {
  type ContaminationOptions,
  type ContaminationReport,
  PatternMatcher,
  auditContamination,
  decodedText,
} from "./contamination.js";
