// The two public entries of @switchboard/core, pinned name by name: the root is what an application
// needs to run a call, `/protocol` is the adapter kit. A name added to, moved between or removed
// from either entry is a change to the public API, and this list is where it shows (with the API
// reports for the types).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as rootSource from '../src/index.js';
import * as otelSource from '../src/otel/index.js';
import * as protocolSource from '../src/protocol.js';

const ROOT = [
  'AGENT_HANGUP_REASON',
  'ALAW_SILENCE',
  'CALL_DIRECTORY_DEFAULTS',
  'CallAudioRecorder',
  'CallControlError',
  'CallDirectory',
  'CallRecorder',
  'CallRegistry',
  'ConfigError',
  'DEFAULT_DRAIN_DEADLINE_MS',
  'END_AFTER_PLAYBACK_TIMEOUT_MS',
  'Framer',
  'MODEL_CONNECT_FAILED_REASON',
  'MULAW_SILENCE',
  'MemoryNonceStore',
  'MemoryPrewarmRegistry',
  'PREWARM_CREATE_TIMEOUT_REASON',
  'PREWARM_DEFAULTS',
  'PREWARM_UNCLAIMED_REASON',
  'PendingMediaConnection',
  'PrewarmPool',
  'ProtocolDetectionError',
  'ProtocolError',
  'RECORDING_DEFAULT_MAX_BYTES',
  'REDACTED',
  'REPLAY_DEFAULT_MAX_ENTRIES',
  'REPLAY_DEFAULT_TTL_MS',
  'REPLAY_MAX_KEY_LENGTH',
  'ReplayGuard',
  'Resampler',
  'SHUTDOWN_REASON',
  'SwitchboardError',
  'TRANSFERRED_REASON',
  'TRANSPORT_DEFAULTS',
  'TelephonyRealtimeTransport',
  'WebhookSignatureError',
  'aLawToLinear',
  'base64Decode',
  'base64Encode',
  'base64UrlDecode',
  'base64UrlEncode',
  'bytesPerMs',
  'bytesPerSample',
  'concatBytes',
  'connectOrEnd',
  'decodeALaw',
  'decodeMuLaw',
  'decodeWav',
  'detectMediaProtocol',
  'detectProtocol',
  'drainOnSignals',
  'durationMs',
  'encodeALaw',
  'encodeMuLaw',
  'encodeWav',
  'endCallTool',
  'estimateMos',
  'linearToALaw',
  'linearToMuLaw',
  'muLawToLinear',
  'pcm16FromBytes',
  'pcm16ToBytes',
  'playWhile',
  'scaledClock',
  'silence',
  'silenceByte',
  'swapBytes16',
  'systemClock',
  'transferCallTool',
];

const PROTOCOL = [
  'ActiveStreamId',
  'DEFAULT_REST_TIMEOUT_MS',
  'EXCERPT_SCAN_CHARS',
  'FrameParse',
  'KEYPAD_DIGIT',
  'MAX_TEXT_FRAME_CHARS',
  'PeerMediaCounter',
  'PlaybackLedger',
  'absoluteHttpUrl',
  'assertReplayGuardOption',
  'assertTextFrame',
  'basicAuthorization',
  'callStartEvent',
  'carrierRequest',
  'checkExactKeys',
  'checkOutboundStreamId',
  'constantTimeEqual',
  'createMetrics',
  'decodeDtmfFrame',
  'decodeMarkFrame',
  'decodeMediaPayload',
  'decodeStopFrame',
  'describeError',
  'encodeStreamCommand',
  'excerpt',
  'inboundTranscoder',
  'interceptConnection',
  'isJsonObject',
  'jsonText',
  'logger',
  'modelBytesPerMs',
  'modelFormatFor',
  'nonEmptyString',
  'outboundTranscoder',
  'parseJsonObjectFrame',
  'peerAudioConverter',
  'readCounter',
  'readFrameEvent',
  'readFrameObject',
  'readHeader',
  'readOutboundMark',
  'readOutboundMedia',
  'readStartObject',
  'readStartStreamId',
  'registerCallTools',
  'rejectOutboundEvent',
  'restClientConfig',
  'sameModelFormat',
  'splitOptions',
  'stringRecord',
  'takeCarrierSocket',
  'toBytes',
  'toMediaConnection',
  'toProtocolError',
  'withCallControlHangUp',
];

/** `@switchboard/core/otel`: the OpenTelemetry metrics, for applications that install `@opentelemetry/api`. */
const OTEL = ['CallInstruments', 'MAX_END_REASONS', 'METER_NAME', 'instrumentCall'];

const names = (module: object) => Object.keys(module).sort();

describe('the entries of the source', () => {
  it('the root exports exactly the application names', () => {
    expect(names(rootSource)).toEqual(ROOT);
  });

  it('the protocol entry exports exactly the adapter kit', () => {
    expect(names(protocolSource)).toEqual(PROTOCOL);
  });

  it('the otel entry exports exactly the OpenTelemetry names, none of them at the root', () => {
    expect(names(otelSource)).toEqual(OTEL);
    expect(OTEL.filter((name) => ROOT.includes(name) || PROTOCOL.includes(name))).toEqual([]);
  });

  it('no runtime name is exported from both entries', () => {
    expect(ROOT.filter((name) => PROTOCOL.includes(name))).toEqual([]);
  });

  it('frame readers and peer helpers are not at the root', () => {
    for (const name of ['readFrameObject', 'readFrameEvent', 'checkExactKeys', 'encodeStreamCommand', 'excerpt']) {
      expect(rootSource, name).not.toHaveProperty(name);
      expect(protocolSource, name).toHaveProperty(name);
    }
  });
});

// The built package, loaded by its name as Node resolves it for a user (the package refers to
// itself through its `exports` map): once with `import`, once with `require`.
const packageDir = fileURLToPath(new URL('..', import.meta.url));

const PROBE = `
const shape = (root, protocol) => {
  // One copy of each class for both entries: the kit's toProtocolError passes on a ProtocolError
  // made with the root's class, and wraps anything else in one that is the root's too.
  const error = new root.ProtocolError('acme', 'bad frame');
  return {
    root: Object.keys(root).sort(),
    protocol: Object.keys(protocol).sort(),
    sharedClasses:
      protocol.toProtocolError('acme', error) === error &&
      protocol.toProtocolError('acme', new Error('thrown')) instanceof root.ProtocolError,
  };
};
`;

function probe(kind: 'import' | 'require'): Promise<{ root: string[]; protocol: string[]; sharedClasses: boolean }> {
  const script =
    kind === 'import'
      ? `${PROBE}
const [root, protocol] = await Promise.all([import('@switchboard/core'), import('@switchboard/core/protocol')]);
console.log(JSON.stringify(shape({ ...root }, { ...protocol })));`
      : `${PROBE}
console.log(JSON.stringify(shape(require('@switchboard/core'), require('@switchboard/core/protocol'))));`;
  const args = kind === 'import' ? ['--input-type=module', '-e', script] : ['--input-type=commonjs', '-e', script];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: packageDir, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${kind} of the built package failed (is it built?): ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('the built package, by name', () => {
  it.each(['import', 'require'] as const)(
    'with %s, has the same two entries and one copy of each class',
    async (kind) => {
      const result = await probe(kind);
      // A difference from the source lists means dist/ is older than src/: `pnpm build` first.
      expect(result.root).toEqual(ROOT);
      expect(result.protocol).toEqual(PROTOCOL);
      expect(result.sharedClasses).toBe(true);
    },
  );

  it('has the otel entry, with import and with require', async () => {
    const run = (args: string[]) =>
      new Promise<string[]>((resolve, reject) => {
        execFile(process.execPath, args, { cwd: packageDir, timeout: 120_000 }, (error, stdout, stderr) => {
          if (error) reject(new Error(`the otel entry failed to load (is it built?): ${stderr || error.message}`));
          else resolve(JSON.parse(stdout) as string[]);
        });
      });
    const esm = `console.log(JSON.stringify(Object.keys(await import('@switchboard/core/otel')).sort()))`;
    const cjs = `console.log(JSON.stringify(Object.keys(require('@switchboard/core/otel')).sort()))`;
    expect(await run(['--input-type=module', '-e', esm])).toEqual(OTEL);
    expect(await run(['--input-type=commonjs', '-e', cjs])).toEqual(OTEL);
  });
});
