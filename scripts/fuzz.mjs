#!/usr/bin/env node
// Fuzzes every carrier decoder: `pnpm fuzz [--frames N] [--seed S] [--protocol NAME[,NAME]] [--jobs N]
// [--max-frame-ms MS] [--max-bytes BYTES]`. Each protocol decodes N fuzzed frames (default 1 000 000)
// from `runFuzz` of @switchboard/conformance/testing: its own valid frames mutated, frames from
// scratch, frames of several MB, valid frames out of order. A frame must decode into well-formed
// events or be refused with a ProtocolError (the parsers: their own error), within --max-frame-ms.
// Prints frames/s, failures (seed, excerpt, the command that replays it) and the seed per protocol;
// exits 1 on any failure, 2 on a usage error. Runs the built packages (`pnpm build` first).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const USAGE =
  'usage: pnpm fuzz [--frames N] [--seed S] [--protocol NAME[,NAME...]] [--jobs N] [--max-frame-ms MS] [--max-bytes BYTES]';

// ---------------------------------------------------------------------------------------------
// Targets

const MULAW_8K = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const L16_8K = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const L16_16K = { encoding: 'l16', sampleRate: 16000, channels: 1 };

/** Every decoder fuzzed, by name: `load()` imports what it needs and returns its FuzzTarget. */
const TARGETS = {
  async twilio() {
    const { TwilioMediaStreamProtocol } = await import('@switchboard/twilio');
    const { TwilioPeerSimulator } = await import('@switchboard/twilio/testing');
    const { fuzzSeedFrames } = await testing();
    return { seeds: fuzzSeedFrames(new TwilioPeerSimulator()), create: () => new TwilioMediaStreamProtocol() };
  },
  async signalwire() {
    const { TwilioMediaStreamProtocol } = await import('@switchboard/twilio');
    const { SignalWirePeerSimulator } = await import('@switchboard/twilio/testing');
    const { fuzzSeedFrames } = await testing();
    const seeds = fuzzSeedFrames(new SignalWirePeerSimulator({ format: L16_16K }), { format: L16_16K });
    // SignalWire's documented envelope around the same messages.
    const enveloped = seeds
      .filter((f) => typeof f === 'string')
      .slice(0, 4)
      .map((f) => `{"rawEvent":${f}}`);
    return { seeds: [...seeds, ...enveloped], create: () => new TwilioMediaStreamProtocol({ dialect: 'signalwire' }) };
  },
  async telnyx() {
    const { TelnyxMediaStreamProtocol } = await import('@switchboard/telnyx');
    const { TelnyxPeerSimulator } = await import('@switchboard/telnyx/testing');
    const { fuzzSeedFrames } = await testing();
    return { seeds: fuzzSeedFrames(new TelnyxPeerSimulator()), create: () => new TelnyxMediaStreamProtocol() };
  },
  async plivo() {
    const { PlivoMediaStreamProtocol } = await import('@switchboard/plivo');
    const { PlivoPeerSimulator } = await import('@switchboard/plivo/testing');
    const { fuzzSeedFrames } = await testing();
    return {
      seeds: fuzzSeedFrames(new PlivoPeerSimulator(), { format: L16_8K }),
      create: () => new PlivoMediaStreamProtocol(),
    };
  },
  async exotel() {
    const { ExotelMediaStreamProtocol } = await import('@switchboard/exotel');
    const { ExotelPeerSimulator } = await import('@switchboard/exotel/testing');
    const { fuzzSeedFrames } = await testing();
    return {
      seeds: fuzzSeedFrames(new ExotelPeerSimulator(), { format: L16_8K }),
      create: () => new ExotelMediaStreamProtocol(),
    };
  },
  async bandwidth() {
    const { BandwidthMediaStreamProtocol } = await import('@switchboard/bandwidth');
    const { BandwidthPeerSimulator } = await import('@switchboard/bandwidth/testing');
    const { fuzzSeedFrames } = await testing();
    return {
      seeds: fuzzSeedFrames(new BandwidthPeerSimulator({ tracks: 'both' })),
      create: () => new BandwidthMediaStreamProtocol(),
    };
  },
  async wavix() {
    const { WavixMediaStreamProtocol } = await import('@switchboard/wavix');
    const { WavixPeerSimulator } = await import('@switchboard/wavix/testing');
    const { fuzzSeedFrames } = await testing();
    return {
      seeds: fuzzSeedFrames(new WavixPeerSimulator(), { format: { encoding: 'l16', sampleRate: 24000, channels: 1 } }),
      create: () => new WavixMediaStreamProtocol(),
    };
  },
  async azure() {
    const { AzureMediaStreamProtocol } = await import('@switchboard/azure');
    const { AzurePeerSimulator } = await import('@switchboard/azure/testing');
    const { fuzzSeedFrames } = await testing();
    return {
      seeds: fuzzSeedFrames(new AzurePeerSimulator(), { format: L16_16K }),
      create: () => new AzureMediaStreamProtocol(),
    };
  },
  async genesys() {
    const { GenesysAudioHookProtocol } = await import('@switchboard/genesys');
    const { GenesysPeerSimulator } = await import('@switchboard/genesys/testing');
    const { fuzzSeedFrames } = await testing();
    // Genesys sends audio only once the bridge answered `opened`: a bridge answers as the call goes.
    const peer = new GenesysPeerSimulator({ pingEvery: 3 });
    const bridge = new GenesysAudioHookProtocol();
    const answered = {
      encodeInbound(event) {
        const frames = peer.encodeInbound(event);
        for (const frame of frames) bridge.decode(frame);
        for (const reply of bridge.takeReplies()) peer.decodeOutbound(reply);
        return frames;
      },
      decodeOutbound: (frame) => peer.decodeOutbound(frame),
    };
    return { seeds: fuzzSeedFrames(answered), create: () => new GenesysAudioHookProtocol() };
  },
  vonage: () => preset('vonage', L16_16K),
  asterisk: () => preset('asterisk', MULAW_8K),
  jambonz: () => preset('jambonz', L16_8K),
  generic: () => preset('generic', L16_16K),
  async sip() {
    const { RtpMediaProtocol } = await import('@switchboard/sip');
    const { RtpPeerSimulator } = await import('@switchboard/sip/testing');
    const { fuzzSeedFrames } = await testing();
    return { seeds: fuzzSeedFrames(new RtpPeerSimulator()), create: () => new RtpMediaProtocol() };
  },
  async 'sip-message'() {
    const { parseSipMessage, SipParseError } = await import('@switchboard/sip');
    const { RtpPeerSimulator } = await import('@switchboard/sip/testing');
    const { fuzzSeedFrames } = await testing();
    const seeds = fuzzSeedFrames(new RtpPeerSimulator()).filter((f) => typeof f === 'string');
    return {
      seeds: [...seeds, ...seeds.map((f) => new TextEncoder().encode(f))],
      create: () => ({ decode: (frame) => parseSipMessage(frame) }),
      accepts: (error) => error instanceof SipParseError,
      check: (message) =>
        message && (message.type === 'request' || message.type === 'response') && message.body instanceof Uint8Array
          ? undefined
          : 'not a SIP message',
    };
  },
  async sdp() {
    const { buildAnswer, buildOffer, negotiateOffer, parseSdp, SdpError } = await import('@switchboard/sip');
    const { RtpPeerSimulator } = await import('@switchboard/sip/testing');
    const { fuzzSeedFrames } = await testing();
    const invites = fuzzSeedFrames(new RtpPeerSimulator()).filter(
      (f) => typeof f === 'string' && f.startsWith('INVITE'),
    );
    const bodies = invites.map((f) => f.slice(f.indexOf('\r\n\r\n') + 4));
    const decoder = new TextDecoder();
    return {
      seeds: [...bodies, buildOffer({ address: '127.0.0.1', port: 40000, sessionId: '1', sessionVersion: 1 })],
      // The endpoint parses an offer, negotiates, then writes its answer from the same offer.
      create: () => ({
        decode(frame) {
          const offer = parseSdp(typeof frame === 'string' ? frame : decoder.decode(frame));
          const media = negotiateOffer(offer);
          const answer = buildAnswer(offer, media, {
            address: '127.0.0.1',
            port: 40002,
            sessionId: '2',
            sessionVersion: 1,
          });
          if (typeof answer !== 'string') throw new TypeError('buildAnswer returned no text');
          return media;
        },
      }),
      accepts: (error) => error instanceof SdpError,
      check: (media) =>
        media &&
        Number.isInteger(media.payloadType) &&
        media.payloadType >= 0 &&
        media.payloadType <= 127 &&
        Number.isInteger(media.ptimeMs) &&
        media.ptimeMs > 0
          ? undefined
          : 'not a negotiated stream',
    };
  },
  async detect() {
    const { twilioCandidate, signalwireCandidate } = await import('@switchboard/twilio');
    const { telnyxCandidate } = await import('@switchboard/telnyx');
    const { plivoCandidate } = await import('@switchboard/plivo');
    const { exotelCandidate } = await import('@switchboard/exotel');
    const { wavixCandidate } = await import('@switchboard/wavix');
    const { bandwidthCandidate } = await import('@switchboard/bandwidth');
    const { azureCandidate } = await import('@switchboard/azure');
    const { genesysCandidate } = await import('@switchboard/genesys');
    const { rawWebSocketCandidates } = await import('@switchboard/websocket');
    const candidates = [
      signalwireCandidate,
      twilioCandidate,
      // Before Telnyx's, which claims any frame with a top-level stream_id.
      wavixCandidate,
      telnyxCandidate,
      plivoCandidate,
      exotelCandidate,
      bandwidthCandidate,
      azureCandidate,
      genesysCandidate,
      ...rawWebSocketCandidates,
    ];
    const seeds = [];
    for (const name of [
      'twilio',
      'signalwire',
      'telnyx',
      'plivo',
      'exotel',
      'wavix',
      'bandwidth',
      'azure',
      'genesys',
      'vonage',
      'asterisk',
      'jambonz',
      'generic',
    ])
      seeds.push(...(await TARGETS[name]()).seeds);
    return {
      seeds,
      // Every candidate must answer a boolean and never throw (detectProtocol would hide a throw);
      // the first that claims the frame must decode it as its own protocol would.
      create: () => ({
        decode(frame) {
          for (const candidate of candidates) {
            const matched = candidate.matches(frame);
            if (typeof matched !== 'boolean')
              throw new TypeError(`${candidate.name}.matches returned ${typeof matched}`);
            if (matched) return candidate.create().decode(frame);
          }
          return [];
        },
      }),
    };
  },
};

async function preset(name, format) {
  const { RawWebSocketProtocol } = await import('@switchboard/websocket');
  const { RawWebSocketPeerSimulator } = await import('@switchboard/websocket/testing');
  const { fuzzSeedFrames } = await testing();
  const seeds = fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: name, format }), { format });
  // Asterisk speaks plain text or, with f(json), JSON.
  if (name === 'asterisk')
    seeds.push(...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: name, format, json: true }), { format }));
  return { seeds, create: () => new RawWebSocketProtocol(name) };
}

const testing = () => import('@switchboard/conformance/testing');

// ---------------------------------------------------------------------------------------------
// One protocol (in a worker)

async function fuzzOne(name, options) {
  const { runFuzz } = await testing();
  const target = { name, ...(await TARGETS[name]()) };
  const chunk = 50_000;
  const report = {
    name,
    seed: options.seed,
    frames: 0,
    decoded: 0,
    refused: 0,
    failures: [],
    elapsedMs: 0,
    slowest: { ms: 0, size: 0, seed: options.seed },
  };
  // In chunks, each starting where the last one's seeds stopped, so progress can be shown.
  let seed = options.seed;
  while (report.frames < options.frames && report.failures.length === 0) {
    const part = runFuzz(target, {
      frames: Math.min(chunk, options.frames - report.frames),
      seed,
      maxFrameMs: options.maxFrameMs,
      maxBytes: options.maxBytes,
      hugeRate: options.hugeRate,
      maxFailures: 5,
    });
    report.frames += part.frames;
    report.decoded += part.decoded;
    report.refused += part.refused;
    report.failures.push(...part.failures);
    report.elapsedMs += part.elapsedMs;
    if (part.slowest.ms > report.slowest.ms) report.slowest = part.slowest;
    seed = part.nextSeed;
    parentPort?.postMessage({ progress: { name, frames: report.frames } });
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const options = {
    frames: 1_000_000,
    seed: undefined,
    protocols: Object.keys(TARGETS),
    jobs: 2,
    maxFrameMs: 2000,
    maxBytes: 8 * 1024 * 1024,
    hugeRate: 1 / 10_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    const number = (min) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) usage(`${arg} must be a whole number of at least ${min}`);
      return n;
    };
    if (arg === '--') continue;
    else if (arg === '--frames') options.frames = number(1);
    else if (arg === '--seed') options.seed = number(0) >>> 0;
    else if (arg === '--jobs') options.jobs = number(1);
    else if (arg === '--max-frame-ms') options.maxFrameMs = number(1);
    else if (arg === '--max-bytes') options.maxBytes = number(1024);
    else if (arg === '--protocol') {
      const names = value().split(',').filter(Boolean);
      for (const name of names)
        if (!Object.hasOwn(TARGETS, name)) usage(`unknown protocol ${name}: one of ${Object.keys(TARGETS).join(', ')}`);
      options.protocols = names;
    } else if (arg === '--help' || arg === '-h') {
      console.log(`${USAGE}\nprotocols: ${Object.keys(TARGETS).join(', ')}`);
      process.exit(0);
    } else usage(`unknown option ${arg}`);
  }
  if (options.seed === undefined) options.seed = globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
  options.jobs = Math.min(options.jobs, options.protocols.length, availableParallelism());
  return options;
}

function usage(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function runInWorker(name, options) {
  return new Promise((resolve) => {
    const worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { name, options },
      resourceLimits: { stackSizeMb: 1 },
    });
    let settled = false;
    worker.on('message', (message) => {
      if (message.progress) {
        if (process.stderr.isTTY)
          process.stderr.write(`\r  ${name}: ${message.progress.frames.toLocaleString('en')} frames…   `);
        return;
      }
      settled = true;
      resolve(message.report ?? crashed(name, options, message.error));
    });
    worker.on('error', (error) => {
      if (!settled) resolve(crashed(name, options, String(error?.stack ?? error)));
      settled = true;
    });
    worker.on('exit', (code) => {
      if (!settled) resolve(crashed(name, options, `the worker exited with code ${code}`));
      settled = true;
    });
  });
}

function crashed(name, options, error) {
  return {
    name,
    seed: options.seed,
    frames: 0,
    decoded: 0,
    refused: 0,
    elapsedMs: 0,
    slowest: { ms: 0, size: 0, seed: options.seed },
    failures: [
      { seed: options.seed, index: -1, problem: `the fuzz run itself failed: ${error}`, excerpt: '', size: 0 },
    ],
  };
}

const fmt = (n) => Math.round(n).toLocaleString('en');

function printReport(report, options) {
  const rate = report.elapsedMs > 0 ? (report.frames / report.elapsedMs) * 1000 : 0;
  const slow = report.slowest;
  console.log(
    `${report.name.padEnd(12)} ${fmt(report.frames).padStart(10)} frames  ${fmt(rate).padStart(8)} frames/s  failures ${report.failures.length}  seed ${report.seed}` +
      `  (decoded ${fmt(report.decoded)}, refused ${fmt(report.refused)}; slowest ${slow.ms.toFixed(1)} ms on ${fmt(slow.size)} ${slow.size === 1 ? 'unit' : 'chars/bytes'})`,
  );
  for (const failure of report.failures) {
    console.log(`  FAIL seed ${failure.seed}, frame ${failure.index}: ${failure.problem}`);
    if (failure.excerpt)
      console.log(`       frame (${fmt(failure.size)} chars/bytes): ${JSON.stringify(failure.excerpt)}`);
    console.log(
      `       replay: pnpm fuzz --protocol ${report.name} --seed ${failure.seed} --frames ${Math.max(1, failure.index + 1)} --max-frame-ms ${options.maxFrameMs}`,
    );
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const { frames, seed, maxFrameMs, maxBytes, hugeRate } = options;
  console.log(
    `fuzzing ${options.protocols.join(', ')}: ${fmt(frames)} frames each, seed ${seed}, ${options.jobs} job(s), frames up to ${fmt(maxBytes)} bytes, ${maxFrameMs} ms per frame at most`,
  );
  const queue = [...options.protocols];
  const reports = new Map();
  const started = Date.now();
  await Promise.all(
    Array.from({ length: options.jobs }, async () => {
      while (queue.length > 0) {
        const name = queue.shift();
        const report = await runInWorker(name, { frames, seed, maxFrameMs, maxBytes, hugeRate });
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        reports.set(name, report);
        printReport(report, options);
      }
    }),
  );
  const failures = [...reports.values()].reduce((n, r) => n + r.failures.length, 0);
  const total = [...reports.values()].reduce((n, r) => n + r.frames, 0);
  console.log(
    `\n${fmt(total)} frames over ${reports.size} protocol(s) in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${seed}: ${failures} failure(s)`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// Entry: the main thread runs the command line, each worker one protocol.

if (!isMainThread) {
  const { name, options } = workerData;
  fuzzOne(name, options).then(
    (report) => parentPort.postMessage({ report }),
    (error) => parentPort.postMessage({ error: String(error?.stack ?? error) }),
  );
} else {
  await main();
}
