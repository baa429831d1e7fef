/**
 * TensorBoard event files (`events.out.tfevents.*`): TFRecord-framed `Event` protocol buffers
 * (tensorboard/compat/proto/event.proto, summary.proto, tensor.proto). Scalars are read from both encodings writers
 * use: `Summary.Value.simple_value` (PyTorch's SummaryWriter, tensorboardX, TF1) and a scalar `TensorProto`
 * (TF2's tf.summary.scalar). Field numbers used:
 *   Event: wall_time 1 (double), step 2 (int64), summary 5
 *   Summary: value 1 (repeated) · Value: tag 1, simple_value 2 (float), tensor 8
 *   TensorProto: dtype 1, tensor_content 4, float_val 5, double_val 6, int_val 7, int64_val 10
 */
import { IngestError } from "./errors.js";
import { matchNames, type Quantity } from "./names.js";
import { type Field, asDouble, asFloat, asInt64, asString, packedDoubles, packedFloats, packedInts, readFields } from "./protobuf.js";
import { TFRecordError, readRecords } from "./tfrecord.js";
import type { ColumnNames, LoggedStep, ParsedRun } from "./types.js";

/** One scalar read from an event file. */
export interface TensorBoardScalar {
  tag: string;
  step: number;
  wallTime: number;
  value: number;
}

/** TensorFlow DataType codes of the scalar tensors understood here. */
const DT = { float: 1, double: 2, int32: 3, int64: 9 } as const;

function tensorScalar(fields: Field[]): number | undefined {
  let dtype = 0;
  let content: Uint8Array | undefined;
  const values: number[] = [];
  for (const f of fields) {
    if (f.no === 1 && f.varint !== undefined) dtype = Number(f.varint);
    else if (f.no === 4 && f.bytes) content = f.bytes;
    else if (f.no === 5) values.push(...packedFloats(f));
    else if (f.no === 6) values.push(...packedDoubles(f));
    else if (f.no === 7 || f.no === 10) values.push(...packedInts(f));
  }
  if (values.length === 1) return values[0];
  if (content) {
    const dv = new DataView(content.buffer, content.byteOffset, content.byteLength);
    if (dtype === DT.float && content.length === 4) return dv.getFloat32(0, true);
    if (dtype === DT.double && content.length === 8) return dv.getFloat64(0, true);
    if (dtype === DT.int32 && content.length === 4) return dv.getInt32(0, true);
    if (dtype === DT.int64 && content.length === 8) return Number(dv.getBigInt64(0, true));
  }
  return undefined; // not a scalar (histogram, image, text, ...)
}

/** Every scalar of an event file's bytes, in file order. Throws TFRecordError or RangeError on bad data. */
export function readScalars(buf: Uint8Array): TensorBoardScalar[] {
  const out: TensorBoardScalar[] = [];
  for (const record of readRecords(buf)) {
    let wallTime = NaN;
    let step = 0;
    const summaries: Uint8Array[] = [];
    for (const f of readFields(record)) {
      if (f.no === 1 && f.bytes?.length === 8) wallTime = asDouble(f);
      else if (f.no === 2 && f.varint !== undefined) step = asInt64(f);
      else if (f.no === 5 && f.bytes) summaries.push(f.bytes);
    }
    for (const s of summaries) {
      for (const v of readFields(s)) {
        if (v.no !== 1 || !v.bytes) continue;
        let tag = "";
        let value: number | undefined;
        for (const f of readFields(v.bytes)) {
          if (f.no === 1 && f.bytes) tag = asString(f);
          else if (f.no === 2 && f.bytes?.length === 4) value = asFloat(f);
          else if (f.no === 8 && f.bytes) value = tensorScalar(readFields(f.bytes));
        }
        if (tag && value !== undefined) out.push({ tag, step, wallTime, value });
      }
    }
  }
  return out;
}

/** Reads an event file into a run: losses by tag (`--loss-col`/`--val-col` name tags), one entry per step. */
export function parseTensorBoard(file: string, buf: Uint8Array, columns: ColumnNames = {}): ParsedRun {
  let scalars: TensorBoardScalar[];
  try {
    scalars = readScalars(buf);
  } catch (e) {
    if (e instanceof TFRecordError) {
      throw new IngestError(`${file}: ${e.message} at byte ${e.offset}; the event file is damaged (copy it again, or cut it before that record)`);
    }
    throw new IngestError(`${file}: not a readable TensorBoard event file (${(e as Error).message}); check that it is an events.out.tfevents.* file`);
  }
  const tags = [...new Set(scalars.map((s) => s.tag))];
  const given: Partial<Record<Quantity, string>> = {};
  if (columns.loss !== undefined) given.trainLoss = columns.loss;
  if (columns.valLoss !== undefined) given.valLoss = columns.valLoss;
  if (columns.tokens !== undefined) given.tokens = columns.tokens;
  const { names, missing } = matchNames(tags, given);
  if (missing.length) {
    throw new IngestError(`${file}: no scalar tagged ${missing.map((m) => JSON.stringify(m)).join(", ")} (tags: ${tags.join(", ") || "none"}); fix --loss-col/--val-col/--tokens-col`);
  }
  if (names.trainLoss === undefined && names.valLoss === undefined) {
    throw new IngestError(`${file}: no loss scalar found (tags: ${tags.join(", ") || "none"}); name the loss tag with --loss-col TAG or --val-col TAG`);
  }
  const byStep = new Map<number, LoggedStep>();
  const t0 = Math.min(...scalars.map((s) => s.wallTime).filter(Number.isFinite));
  const fields: [Quantity, keyof LoggedStep][] = [["trainLoss", "trainLoss"], ["valLoss", "valLoss"], ["tokens", "tokens"], ["lr", "lr"], ["gradNorm", "gradNorm"]];
  for (const s of scalars) {
    const hit = fields.find(([q]) => names[q] === s.tag);
    if (!hit) continue;
    const row = byStep.get(s.step) ?? { step: s.step };
    row[hit[1]] = s.value; // a step logged twice (a resumed run): the later value wins
    if (Number.isFinite(s.wallTime) && Number.isFinite(t0)) row.elapsed = s.wallTime - t0;
    byStep.set(s.step, row);
  }
  return {
    file,
    format: "tensorboard",
    steps: [...byStep.values()].sort((a, b) => a.step - b.step),
    config: { tags: { trainLoss: names.trainLoss ?? null, valLoss: names.valLoss ?? null, tokens: names.tokens ?? null } },
  };
}
