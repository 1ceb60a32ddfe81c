/**
 * `@switchboard/cloudflare/testing` (Node only): the conformance adapter that runs the bridge
 * where it runs in production, in workerd. It bundles a Worker that answers the media upgrade
 * with `handleMediaUpgrade`, starts it once in a local workerd process (through miniflare), and
 * lets the harness drive each call over loopback WebSockets: the carrier connects to the Worker,
 * the Worker connects to the realtime simulator with a fetch upgrade.
 *
 * Needs the optional peer dependencies `miniflare` and `esbuild`.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BridgeObservation, ConformanceAdapter, RemoteBridgeCall } from '@switchboard/core/protocol';
import { TwilioMediaStreamProtocol } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';

import { ARRAY_BUFFER_MARK, BYTES_MARK, ERROR_MARK } from './observation.js';

/** The compatibility date the Workers are run with unless told otherwise. */
export const DEFAULT_COMPATIBILITY_DATE = '2025-09-01';

export type BundleWorkerOptions = {
  /** The Worker's entry module (TypeScript or JavaScript). */
  entry: string;
  /**
   * Resolve packages for `nodejs_compat` (the `workerd` export condition, `node:` modules left to
   * the runtime) instead of for the bare runtime (the `worker` and `browser` conditions, and any
   * Node built-in is a build error). Default false.
   */
  nodeCompat?: boolean;
  /** tsconfig whose `paths` the bundler follows (a workspace's sources). */
  tsconfig?: string;
};

/** Thrown when a bundle for the bare runtime would need a Node built-in. */
export class NodeBuiltinImportError extends Error {
  readonly imports: string[];
  constructor(imports: string[]) {
    super(`The Worker bundle imports Node built-ins (${imports.join(', ')}): it would need the nodejs_compat flag.`);
    this.name = 'NodeBuiltinImportError';
    this.imports = imports;
  }
}

/** Node's built-in module names, without the `node:` prefix. */
async function nodeBuiltins(): Promise<Set<string>> {
  const { builtinModules } = await import('node:module');
  return new Set(builtinModules.map((name) => name.replace(/^node:/, '')));
}

/**
 * Bundles a Worker into one ES module, the way wrangler does (esbuild, `worker`/`browser`
 * conditions). Without `nodeCompat`, an import of any Node built-in fails the build with a
 * {@link NodeBuiltinImportError} naming every such import and who imported it.
 */
export async function bundleWorker(options: BundleWorkerOptions): Promise<string> {
  const esbuild = await import('esbuild');
  const builtins = await nodeBuiltins();
  const found: string[] = [];
  const result = await esbuild.build({
    entryPoints: [options.entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: options.nodeCompat ? 'neutral' : 'browser',
    target: 'es2022',
    conditions: options.nodeCompat ? ['workerd', 'worker', 'browser'] : ['worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-builtins',
        setup(build) {
          build.onResolve({ filter: /^[a-z0-9_:/]+$/ }, (args) => {
            const bare = args.path.replace(/^node:/, '');
            const isBuiltin = args.path.startsWith('node:') || builtins.has(bare.split('/')[0]!);
            if (!isBuiltin) return undefined;
            if (options.nodeCompat)
              return { path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, external: true };
            found.push(`${args.path} (from ${args.importer || 'the entry'})`);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  if (found.length > 0) throw new NodeBuiltinImportError([...new Set(found)]);
  const output = result.outputFiles?.[0];
  if (!output) throw new Error(`esbuild produced no output for ${options.entry}`);
  return output.text;
}

export type WorkerdOptions = {
  /** The bundled Worker (one ES module). */
  script: string;
  compatibilityDate?: string;
  /** Default none: the bare runtime. */
  compatibilityFlags?: string[];
  /** Text bindings (vars and secrets). */
  bindings?: Record<string, string>;
  /** Durable Object bindings: binding name → exported class name. */
  durableObjects?: Record<string, string>;
};

/** A running workerd process serving one Worker on 127.0.0.1. */
export type WorkerdProcess = {
  /** `http://127.0.0.1:<port>/` */
  readonly url: URL;
  dispose(): Promise<void>;
};

/** Starts a Worker in a local workerd process (miniflare), listening on 127.0.0.1 only. */
export async function startWorkerd(options: WorkerdOptions): Promise<WorkerdProcess> {
  const { Miniflare, Log, LogLevel } = (await import('miniflare')) as typeof import('miniflare');
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.mjs', contents: options.script }],
    compatibilityDate: options.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE,
    compatibilityFlags: options.compatibilityFlags ?? [],
    bindings: options.bindings ?? {},
    ...(options.durableObjects ? { durableObjects: options.durableObjects } : {}),
    host: '127.0.0.1',
    port: 0,
    // The built-in `request.cf` placeholder: never fetch the real one from the network.
    cf: false,
    log: new Log(process.env.DEBUG ? LogLevel.DEBUG : LogLevel.WARN),
  });
  let url: URL;
  try {
    url = await mf.ready;
  } catch (error) {
    // A runtime that failed to start still holds miniflare's loopback server: release it, or the
    // Node process never exits. dispose() rethrows the start failure; the caller gets it below.
    await mf.dispose().catch(() => undefined);
    throw error;
  }
  return { url, dispose: () => mf.dispose() };
}

export type CloudflareConformanceOptions = {
  /** Run the Worker with `nodejs_compat` (the SDK's `workerd` build) instead of the bare runtime. Default false. */
  nodeCompat?: boolean;
  compatibilityDate?: string;
  /** The conformance Worker's entry; default the one shipped with this package. */
  entry?: string;
  /**
   * How long past the observation's own timeout the Worker may take to answer before the call is
   * reported as unobserved (a hung Worker must not hang the run). Default 10 000 ms.
   */
  observeGraceMs?: number;
};

const DEFAULT_OBSERVE_GRACE_MS = 10_000;

/** The observation of a call the Worker could not report. */
function unobserved(failure: string): BridgeObservation {
  return { emitted: [], transportStatus: 'unknown', carrierListenersLeft: 0, failures: [failure] };
}

/** The conformance Worker next to this module: built JavaScript, or the TypeScript source in a workspace. */
function defaultEntry(): { entry: string; tsconfig?: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = join(here, 'conformance-worker.js');
  if (existsSync(built)) return { entry: built };
  const source = join(here, 'conformance-worker.ts');
  const tsconfig = join(here, '..', 'tsconfig.json');
  return { entry: source, ...(existsSync(tsconfig) ? { tsconfig } : {}) };
}

/** Turns the Worker's JSON back into values: ArrayBuffers, byte arrays and errors. */
export function reviveObservation(text: string): BridgeObservation {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const marked = value as Record<string, unknown>;
      if (typeof marked[ARRAY_BUFFER_MARK] === 'string') {
        const bytes = Buffer.from(marked[ARRAY_BUFFER_MARK] as string, 'base64');
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      }
      if (typeof marked[BYTES_MARK] === 'string')
        return new Uint8Array(Buffer.from(marked[BYTES_MARK] as string, 'base64'));
      if (marked[ERROR_MARK] && typeof marked[ERROR_MARK] === 'object') {
        const fields = marked[ERROR_MARK] as Record<string, unknown>;
        const error = new Error(String(fields['message'] ?? ''));
        Object.assign(error, fields);
        return error;
      }
    }
    return value;
  }) as BridgeObservation;
}

/**
 * A conformance adapter whose bridge is the Worker deployment path running in workerd. The
 * workerd process starts with the first call and stops on `dispose()`.
 */
export function createConformanceAdapter(options: CloudflareConformanceOptions = {}): ConformanceAdapter {
  let starting: Promise<WorkerdProcess> | undefined;
  const start = () => {
    starting ??= (async () => {
      const located = options.entry ? { entry: options.entry } : defaultEntry();
      const script = await bundleWorker({ ...located, nodeCompat: options.nodeCompat ?? false });
      return startWorkerd({
        script,
        compatibilityDate: options.compatibilityDate,
        compatibilityFlags: options.nodeCompat ? ['nodejs_compat'] : [],
        bindings: { DEBUG: process.env.DEBUG ?? '' },
      });
    })();
    starting.catch(() => {
      starting = undefined;
    });
    return starting;
  };
  return {
    name: options.nodeCompat ? 'cloudflare (nodejs_compat)' : 'cloudflare',
    capabilities: new TwilioMediaStreamProtocol().capabilities,
    twilioFrames: true,
    traceCarrier: 'twilio',
    createProtocol: () => new TwilioMediaStreamProtocol(),
    async startRemoteCall({ modelUrl, speed, turnDetection }): Promise<RemoteBridgeCall> {
      const worker = await start();
      const id = randomUUID();
      const query = new URLSearchParams({ call: id, model: modelUrl, speed: String(speed) });
      if (turnDetection) query.set('turnDetection', turnDetection);
      const mediaUrl = new URL(`/media?${query}`, worker.url);
      mediaUrl.protocol = 'ws:';
      return {
        mediaUrl: mediaUrl.href,
        async observe(timeoutMs) {
          const waitMs = Math.max(0, Math.round(timeoutMs));
          const graceMs = options.observeGraceMs ?? DEFAULT_OBSERVE_GRACE_MS;
          let text: string;
          try {
            const response = await fetch(new URL(`/__observe/${id}?timeout=${waitMs}`, worker.url), {
              signal: AbortSignal.timeout(waitMs + graceMs),
            });
            text = await response.text();
            if (!response.ok)
              return unobserved(`the Worker had no observation of the call: ${response.status} ${text}`);
          } catch (error) {
            return unobserved(
              `the Worker did not report the call within ${waitMs + graceMs} ms: ${(error as Error)?.message ?? String(error)}`,
            );
          }
          return reviveObservation(text);
        },
      };
    },
    async dispose() {
      const pending = starting;
      starting = undefined;
      if (pending) await (await pending.catch(() => undefined))?.dispose();
    },
    createPeerSimulator: () => new TwilioPeerSimulator(),
  };
}

/**
 * The Cloudflare adapter as the conformance harness loads it (`--adapter @switchboard/cloudflare`, found at
 * `./testing`).
 */
export const conformance: ConformanceAdapter = createConformanceAdapter();
