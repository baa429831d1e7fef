/**
 * The registry of CLI commands. Each command lives in its own file in this folder; add one import and one
 * entry below to register a new command.
 */
import type { Command } from "./command.js";
import { flopsCommand } from "./flops.js";
import { fitCommand } from "./fit.js";
import { forecastCommand } from "./forecast.js";
import { trainCommand } from "./train.js";
import { sampleCommand } from "./sample.js";
import { scoreCommand } from "./score.js";
import { sweepCommand } from "./sweep.js";
import { predictCommand } from "./predict.js";
import { demoCommand } from "./demo.js";
import { prepareCommand } from "./prepare.js";
import { runsCommand } from "./runs.js";
import { evalCommand } from "./eval.js";
import { contaminationCommand } from "./contamination.js";
import { workerCommand } from "./worker.js";
import { reportCommand } from "./report.js";
import { serveCommand } from "./serve.js";
import { importCommand } from "./import.js";
import { exportCommand } from "./export.js";
import { playgroundCommand } from "./playground.js";

/** All commands, in the order `scaling-lab --help` lists them. */
export const commands: Command[] = [demoCommand, prepareCommand, trainCommand, sampleCommand, scoreCommand, sweepCommand, flopsCommand, fitCommand, predictCommand, forecastCommand, runsCommand, importCommand, exportCommand, evalCommand, contaminationCommand, workerCommand, reportCommand, serveCommand, playgroundCommand];
