// The dashboard page: plain JavaScript, no build step. It listens to the server's event stream (a "lab" event
// whenever a run moves), fetches new metric rows of the runs that moved, redraws the live loss curves, reloads the
// fits when a run finishes, and recomputes the forecast in the page when a slider moves. The chart specs and the
// forecast arithmetic are the report's own modules (src/report/specs.ts, forecast-math.ts, view.ts), served from /js/.
import { forecastCostSpec, forecastLawSpec, lossComputeSpec, reportCharts } from "/js/specs.js";
import { isForecastError, labForecast, sliderFraction, sliderLabel, sliderTarget } from "/js/forecast-math.js";
import { forecastSentence, num, si, usd } from "/js/format.js";
import { chartNote, renderChart } from "/js/view.js";

const $ = (id) => document.getElementById(id);

const state = {
  sweep: null,
  snapshot: null,
  /** run id → metric rows, in step order */
  rows: new Map(),
  fetching: new Set(),
  reportKey: null,
  forecast: null,
  forecastSweep: null,
};

/** Fetches JSON; throws the server's one-line error. */
async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

const libs = { vega: globalThis.vega, vegaLite: globalThis.vegaLite };
const render = (el, spec) => renderChart(libs, el, spec);
const note = chartNote;

/** Runs of the selected sweep (stand-alone runs when the lab has no sweeps). */
function sweepRuns() {
  const snap = state.snapshot;
  if (!snap) return [];
  return snap.runs.filter((r) => r.sweep === state.sweep);
}

// ------------------------------------------------------------------ event stream

function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => setLive(true));
  es.addEventListener("error", () => setLive(false));
  es.addEventListener("lab", (ev) => onSnapshot(JSON.parse(ev.data)));
}

function setLive(on) {
  const el = $("live");
  el.textContent = on ? "live" : "reconnecting…";
  el.classList.toggle("off", !on);
}

function onSnapshot(snap) {
  state.snapshot = snap;
  $("lab").textContent = snap.dir;
  const select = $("sweep");
  const names = snap.sweeps;
  if (select.options.length !== names.length || names.some((n, i) => select.options[i].value !== n)) {
    select.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  if (state.sweep === null || !names.includes(state.sweep)) {
    const asked = new URLSearchParams(location.search).get("sweep");
    state.sweep = names.includes(asked) ? asked : names.length ? names[names.length - 1] : null;
  }
  if (state.sweep !== null) select.value = state.sweep;
  refresh();
}

function refresh() {
  const runs = sweepRuns();
  drawTable(runs);
  drawSampleRuns(runs);
  for (const r of runs) syncMetrics(r);
  scheduleLive();
  const key = JSON.stringify([state.sweep, runs.map((r) => [r.id, r.status, r.finalValLoss])]);
  if (key !== state.reportKey) {
    state.reportKey = key;
    loadReport();
  }
}

// ------------------------------------------------------------------ runs table

function drawTable(runs) {
  const body = $("runs").tBodies[0];
  const notes = $("runs-note");
  if (!state.snapshot.exists || runs.length === 0) {
    notes.hidden = false;
    notes.textContent = state.snapshot.exists
      ? "No runs in this sweep yet: this page updates as soon as the sweep logs its first step."
      : `No lab database in ${state.snapshot.dir} yet: start a sweep there (scaling-lab sweep --lab ...); this page updates live.`;
  } else {
    notes.hidden = true;
  }
  const cells = (r) => [
    ["l", r.id], ["l", r.size], [`l status status-${r.status}`, r.status],
    ["step", r.lastStep ?? "–"], ["train", r.lastTrainLoss !== null ? r.lastTrainLoss.toFixed(4) : "–"],
    ["val", r.finalValLoss !== null ? r.finalValLoss.toFixed(4) : "–"], ["", si(r.N)],
    ["", si(r.tokensDone || 0)], ["", si(r.flopsDone || 0)],
    ["", r.wallSeconds !== null ? `${Math.round(r.wallSeconds)} s` : "–"],
  ];
  body.replaceChildren(...runs.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.run = r.id;
    for (const [cls, text] of cells(r)) {
      const td = document.createElement("td");
      if (cls) td.className = cls;
      td.textContent = String(text);
      tr.append(td);
    }
    return tr;
  }));
}

// ------------------------------------------------------------------ live curves

/** Fetches the rows a run logged since the last we have (all of them after a resume truncated the run). */
async function syncMetrics(run) {
  const have = state.rows.get(run.id) ?? [];
  const last = have.length ? have[have.length - 1].step : -1;
  if (run.lastStep === null || run.lastStep === last || state.fetching.has(run.id)) return;
  state.fetching.add(run.id);
  try {
    const after = run.lastStep < last ? -1 : last;
    const { rows } = await getJson(`/api/metrics?run=${encodeURIComponent(run.id)}&after=${after}`);
    state.rows.set(run.id, after === -1 ? rows : have.concat(rows));
    scheduleLive();
  } catch (e) {
    console.warn(e);
  } finally {
    state.fetching.delete(run.id);
  }
}

let liveTimer = null;
function scheduleLive() {
  if (liveTimer) return;
  liveTimer = setTimeout(() => {
    liveTimer = null;
    drawLive().catch((e) => note($("chart-live"), String(e.message || e)));
  }, 250);
}

/** At most `max` rows of a curve, evenly strided, the last one kept. */
function thin(rows, max) {
  if (rows.length <= max) return rows;
  const stride = rows.length / max;
  const out = [];
  for (let i = 0; i < max; i++) out.push(rows[Math.floor(i * stride)]);
  out.push(rows[rows.length - 1]);
  return out;
}

async function drawLive() {
  const runs = sweepRuns();
  const points = [];
  for (const r of runs) {
    for (const m of thin(state.rows.get(r.id) ?? [], 400)) {
      if (m.trainLoss > 0 && m.flops > 0) points.push({ run: r.id, label: r.label, step: m.step, C: m.flops, loss: m.trainLoss });
    }
  }
  const el = $("chart-live");
  if (points.length === 0) return note(el, "No logged steps yet: the curves appear once training starts.");
  const sizes = [...new Map(runs.map((r) => [r.label, r.N])).entries()].map(([label, N]) => ({ label, N })).sort((a, b) => a.N - b.N);
  await render(el, lossComputeSpec({ loss: "train", points }, sizes, null, "Training loss vs compute (live)"));
}

// ------------------------------------------------------------------ fits

async function loadReport() {
  const fits = $("fits");
  if (!state.snapshot?.exists) return note(fits, "No lab database yet.");
  const sweep = state.sweep;
  let data;
  try {
    data = await getJson(`/api/report${sweep ? `?sweep=${encodeURIComponent(sweep)}` : ""}`);
  } catch (e) {
    return note(fits, `The fits could not be computed: ${e.message}`);
  }
  if (sweep !== state.sweep) return;
  const charts = reportCharts(data).filter((c) => !c.name.startsWith("forecast-"));
  const figures = [];
  const jobs = [];
  for (const c of charts) {
    const fig = document.createElement("figure");
    fig.id = `fit-${c.name}`;
    const div = document.createElement("div");
    div.className = "chart";
    if (c.spec) {
      fig.append(div); // the chart carries its own title
      jobs.push(render(div, c.spec));
    } else {
      const h = document.createElement("h3");
      h.textContent = c.title;
      fig.append(h, div);
      note(div, c.note);
    }
    figures.push(fig);
  }
  fits.replaceChildren(...figures);
  await Promise.all(jobs);
  setupForecast(data);
}

// ------------------------------------------------------------------ forecast

function setupForecast(data) {
  const noteEl = $("forecast-note");
  const controls = $("forecast-controls");
  if (!data.forecast.ok) {
    noteEl.hidden = false;
    noteEl.textContent = data.forecast.note;
    controls.hidden = true;
    state.forecast = null;
    return;
  }
  const f = data.forecast.data;
  noteEl.hidden = true;
  controls.hidden = false;
  if (state.forecastSweep !== data.sweep) {
    // first forecast of this sweep: the sliders start from the report's assumptions
    state.forecastSweep = data.sweep;
    $("target").value = String(sliderFraction(f.law, f.reference.loss, f.targetLoss));
    $("halving").value = String(f.halvingMonths);
    $("budget").value = String(Math.log10(f.budgetUSD));
  }
  state.forecast = f;
  updateForecast();
}

let forecastFrame = 0;
function updateForecast() {
  const f = state.forecast;
  if (!f) return;
  const frac = Number($("target").value);
  const halvingMonths = Number($("halving").value);
  const budgetUSD = Math.pow(10, Number($("budget").value));
  const targetLoss = sliderTarget(f.law, f.reference.loss, frac);
  $("target-out").textContent = sliderLabel(f.law, f.reference.loss, frac, num);
  $("halving-out").textContent = `${halvingMonths} months`;
  $("budget-out").textContent = usd(budgetUSD);
  const result = labForecast({
    law: f.law, referenceFlops: f.reference.flops, referenceCostUSD: f.reference.costUSD, referenceYear: f.reference.year,
    targetLoss, budgetUSD, halvingMonths,
  });
  const text = $("forecast-text");
  if (isForecastError(result)) {
    text.textContent = `No forecast: ${result.error}`;
    return;
  }
  text.textContent = forecastSentence(result, budgetUSD);
  const g = { ...f, targetLoss, budgetUSD, halvingMonths, result };
  cancelAnimationFrame(forecastFrame);
  forecastFrame = requestAnimationFrame(() => {
    render($("chart-forecast-law"), forecastLawSpec(g)).catch(console.warn);
    render($("chart-forecast-cost"), forecastCostSpec(g)).catch(console.warn);
  });
}

// ------------------------------------------------------------------ samples

function drawSampleRuns(runs) {
  const select = $("sample-run");
  const ready = runs.filter((r) => r.hasCheckpoint);
  const ids = ready.map((r) => r.id);
  if (select.options.length === ids.length && ids.every((id, i) => select.options[i].value === id)) return;
  const keep = select.value;
  select.replaceChildren(...ready.map((r) => new Option(`${r.size} (${r.id})`, r.id)));
  if (ids.includes(keep)) select.value = keep;
  $("sample-go").disabled = ready.length === 0;
}

async function onSample(ev) {
  ev.preventDefault();
  const out = $("sample-output");
  const run = $("sample-run").value;
  if (!run) {
    out.textContent = "No run of this sweep has a checkpoint yet.";
    return;
  }
  const q = new URLSearchParams({
    run, prompt: $("sample-prompt").value, "max-tokens": $("sample-tokens").value, temperature: $("sample-temp").value, seed: "0",
  });
  out.textContent = "generating…";
  try {
    const r = await getJson(`/api/sample?${q}`);
    const b = document.createElement("b");
    b.textContent = r.prompt;
    out.replaceChildren(b, document.createTextNode(r.text));
    out.dataset.run = r.run;
  } catch (e) {
    out.textContent = `No sample: ${e.message}`;
  }
}

// ------------------------------------------------------------------ wiring

$("sweep").addEventListener("change", () => {
  state.sweep = $("sweep").value;
  refresh();
});
for (const id of ["target", "halving", "budget"]) $(id).addEventListener("input", updateForecast);
$("sample-form").addEventListener("submit", onSample);
connect();
