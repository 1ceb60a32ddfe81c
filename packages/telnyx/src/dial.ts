/**
 * The body of a Call Control dial (`POST /v2/calls`,
 * https://developers.telnyx.com/api/call-control/dial-call): an outbound call whose media is
 * streamed to your media route as a bidirectional RTP stream, with answering machine detection
 * when asked for. Field names and values follow Telnyx's API reference and the `telnyx` SDK's
 * `CallDialParams` (the interop tests compare the requests).
 */
import { ConfigError, base64Encode } from '@switchboard/core';
import { isJsonObject } from '@switchboard/core/protocol';
import type { TelnyxCodec } from './protocol.js';

/**
 * Telnyx's answering machine detection modes. `detect` reports human or machine
 * (`call.machine.detection.ended`); `detect_beep` adds `call.machine.greeting.ended` when a beep
 * is heard; `detect_words` and `greeting_end` also report the end of a machine's greeting;
 * `premium` sends the `call.machine.premium.*` webhooks.
 */
export type TelnyxMachineDetectionMode = 'detect' | 'detect_beep' | 'detect_words' | 'greeting_end' | 'premium';

/** `answering_machine_detection_config`: Telnyx's tuning fields, sent as written (snake_case, milliseconds). */
export type TelnyxMachineDetectionConfig = {
  total_analysis_time_millis?: number;
  after_greeting_silence_millis?: number;
  between_words_silence_millis?: number;
  greeting_duration_millis?: number;
  initial_silence_millis?: number;
  maximum_number_of_words?: number;
  maximum_word_length_millis?: number;
  silence_threshold?: number;
  greeting_total_analysis_time_millis?: number;
  greeting_silence_duration_millis?: number;
  [field: string]: unknown;
};

/** A SIP header of the INVITE Telnyx sends (`custom_headers`). */
export type TelnyxSipHeader = { name: string; value: string };

export type TelnyxDialOptions = {
  /** E.164 number or SIP URI to call. */
  to: string;
  /** Caller id (E.164), a number of your account. */
  from: string;
  /** The Call Control application (`connection_id`) that places the call and receives its webhooks. */
  connectionId: string;
  /**
   * Your media route (`wss://…`): Telnyx opens the stream when the call is answered, as a
   * bidirectional RTP stream (`stream_bidirectional_mode: "rtp"`), which is what
   * `TelnyxRealtimeTransport` bridges. Without it the call has no media stream until you start one.
   */
  streamUrl?: string;
  /** Which audio Telnyx streams; default `inbound_track` (the called party), what the model should hear. */
  streamTrack?: 'inbound_track' | 'outbound_track' | 'both_tracks';
  /**
   * `stream_bidirectional_codec`, the codec Telnyx expects back; default `PCMU`. Pass the same as
   * the transport's `bidirectionalCodec`.
   */
  streamCodec?: TelnyxCodec;
  /** `stream_bidirectional_sampling_rate`, for `L16` (8000, 16000, 22050, 24000 or 48000). */
  streamSamplingRate?: number;
  /** Answering machine detection; off unless given. */
  answeringMachineDetection?: TelnyxMachineDetectionMode;
  /** Tuning of the detection (`answering_machine_detection_config`). */
  amdConfig?: TelnyxMachineDetectionConfig;
  /** Text that comes back in every webhook of this call; sent base64-encoded, as Telnyx requires. */
  clientState?: string;
  /** Where Telnyx sends this call's webhooks instead of the application's URL. */
  webhookUrl?: string;
  /** Seconds to wait for an answer (5 to 600; Telnyx's default 30). */
  timeoutSecs?: number;
  /** SIP headers of the INVITE (`X-…`), for a SIP URI destination. */
  customHeaders?: TelnyxSipHeader[];
  /** Any further field of the dial command, sent as written (it wins over the fields above). */
  extra?: Record<string, unknown>;
};

/** The ids of a dialled call, from Telnyx's answer. */
export type TelnyxDialResult = {
  /** The id to send commands with; also `start.call_control_id` of its media stream, and so `callStart.callId`. */
  callControlId: string;
  callLegId: string;
  callSessionId: string;
  body: unknown;
};

const MODES = new Set<string>(['detect', 'detect_beep', 'detect_words', 'greeting_end', 'premium']);
const CODECS = new Set<string>(['PCMU', 'PCMA', 'L16']);
const L16_RATES = new Set([8000, 16000, 22050, 24000, 48000]);
const TRACKS = new Set<string>(['inbound_track', 'outbound_track', 'both_tracks']);
const encoder = new TextEncoder();

function text(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function fail(message: string): never {
  throw new ConfigError(`TelnyxCallControl.dial: ${message}`);
}

/** Text as Telnyx's `client_state`: base64 of its UTF-8 bytes. */
export function encodeTelnyxClientState(value: string): string {
  return base64Encode(encoder.encode(value));
}

/** Checks SIP headers: names of token characters, values without line breaks. */
export function checkSipHeaders(headers: unknown, owner: string): TelnyxSipHeader[] {
  if (!Array.isArray(headers)) throw new ConfigError(`${owner}: customHeaders must be an array of { name, value }`);
  return headers.map((header: unknown) => {
    if (!isJsonObject(header) || !text(header['name']) || typeof header['value'] !== 'string')
      throw new ConfigError(`${owner}: each custom header needs a name and a string value`);
    const name = header['name'];
    const value = header['value'];
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
      throw new ConfigError(`${owner}: ${JSON.stringify(name.slice(0, 40))} is not a SIP header name`);
    if (/[\r\n\0]/.test(value)) throw new ConfigError(`${owner}: the value of header ${name} holds a line break`);
    return { name, value };
  });
}

/** The JSON body of `POST /v2/calls` for {@link TelnyxDialOptions}. */
export function telnyxDialBody(options: TelnyxDialOptions): Record<string, unknown> {
  if (!options || typeof options !== 'object') fail('options must be { to, from, connectionId, … }');
  if (!text(options.to)) fail('`to` must be a phone number or SIP URI');
  if (!text(options.from)) fail('`from` must be a phone number of your account');
  if (!text(options.connectionId)) fail('`connectionId` must be the id of a Call Control application');
  const body: Record<string, unknown> = {
    to: options.to.trim(),
    from: options.from.trim(),
    connection_id: options.connectionId,
  };
  if (options.streamUrl !== undefined) {
    if (!text(options.streamUrl) || !/^wss?:\/\//i.test(options.streamUrl))
      fail('`streamUrl` must be a ws:// or wss:// URL');
    const track = options.streamTrack ?? 'inbound_track';
    if (!TRACKS.has(track)) fail('`streamTrack` must be inbound_track, outbound_track or both_tracks');
    const codec = options.streamCodec ?? 'PCMU';
    if (!CODECS.has(codec)) fail('`streamCodec` must be PCMU, PCMA or L16');
    body['stream_url'] = options.streamUrl;
    body['stream_track'] = track;
    body['stream_bidirectional_mode'] = 'rtp';
    body['stream_bidirectional_codec'] = codec;
    if (options.streamSamplingRate !== undefined) {
      if (!L16_RATES.has(options.streamSamplingRate))
        fail('`streamSamplingRate` must be 8000, 16000, 22050, 24000 or 48000');
      body['stream_bidirectional_sampling_rate'] = options.streamSamplingRate;
    } else if (codec === 'L16') {
      fail('an L16 stream needs `streamSamplingRate`');
    }
  } else if (
    options.streamTrack !== undefined ||
    options.streamCodec !== undefined ||
    options.streamSamplingRate !== undefined
  ) {
    fail('stream options need `streamUrl`');
  }
  if (options.answeringMachineDetection !== undefined) {
    if (!MODES.has(options.answeringMachineDetection))
      fail('`answeringMachineDetection` must be detect, detect_beep, detect_words, greeting_end or premium');
    body['answering_machine_detection'] = options.answeringMachineDetection;
  }
  if (options.amdConfig !== undefined) {
    if (options.answeringMachineDetection === undefined) fail('`amdConfig` needs `answeringMachineDetection`');
    if (!isJsonObject(options.amdConfig)) fail('`amdConfig` must be an object');
    body['answering_machine_detection_config'] = { ...options.amdConfig };
  }
  if (options.clientState !== undefined) {
    if (typeof options.clientState !== 'string') fail('`clientState` must be a string');
    body['client_state'] = encodeTelnyxClientState(options.clientState);
  }
  if (options.webhookUrl !== undefined) {
    if (!text(options.webhookUrl) || !/^https?:\/\//i.test(options.webhookUrl))
      fail('`webhookUrl` must be an http(s) URL');
    body['webhook_url'] = options.webhookUrl;
  }
  if (options.timeoutSecs !== undefined) {
    const t = options.timeoutSecs;
    if (!Number.isInteger(t) || t < 5 || t > 600) fail('`timeoutSecs` must be an integer from 5 to 600');
    body['timeout_secs'] = t;
  }
  if (options.customHeaders !== undefined && options.customHeaders.length > 0)
    body['custom_headers'] = checkSipHeaders(options.customHeaders, 'TelnyxCallControl.dial');
  if (options.extra !== undefined) {
    if (!isJsonObject(options.extra)) fail('`extra` must be an object');
    Object.assign(body, options.extra);
  }
  return body;
}

/**
 * Reads the ids from Telnyx's answer to a dial:
 * `{"data":{"call_control_id":…,"call_leg_id":…,"call_session_id":…}}`.
 */
export function readDialAnswer(body: unknown): TelnyxDialResult | undefined {
  const data = isJsonObject(body) ? body['data'] : undefined;
  if (!isJsonObject(data)) return undefined;
  const id = data['call_control_id'];
  if (!text(id)) return undefined;
  const leg = data['call_leg_id'];
  const session = data['call_session_id'];
  return {
    callControlId: id,
    callLegId: typeof leg === 'string' ? leg : '',
    callSessionId: typeof session === 'string' ? session : '',
    body,
  };
}
