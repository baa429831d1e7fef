/**
 * Published scaling data built in, with sources (presets/published/README.md): Epoch AI's digitised Chinchilla
 * runs, the GPT-3 family, and the fitted laws of Kaplan et al. (2020), GPT-3 (2020) and Hoffmann et al. (2022).
 */
export { DATASETS, type PublishedDataset, chinchillaCsvPath, datasetPoints, datasetRuns, findDataset } from "./datasets.js";
export { type LawVariable, type PublishedLaw, findLaw, lawConstants, lawLoss, publishedLaws } from "./laws.js";
