/**
 * The example Worker as `wrangler deploy` would ship it: bundled by wrangler (no nodejs_compat),
 * run in workerd, answering Twilio's webhook and bridging calls to the realtime simulator.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startWorkerd, type WorkerdProcess } from '@switchboard/cloudflare/testing';
import {
  CallerSimulator,
  RealtimeSimulator,
  bundledTracesDir,
  loadTraces,
  traceExpect,
  type Trace,
} from '@switchboard/conformance';
import { concatBytes } from '@switchboard/core';
import { computeTwilioSignature } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { ModelGate, PeerCall, until } from '../../twilio-fastify/test/helpers.js';

const exampleDir = fileURLToPath(new URL('..', import.meta.url));
const AUTH_TOKEN = 'example-auth-token';
const SPEED = 5;
const CALL_SID = 'CA0123456789abcdef0123456789abcdef';

let script: string;
let worker: WorkerdProcess;
let simulator: RealtimeSimulator;
/** Between the Worker and the simulator: can drop a model connection. */
let gate: ModelGate;
let trace: Trace;

/** Bundles the Worker with wrangler itself, as `npm run deploy` does, into a temporary folder. */
async function wranglerBuild(): Promise<string> {
  const outdir = mkdtempSync(join(tmpdir(), 'switchboard-worker-'));
  try {
    await promisify(execFile)(
      join(exampleDir, 'node_modules', '.bin', 'wrangler'),
      ['deploy', '--dry-run', '--outdir', outdir],
      {
        cwd: exampleDir,
        // No banner: it would check the registry for a newer wrangler. Nothing here leaves the machine.
        env: {
          ...process.env,
          WRANGLER_BUILD_CONDITIONS: 'worker,browser',
          WRANGLER_SEND_METRICS: 'false',
          WRANGLER_HIDE_BANNER: 'true',
          NO_COLOR: '1',
        },
        timeout: 120_000,
      },
    );
    return readFileSync(join(outdir, 'worker.js'), 'utf8');
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  script = await wranglerBuild();
  simulator = new RealtimeSimulator({ speed: SPEED });
  await simulator.start();
  gate = new ModelGate(simulator.port);
  const gatePort = await gate.start();
  worker = await startWorkerd({
    script,
    compatibilityDate: '2025-09-01',
    bindings: {
      OPENAI_API_KEY: 'sk-example',
      OPENAI_REALTIME_URL: simulator.url.replace(`:${simulator.port}/`, `:${gatePort}/`),
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      CALLS_IN_DURABLE_OBJECTS: 'true',
      DEBUG: process.env.DEBUG ?? '',
    },
    durableObjects: { CALLS: 'CallObject' },
  });
  [trace] = (await loadTraces(join(bundledTracesDir(), 'dtmf.jsonl'))) as [Trace];
}, 180_000);

afterAll(async () => {
  await worker?.dispose();
  await gate?.stop();
  await simulator?.stop();
});

async function signedPost(path: string, form: Record<string, string>, signature?: string): Promise<Response> {
  const url = new URL(path, worker.url).href;
  const body = new URLSearchParams(form);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': signature ?? (await computeTwilioSignature(AUTH_TOKEN, url, body)),
    },
    body,
  });
}

/** Plays the trace as Twilio would into `streamUrl`; returns what the caller heard and the model's session. */
async function call(streamUrl: string) {
  const session = simulator.nextSession();
  const caller = new CallerSimulator({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: true,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    speed: SPEED,
  });
  await caller.connect(streamUrl, { 'X-Twilio-Signature': await computeTwilioSignature(AUTH_TOKEN, streamUrl) });
  const model = await session;
  await caller.play(trace);
  await new Promise((resolve) => setTimeout(resolve, 200));
  caller.hangUp();
  await model.closed;
  caller.dispose();
  return { caller, model };
}

describe('examples/cloudflare-worker', () => {
  it('bundles with wrangler into one module with no Node built-ins', () => {
    expect(script.length).toBeGreaterThan(0);
    expect(script).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
  });

  it('answers the voice webhook with <Connect><Stream> TwiML, and 403 to an unsigned one', async () => {
    const response = await signedPost('/incoming-call', { CallSid: CALL_SID, From: '+15550001111' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/xml');
    const twiml = await response.text();
    expect(twiml).toContain(
      `<Stream url="${new URL(`/calls/${CALL_SID}/media`, worker.url).href.replace(/^http/, 'ws')}">`,
    );
    expect(twiml).toContain('<Parameter name="from" value="+15550001111"/>');
    expect((await signedPost('/incoming-call', { CallSid: CALL_SID }, 'bad')).status).toBe(403);
  });

  it('escapes the caller number in the TwiML', async () => {
    const twiml = await (await signedPost('/incoming-call', { CallSid: CALL_SID, From: 'sip:"a"&<b>@x.test' })).text();
    expect(twiml).toContain('<Parameter name="from" value="sip:&quot;a&quot;&amp;&lt;b&gt;@x.test"/>');
  });

  it('names a wss:// stream URL for a public host reached over http (wrangler dev behind a tunnel)', async () => {
    // The Worker sees http://<public host>/… as `wrangler dev` does behind a tunnel; Twilio connects only to wss://.
    const form = new URLSearchParams({ CallSid: CALL_SID, From: '+15550001111' }).toString();
    const signature = await computeTwilioSignature(
      AUTH_TOKEN,
      'http://agent.example.com/incoming-call',
      new URLSearchParams(form),
    );
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        new URL('/incoming-call', worker.url),
        {
          method: 'POST',
          headers: {
            host: 'agent.example.com',
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': signature,
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.once('error', reject);
      request.end(form);
    });
    expect(status).toBe(200);
    expect(body).toContain(`<Stream url="wss://agent.example.com/calls/${CALL_SID}/media">`);
  });

  it('bridges a call on /media: caller audio reaches the model, the agent answers the caller', async () => {
    const { caller, model } = await call(new URL('/media', worker.url).href.replace(/^http/, 'ws'));
    expect(model.connection).toMatchObject({ auth: 'bearer', protocol: 'realtime' });
    expect(concatBytes(model.inputAudio).byteLength).toBeGreaterThan(8000 * 5);
    expect(model.responses.length).toBeGreaterThan(0);
    expect(caller.log.chunks.length).toBeGreaterThan(0);
    expect(caller.log.rejected).toEqual([]);
  });

  it('bridges a call inside its Durable Object on the URL the TwiML names, and reports it there', async () => {
    const twiml = await (await signedPost('/incoming-call', { CallSid: CALL_SID, From: '+15550001111' })).text();
    const streamUrl = /<Stream url="([^"]+)"/.exec(twiml)![1]!;
    const { caller, model } = await call(streamUrl);
    expect(concatBytes(model.inputAudio).byteLength).toBeGreaterThan(8000 * 5);
    expect(caller.log.chunks.length).toBeGreaterThan(0);
    const status = (await (await fetch(new URL(`/calls/${CALL_SID}`, worker.url))).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      active: false,
      streamId: expect.stringMatching(/^MZ/),
      metrics: { dtmfDigits: traceExpect(trace).dtmf.length },
    });
  });

  it('hangs up only the call whose model connection fails; the Worker bridges the next call', async () => {
    // The Worker's console (its call_end log line) reaches this process through miniflare's console.log.
    const logged: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args.join(' ')));
    try {
      gate.refuseNext(1);
      const url = new URL('/media', worker.url).href.replace(/^http/, 'ws');
      const first = await PeerCall.open(url, new TwilioPeerSimulator(), {
        'X-Twilio-Signature': await computeTwilioSignature(AUTH_TOKEN, url),
      });
      first.start({
        type: 'call_start',
        callId: CALL_SID,
        streamId: 'MZ' + 'c'.repeat(32),
        format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
        customParameters: {},
        raw: {},
      });
      // The model endpoint dropped the connection: that call is hung up, the close saying why.
      const closed = await first.closed;
      expect(closed.code).toBe(1011);
      expect(closed.reason).toMatch(/^model connection (failed|refused)/);
      expect(gate.refused).toBe(1);
      await until(() => logged.some((line) => line.includes('call ended:')), "the Worker's call_end");
      expect(logged.filter((line) => line.includes('call ended:'))).toEqual(['call ended: model_connect_failed']);
    } finally {
      spy.mockRestore();
    }

    // The next call is bridged as usual.
    const { caller, model } = await call(new URL('/media', worker.url).href.replace(/^http/, 'ws'));
    expect(concatBytes(model.inputAudio).byteLength).toBeGreaterThan(8000 * 5);
    expect(model.responses.length).toBeGreaterThan(0);
    expect(caller.log.chunks.length).toBeGreaterThan(0);
  });
});
