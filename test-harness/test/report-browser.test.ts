/**
 * The HTML report in a real browser: the built CLI replays one short trace (barge-in) through the
 * Twilio adapter (under a name that is markup) with `--html`, and headless Chromium (Debian's
 * `chromium`) loads the page. The test asserts what is drawn and saves a screenshot under
 * test/output/report-browser/ (a CI artefact). Without Chromium it skips, except under CI=true,
 * where it fails: CI installs it (.ci/run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/switchboard-conformance.js', import.meta.url));
const trace = fileURLToPath(new URL('../traces/barge-in.jsonl', import.meta.url));
const adapter = fileURLToPath(new URL('./fixtures/hostile-name.mjs', import.meta.url));
const output = fileURLToPath(new URL('./output/report-browser/', import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(executablePath);

/** Chromium's flags for a closed network: no background connections, no sandbox (CI runs as root). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('the HTML report in Chromium', () => {
  it('refuses to skip in CI when Chromium is missing', () => {
    if (process.env.CI === 'true')
      expect(
        haveChromium,
        `${executablePath} is missing: CI must install chromium (see .ci/run), or set CHROMIUM_PATH`,
      ).toBe(true);
  });

  it.skipIf(!haveChromium)(
    'draws the verdicts and the timeline of a replayed call',
    async () => {
      if (!existsSync(join(root, 'dist', 'cli.js')))
        throw new Error('the CLI is not built: run `pnpm build` first (the test command does)');
      await rm(output, { recursive: true, force: true });
      await mkdir(output, { recursive: true });
      const page = join(output, 'report.html');
      const run = spawnSync(
        process.execPath,
        [bin, 'run', '--adapter', adapter, '--trace', trace, '--html', page, '--quiet'],
        { cwd: root, encoding: 'utf8', timeout: 170_000 },
      );
      // A check may fail on a starved machine; the page is written either way.
      expect([0, 1], `${run.stdout}\n${run.stderr}`).toContain(run.status);
      expect((await readFile(page, 'utf8')).length).toBeGreaterThan(10_000);

      const profile = await mkdtemp(join(tmpdir(), 'report-chromium-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1400, height: 900 },
      });
      try {
        const tab = context.pages()[0] ?? (await context.newPage());
        const errors: string[] = [];
        const outside: string[] = [];
        tab.on('pageerror', (error) => errors.push(error.message));
        await tab.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith('file:')) return route.continue();
          outside.push(url);
          return route.abort();
        });
        await tab.goto(pathToFileURL(page).href);

        expect(await tab.locator('h1').textContent()).toBe('Switchboard conformance report');
        // The adapter's name is text, not markup: nothing it held ran or loaded.
        const heading = await tab.locator('section.call h2').textContent();
        expect(heading).toContain('twilio<script>window.__owned = 1</script>');
        expect(heading).toContain('barge-in');
        expect(await tab.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
        expect(await tab.locator('section.call script, section.call img').count()).toBe(0);

        // The verdict table: a row per check, with a verdict.
        const rows = tab.locator('table.verdicts tbody tr');
        expect(await rows.count()).toBeGreaterThanOrEqual(10);
        expect(await tab.locator('table.verdicts tr[data-check="bargein.clear"] td.status').textContent()).toMatch(
          /^(pass|FAIL)$/,
        );

        // The timeline: its lanes, both voices drawn, the call's moments labelled.
        const svg = tab.locator('svg.timeline');
        expect(await svg.count()).toBe(1);
        expect(await svg.locator('.lane-title').allTextContents()).toEqual([
          'failed checks',
          'caller',
          'model',
          'agent (heard)',
          'carrier',
          'bridge',
        ]);
        for (const track of ['caller', 'agent']) {
          const wave = svg.locator(`path.wave.${track}`);
          expect(Number(await wave.getAttribute('data-columns')), track).toBeGreaterThan(50);
          const box = await wave.boundingBox();
          expect(box!.width, track).toBeGreaterThan(100);
          expect(box!.height, track).toBeGreaterThan(20);
        }
        const labels = await svg.locator('.marker text').allTextContents();
        for (const label of ['start', 'call_start', 'speech started', 'speech stopped'])
          expect(labels).toContain(label);
        expect(await svg.locator('[data-kind="turn"]').count()).toBeGreaterThanOrEqual(2);
        expect(Number(await svg.locator('path.ticks.mark').getAttribute('data-count'))).toBeGreaterThan(10);
        // The barge-in: the clear on the timeline, or the failed check flagged there.
        expect(
          (await svg.locator('[data-kind="clear"]').count()) + (await svg.locator('.failure').count()),
        ).toBeGreaterThan(0);
        expect((await svg.locator('.axis text').allTextContents()).length).toBeGreaterThan(4);

        await tab.screenshot({ path: join(output, 'report.png'), fullPage: true });
        expect(existsSync(join(output, 'report.png'))).toBe(true);
        expect(errors).toEqual([]);
        expect(outside).toEqual([]);
      } finally {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
