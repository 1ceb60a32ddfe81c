/**
 * Bandwidth Programmable Voice media streams, bidirectional (`<StartStream mode="bidirectional">`).
 *
 * Wire format (sources in reference/bandwidth.md): JSON text frames keyed by `eventType`.
 * Bandwidth sends `start` (`metadata`: `accountId`, `callId`, `streamId`, `streamName`, `tracks`
 * with each track's `name` and `mediaFormat` — `audio/PCMU` at 8000 Hz, the only format
 * documented — and `streamParams`, the `<StreamParam>` name/value pairs), then `media` frames
 * (`track`, base64 `payload`) and, when the stream ends, `stop`
 * (https://dev.bandwidth.com/docs/voice/bxml/startStream, "Websocket Packet Format").
 * The bridge sends `playAudio` (`media`: `contentType`, base64 `payload`) and `clear`, which
 * drops the audio Bandwidth has queued (Bandwidth's own sample, Bandwidth-Samples/
 * openai-realtime-websockets-python). There are no playback acknowledgements, no DTMF on the
 * stream (DTMF reaches the application by webhook) and no stream id in outbound frames.
 *
 * What the docs leave open is an option with a stated default: which track is the caller
 * (`inbound`), and whether `sequenceNumber` orders media (not read by default: one WebSocket
 * cannot reorder, and the field's numbering is not documented).
 */
import {
  ConfigError,
  ProtocolError,
  base64Encode,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import {
  FrameParse,
  assertTextFrame,
  callStartEvent,
  decodeMediaPayload,
  isJsonObject,
  readCounter,
  readFrameObject,
  readStartStreamId,
  stringRecord,
  type JsonObject,
} from '@switchboard/core/protocol';

const PROVIDER = 'bandwidth';

/** Code of the ProtocolError for a `start` naming a media format other than μ-law 8 kHz. */
export const BANDWIDTH_UNSUPPORTED_FORMAT_CODE = 'bandwidth_unsupported_format';

/** The stream's one documented format, both ways: G.711 μ-law at 8 kHz (`audio/PCMU`). */
export const BANDWIDTH_FORMAT: Readonly<AudioFormat> = Object.freeze({
  encoding: 'pcmu',
  sampleRate: 8000,
  channels: 1,
});

/** The `contentType` of the `playAudio` frames the bridge sends. */
export const BANDWIDTH_PLAY_CONTENT_TYPE = 'audio/pcmu';

/** Default of {@link BandwidthProtocolOptions.leadMs}: audio queued at Bandwidth ahead of the playout clock. */
export const BANDWIDTH_DEFAULT_LEAD_MS = 1000;
/** Default of {@link BandwidthProtocolOptions.frameMs}: each `playAudio` holds whole 20 ms packets. */
export const BANDWIDTH_DEFAULT_FRAME_MS = 20;

export type BandwidthProtocolOptions = {
  /**
   * The track whose media is the caller: `inbound` (default), Bandwidth's name for the audio it
   * receives from the call. With `tracks="both"` the `outbound` track (what the call hears,
   * the agent's own voice included) is left out.
   */
  track?: string;
  /**
   * How much audio, in ms, is sent ahead of the playout clock (Bandwidth acknowledges nothing):
   * the most a barge-in can leave queued at Bandwidth before `clear` drops it. Default 1000;
   * `null` sends the model's audio as it comes.
   */
  leadMs?: number | null;
  /**
   * Each `playAudio` holds a whole multiple of this many ms of audio. Default 20 (one RTP packet
   * of the μ-law call); Bandwidth documents no size rule.
   */
  frameMs?: number;
  /** Read `media.sequenceNumber` as the frame's sequence (for reordering). Default false. */
  readSequenceNumbers?: boolean;
};

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/** `audio/PCMU`, `audio/pcmu`, `PCMU`, with or without parameters, in any case. */
function isPcmu(encoding: string): boolean {
  const type = encoding.split(';')[0]!.trim().toLowerCase();
  return type === 'audio/pcmu' || type === 'pcmu' || type === 'audio/x-mulaw' || type === 'audio/basic';
}

/** The format of the caller's track as the `start` describes it; μ-law 8 kHz when it says nothing. */
function readTrackFormat(metadata: JsonObject, track: string, frame: string): AudioFormat {
  const tracks = metadata['tracks'];
  if (tracks === undefined || tracks === null) return { ...BANDWIDTH_FORMAT };
  if (!Array.isArray(tracks)) fail('start metadata.tracks is not a list', frame);
  const entries: JsonObject[] = [];
  for (const entry of tracks) {
    if (!isJsonObject(entry)) fail('start metadata.tracks holds an entry that is not an object', frame);
    entries.push(entry);
  }
  const caller = entries.find((entry) => entry['name'] === track);
  if (caller === undefined) return { ...BANDWIDTH_FORMAT };
  const mediaFormat = caller['mediaFormat'];
  if (mediaFormat === undefined || mediaFormat === null) return { ...BANDWIDTH_FORMAT };
  if (!isJsonObject(mediaFormat)) fail('start track mediaFormat is not an object', frame);
  const encoding = mediaFormat['encoding'];
  if (encoding !== undefined && typeof encoding !== 'string') fail('start track encoding is not a string', frame);
  if (encoding !== undefined && !isPcmu(encoding)) {
    fail(
      `media encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: Bandwidth streams audio/PCMU`,
      frame,
      BANDWIDTH_UNSUPPORTED_FORMAT_CODE,
    );
  }
  const rawRate = mediaFormat['sampleRate'];
  if (rawRate !== undefined && rawRate !== null) {
    const rate = readCounter(rawRate);
    if (rate === undefined) fail('start track sampleRate is not an integer', frame);
    if (rate !== 8000)
      fail(`sampleRate ${rate} is not supported: audio/PCMU runs at 8000 Hz`, frame, BANDWIDTH_UNSUPPORTED_FORMAT_CODE);
  }
  return { ...BANDWIDTH_FORMAT };
}

function checkOptions(options: BandwidthProtocolOptions): { track: string; leadMs: number | null; frameMs: number } {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('BandwidthMediaStreamProtocol: options must be an object');
  const track = options.track ?? 'inbound';
  if (typeof track !== 'string' || track.length === 0)
    throw new ConfigError('BandwidthMediaStreamProtocol: track must be a non-empty string');
  const leadMs = options.leadMs === undefined ? BANDWIDTH_DEFAULT_LEAD_MS : options.leadMs;
  if (leadMs !== null && !(typeof leadMs === 'number' && Number.isFinite(leadMs) && leadMs > 0))
    throw new ConfigError('BandwidthMediaStreamProtocol: leadMs must be a positive number of ms, or null');
  const frameMs = options.frameMs ?? BANDWIDTH_DEFAULT_FRAME_MS;
  if (!(Number.isInteger(frameMs) && frameMs > 0 && frameMs <= 1000))
    throw new ConfigError('BandwidthMediaStreamProtocol: frameMs must be a whole number of ms from 1 to 1000');
  return { track, leadMs, frameMs };
}

/**
 * The Bandwidth bidirectional stream protocol. Pure: its only state is the caller's track name
 * and a one-entry cache of the last parsed frame for the raw `bandwidth_message` event.
 * Capabilities: no playback acknowledgements (the core's playout clock stands in, and output is
 * paced `leadMs` ahead of it), `clear` without a confirmation, no DTMF either way.
 */
export class BandwidthMediaStreamProtocol implements MediaStreamProtocol {
  readonly name = PROVIDER;
  readonly capabilities: ProtocolCapabilities;
  readonly defaultFormat: AudioFormat = { ...BANDWIDTH_FORMAT };
  readonly #track: string;
  readonly #readSequence: boolean;
  readonly #parses = new FrameParse();

  constructor(options: BandwidthProtocolOptions = {}) {
    const { track, leadMs, frameMs } = checkOptions(options);
    this.#track = track;
    this.#readSequence = options.readSequenceNumbers === true;
    this.capabilities = {
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: false,
      dtmfOut: false,
      frame: { ms: frameMs },
      ...(leadMs === null ? {} : { pacing: { leadMs } }),
    };
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    assertTextFrame(frame, fail, 'received a binary frame; Bandwidth streams send JSON text frames');
    const message = readFrameObject(frame, fail, this.#parses);
    const eventType = message['eventType'];
    if (typeof eventType !== 'string') fail('frame has no string "eventType" field', frame);
    switch (eventType) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'stop':
        return [{ type: 'call_end', reason: 'stop' }];
      default:
        // Events this bridge does not know are passed over (they still appear as bandwidth_message).
        return [];
    }
  }

  rawMessage(frame: string | Uint8Array): unknown {
    return this.#parses.rawMessage(frame);
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    switch (command.type) {
      case 'audio':
        if (command.payload.byteLength === 0) return [];
        return [
          `{"eventType":"playAudio","media":{"contentType":"${BANDWIDTH_PLAY_CONTENT_TYPE}","payload":"${base64Encode(command.payload)}"}}`,
        ];
      case 'clear':
        return ['{"eventType":"clear"}'];
      default:
        // No marks (nothing acknowledges them), no DTMF and no hang-up on the stream: hang up
        // through BandwidthCallControl, or let the BXML after <StopStream wait="true"> run.
        return [];
    }
  }

  #decodeStart(message: JsonObject, frame: string): CallEvent {
    const metadata = message['metadata'];
    if (!isJsonObject(metadata)) fail('start frame without a metadata object', frame);
    const streamId = readStartStreamId(metadata['streamId'], 'metadata.streamId', frame, fail);
    const params = message['streamParams'];
    if (params !== undefined && params !== null && !isJsonObject(params))
      fail('start frame with a streamParams that is not an object', frame);
    const format = readTrackFormat(metadata, this.#track, frame);
    return callStartEvent({
      streamId,
      format,
      customParameters: stringRecord(params),
      raw: message,
      callId: metadata['callId'],
      from: undefined,
      to: undefined,
    });
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const track = message['track'];
    if (track !== undefined && typeof track !== 'string') fail('media frame with a non-string track', frame);
    if (track !== undefined && track !== this.#track) return [];
    const payload = message['payload'];
    if (typeof payload !== 'string') fail('media frame without a string payload', frame);
    const audio: Extract<CallEvent, { type: 'audio' }> = {
      type: 'audio',
      payload: decodeMediaPayload(payload, frame, fail),
    };
    if (this.#readSequence) {
      const sequence = readCounter(message['sequenceNumber']);
      if (sequence !== undefined) audio.sequence = sequence;
    }
    return [audio];
  }
}
