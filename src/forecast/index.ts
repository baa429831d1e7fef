/**
 * scaling-lab's forecast library: from a loss law to the compute multiple, cost, year within budget and
 * data needed for a target loss, with Monte-Carlo uncertainty.
 */
export { type ComputeLaw, type LawWithSamples, chinchillaComputeLaw, gpt3FrontierLaw, lawFromFitJson, powerComputeLaw } from "./law.js";
export { type ForecastAssumptions, type ForecastResult, forecast } from "./forecast.js";
export { type Summary, type UncertaintyOptions, type UncertaintyResult, monteCarlo } from "./montecarlo.js";
export { type Assumption, DEFAULTS } from "./defaults.js";
export { type ForecastReport, type ForecastRequest, runForecast } from "./run.js";
