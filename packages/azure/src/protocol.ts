/**
 * Azure Communication Services (ACS) bidirectional audio streaming, Call Automation's
 * `mediaStreamingOptions` with `transportType: "websocket"` and `enableBidirectional: true`.
 *
 * Wire format (reference/azure.md has every source):
 * - ACS → bridge, JSON text frames named by `kind`. First `AudioMetadata`, its `audioMetadata`
 *   holding `subscriptionId`, `encoding` ("PCM"), `sampleRate` (16000), `channels` (1) and
 *   `length` (640); then `AudioData`, its `audioData` holding `timestamp`, `participantRawID`,
 *   `data` (base64) and `silent`; and `DtmfData` (`dtmfData.data`, "3") with `enableDtmfTones`.
 *   Audio is 16-bit PCM mono at 16 or 24 kHz, 20 ms a frame (the Learn quickstarts and the
 *   "Audio streaming overview"; the JS and .NET Call Automation SDKs' streaming parsers).
 * - Bridge → ACS: `AudioData` with `audioData.data` (base64) to play audio, and `StopAudio` (with
 *   `audioData` null and `stopAudio` an empty object) to drop what is queued (the SDKs'
 *   `OutStreamingData`).
 * - No playback acknowledgements, no stop message (the socket closes when the call or the stream
 *   ends), no call id in the frames: Call Automation puts it in the upgrade request's
 *   `x-ms-call-connection-id` header, which the application passes in as `callConnectionId`.
 *
 * The core's playout clock stands in for acknowledgements, and output is paced (`pacingLeadMs`):
 * how much audio ACS queues is not documented, and a short queue keeps a barge-in short.
 */
import {
  ConfigError,
  ProtocolError,
  base64Decode,
  base64Encode,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import {
  FrameParse,
  KEYPAD_DIGIT,
  assertTextFrame,
  callStartEvent,
  isJsonObject,
  readFrameObject,
  type JsonObject,
} from '@switchboard/core/protocol';

const PROVIDER = 'azure';

/** The sampling rates ACS streams: `pcm16KMono` and `pcm24KMono`. */
export const AZURE_SAMPLE_RATES: readonly number[] = Object.freeze([16000, 24000]);

/** Options of {@link AzureMediaStreamProtocol}; everything the frames do not carry. */
export type AzureMediaStreamProtocolOptions = {
  /**
   * The call's `callConnectionId`, from the upgrade request's `x-ms-call-connection-id` header
   * (see `readAzureStreamHeaders`) or from `answerCall`/`createCall`: it becomes
   * `callStart.callId`, the id Call Automation's REST API (hang up, transfer) takes.
   */
  callConnectionId?: string;
  /** Parameters of the call (the `transportUrl`'s query, for instance): `callStart.customParameters`. */
  customParameters?: Record<string, string>;
  /**
   * What the application knows of the call a stream belongs to, looked up by the stream's
   * `subscriptionId` when `AudioMetadata` arrives: for a media route that learns the call's id out
   * of band (a store filled after `answerCall`, keyed by its `mediaStreamingSubscription.id`).
   * What it returns takes precedence over `callConnectionId` and `customParameters`.
   */
  describeCall?: (
    subscriptionId: string,
  ) => { callConnectionId?: string; customParameters?: Record<string, string> } | undefined;
  /**
   * The rate the stream was asked for (`audioFormat`): the format assumed for audio that comes
   * before `AudioMetadata`. 16000 (default, ACS's default `pcm16KMono`) or 24000.
   */
  sampleRate?: 16000 | 24000;
  /**
   * For an `unmixed` stream (one channel per dominant speaker): only audio whose
   * `participantRawID` is this one reaches the model; the rest is dropped. Default: every frame
   * (a `mixed` stream, which is what a voice agent asks for).
   */
  participantRawId?: string;
  /**
   * Most audio (ms) kept queued at ACS; the rest waits in the transport and leaves as the playout
   * clock drains ACS's queue. ACS documents no queue size and sends no playback acknowledgements,
   * so a short queue keeps the audio a `StopAudio` has to drop short. Default 1000; `null` sends
   * the model's audio as it comes.
   */
  pacingLeadMs?: number | null;
};

/** Default of {@link AzureMediaStreamProtocolOptions.pacingLeadMs}. */
export const AZURE_DEFAULT_PACING_LEAD_MS = 1000;

/** Duration of the frames ACS sends, and of those the bridge sends back: 20 ms. */
export const AZURE_FRAME_MS = 20;

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/** DTMF tone names Call Automation uses in its events (`DtmfTone`), for a `DtmfData` that spells them out. */
const TONE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  a: 'A',
  b: 'B',
  c: 'C',
  d: 'D',
  pound: '#',
  asterisk: '*',
  star: '*',
});

/** A `DtmfData` payload as keypad digits: `"3"`, `"12#"`, or tone names such as `"pound"`. */
function readTones(value: unknown, frame: string): string[] {
  if (typeof value !== 'string' || value.length === 0) fail('DtmfData without a string dtmfData.data', frame);
  const named = TONE_NAMES[value.trim().toLowerCase()];
  if (named !== undefined) return [named];
  if (value.length > 32) fail('dtmfData.data is longer than 32 tones', frame);
  const digits = [...value];
  if (!digits.every((digit) => KEYPAD_DIGIT.test(digit)))
    fail('dtmfData.data holds something other than keypad digits (0-9, *, #, A-D)', frame);
  return digits.map((digit) => digit.toUpperCase());
}

/** The object a message names by its kind: `audioData` for `AudioData`, read case-insensitively. */
function body(message: JsonObject, kind: string): unknown {
  const wanted = kind.charAt(0).toLowerCase() + kind.slice(1);
  if (wanted in message) return message[wanted];
  for (const key of Object.keys(message)) if (key.toLowerCase() === wanted.toLowerCase()) return message[key];
  return undefined;
}

/** Reads a field of `object`, its name in camelCase or PascalCase (the .NET SDK writes PascalCase). */
function field(object: JsonObject, name: string): unknown {
  if (name in object) return object[name];
  const pascal = name.charAt(0).toUpperCase() + name.slice(1);
  return object[pascal];
}

/** `AudioMetadata.audioMetadata` → the stream's format: 16-bit PCM mono at 16 or 24 kHz. */
function readMetadataFormat(metadata: JsonObject, frame: string): AudioFormat {
  const encoding = field(metadata, 'encoding');
  if (encoding !== undefined && (typeof encoding !== 'string' || encoding.toLowerCase() !== 'pcm'))
    fail('audioMetadata.encoding is not "PCM": ACS streams 16-bit PCM only', frame, 'azure_unsupported_format');
  const rate = field(metadata, 'sampleRate');
  if (typeof rate !== 'number' || !Number.isInteger(rate)) fail('audioMetadata.sampleRate is not an integer', frame);
  if (!AZURE_SAMPLE_RATES.includes(rate))
    fail(`audioMetadata.sampleRate ${rate} is not supported: 16000 or 24000`, frame, 'azure_unsupported_format');
  const channels = field(metadata, 'channels');
  // The JS SDK types `channels` as an enum whose `Mono` is 1.
  if (channels !== undefined && channels !== 1)
    fail('audioMetadata.channels is not 1: ACS streams mono audio', frame, 'azure_unsupported_format');
  return { encoding: 'l16', sampleRate: rate, channels: 1 };
}

/**
 * The ACS bidirectional audio streaming protocol. Pure: its state is the stream's format (for
 * silent frames that come without data) and a one-entry cache of the last parsed frame for the
 * raw `azure_message` event.
 */
export class AzureMediaStreamProtocol implements MediaStreamProtocol {
  readonly name = 'azure';
  readonly capabilities: ProtocolCapabilities;
  readonly defaultFormat: AudioFormat;

  readonly #options: AzureMediaStreamProtocolOptions;
  readonly #parses = new FrameParse();
  #format: AudioFormat;
  #subscriptionId: string | undefined;

  constructor(options: AzureMediaStreamProtocolOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigError('AzureMediaStreamProtocol: options must be an object');
    const rate = options.sampleRate ?? 16000;
    if (!AZURE_SAMPLE_RATES.includes(rate))
      throw new ConfigError('AzureMediaStreamProtocol: sampleRate must be 16000 or 24000');
    const lead = options.pacingLeadMs === undefined ? AZURE_DEFAULT_PACING_LEAD_MS : options.pacingLeadMs;
    if (lead !== null && (!Number.isFinite(lead) || lead <= 0))
      throw new ConfigError('AzureMediaStreamProtocol: pacingLeadMs must be a positive number or null');
    if (options.callConnectionId !== undefined && typeof options.callConnectionId !== 'string')
      throw new ConfigError('AzureMediaStreamProtocol: callConnectionId must be a string');
    if (options.describeCall !== undefined && typeof options.describeCall !== 'function')
      throw new ConfigError('AzureMediaStreamProtocol: describeCall must be a function');
    this.#options = options;
    this.defaultFormat = { encoding: 'l16', sampleRate: rate, channels: 1 };
    this.#format = this.defaultFormat;
    this.capabilities = {
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      // Whole 20 ms frames, as ACS sends them (640 bytes at 16 kHz, 960 at 24 kHz).
      frame: { ms: AZURE_FRAME_MS },
      ...(lead === null ? {} : { pacing: { leadMs: lead } }),
    };
  }

  /** The `subscriptionId` of the stream, once `AudioMetadata` has been decoded. */
  get subscriptionId(): string | undefined {
    return this.#subscriptionId;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    // ACS sends text frames; the SDK parsers also take UTF-8 bytes, so a binary frame is read as text.
    const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
    assertTextFrame(text, fail, 'received a binary frame that is not UTF-8 JSON');
    const message = readFrameObject(text, fail, this.#parses);
    const kind = field(message, 'kind');
    if (typeof kind !== 'string') fail('frame has no string "kind" field', text);
    switch (kind.toLowerCase()) {
      case 'audiodata':
        return this.#decodeAudio(message, text);
      case 'audiometadata':
        return [this.#decodeMetadata(message, text)];
      case 'dtmfdata': {
        const dtmf = body(message, 'DtmfData');
        if (!isJsonObject(dtmf)) fail('DtmfData without a dtmfData object', text);
        return readTones(field(dtmf, 'data'), text).map((digit) => ({ type: 'dtmf', digit }));
      }
      default:
        // TranscriptionMetadata / TranscriptionData (a transcription stream on the same URL) and
        // kinds added later carry nothing for the model.
        return [];
    }
  }

  rawMessage(frame: string | Uint8Array): unknown {
    return this.#parses.rawMessage(typeof frame === 'string' ? frame : decodeUtf8(frame));
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    switch (command.type) {
      case 'audio':
        if (command.payload.byteLength === 0) return [];
        return [`{"kind":"AudioData","audioData":{"data":"${base64Encode(command.payload)}"}}`];
      case 'clear':
        return ['{"kind":"StopAudio","audioData":null,"stopAudio":{}}'];
      default:
        // No marks (no acknowledgements), no DTMF out and no hang-up on the stream: Call
        // Automation's REST API hangs up (AzureCallAutomation) and sends tones.
        return [];
    }
  }

  #decodeMetadata(message: JsonObject, frame: string): CallEvent {
    const metadata = body(message, 'AudioMetadata');
    if (!isJsonObject(metadata)) fail('AudioMetadata without an audioMetadata object', frame);
    const subscriptionId = field(metadata, 'subscriptionId');
    if (typeof subscriptionId !== 'string' || subscriptionId.length === 0)
      fail('audioMetadata without a subscriptionId', frame);
    const format = readMetadataFormat(metadata, frame);
    const known = this.#options.describeCall?.(subscriptionId);
    const event = callStartEvent({
      streamId: subscriptionId,
      format,
      customParameters: { ...(known?.customParameters ?? this.#options.customParameters ?? {}) },
      raw: message,
      callId: known?.callConnectionId ?? this.#options.callConnectionId,
      from: undefined,
      to: undefined,
    });
    this.#subscriptionId = subscriptionId;
    this.#format = format;
    return event;
  }

  #decodeAudio(message: JsonObject, frame: string): CallEvent[] {
    const audio = body(message, 'AudioData');
    if (!isJsonObject(audio)) fail('AudioData without an audioData object', frame);
    const wanted = this.#options.participantRawId;
    if (wanted !== undefined && field(audio, 'participantRawID') !== wanted) return [];
    const data = field(audio, 'data');
    const silent = field(audio, 'silent');
    if (silent !== undefined && silent !== null && typeof silent !== 'boolean')
      fail('audioData.silent is not a boolean', frame);
    if (data !== undefined && data !== null && typeof data !== 'string')
      fail('audioData.data is not a base64 string', frame);
    if (data === undefined || data === null || data === '') {
      // A silent frame may come without its samples: it stands for 20 ms of silence.
      if (silent === true) return [{ type: 'audio', payload: new Uint8Array(frameBytes(this.#format)) }];
      fail('AudioData without audioData.data', frame);
    }
    let bytes: Uint8Array;
    try {
      bytes = base64Decode(data);
    } catch {
      fail('audioData.data is not valid base64', frame);
    }
    if (bytes.byteLength % 2 !== 0)
      fail(`audioData.data of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    return [{ type: 'audio', payload: bytes }];
  }
}

/** Bytes of one 20 ms frame of 16-bit PCM at the format's rate. */
function frameBytes(format: AudioFormat): number {
  return ((format.sampleRate * AZURE_FRAME_MS) / 1000) * 2;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A binary frame's UTF-8 text, or the frame itself when it is not UTF-8 (refused as binary). */
function decodeUtf8(frame: Uint8Array): string | Uint8Array {
  try {
    return utf8.decode(frame);
  } catch {
    return frame;
  }
}
