import {
  ConfigError,
  ProtocolError,
  base64Encode,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import {
  peerAudioConverter,
  assertTextFrame,
  decodeMediaPayload,
  isJsonObject,
  readFrameObject,
  type JsonObject,
  type PeerSimulator,
} from '@switchboard/core/protocol';
import { AZURE_FRAME_MS, AZURE_SAMPLE_RATES } from './protocol.js';

export type AzurePeerSimulatorOptions = {
  /** The stream's rate (`audioFormat`: `pcm16KMono` or `pcm24KMono`). Default 16000. */
  sampleRate?: 16000 | 24000;
  /**
   * The format of the audio events passed to `encodeInbound` (μ-law, A-law or L16 at any rate),
   * converted to the stream's 16-bit PCM. Default: already the stream's format.
   */
  inputFormat?: AudioFormat;
  /** `subscriptionId` used when a `call_start` event carries an empty `streamId`. Generated when absent. */
  subscriptionId?: string;
  /** `participantRawID` written on every `AudioData`. Default a made-up PSTN caller (`4:1425…`). */
  participantRawId?: string;
  /**
   * How a frame of pure silence is sent: `with-data` (default: its samples, `silent: true`) or
   * `empty` (`silent: true` and no samples, a hazard the protocol must turn back into 20 ms of
   * silence).
   */
  silentFrames?: 'with-data' | 'empty';
  /**
   * Whether outbound audio must come in whole 20 ms frames (default true, code
   * `azure_invalid_chunk`). ACS documents 20 ms packets for its own audio and no rule for the
   * bridge's; the check proves the transport's framing.
   */
  wholeFrames?: boolean;
  /** Largest outbound audio payload accepted, bytes. Default 65 536 (the "64 Kbytes" data packet of ACS's overview). */
  maxPayloadBytes?: number;
  /**
   * Called with every `call_start` encoded, before its `AudioMetadata`: what ACS tells the
   * application out of band (the upgrade request's `x-ms-call-connection-id`, `answerCall`'s
   * result), since its frames carry neither the call's id nor parameters.
   */
  onCallStart?: (subscriptionId: string, event: Extract<CallEvent, { type: 'call_start' }>) => void;
  /** Clock for `audioData.timestamp`; default `Date.now`. */
  now?: () => number;
};

/** Code of the ProtocolError raised for an outbound frame ACS would not accept. */
export const AZURE_INVALID_FRAME_CODE = 'azure_invalid_frame';
/** Code of the ProtocolError raised for outbound audio that is not whole 20 ms frames or too large. */
export const AZURE_INVALID_CHUNK_CODE = 'azure_invalid_chunk';

function invalid(message: string, frame: unknown, code = AZURE_INVALID_FRAME_CODE): never {
  throw new ProtocolError('azure', message, { frame, code });
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** A key of `object` matched case-insensitively (the JS SDK writes camelCase, the .NET SDK PascalCase). */
function lookup(object: JsonObject, name: string): { key: string; value: unknown } | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === wanted) return { key, value: object[key] };
  return undefined;
}

/** Rejects any key of `object` outside `allowed` (compared case-insensitively). */
function onlyKeys(object: JsonObject, allowed: readonly string[], where: string, frame: unknown): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key.toLowerCase()))
      invalid(`unexpected field ${JSON.stringify(key.slice(0, 40))} in ${where}`, frame);
  }
}

/** The fields the SDKs' `OutStreamingData` writes into an outbound `audioData`. */
const AUDIO_FIELDS = ['data', 'timestamp', 'participant', 'participantrawid', 'issilent', 'silent'];

/**
 * ACS's side of a bidirectional audio stream, for tests and offline development.
 *
 * `encodeInbound` writes what ACS sends: `AudioMetadata` for a `call_start`, `AudioData` with
 * base64 16-bit PCM (the caller's audio converted to the stream's rate), `DtmfData`. A
 * `call_end` writes nothing: ACS ends a stream by closing the socket.
 * `decodeOutbound` accepts `AudioData` and `StopAudio` as both official SDKs write them (camelCase
 * or PascalCase fields, `kind` in any case) and REJECTS anything else, audio that is not base64
 * 16-bit PCM, and (by default) audio that is not whole 20 ms frames.
 */
export class AzurePeerSimulator implements PeerSimulator {
  readonly #options: AzurePeerSimulatorOptions;
  readonly #rate: 16000 | 24000;
  readonly #input: AudioFormat;
  readonly #participant: string;
  readonly #maxPayload: number;
  readonly #now: () => number;
  #convert: (bytes: Uint8Array) => Uint8Array;
  #subscriptionId: string | undefined;

  constructor(options: AzurePeerSimulatorOptions = {}) {
    this.#options = options;
    this.#rate = options.sampleRate ?? 16000;
    if (!AZURE_SAMPLE_RATES.includes(this.#rate))
      throw new ConfigError('AzurePeerSimulator: sampleRate must be 16000 or 24000');
    this.#input = options.inputFormat ?? this.format;
    this.#participant = options.participantRawId ?? '4:14255550123';
    this.#maxPayload = options.maxPayloadBytes ?? 65_536;
    this.#now = options.now ?? Date.now;
    this.#convert = peerAudioConverter(this.#input, this.format);
  }

  /** The wire format: 16-bit PCM mono at the stream's rate. */
  get format(): AudioFormat {
    return { encoding: 'l16', sampleRate: this.#rate, channels: 1 };
  }

  get subscriptionId(): string | undefined {
    return this.#subscriptionId;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    switch (event.type) {
      case 'call_start': {
        this.#subscriptionId = event.streamId || this.#options.subscriptionId || randomId();
        this.#convert = peerAudioConverter(this.#input, this.format);
        this.#options.onCallStart?.(this.#subscriptionId, event);
        return [
          JSON.stringify({
            kind: 'AudioMetadata',
            audioMetadata: {
              subscriptionId: this.#subscriptionId,
              encoding: 'PCM',
              sampleRate: this.#rate,
              channels: 1,
              length: ((this.#rate * AZURE_FRAME_MS) / 1000) * 2,
            },
          }),
        ];
      }
      case 'audio': {
        const wire = this.#convert(event.payload);
        if (wire.byteLength === 0) return [];
        const silent = wire.every((b) => b === 0);
        const audioData: Record<string, unknown> = {
          timestamp: new Date(this.#now()).toISOString(),
          participantRawID: this.#participant,
          data: silent && this.#options.silentFrames === 'empty' ? '' : base64Encode(wire),
          silent,
        };
        return [JSON.stringify({ kind: 'AudioData', audioData })];
      }
      case 'dtmf':
        return [JSON.stringify({ kind: 'DtmfData', dtmfData: { data: event.digit } })];
      case 'call_end':
      case 'playback_ack':
      case 'playback_cleared':
      case 'flow_control':
        return [];
    }
  }

  /**
   * Frames a bridge must refuse as malformed (for `errors.malformed` of the conformance harness):
   * audio that is not base64, a DtmfData without a digit, a metadata frame at a rate ACS does not
   * stream, and a frame without a kind.
   */
  malformedFrames(): Array<string | Uint8Array> {
    return [
      '{"kind":"AudioData","audioData":{"data":"%%% not base64 %%%","silent":false}}',
      '{"kind":"DtmfData","dtmfData":{}}',
      '{"audioData":{"data":"AAAA"}}',
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, invalid, 'ACS reads JSON text frames, not binary');
    const message = readFrameObject(frame, invalid);
    const kind = lookup(message, 'kind')?.value;
    if (typeof kind !== 'string') invalid('frame has no string "kind" field', frame);
    onlyKeys(message, ['kind', 'audiodata', 'stopaudio'], 'the frame', frame);
    const stop = lookup(message, 'stopAudio')?.value;
    if (stop !== undefined && stop !== null && !isJsonObject(stop)) invalid('stopAudio is not an object', frame);
    switch (kind.toLowerCase()) {
      case 'audiodata': {
        const audio = lookup(message, 'audioData')?.value;
        if (!isJsonObject(audio)) invalid('AudioData without an audioData object', frame);
        onlyKeys(audio, AUDIO_FIELDS, 'audioData', frame);
        const data = lookup(audio, 'data')?.value;
        if (typeof data !== 'string' || data.length === 0) invalid('audioData.data is not a non-empty string', frame);
        const bytes = decodeMediaPayload(data, frame, invalid);
        this.#checkChunk(bytes.byteLength, frame);
        return [{ type: 'audio', payload: bytes }];
      }
      case 'stopaudio': {
        const audio = lookup(message, 'audioData')?.value;
        if (audio !== undefined && audio !== null) invalid('StopAudio carries audioData', frame);
        return [{ type: 'clear' }];
      }
      default:
        invalid(`unsupported kind ${JSON.stringify(kind.slice(0, 40))} (only AudioData and StopAudio)`, frame);
    }
  }

  #checkChunk(n: number, frame: unknown): void {
    if (n % 2 !== 0) invalid(`audio of ${n} bytes is not whole 16-bit samples`, frame, AZURE_INVALID_CHUNK_CODE);
    if (n > this.#maxPayload)
      invalid(`audio of ${n} bytes is over the ${this.#maxPayload}-byte packet limit`, frame, AZURE_INVALID_CHUNK_CODE);
    const frameBytes = ((this.#rate * AZURE_FRAME_MS) / 1000) * 2;
    if (this.#options.wholeFrames !== false && n % frameBytes !== 0)
      invalid(
        `audio of ${n} bytes is not whole ${AZURE_FRAME_MS} ms frames (${frameBytes} bytes at ${this.#rate} Hz)`,
        frame,
        AZURE_INVALID_CHUNK_CODE,
      );
  }
}
