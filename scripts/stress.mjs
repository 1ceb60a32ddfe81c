#!/usr/bin/env node
// The conformance matrix (every adapter × every trace) on a starved machine: one CPU hog per core
// spins for the whole run, at the tests' own priority unless told otherwise, and, with --stall-ms,
// one of the test processes is stopped now and then (SIGSTOP ... SIGCONT) to freeze its event loop
// the way a page fault storm, a long GC or a noisy neighbour does. Then one summary: how many
// adapter × trace runs, how many replays the timing checks needed, what failed and how long it took.
// Exits 1 when a check failed (2 on a usage error).
//
//   pnpm test:stress [--hogs N] [--nice N] [--stall-ms MS] [--stall-every MS] [--repeat N]
//                    [--adapter a,b] [--trace x,y] [--turn-detection all|rotate|MODE] [--file path]
//                    [--max-workers N] [--keep-report]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { availableParallelism, cpus, setPriority, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const usage = `usage: pnpm test:stress [options]
  --hogs N          CPU hogs (default: one per core, ${cpus().length})
  --nice N          niceness of the hogs, -20..19 (default 0: the tests' own priority)
  --stall-ms MS     also freeze a random test process for up to MS ms at a time (default 0: off)
  --stall-every MS  mean time between freezes (default 3000)
  --repeat N        run the matrix N times (default 1)
  --adapter a,b     only these adapters (conformance adapter names, e.g. vonage,websocket/generic)
  --trace x,y       only these traces (e.g. uneven-deltas,timestamp-gap)
  --turn-detection S the replays' turn detection: rotate (default: one mode per trace), all
                    (every trace in every mode, three times the replays), or one of
                    server_vad, server_vad_interrupt, semantic_vad
  --file path       only this conformance test file (repeatable)
  --max-workers N   vitest workers (default: vitest's)
  --keep-report     keep the per-trace report (JSON lines) and print its path`;

function parseArgs(argv) {
  const options = {
    hogs: cpus().length,
    nice: 0,
    stallMs: 0,
    stallEvery: 3000,
    repeat: 1,
    adapters: '',
    traces: '',
    turnDetection: '',
    files: [],
    maxWorkers: undefined,
    keep: false,
  };
  const int = (name, value, min, max) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      fail(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--hogs':
        options.hogs = int(arg, value(), 0, 256);
        break;
      case '--nice':
        options.nice = int(arg, value(), -20, 19);
        break;
      case '--stall-ms':
        options.stallMs = int(arg, value(), 0, 60_000);
        break;
      case '--stall-every':
        options.stallEvery = int(arg, value(), 10, 600_000);
        break;
      case '--repeat':
        options.repeat = int(arg, value(), 1, 1000);
        break;
      case '--adapter':
        options.adapters = value();
        break;
      case '--trace':
        options.traces = value();
        break;
      case '--turn-detection': {
        const v = value();
        if (!['rotate', 'all', 'server_vad', 'server_vad_interrupt', 'semantic_vad'].includes(v))
          fail(`--turn-detection must be rotate, all, server_vad, server_vad_interrupt or semantic_vad, got ${v}`);
        options.turnDetection = v;
        break;
      }
      case '--file':
        options.files.push(value());
        break;
      case '--max-workers':
        options.maxWorkers = int(arg, value(), 1, 256);
        break;
      case '--keep-report':
        options.keep = true;
        break;
      case '--':
        break;
      case '-h':
      case '--help':
        console.log(usage);
        process.exit(0);
        break;
      default:
        fail(`unknown option ${arg}`);
    }
  }
  return options;
}

function fail(message) {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}

/** The test files that run a conformance suite: the packages' and the harness's own. */
function conformanceFiles() {
  const dirs = [join(root, 'test-harness', 'test')];
  for (const pkg of readdirSync(join(root, 'packages'))) dirs.push(join(root, 'packages', pkg, 'test'));
  const files = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.test.ts')) continue;
      const text = readFileSync(join(dir, name), 'utf8');
      if (/\b(describeConformance|runConformance)\(/.test(text)) files.push(relative(root, join(dir, name)));
    }
  }
  return files.sort();
}

// ---------------------------------------------------------------------------------------------
// Load

/** One busy child per hog; each spins until killed. */
function startHogs(count, nice) {
  const hogs = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(
      process.execPath,
      ['-e', 'let x = 0; for (;;) { x = (x * 1103515245 + 12345) % 2147483648; }'],
      { stdio: 'ignore' },
    );
    if (nice !== 0 && child.pid !== undefined) {
      try {
        setPriority(child.pid, nice);
      } catch (error) {
        console.warn(`stress: could not renice hog ${child.pid}: ${error.message}`);
      }
    }
    hogs.push(child);
  }
  return hogs;
}

/** Every live descendant of `pid` (Linux /proc), the process itself excluded. */
function descendants(pid) {
  let entries;
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const parent = new Map();
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
    } catch {
      // Gone in the meantime.
    }
  }
  const found = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const p = frontier.pop();
    for (const [child, ppid] of parent) {
      if (ppid === p) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/**
 * Now and then freezes one random process of the test run for up to `maxMs` (SIGSTOP, then
 * SIGCONT): its event loop stalls as a whole, timers and sockets alike.
 */
function startStalls(testPid, maxMs, everyMs, stats) {
  let stopped;
  let timer;
  let ended = false;
  const schedule = () => {
    if (ended) return;
    timer = setTimeout(freeze, everyMs * (0.5 + Math.random()));
  };
  const freeze = () => {
    const pids = descendants(testPid);
    if (pids.length === 0) return schedule();
    const pid = pids[Math.floor(Math.random() * pids.length)];
    const ms = Math.round(maxMs * (0.25 + 0.75 * Math.random()));
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      return schedule();
    }
    stopped = pid;
    stats.count++;
    stats.totalMs += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
    timer = setTimeout(() => {
      resume();
      schedule();
    }, ms);
  };
  const resume = () => {
    if (stopped === undefined) return;
    try {
      process.kill(stopped, 'SIGCONT');
    } catch {
      // It ended while frozen.
    }
    stopped = undefined;
  };
  schedule();
  return () => {
    ended = true;
    clearTimeout(timer);
    resume();
  };
}

// ---------------------------------------------------------------------------------------------
// Run

function runVitest(files, env, maxWorkers, onStart) {
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'run', ...files, '--reporter=dot', ...(maxWorkers ? [`--maxWorkers=${maxWorkers}`] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    onStart(child);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function readReport(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line));
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function summarize(lines, context) {
  const out = [];
  const failed = lines.filter((l) => l.failed.length > 0);
  const retried = lines.filter((l) => l.replays > 1);
  const extraReplays = lines.reduce((n, l) => n + l.replays - 1, 0);
  const adapters = new Set(lines.map((l) => l.adapter));
  const traces = new Set(lines.map((l) => l.trace));
  out.push('');
  out.push('── stress summary ──');
  out.push(
    `load: ${context.hogs} CPU hog(s) at nice ${context.nice} on ${availableParallelism()} core(s)` +
      (context.stalls.count > 0
        ? `; ${context.stalls.count} freezes of a test process, ${seconds(context.stalls.totalMs)} in all, longest ${context.stalls.maxMs} ms`
        : ''),
  );
  out.push(
    `matrix: ${lines.length} adapter × trace × turn-detection run(s) (${adapters.size} adapter(s) × ${traces.size} trace(s)${context.repeat > 1 ? `, ${context.repeat} rounds` : ''}) in ${seconds(context.wallMs)}`,
  );
  out.push(
    `replays: ${lines.reduce((n, l) => n + l.replays, 0)} in all; ${extraReplays} extra replay(s) of timing checks on ${retried.length} run(s)`,
  );
  const byMode = new Map();
  for (const l of lines) byMode.set(l.turnDetection ?? '?', (byMode.get(l.turnDetection ?? '?') ?? 0) + 1);
  out.push(
    `turn detection: ${[...byMode]
      .sort()
      .map(([mode, n]) => `${mode} ${n} run(s)`)
      .join(', ')}`,
  );
  const byAdapter = new Map();
  for (const l of lines) byAdapter.set(l.adapter, (byAdapter.get(l.adapter) ?? 0) + l.wallMs);
  out.push(
    `replay time per adapter: ${[...byAdapter]
      .sort((a, b) => b[1] - a[1])
      .map(([a, ms]) => `${a} ${seconds(ms)}`)
      .join(', ')}`,
  );
  const slowest = [...lines].sort((a, b) => b.wallMs - a.wallMs).slice(0, 3);
  out.push(
    `slowest runs: ${slowest.map((l) => `${l.adapter}/${l.trace} [${l.turnDetection}] ${seconds(l.wallMs)} (${seconds(l.streamMs)} of stream)`).join(', ')}`,
  );
  if (retried.length > 0) {
    out.push('retried (timing checks; the last replay stands):');
    for (const l of retried) {
      const first = l.earlier.map((e) => `replay ${e.replay}: ${e.failed.map((f) => f.id).join(', ')}`).join('; ');
      out.push(
        `  ${l.adapter} / ${l.trace} [${l.turnDetection}]: ${l.replays} replays, ${l.failed.length === 0 ? 'passed' : 'FAILED'} (${first})`,
      );
    }
  }
  if (failed.length > 0) {
    out.push(`${failed.length} failed run(s):`);
    for (const l of failed)
      for (const f of l.failed) out.push(`  ${l.adapter} / ${l.trace} [${l.turnDetection}] / ${f.id}: ${f.detail}`);
  }
  out.push(
    context.vitestCode === 0 && failed.length === 0
      ? 'stress: every check passed'
      : `stress: FAILED (vitest exit ${context.vitestCode}, ${failed.length} failed run(s))`,
  );
  return out.join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const files = options.files.length > 0 ? options.files : conformanceFiles();
  if (files.length === 0) fail('no conformance test files found');
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-stress-'));
  const reportFile = join(dir, 'traces.jsonl');
  const env = {
    SWITCHBOARD_CONFORMANCE_REPORT: reportFile,
    ...(options.adapters ? { SWITCHBOARD_CONFORMANCE_ADAPTERS: options.adapters } : {}),
    ...(options.traces ? { SWITCHBOARD_CONFORMANCE_TRACES: options.traces } : {}),
    ...(options.turnDetection ? { SWITCHBOARD_CONFORMANCE_TURN_DETECTION: options.turnDetection } : {}),
  };
  console.log(`stress: ${files.length} conformance file(s): ${files.join(' ')}`);
  console.log(
    `stress: ${options.hogs} CPU hog(s) at nice ${options.nice}${options.stallMs > 0 ? `, freezes of up to ${options.stallMs} ms about every ${options.stallEvery} ms` : ''}`,
  );

  const stalls = { count: 0, totalMs: 0, maxMs: 0 };
  const hogs = startHogs(options.hogs, options.nice);
  let test;
  let stopStalls = () => undefined;
  const cleanup = () => {
    stopStalls();
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  const onSignal = (signal) => {
    cleanup();
    if (test && test.exitCode === null) test.kill(signal);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = performance.now();
  let vitestCode = 0;
  try {
    for (let round = 1; round <= options.repeat; round++) {
      if (options.repeat > 1) console.log(`\nstress: round ${round} of ${options.repeat}`);
      const code = await runVitest(files, env, options.maxWorkers, (child) => {
        test = child;
        if (options.stallMs > 0 && child.pid !== undefined)
          stopStalls = startStalls(child.pid, options.stallMs, options.stallEvery, stalls);
      });
      stopStalls();
      if (code !== 0) vitestCode = code;
    }
  } finally {
    cleanup();
  }
  const wallMs = performance.now() - started;
  const lines = readReport(reportFile);
  console.log(summarize(lines, { ...options, stalls, wallMs, vitestCode }));
  if (options.keep) console.log(`report: ${reportFile}`);
  else rmSync(dir, { recursive: true, force: true });
  const failedRuns = lines.filter((l) => l.failed.length > 0).length;
  process.exit(vitestCode === 0 && failedRuns === 0 && lines.length > 0 ? 0 : 1);
}

await main();
