// The path from this repository to a user's node_modules, under test: every published package
// packed as `pnpm publish` packs it, the tarballs installed with npm into a new project next to
// the public `@openai/agents` from the registry, then used as a user would use them: every entry
// point imported from ESM and required from CommonJS; the declarations of every entry point and a
// file using every package type-checked under `nodenext` with `skipLibCheck: false` (every
// declaration file shipped is checked; third-party ones are not ours, and are left out) and the
// file under `bundler` (the same declarations, resolved as a bundler does: the use compiles; the
// declarations are not checked a second time, and attw checks the bundler resolutions in the
// package checks); and a real call through `RealtimeSession` against the realtime simulator, for
// Twilio and for the Asterisk preset.
//
// Cost, on a 2-core machine: packing 4-8 s (under the test command, which packs once for every
// check that needs the tarballs, none); one `npm install` (registry metadata and tarballs
// from npm's cache where it has them) 5-15 s; then side by side, the two calls (3-8 s each), the
// imports (4-20 s) and the two type checks, about 8 and 5 s of CPU (checking the declarations of
// the Agents SDK, zod and Node too took another 15). The whole file: 30 s on a quiet machine,
// about a minute beside a test run, up to 3 on a crowded one. The packing, the install, the
// imports and the type checks run at a lower CPU priority, so that replays beside them keep their
// clocks.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packArgs, packedTarballs, pnpmCommand, tarballName } from '../../scripts/pack.mjs';
import { checkTarball } from '../../scripts/release-checks.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const helpers = fileURLToPath(new URL('./pack-install/', import.meta.url));
const registry = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

type Manifest = {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
};
const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The published packages of the workspace (packages/* and test-harness), by directory. */
function publishedPackages(): Array<{ dir: string; manifest: Manifest }> {
  const dirs = [
    ...readdirSync(join(repo, 'packages')).map((d) => join(repo, 'packages', d)),
    join(repo, 'test-harness'),
  ];
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson<Manifest>(join(dir, 'package.json')) }))
    .filter((p) => !p.manifest.private);
}

type Run = { code: number; stdout: string; stderr: string; ms: number };

/**
 * Runs a command without a shell and resolves with its exit code and output (never rejects).
 * `nice` lowers its CPU priority (and that of what it starts), as the test command's background
 * steps do: the suite's replays beside it keep their clocks.
 */
function run(command: string, args: string[], cwd: string, options: { timeout?: number; nice?: boolean } = {}) {
  // `pnpm test` leaves its own package's settings in the environment (npm_config_*, npm_package_*);
  // the temp project is not part of the workspace. The registry, cache and proxy settings stay.
  const keep = /^npm_config_(registry|cache|userconfig|proxy|https_proxy|noproxy|strict_ssl|cafile)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.test(k)));
  env.npm_config_update_notifier = 'false';
  const started = performance.now();
  return new Promise<Run>((resolve) => {
    const child = execFile(
      command,
      args,
      { cwd, env, timeout: options.timeout ?? 180_000, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        // npm turns the SIGTERM of a timeout into an exit code of its own and says nothing.
        const note = error?.killed
          ? `\n${command} did not finish within ${((options.timeout ?? 180_000) / 1000).toFixed(0)} s and was stopped`
          : error && code === -1
            ? `\n${error.message}${error.signal ? ` (${error.signal})` : ''}`
            : '';
        resolve({ code, stdout, stderr: stderr + note, ms: performance.now() - started });
      },
    );
    if (options.nice && child.pid !== undefined) {
      try {
        setPriority(child.pid, 10);
      } catch {
        // Not permitted here: it runs at the usual priority.
      }
    }
  });
}

/** The JSON a helper script printed on its `RESULT ` line. */
function resultOf<T>(result: Run, what: string): T {
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${what} printed no result (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** Whether the registry answers, or why not (checked once, before the tests are collected). */
async function registryProblem(): Promise<string | undefined> {
  try {
    const response = await fetch(`${registry}@openai%2fagents-realtime`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(15_000),
    });
    return response.ok ? undefined : `${registry} answered ${response.status}`;
  } catch (error) {
    return `${registry} is unreachable (${(error as Error).message})`;
  }
}

const unreachable = await registryProblem();
// In CI an unreachable registry fails the install below; elsewhere the file is skipped, and says why.
const skip = unreachable !== undefined && !inCi;
if (skip) console.warn(`pack-install: skipped, ${unreachable}; it runs wherever the npm registry is reachable`);

type Entry = { specifier: string; esm: boolean; cjs: boolean };

/** The entry points an installed package's `exports` map offers, and in which module systems. */
function entriesOf(manifest: Manifest): Entry[] {
  if (!manifest.exports) return [{ specifier: manifest.name, esm: true, cjs: true }];
  const entries: Entry[] = [];
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (subpath === './package.json' || subpath.includes('*')) continue;
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    const conditions = target && typeof target === 'object' ? Object.keys(target) : [];
    entries.push({
      specifier,
      esm: typeof target === 'string' || conditions.some((c) => c === 'import' || c === 'default'),
      cjs: typeof target === 'string' ? target.endsWith('.cjs') : conditions.some((c) => c === 'require'),
    });
  }
  return entries;
}

/**
 * Entry points that need an optional peer dependency the user installs only to use them: they
 * load once it is there, and fail only by naming it. (The project installs neither vitest, the
 * heaviest of them, to keep this test short, nor the OpenTelemetry API.)
 */
const NEEDS_OPTIONAL_PEER: Record<string, { peer: string; esmOnly?: boolean }> = {
  '@switchboard/conformance/vitest': { peer: 'vitest', esmOnly: true },
  '@switchboard/core/otel': { peer: '@opentelemetry/api' },
};

/** Names each entry point must offer (the user's surface), and names it must not (they moved). */
const EXPECTED: Record<string, { has: string[]; hasNot?: string[] }> = {
  '@switchboard/core': {
    has: ['TelephonyRealtimeTransport', 'ProtocolError', 'WebhookSignatureError', 'encodeMuLaw', 'decodeMuLaw'],
    hasNot: ['readFrameObject', 'checkExactKeys', 'decodeMarkFrame'],
  },
  '@switchboard/core/protocol': { has: ['readFrameObject', 'checkExactKeys', 'decodeMarkFrame'] },
  '@switchboard/twilio': {
    has: ['TwilioRealtimeTransport', 'connectStreamTwiml', 'validateTwilioSignature', 'assertTwilioSignature'],
  },
  '@switchboard/twilio/testing': { has: ['conformance', 'TwilioPeerSimulator'] },
  '@switchboard/websocket': { has: ['RawWebSocketRealtimeTransport', 'RAW_WEBSOCKET_MAX_PAYLOAD'] },
  '@switchboard/websocket/testing': { has: ['conformance', 'RawWebSocketPeerSimulator'] },
  '@switchboard/vonage': { has: ['VonageRealtimeTransport', 'connectWebSocketNcco'] },
  '@switchboard/telnyx': { has: ['TelnyxRealtimeTransport'] },
  '@switchboard/plivo': { has: ['PlivoRealtimeTransport', 'validatePlivoSignatureV3', 'assertPlivoSignatureV3'] },
  '@switchboard/exotel': { has: ['ExotelRealtimeTransport'] },
  '@switchboard/bandwidth': { has: ['BandwidthRealtimeTransport', 'bandwidthStreamBxml'] },
  '@switchboard/wavix': { has: ['WavixRealtimeTransport', 'WavixCallControl', 'signWavixStreamUrl'] },
  '@switchboard/azure': { has: ['AzureRealtimeTransport', 'AzureCallAutomation', 'azureMediaStreamingOptions'] },
  '@switchboard/genesys': { has: ['GenesysRealtimeTransport', 'validateGenesysUpgrade'] },
  '@switchboard/sip': { has: ['OpenAISipTransport', 'SipEndpoint', 'SipRealtimeTransport'] },
  '@switchboard/cloudflare': { has: ['CloudflareRealtimeTransport', 'handleMediaUpgrade'] },
  '@switchboard/redis': { has: ['RedisNonceStore', 'RedisOpenAISipDedupStore', 'RedisPrewarmRegistry'] },
  '@switchboard/conformance': { has: ['RealtimeSimulator', 'runConformance'] },
};

/**
 * The declaration files an installed package's entry points name (`types` under `exports`), but
 * for the entry points that need an optional peer the project does not install.
 */
function declarationsOf(manifest: Manifest): string[] {
  const found: string[] = [];
  const collect = (target: unknown, key?: string) => {
    if (typeof target === 'string') {
      if (key === 'types') found.push(target);
    } else if (target && typeof target === 'object')
      for (const [condition, inner] of Object.entries(target)) collect(inner, condition);
  };
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    if (subpath !== './package.json' && !NEEDS_OPTIONAL_PEER[specifier]) collect(target);
  }
  return [...new Set(found)].map((file) => join('node_modules', manifest.name, file));
}

/**
 * `tsc -p <config>` with skipLibCheck off, with the declarations of every entry point given as
 * further root files (argv[3], JSON), that reports the problems of the project's own files and of
 * our packages' declarations, not of third-party ones (the Agents SDK's, zod's, Node's: about
 * three quarters of tsc's CPU, and not ours to fix). Prints `RESULT { problems, checked }`,
 * `checked` the number of our declaration files type-checked.
 */
const CHECK_DECLARATIONS = `import ts from 'typescript';
const [config, extra] = process.argv.slice(2);
const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\\n')); } };
const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, host);
const program = ts.createProgram({ rootNames: [...parsed.fileNames, ...JSON.parse(extra)], options: parsed.options, configFileParsingDiagnostics: parsed.errors });
const theirs = (file) => file.includes('/node_modules/') && !file.includes('/node_modules/@switchboard/');
const diagnostics = [...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
let checked = 0;
for (const source of program.getSourceFiles()) {
  if (theirs(source.fileName)) continue;
  if (source.isDeclarationFile) checked++;
  diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
}
const problems = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\\n' });
console.log('RESULT ' + JSON.stringify({ problems, checked }));
`;

describe.skipIf(skip)('the packed packages, installed from their tarballs with npm', () => {
  let dir = '';
  let app = '';
  const packages = publishedPackages();
  const tarballs = new Map<string, string>();
  const phases: Array<[string, number]> = [];
  let installed: Manifest[] = [];
  let installOutput = '';
  /** The checks after the install start together (they mostly wait); each test awaits its own. */
  let imports: Promise<[Run, Run]>;
  let typechecks: Promise<[Run, Run]>;
  /** The declaration files of every entry point (but those needing an optional peer), in the project. */
  let shippedDeclarations: string[] = [];
  let calls: Promise<[Run, Run]>;

  beforeAll(async () => {
    for (const { dir: pkg, manifest } of packages) {
      if (!existsSync(join(pkg, 'dist')))
        throw new Error(`${manifest.name} is not built: run \`pnpm build\` first (the test command does)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'switchboard-pack-install-'));
    // The test command packs every package once, right after the build (SWITCHBOARD_PACKED_DIR,
    // scripts/pack.mjs); run alone, this packs what is built (no prepack build), with the pnpm that
    // runs it (`pnpm test` names it in npm_execpath), else pnpm through npx.
    const waited = performance.now();
    const shared = await packedTarballs();
    if (shared) {
      phases.push(['wait for the tarballs of this run', performance.now() - waited]);
      for (const { manifest } of packages) {
        expect(shared[manifest.name], `${manifest.name} among the tarballs packed for this run`).toBeDefined();
        tarballs.set(manifest.name, shared[manifest.name]!);
      }
    } else {
      const tarballDir = join(dir, 'tarballs');
      const [pnpm, ...pnpmArgs] = pnpmCommand();
      const packed = await run(
        pnpm!,
        [
          ...pnpmArgs,
          ...packArgs(
            packages.map((p) => p.manifest.name),
            tarballDir,
          ),
        ],
        repo,
        // At the lower priority beside a busy run, packing eleven packages can take minutes.
        { nice: true, timeout: 540_000 },
      );
      phases.push(['pack', packed.ms]);
      expect(packed.code, `${packed.stderr}\n${packed.stdout}`).toBe(0);
      for (const { manifest } of packages) {
        const file = join(tarballDir, tarballName(manifest.name, manifest.version));
        expect(existsSync(file), `${file} in ${readdirSync(tarballDir).join(', ')}`).toBe(true);
        tarballs.set(manifest.name, file);
      }
    }

    // A new project, as a user starts one: our packages, the Agents SDK at the version our peer
    // range accepts, and what an example needs besides (zod, ws, TypeScript and the Node types).
    app = join(dir, 'app');
    cpSync(helpers, app, { recursive: true });
    // The TypeScript files are stored as .txt, out of the workspace's own type check.
    for (const file of readdirSync(app).filter((f) => f.endsWith('.txt')))
      renameSync(join(app, file), join(app, file.slice(0, -'.txt'.length)));
    const sdkRange = packages.find((p) => p.manifest.name === '@switchboard/core')!.manifest.peerDependencies![
      '@openai/agents-realtime'
    ]!;
    const workspaceTypescript = readJson<Manifest>(join(repo, 'node_modules', 'typescript', 'package.json')).version;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'switchboard-user',
          private: true,
          type: 'module',
          dependencies: {
            ...Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`])),
            '@openai/agents': sdkRange,
            '@openai/agents-realtime': sdkRange,
            ws: '^8.18.0',
            zod: '^4.1.0',
          },
          devDependencies: { '@types/node': '^20.19.0', '@types/ws': '^8.18.1', typescript: workspaceTypescript },
        },
        null,
        2,
      ),
    );
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app, {
      timeout: 540_000,
      nice: true,
    });
    phases.push(['npm install', install.ms]);
    expect(install.code, `npm install:\n${install.stderr}\n${install.stdout}`).toBe(0);
    installOutput = `${install.stderr}\n${install.stdout}`;
    installed = packages.map((p) => readJson<Manifest>(join(app, 'node_modules', p.manifest.name, 'package.json')));

    const timed = <T extends Run>(label: string, promise: Promise<T>) =>
      promise.then((result) => (phases.push([label, result.ms]), result));
    const entries = installed.flatMap(entriesOf);
    imports = Promise.all([
      timed(
        'import (ESM)',
        run('node', ['imports.mjs', JSON.stringify(entries.filter((e) => e.esm).map((e) => e.specifier))], app, {
          nice: true,
        }),
      ),
      timed(
        'require (CJS)',
        run('node', ['imports.cjs', JSON.stringify(entries.filter((e) => e.cjs).map((e) => e.specifier))], app, {
          nice: true,
        }),
      ),
    ]);
    // A type check takes minutes on a crowded machine at the lower priority: a generous deadline.
    const tsc = (config: string) =>
      run('node', [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config, '--pretty', 'false'], app, {
        nice: true,
        timeout: 540_000,
      });
    writeFileSync(join(app, 'check-declarations.mjs'), CHECK_DECLARATIONS);
    shippedDeclarations = installed.flatMap(declarationsOf);
    typechecks = Promise.all([
      timed(
        'tsc nodenext',
        run('node', ['check-declarations.mjs', 'tsconfig.nodenext.json', JSON.stringify(shippedDeclarations)], app, {
          nice: true,
          timeout: 540_000,
        }),
      ),
      timed('tsc bundler', tsc('tsconfig.bundler.json')),
    ]);
    calls = Promise.all([
      timed('call twilio', run('node', ['call.mjs', 'twilio'], app, { timeout: 120_000 })),
      timed('call asterisk', run('node', ['call.mjs', 'asterisk'], app, { timeout: 120_000 })),
    ]);
  }, 1_200_000);

  afterAll(async () => {
    // Every child has ended (each test awaited its own) before the project goes.
    await Promise.allSettled([imports, typechecks, calls]);
    if (phases.length > 0)
      console.log(`pack-install: ${phases.map(([label, ms]) => `${label} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 600_000);

  it('packs every package with dist, LICENSE, README.md, the files its manifest names and no workspace: range', () => {
    // The release's own tarball check (scripts/release-checks.mjs), on what pnpm packed.
    for (const { manifest } of packages) expect(checkTarball(tarballs.get(manifest.name)!), manifest.name).toEqual([]);
  });

  it('installs with npm without a warning about our packages (engines, peer ranges)', () => {
    // npm's warnings come as `npm warn <code> ...` lines; one that names a package of ours is ours to fix.
    const ours = installOutput.split('\n').filter((line) => /^npm warn/i.test(line) && line.includes('@switchboard/'));
    expect(ours, installOutput).toEqual([]);
    for (const { manifest } of packages)
      expect(existsSync(join(app, 'node_modules', manifest.name, 'dist')), manifest.name).toBe(true);
  });

  it('imports every entry point from ESM and requires it from CommonJS, with the same names', async () => {
    const [esmRun, cjsRun] = await imports;
    const esm = resultOf<Record<string, { names?: string[]; error?: string }>>(esmRun, 'imports.mjs');
    const cjs = resultOf<Record<string, { names?: string[]; error?: string }>>(cjsRun, 'imports.cjs');
    const entries = installed.flatMap(entriesOf);
    for (const { specifier, esm: hasEsm, cjs: hasCjs } of entries) {
      const needs = NEEDS_OPTIONAL_PEER[specifier];
      if (needs) {
        // Loads with its optional peer only, and names it when it is missing.
        expect(esm[specifier]?.error, specifier).toMatch(new RegExp(`ERR_MODULE_NOT_FOUND: .*'${needs.peer}'`));
        // An ESM-only entry (vitest cannot be required): a require() gets an error, never a half-loaded module.
        if (hasCjs && needs.esmOnly) expect(cjs[specifier]?.error, `require('${specifier}')`).toBeDefined();
        continue;
      }
      expect(hasEsm, `${specifier} has an import condition`).toBe(true);
      expect(esm[specifier]?.error, `import('${specifier}')`).toBeUndefined();
      expect(esm[specifier]?.names?.length, `import('${specifier}') exports names`).toBeGreaterThan(0);
      if (hasCjs) {
        expect(cjs[specifier]?.error, `require('${specifier}')`).toBeUndefined();
        expect(cjs[specifier]?.names, `require('${specifier}') and import() export the same names`).toEqual(
          esm[specifier]?.names,
        );
      }
    }
    for (const [specifier, { has, hasNot }] of Object.entries(EXPECTED)) {
      const names = esm[specifier]?.names ?? [];
      for (const name of has) expect(names, `${specifier} exports ${name}`).toContain(name);
      for (const name of hasNot ?? []) expect(names, `${specifier} no longer exports ${name}`).not.toContain(name);
    }
    // Every carrier package (not core, the harness, or the Redis stores).
    for (const manifest of installed.filter((m) => !/\/(core|conformance|redis)$/.test(m.name))) {
      const root = esm[manifest.name]?.names ?? [];
      // Test tooling sits behind ./testing in every carrier package: the root runs calls only.
      expect(esm[`${manifest.name}/testing`]?.names, `${manifest.name}/testing`).toContain('conformance');
      expect(
        root.filter((name) => name === 'conformance' || /PeerSimulator$|_INVALID_/.test(name)),
        `${manifest.name} (root): test tooling`,
      ).toEqual([]);
      // One verb scheme for request verification: validate* answers, assert* throws.
      expect(
        root.filter((name) => /^(verify|isValid)[A-Z]|^check\w*(Webhook|Signature|Upgrade|StreamUrl)/.test(name)),
        `${manifest.name} (root): verification functions named other than validate*/assert*`,
      ).toEqual([]);
    }
  }, 180_000);

  it('type-checks every shipped entry point and a file using them under nodenext (skipLibCheck: false) and bundler', async () => {
    const [nodenext, bundler] = await typechecks;
    const { problems, checked } = resultOf<{ problems: string; checked: number }>(nodenext, 'check-declarations.mjs');
    expect(problems, 'tsconfig.nodenext.json, skipLibCheck off, with every entry point').toBe('');
    expect(nodenext.stderr).toBe('');
    // Every entry point's declarations, and what they import, were type-checked.
    expect(shippedDeclarations.length).toBeGreaterThanOrEqual(installed.length * 2);
    expect(checked).toBeGreaterThanOrEqual(shippedDeclarations.length);
    expect(`${bundler.stdout}${bundler.stderr}`, 'tsc -p tsconfig.bundler.json').toBe('');
    expect(bundler.code).toBe(0);
  }, 600_000);

  type CallResult = {
    carrier: string;
    failure?: string;
    app: {
      toolCalls: string[];
      toolResults: string[];
      callStart?: { callId?: string; format: { encoding: string; sampleRate: number } };
      dtmf: string[];
      sessionDtmf: string[];
      callEnd?: { reason?: string };
      transportErrors: string[];
      sessionErrors: string[];
    };
    caller: { heardMs: number; heardPeak: number; hangup: boolean; rejected: string[]; closed: boolean };
    model?: {
      inputAudioMs: number;
      inputStartsWithCallerAudio: boolean | null;
      appends: number;
      speechEvents: string[];
      functionCallOutputs: string[];
      responses: Array<{ kind: string; status: string; audioMsSent: number }>;
      violations: string[];
      closed: boolean;
    };
    callerSpeechMs: number;
  };

  /** What every call shows: audio both ways, a tool call, DTMF and a clean end. */
  function expectCall(result: Run, carrier: string): CallResult {
    const output = `exit ${result.code}\n${result.stderr}\n${result.stdout}`;
    // The script returns by itself: a socket or timer left open would keep it running.
    expect(result.code, output).toBe(0);
    const call = resultOf<CallResult>(result, `call.mjs ${carrier}`);
    expect(call.failure, output).toBeUndefined();
    const { app: user, caller, model } = call;
    expect(model, output).toBeDefined();
    // The caller's audio reached the model (input_audio_buffer.append), all of it, and was heard as speech.
    expect(model!.appends).toBeGreaterThan(0);
    expect(model!.inputAudioMs).toBeGreaterThanOrEqual(call.callerSpeechMs);
    expect(model!.speechEvents.slice(0, 2)).toEqual(['speech_started', 'speech_stopped']);
    // The model called the tool, the tool ran, and its result reached the model.
    expect(user.toolCalls).toEqual(['Paris']);
    expect(user.toolResults).toEqual(['Sunny in Paris.']);
    expect(model!.functionCallOutputs).toEqual(['Sunny in Paris.']);
    // The agent's answer reached the caller: all 800 ms of it (give or take a frame), as sound.
    expect(model!.responses.map((r) => [r.kind, r.status])).toEqual([
      ['function_call', 'completed'],
      ['audio', 'completed'],
    ]);
    expect(caller.heardMs).toBeGreaterThanOrEqual(780);
    expect(caller.heardPeak).toBeGreaterThan(3000);
    expect(caller.rejected, 'frames the carrier would refuse').toEqual([]);
    // The key the caller pressed reached the application, on the transport and on the session.
    expect(user.dtmf[0]).toBe('5');
    expect(user.sessionDtmf[0]).toBe('5');
    // A clean end: a reason, no error on either side, the model session closed.
    expect(user.callEnd?.reason, output).toMatch(/\S/);
    expect(user.transportErrors).toEqual([]);
    expect(user.sessionErrors).toEqual([]);
    expect(model!.violations).toEqual([]);
    expect(model!.closed).toBe(true);
    expect(caller.closed).toBe(true);
    return call;
  }

  it('runs a Twilio call through RealtimeSession: audio both ways, a tool, DTMF, a clean end', async () => {
    const [twilio] = await calls;
    const call = expectCall(twilio, 'twilio');
    expect(call.app.callStart).toEqual({
      callId: 'CA0123456789abcdef0123456789abcdef',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    });
    // μ-law passes through to the model byte for byte.
    expect(call.model!.inputStartsWithCallerAudio).toBe(true);
    // The caller hung up: Twilio's `stop`.
    expect(call.app.callEnd?.reason).toBe('stop');
  }, 180_000);

  it('runs an Asterisk (binary L16) call through RealtimeSession: audio both ways, a tool, DTMF, a clean end', async () => {
    const [, asterisk] = await calls;
    const call = expectCall(asterisk, 'asterisk');
    expect(call.app.callStart).toEqual({
      callId: 'asterisk-channel-1',
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
    });
    // The agent hung up on `#`: HANGUP reached Asterisk, which closed the socket.
    expect(call.app.dtmf).toEqual(['5', '#']);
    expect(call.caller.hangup).toBe(true);
  }, 180_000);
});
