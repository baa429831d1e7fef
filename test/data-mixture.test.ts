/**
 * Mixtures: epoch accounting (GPT-3's own table), weight parsing and normalisation, token-count parsing, and the
 * batch loader sampling sources in proportion to their weights, deterministically from the seed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { DataError, Dataset, mixtureEpochs, normalizeWeights, parseTokenCount, parseWeights, prepareDataset, uniform } from "../src/data/index.js";

const dir = mkdtempSync(join(tmpdir(), "data-mixture-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("epoch accounting", () => {
  test("reproduces GPT-3: Common Crawl (60% of the mix, 410B tokens) is seen 0.44 times in 300B tokens", () => {
    // Brown et al. 2020, Table 2.2. The other datasets share the remaining 40% (19 + 12 + 55 + 3 = 89B tokens).
    const report = mixtureEpochs(
      [
        { name: "Common Crawl (filtered)", tokens: 410e9, weight: 0.6 },
        { name: "WebText2, Books1, Books2, Wikipedia", tokens: 89e9, weight: 0.4 },
      ],
      300e9,
    );
    assert.equal(report[0].epochs.toFixed(2), "0.44");
    assert.equal(report[0].sampledTokens, 180e9);
    assert.ok(Math.abs(report[1].epochs - 120 / 89) < 1e-12);
  });

  test("epochs = weight · D / tokens, with natural weights giving every source the same epochs", () => {
    const r = mixtureEpochs(
      [
        { name: "a", tokens: 1000, weight: 3 },
        { name: "b", tokens: 4000, weight: 1 },
      ],
      8000,
    );
    assert.deepEqual(
      r.map((x) => [x.weight, x.sampledTokens, x.epochs]),
      [
        [0.75, 6000, 6],
        [0.25, 2000, 0.5],
      ],
    );
    const natural = normalizeWeights(undefined, [1000, 3000]);
    assert.deepEqual(natural, [0.25, 0.75]);
    const eq = mixtureEpochs(
      [
        { name: "a", tokens: 1000, weight: natural[0] },
        { name: "b", tokens: 3000, weight: natural[1] },
      ],
      2000,
    );
    assert.equal(eq[0].epochs, eq[1].epochs);
    assert.equal(mixtureEpochs([{ name: "empty", tokens: 0, weight: 1 }], 10)[0].epochs, Infinity);
  });

  test("weights and token counts parse, bad ones are DataErrors naming the fix", () => {
    assert.deepEqual(parseWeights("3,1", 2), [0.75, 0.25]);
    assert.throws(() => parseWeights("1,x", 2), /--weights "1,x" must be comma-separated numbers/);
    assert.throws(() => parseWeights("1", 2), /1 values for 2 sources/);
    assert.throws(() => parseWeights("0,0", 2), /sum to 0/);
    assert.throws(() => normalizeWeights([-1, 2], [1, 1]), DataError);
    assert.equal(parseTokenCount("2.5M"), 2_500_000);
    assert.equal(parseTokenCount("300B"), 300e9);
    assert.equal(parseTokenCount("10k"), 10_000);
    assert.equal(parseTokenCount("1234"), 1234);
    assert.throws(() => parseTokenCount("lots"), /not a token count/);
  });
});

describe("weighted sampling", () => {
  test("the loader draws rows from each source in proportion to its weight", async () => {
    // Source A holds only "a…", source B only "b…": each row's tokens tell which source it came from.
    writeFileSync(join(dir, "a.jsonl"), Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: "a".repeat(200 + i) })).join("\n"));
    writeFileSync(join(dir, "b.jsonl"), Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: "b".repeat(2000 + i) })).join("\n"));
    await prepareDataset({ sources: "a.jsonl,b.jsonl", weights: [0.8, 0.2], tokenizer: "bytes", outDir: join(dir, "mix"), cwd: dir, valFraction: 0.1 });
    const data = Dataset.open(join(dir, "mix"));
    // Source B has ~10× the tokens, yet must be sampled only 20% of the time.
    assert.ok(data.manifest.sources[1].tokens.train > 8 * data.manifest.sources[0].tokens.train);
    const loader = data.loader({ split: "train", batchSize: 50, blockSize: 8, seed: 9 });
    const a = "a".charCodeAt(0);
    let fromA = 0;
    let rows = 0;
    for (let step = 0; step < 80; step++) {
      const { inputs } = loader.next();
      for (let r = 0; r < 50; r++) {
        const row = inputs.subarray(r * 8, r * 8 + 8);
        if (row.some((x) => x === a)) fromA++;
        rows++;
      }
    }
    assert.ok(Math.abs(fromA / rows - 0.8) < 0.03, `share from A ${fromA / rows}`);
    // Overriding the weights at load time changes the mix.
    const flipped = data.loader({ split: "train", batchSize: 2000, blockSize: 8, seed: 9, weights: [0, 1] }).batch(0);
    assert.ok(!flipped.inputs.includes(a));
    const report = data.epochs(1e6);
    assert.ok(Math.abs(report[0].epochs - (0.8 * 1e6) / data.manifest.sources[0].tokens.train) < 1e-9);
  });

  test("the counter-based generator is uniform and depends on every coordinate", () => {
    const n = 20000;
    const bins = new Array(10).fill(0);
    for (let i = 0; i < n; i++) bins[Math.floor(uniform(1, i, 0, 0) * 10)]++;
    for (const b of bins) assert.ok(Math.abs(b - n / 10) < 0.05 * (n / 10), `bins ${bins}`);
    const base = uniform(1, 2, 3, 0);
    for (const other of [uniform(2, 2, 3, 0), uniform(1, 3, 3, 0), uniform(1, 2, 4, 0), uniform(1, 2, 3, 1), uniform(1, 2 + 2 ** 32, 3, 0)]) {
      assert.notEqual(other, base);
    }
  });
});
