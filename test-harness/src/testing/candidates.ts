import { AssertionError } from 'node:assert';
import { detectProtocol, type CallEvent, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';

/** The first frames of other carriers and gateways, as they document them. */
export const OTHER_CARRIER_FIRST_FRAMES: readonly string[] = [
  // Twilio Media Streams: connected, then start.
  '{"event":"connected","protocol":"Call","version":"1.0.0"}',
  '{"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}',
  // Vonage WebSockets.
  '{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}',
  // Asterisk chan_websocket.
  'MEDIA_START connection_id:abc channel:PJSIP/1 format:ulaw optimal_frame_size:160',
];

/** Frames no carrier sends first: binary, text that is not JSON, JSON that is not a frame. */
export const JUNK_FRAMES: readonly MediaFrame[] = [new Uint8Array([1, 2, 3]), 'not json', '[]', '{"event":1}'];

type CallStart = Extract<CallEvent, { type: 'call_start' }>;

/**
 * The text frames each peer writes for `start` (in its own wire format) and then for one chunk of
 * `audioBytes` bytes of audio: other carriers' opening frames, as their simulators send them, for
 * `otherFirstFrames` of {@link protocolCandidateCases} and other cross-checks of a candidate.
 */
export function peerOpeningFrames(peers: readonly PeerSimulator[], start: CallStart, audioBytes = 160): string[] {
  return peers.flatMap((peer) =>
    [
      ...peer.encodeInbound(start),
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(audioBytes) }),
    ].filter((frame): frame is string => typeof frame === 'string'),
  );
}

const DEFAULT_START: CallStart = {
  type: 'call_start',
  streamId: 'stream-1',
  callId: 'call-1',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: {},
  raw: null,
};

export interface ProtocolCandidateCasesOptions {
  /** The carrier's peer simulator: its start frame must be recognised. */
  peer: PeerSimulator;
  /**
   * The carrier's stream id field (`stream_sid`, `streamId`, …). Vonage echoes an NCCO endpoint's
   * headers at the top level of its first frame, so a header of that name must not make the
   * candidate claim a Vonage socket.
   */
  streamIdField: string;
  /** The call the peer starts. Default: stream `stream-1`, call `call-1`, μ-law 8 kHz. */
  start?: CallStart;
  /** First frames of other carriers the candidate must leave alone. Default: {@link OTHER_CARRIER_FIRST_FRAMES}. */
  otherFirstFrames?: readonly MediaFrame[];
}

const describeFrame = (frame: MediaFrame) => (typeof frame === 'string' ? frame : `<binary ${frame.byteLength} bytes>`);

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError({ message, operator: 'protocolCandidateCases' });
}

/**
 * The checks every carrier's detection candidate (`acmeCandidate`) should pass, as named cases
 * for `it.each` (or any loop):
 * - it recognises the start frame the peer sends, `detectProtocol` picks it, and the protocol it
 *   creates decodes that frame into `call_start` with the stream id;
 * - it does not claim a Vonage first frame (or a later Vonage frame) that carries a header named
 *   like the carrier's stream id field;
 * - it leaves other carriers' first frames, binary frames and junk alone.
 *
 * ```ts
 * const cases = protocolCandidateCases(acmeCandidate, { peer: new AcmePeerSimulator(), streamIdField: 'stream_id' });
 * it.each(cases)('%s', (_title, check) => check());
 * ```
 */
export function protocolCandidateCases(
  candidate: ProtocolCandidate,
  options: ProtocolCandidateCasesOptions,
): Array<[title: string, check: () => void]> {
  const start = options.start ?? DEFAULT_START;
  const field = options.streamIdField;
  return [
    [
      'recognises the start frame the carrier sends, and creates a working protocol for it',
      () => {
        const frames = options.peer.encodeInbound(start).filter((f): f is string => typeof f === 'string');
        const startFrame = frames.find((f) => f.includes('"start"'));
        assert(startFrame !== undefined, `the peer sent no start frame: ${frames.join(' | ')}`);
        assert(
          detectProtocol(startFrame, [candidate]) === candidate,
          `${candidate.name} does not recognise its start frame: ${startFrame}`,
        );
        const event = candidate
          .create()
          .decode(startFrame)
          .find((e): e is CallStart => e.type === 'call_start');
        assert(event !== undefined, `the protocol of ${candidate.name} gives no call_start for ${startFrame}`);
        assert(
          event.streamId === start.streamId,
          `call_start has stream id ${String(event.streamId)}, expected ${start.streamId}`,
        );
      },
    ],
    [
      `does not claim a Vonage first frame whose NCCO headers carry a "${field}" header`,
      () => {
        const frames = [
          JSON.stringify({
            event: 'websocket:connected',
            'content-type': 'audio/l16;rate=16000',
            [field]: 'abc',
            start: { [field]: 'abc' },
          }),
          JSON.stringify({ event: 'websocket:dtmf', digit: '5', [field]: 'abc' }),
        ];
        for (const frame of frames)
          assert(candidate.matches(frame) === false, `${candidate.name} claims a Vonage frame: ${frame}`);
      },
    ],
    [
      'leaves other carriers’ first frames, binary frames and junk alone',
      () => {
        for (const frame of [...(options.otherFirstFrames ?? OTHER_CARRIER_FIRST_FRAMES), ...JUNK_FRAMES]) {
          assert(candidate.matches(frame) === false, `${candidate.name} claims ${describeFrame(frame)}`);
        }
      },
    ],
  ];
}
