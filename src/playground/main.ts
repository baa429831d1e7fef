/**
 * The playground page: pick sizes of the ladder and a token budget, train them one after another in a Web Worker
 * (worker.ts), and watch the report's analysis of the sweep (analysis.ts) as it grows — learning curves against
 * compute with the fitted frontier, the largest size's loss predicted before it trains and scored after, L(N), and
 * the forecast with its sliders. Finished runs are kept in this browser and exported as a run bundle.
 *
 * URL parameters (for links and tests): sizes=p-1,p-2 · tokens=N · batch=N (tokens per step) · backend=wasm|webgpu|auto
 * · autostart=1.
 */
import { forecastSentence, num, powerEquation, si, usd } from "../report/format.js";
import { isForecastError, labForecast, sliderFraction, sliderLabel, sliderTarget } from "../report/forecast-math.js";
import { forecastCostSpec, forecastLawSpec, lossComputeSpec, lossParamsSpec, predictionSpec } from "../report/specs.js";
import type { ForecastData, ReportData } from "../report/types.js";
import { runBundleText } from "../store/bundle.js";
import { type Ladder, ladderAnalysisSettings } from "../sweep/ladder.js";
import type { TrainConfigInput } from "../train/config.js";
import type { MetricRecord } from "../util/run-folder.js";
import { type PageRun, type PageSweep, analyzeSweep, planSweep, toBundle } from "./analysis.js";
import { chartNote, renderChart } from "./charts.js";
import { fetchLadder } from "./data.js";
import { clearSweep, loadSweep, saveSweep } from "./persist.js";
import type { FromTrainer, PageBackend, ToTrainer } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const DATA_URL = new URL("data/", location.href).href;
const params = new URLSearchParams(location.search);
/** Token budgets offered (per model). */
const BUDGETS = [40_960, 102_400, 204_800, 409_600, 819_200];
/** A timer that sees a gap this long has been asleep (the browser froze the tab). */
const SLEEP_GAP_MS = 5000;

const state = {
  ladder: null as Ladder | null,
  vocabSize: 0,
  worker: null as Worker | null,
  ready: false,
  sweep: null as PageSweep | null,
  /** The run training now. */
  current: null as string | null,
  running: false,
  /** Training seconds and FLOPs of finished runs (for the ETA). */
  spent: { seconds: 0, flops: 0 },
  liveTimer: 0,
  lastBeat: Date.now(),
  bench: null as ((m: Extract<FromTrainer, { type: "bench" }>) => void) | null,
  forecast: null as ForecastData | null,
};

// ------------------------------------------------------------------ status

/** The one status line: what is happening, or what went wrong and that finished runs are kept. */
function status(text: string, error = false): void {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

function setState(s: "loading" | "ready" | "training" | "done" | "stopped" | "error"): void {
  document.body.dataset.state = s;
  $<HTMLButtonElement>("start").disabled = !state.ready || s === "training";
  $<HTMLButtonElement>("stop").disabled = s !== "training";
  $<HTMLButtonElement>("export").disabled = !state.sweep || !state.sweep.runs.some((r) => r.status === "done");
}

function kept(): string {
  const n = state.sweep?.runs.filter((r) => r.status === "done").length ?? 0;
  return n > 0 ? `; the ${n} finished run${n > 1 ? "s are" : " is"} kept` : "";
}

// ------------------------------------------------------------------ the trainer

function startTrainer(): void {
  state.worker?.terminate();
  state.ready = false;
  setState("loading");
  const w = new Worker(new URL("./trainer.js", import.meta.url), { type: "module" });
  w.onmessage = (ev: MessageEvent<FromTrainer>) => onTrainer(ev.data);
  w.onerror = (ev) => {
    ev.preventDefault();
    trainerFailed(`the trainer stopped (${ev.message || "the worker crashed"})`);
  };
  state.worker = w;
  const backend = $<HTMLSelectElement>("backend").value as PageBackend;
  send({ type: "init", dataUrl: DATA_URL, backend, threads: Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1)) });
}

function send(m: ToTrainer): void {
  state.worker?.postMessage(m);
}

function trainerFailed(message: string): void {
  const run = current();
  if (run) resetRun(run);
  state.running = false;
  state.current = null;
  status(message + kept(), true);
  setState("error");
  drawTable();
}

function current(): PageRun | undefined {
  return state.sweep?.runs.find((r) => r.id === state.current);
}

function resetRun(run: PageRun): void {
  run.status = "planned";
  run.metrics = [];
  run.config = null;
}

function onTrainer(m: FromTrainer): void {
  state.lastBeat = Date.now();
  switch (m.type) {
    case "ready": {
      state.ready = true;
      state.vocabSize = m.vocabSize;
      const b = m.backend;
      $("engine").textContent = `${b.name}: ${b.detail}${m.isolated ? " · cross-origin isolated" : ""}`;
      // what the trainer notes (no threads, no WebGPU) joins what is already said (restored runs, a lost GPU)
      const said = $("status").textContent ?? "";
      const fresh = m.notes.filter((n) => !said.includes(n));
      if (fresh.length > 0) status([said, ...fresh].filter((t) => t).join("; "), $("status").classList.contains("error"));
      setState(state.running ? "training" : "ready");
      if (params.get("autostart") === "1" && !state.sweep?.runs.some((r) => r.status !== "done")) start();
      return;
    }
    case "start": {
      const run = current();
      if (!run) return;
      run.status = "running";
      run.config = m.config;
      run.metrics = [];
      drawTable();
      return;
    }
    case "progress": {
      const run = current();
      if (!run) return;
      const { steps: _s, totalTokens: _t, etaSec, ...row } = m.event;
      run.metrics.push(row as MetricRecord);
      drawProgress(etaSec);
      scheduleLive();
      return;
    }
    case "done": {
      const run = current();
      if (!run) return;
      run.status = "done";
      run.metrics = m.run.metrics;
      run.endpoints = m.run.endpoints;
      run.summary = m.run.summary;
      run.config = m.run.config;
      state.spent.seconds += run.summary?.elapsed ?? 0;
      state.spent.flops += run.summary?.flops ?? 0;
      state.current = null;
      const problem = saveSweep(localStorage, state.sweep!);
      if (problem) status(problem, true);
      void refresh().then(next);
      return;
    }
    case "stopped": {
      const run = current();
      if (run) resetRun(run);
      state.current = null;
      state.running = false;
      status(`stopped${kept()}; Train continues with the unfinished sizes`);
      setState("stopped");
      drawTable();
      drawProgress(0);
      return;
    }
    case "bench":
      state.bench?.(m);
      state.bench = null;
      return;
    case "error": {
      if (m.kind === "gpu-lost") {
        // the GPU is gone for this page: continue on the CPU when asked
        trainerFailed(`WebGPU device lost: ${m.message}`);
        $<HTMLSelectElement>("backend").value = "wasm";
        startTrainer();
        return;
      }
      if (m.kind === "data" || m.kind === "backend") {
        state.ready = false;
        trainerFailed(m.message);
        return;
      }
      trainerFailed(`training stopped: ${m.message}`);
      return;
    }
  }
}

// ------------------------------------------------------------------ planning and running

function chosenSizes(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>("#sizes input:checked")].map((i) => i.value);
}

function chosenTokens(): number {
  return Number($<HTMLSelectElement>("tokens").value);
}

/** The ladder as the page trains it (a test may shrink the batch with ?batch=). */
function ladder(): Ladder {
  const l = state.ladder!;
  const batch = Number(params.get("batch"));
  return Number.isInteger(batch) && batch > 0 ? { ...l, batchTokens: batch } : l;
}

function start(): void {
  if (!state.ready || state.running) return;
  const sizes = chosenSizes();
  if (sizes.length < 2) {
    status("pick at least two sizes (four give a prediction of the largest from the others)", true);
    return;
  }
  const s = state.sweep;
  // the sweep in the page (stopped, failed, or restored after a reload) continues when it has the chosen budget and
  // only chosen sizes, and some chosen size is not trained yet: its finished runs are kept; else a new sweep
  const D = Math.max(1, Math.round(chosenTokens() / ladder().batchTokens)) * ladder().batchTokens;
  const finished = (size: string) => s?.runs.some((r) => r.size === size && r.status === "done") ?? false;
  const resume = s !== null && s.runs.every((r) => r.D === D && sizes.includes(r.size)) && !sizes.every(finished);
  try {
    const overrides: Partial<TrainConfigInput> = { evalTokens: 4096 };
    const plan = planSweep({ ladder: ladder(), sizes, tokens: chosenTokens(), vocabSize: state.vocabSize, data: "scaling-lab playground: data/", overrides, name: resume ? s.name : undefined });
    if (resume) plan.runs = plan.runs.map((r) => s.runs.find((old) => old.id === r.id && old.status === "done") ?? r);
    else {
      state.spent = { seconds: 0, flops: 0 };
      clearSweep(localStorage);
    }
    state.sweep = plan;
  } catch (e) {
    status((e as Error).message.split("\n")[0], true);
    return;
  }
  state.running = true;
  status("");
  setState("training");
  void refresh().then(next);
}

/** Starts the next unfinished run, or ends the sweep. */
function next(): void {
  if (!state.running || state.current) return;
  const run = state.sweep?.runs.find((r) => r.status !== "done");
  if (!run) {
    state.running = false;
    setState("done");
    drawProgress(0);
    return;
  }
  state.current = run.id;
  run.status = "running";
  send({ type: "train", id: run.id, config: run.input });
  drawTable();
}

function stop(): void {
  send({ type: "stop" });
}

function exportRuns(): void {
  if (!state.sweep) return;
  const blob = new Blob([runBundleText(toBundle(state.sweep))], { type: "application/jsonl" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${state.sweep.name}.jsonl`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function clearRuns(): void {
  if (state.running) stop();
  state.running = false;
  state.sweep = null;
  state.forecast = null;
  clearSweep(localStorage);
  status("");
  setState(state.ready ? "ready" : "loading");
  void refresh();
}

// ------------------------------------------------------------------ progress, ETA, the runs table

function drawProgress(currentEta: number): void {
  const s = state.sweep;
  const box = $("progress");
  if (!s || !state.running) {
    box.hidden = true;
    drawTable();
    return;
  }
  box.hidden = false;
  const run = current();
  const doneFlops = s.runs.filter((r) => r.status === "done").reduce((a, r) => a + r.C, 0) + (run?.metrics.at(-1)?.flops ?? 0);
  const total = s.runs.reduce((a, r) => a + r.C, 0);
  const seconds = state.spent.seconds + (run?.metrics.at(-1)?.elapsed ?? 0);
  const rate = seconds > 0 ? (state.spent.flops + (run?.metrics.at(-1)?.flops ?? 0)) / seconds : 0;
  const later = s.runs.filter((r) => r.status === "planned").reduce((a, r) => a + r.C, 0);
  const eta = currentEta + (rate > 0 ? later / rate : 0);
  $<HTMLProgressElement>("progress-bar").value = total > 0 ? doneFlops / total : 0;
  const idx = run ? s.runs.indexOf(run) + 1 : 0;
  const last = run?.metrics.at(-1);
  $("progress-text").textContent = run && last
    ? `run ${idx}/${s.runs.length} · ${run.size} · step ${last.step} · ${si(last.tokensPerSec)} tokens/s · about ${duration(eta)} left`
    : `run ${idx}/${s.runs.length}`;
  drawTable();
}

function duration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  if (sec < 90) return `${Math.round(sec)} s`;
  return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
}

function drawTable(): void {
  const body = $<HTMLTableElement>("runs").tBodies[0];
  const runs = state.sweep?.runs ?? [];
  body.replaceChildren(
    ...runs.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.run = r.id;
      const last = r.metrics.at(-1);
      const val = r.summary?.finalValLoss ?? [...r.metrics].reverse().find((m) => m.valLoss !== undefined)?.valLoss;
      const cells: [string, string][] = [
        ["l", r.size], [`l status`, r.status], ["", si(r.N)], ["step", last ? String(last.step) : "–"],
        ["train", last ? last.trainLoss.toFixed(4) : "–"], ["val", val !== undefined && val !== null ? val.toFixed(4) : "–"],
        ["", last ? si(last.tokensPerSec) : "–"], ["", last ? `${last.elapsed.toFixed(1)} s` : "–"],
      ];
      for (const [cls, text] of cells) {
        const td = document.createElement("td");
        td.className = cls;
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

// ------------------------------------------------------------------ charts

/** Redraws the live curves at most once a second while a run trains. */
function scheduleLive(): void {
  if (state.liveTimer) return;
  state.liveTimer = window.setTimeout(() => {
    state.liveTimer = 0;
    void live();
  }, 1000);
}

async function live(): Promise<void> {
  if (!state.sweep) return;
  const data = await analyzeSweep(state.sweep, { bootstrap: 0, analysisSettings: pageAnalysisSettings });
  await drawCurves(data);
}

async function drawCurves(data: ReportData): Promise<void> {
  const el = $("chart-curves");
  if (!data.curves.ok) {
    chartNote(el, "The learning curves appear here as soon as the first model trains.");
    $("law").textContent = "";
    return;
  }
  const frontier = data.frontier.ok ? data.frontier.data : null;
  $("law").textContent = frontier
    ? `Compute-efficient frontier: ${powerEquation(frontier.law, "C", "FLOP")} (R² = ${num(frontier.r2, 3)})`
    : data.frontier.ok ? "" : data.frontier.note;
  await renderChart(el, lossComputeSpec(data.curves.data, data.sizes, frontier));
}

/** The analysis settings of the page's sweep: its ladder's, at the sweep's token budget (as the CLI reads a lab's). */
function pageAnalysisSettings(): ReturnType<typeof ladderAnalysisSettings> {
  return ladderAnalysisSettings(ladder(), Math.max(0, ...(state.sweep?.runs.map((r) => r.D) ?? [])));
}

/** The whole analysis (fits, prediction, forecast): when the page opens and whenever a run finishes. */
async function refresh(): Promise<void> {
  drawTable();
  setState(state.running ? "training" : state.sweep?.runs.every((r) => r.status === "done") ? "done" : state.ready ? "ready" : "loading");
  if (!state.sweep) {
    for (const id of ["chart-curves", "chart-prediction", "chart-params"]) chartNote($(id), "Nothing trained yet.");
    $("law").textContent = "";
    $("prediction").textContent = "";
    setupForecast(null);
    return;
  }
  const data = await analyzeSweep(state.sweep, { bootstrap: 100, analysisSettings: pageAnalysisSettings });
  await drawCurves(data);
  const p = data.prediction;
  const predEl = $("prediction");
  if (p.ok) {
    const d = p.data;
    const m = d.main;
    const interval = ` (${Math.round(d.level * 100)}% interval ${num(m.interval[0], 3)}–${num(m.interval[1], 3)})`;
    const from = `from ${d.law} fitted to ${m.fitPoints} endpoints of ${m.fitRuns} smaller runs, ${num(m.extrapolationFactor, 3)}× below its compute`;
    predEl.textContent = m.actual === null
      ? `Predicted before ${d.label} trains: validation loss ${num(m.predicted, 4)}${interval}, ${from}.`
      : `Scored: ${d.label} was predicted at ${num(m.predicted, 4)}${interval} and reached ${num(m.actual, 4)}: error ${m.errorPct! >= 0 ? "+" : ""}${num(m.errorPct!, 2)}%${m.inInterval === null ? "" : m.inInterval ? ", inside the interval" : ", outside the interval"} (${from}).`;
    predEl.dataset.scored = String(m.actual !== null);
    await renderChart($("chart-prediction"), predictionSpec(d));
  } else {
    predEl.textContent = "";
    delete predEl.dataset.scored;
    chartNote($("chart-prediction"), p.note);
  }
  if (data.paramsLaw.ok) await renderChart($("chart-params"), lossParamsSpec(data.paramsLaw.data, data.sizes));
  else chartNote($("chart-params"), data.paramsLaw.note);
  setupForecast(data.forecast.ok ? data.forecast.data : null, data.forecast.ok ? "" : data.forecast.note);
}

function setupForecast(f: ForecastData | null, note = "The forecast extrapolates the frontier once two sizes have trained."): void {
  $("forecast-note").hidden = f !== null;
  $("forecast-note").textContent = note;
  $("forecast-controls").hidden = f === null;
  const first = f !== null && state.forecast === null;
  state.forecast = f;
  if (!f) return;
  if (first) {
    $<HTMLInputElement>("target").value = String(sliderFraction(f.law, f.reference.loss, f.targetLoss));
    $<HTMLInputElement>("halving").value = String(f.halvingMonths);
    $<HTMLInputElement>("budget").value = String(Math.log10(f.budgetUSD));
  }
  updateForecast();
}

let forecastFrame = 0;
/** Recomputes the forecast from the sliders (the report's forecast arithmetic) and redraws its charts. */
function updateForecast(): void {
  const f = state.forecast;
  if (!f) return;
  const frac = Number($<HTMLInputElement>("target").value);
  const halvingMonths = Number($<HTMLInputElement>("halving").value);
  const budgetUSD = Math.pow(10, Number($<HTMLInputElement>("budget").value));
  const targetLoss = sliderTarget(f.law, f.reference.loss, frac);
  $("target-out").textContent = sliderLabel(f.law, f.reference.loss, frac, num);
  $("halving-out").textContent = `${halvingMonths} months`;
  $("budget-out").textContent = usd(budgetUSD);
  const result = labForecast({
    law: f.law, referenceFlops: f.reference.flops, referenceCostUSD: f.reference.costUSD, referenceYear: f.reference.year, targetLoss, budgetUSD, halvingMonths,
  });
  if (isForecastError(result)) {
    $("forecast-text").textContent = `No forecast: ${result.error}`;
    return;
  }
  $("forecast-text").textContent = forecastSentence(result, budgetUSD);
  const g = { ...f, targetLoss, budgetUSD, halvingMonths, result };
  cancelAnimationFrame(forecastFrame);
  forecastFrame = requestAnimationFrame(() => {
    renderChart($("chart-forecast-law"), forecastLawSpec(g)).catch(console.warn);
    renderChart($("chart-forecast-cost"), forecastCostSpec(g)).catch(console.warn);
  });
}

// ------------------------------------------------------------------ a tab put to sleep

/** A timer that fires late by seconds means the browser froze the tab: say so (training continues where it was). */
function watchSleep(): void {
  let last = Date.now();
  setInterval(() => {
    const now = Date.now();
    if (now - last > SLEEP_GAP_MS && state.running) {
      status(`the tab was asleep for ${Math.round((now - last) / 1000)} s (the browser paused it in the background); training went on from where it was${kept()}`);
    }
    last = now;
  }, 1000);
  document.addEventListener("resume", () => {
    if (state.running) status(`the browser froze this tab and resumed it; training went on from where it was${kept()}`);
  });
}

// ------------------------------------------------------------------ setup

function setupControls(l: Ladder): void {
  const chosen = params.get("sizes")?.split(",") ?? l.sizes.slice(0, 4).map((s) => s.name);
  $("sizes").replaceChildren(
    ...l.sizes.map((s) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = s.name;
      box.checked = chosen.includes(s.name);
      const N = 12 * s.nLayer * s.nEmbd * s.nEmbd + 13 * s.nLayer * s.nEmbd + 2 * s.nEmbd;
      label.append(box, ` ${s.name} (${s.nLayer}×${s.nEmbd}, N≈${si(N)})`);
      return label;
    }),
  );
  const asked = Number(params.get("tokens"));
  const budgets = Number.isInteger(asked) && asked > 0 && !BUDGETS.includes(asked) ? [asked, ...BUDGETS] : BUDGETS;
  const batch = ladder().batchTokens;
  $("tokens").replaceChildren(...budgets.map((b) => new Option(`${si(b)} (${Math.round(b / batch)} steps)`, String(b))));
  $<HTMLSelectElement>("tokens").value = String(asked > 0 ? asked : l.tokens && budgets.includes(l.tokens) ? l.tokens : BUDGETS[1]);
  const backend = params.get("backend");
  if (backend === "wasm" || backend === "webgpu" || backend === "auto") $<HTMLSelectElement>("backend").value = backend;
  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("export").addEventListener("click", exportRuns);
  $("clear").addEventListener("click", clearRuns);
  $("backend").addEventListener("change", () => {
    if (!state.running) startTrainer();
  });
  for (const id of ["target", "halving", "budget"]) $(id).addEventListener("input", updateForecast);
}

/** For tests and the bench: the throughput of the page's trainer on a config, and the state. */
const api = {
  state,
  bench(config: TrainConfigInput, steps: number): Promise<Extract<FromTrainer, { type: "bench" }>> {
    return new Promise((resolve) => {
      state.bench = resolve;
      send({ type: "bench", config, steps });
    });
  },
};
(window as unknown as { playground: typeof api }).playground = api;

async function main(): Promise<void> {
  try {
    state.ladder = await fetchLadder(DATA_URL);
  } catch (e) {
    status((e as Error).message, true);
    setState("error");
    return;
  }
  setupControls(state.ladder);
  const saved = loadSweep(localStorage);
  if (saved && saved.runs.length > 0) {
    state.sweep = saved;
    status(`restored ${saved.runs.length} finished run${saved.runs.length > 1 ? "s" : ""} of ${saved.name} saved in this browser`);
  }
  watchSleep();
  startTrainer();
  await refresh();
}

void main();
