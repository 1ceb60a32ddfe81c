/**
 * NCCO (Call Control Object) helpers: what the answer webhook returns to put a call on the
 * bridge's WebSocket.
 *
 * - `connect` to a `websocket` endpoint: https://developer.vonage.com/en/voice/voice-api/ncco-reference#connect
 *   and https://developer.vonage.com/en/voice/voice-api/concepts/websockets — `uri`,
 *   `content-type` `audio/l16;rate=16000` (or `8000`, `24000`), and `headers` (at most 512 bytes), which
 *   Vonage echoes in the socket's first text frame (`websocket:connected`).
 * - `talk`: https://developer.vonage.com/en/voice/voice-api/ncco-reference#talk
 * - The answer webhook's parameters (`uuid`, `from`, `to`, `conversation_uuid`):
 *   https://developer.vonage.com/en/voice/voice-api/webhook-reference#answer-webhook
 */
import { ConfigError } from '@switchboard/core';

/**
 * Sample rates a Vonage WebSocket streams L16 at: 8000 and 16000 (Vonage's WebSocket guide), and
 * 24000, which Vonage's SDKs offer since 2026 (`@vonage/voice` `WebsocketBitrate.RATE_24000`).
 */
export type VonageSampleRate = 8000 | 16000 | 24000;

export type VonageWebSocketEndpoint = {
  type: 'websocket';
  uri: string;
  'content-type': `audio/l16;rate=${VonageSampleRate}`;
  headers?: Record<string, string | number | boolean>;
};

export type VonageConnectAction = {
  action: 'connect';
  endpoint: VonageWebSocketEndpoint[];
  eventUrl?: string[];
  eventMethod?: 'GET' | 'POST';
  eventType?: 'synchronous';
};

export type VonageTalkAction = {
  action: 'talk';
  text: string;
  language?: string;
  style?: number;
  premium?: boolean;
  bargeIn?: boolean;
  loop?: number;
  level?: number;
};

/** Any NCCO action; the helpers here build `connect` and `talk`. */
export type NccoAction = VonageConnectAction | VonageTalkAction | { action: string; [key: string]: unknown };

/** An NCCO: the actions Vonage runs in order. */
export type Ncco = NccoAction[];

/** The answer webhook's parameters (GET query or POST body) the bridge wants to know on the socket. */
export type VonageAnswerParams = URLSearchParams | Record<string, unknown>;

export type ConnectWebSocketOptions = {
  /** The bridge's media WebSocket, `wss://…` (`ws://` for local testing). */
  uri: string;
  /**
   * L16 sample rate of the stream: 8000, 16000 or 24000. Default 16000 (wideband, documented
   * on Vonage's WebSocket guide; 24000 is offered by Vonage's SDKs, not yet by that guide).
   */
  sampleRate?: VonageSampleRate;
  /**
   * Echoed in the socket's first frame; `uuid`, `from` and `to` become the call's `callId`,
   * `from` and `to`, the rest `customParameters`. At most 512 bytes as JSON.
   */
  headers?: Record<string, string | number | boolean>;
  /**
   * The answer webhook's parameters: their `uuid`, `from`, `to` and `conversation_uuid` are added
   * to `headers` (explicit headers win), so the transport knows the call it serves — the `uuid`
   * is what call control needs.
   */
  answer?: VonageAnswerParams;
  /** Where Vonage sends the connect action's events. */
  eventUrl?: string;
  eventMethod?: 'GET' | 'POST';
  /** `synchronous`: the NCCO waits for the event webhook's answer (it may return a new NCCO). */
  eventType?: 'synchronous';
};

/** The most header data Vonage accepts on a WebSocket endpoint, in bytes. */
export const VONAGE_MAX_HEADER_BYTES = 512;

const ANSWER_FIELDS = ['uuid', 'from', 'to', 'conversation_uuid'] as const;
const encoder = new TextEncoder();

function checkUrl(raw: unknown, what: string, schemes: readonly string[]): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new ConfigError(`${what} is required`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${what} is not an absolute URL`);
  }
  if (!schemes.includes(url.protocol))
    throw new ConfigError(`${what} must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`);
  return raw;
}

function answerFields(answer: VonageAnswerParams | undefined): Record<string, string> {
  const fields: Record<string, string> = {};
  if (answer === undefined) return fields;
  const read = (key: string): unknown =>
    answer instanceof URLSearchParams ? (answer.get(key) ?? undefined) : answer[key];
  for (const key of ANSWER_FIELDS) {
    const value = read(key);
    if (typeof value === 'string' && value.length > 0) fields[key] = value;
  }
  return fields;
}

/** A `connect` action that streams the call to the bridge's WebSocket. */
export function connectWebSocketAction(options: ConnectWebSocketOptions): VonageConnectAction {
  if (!options || typeof options !== 'object')
    throw new ConfigError('connectWebSocketAction needs options with a `uri`');
  const uri = checkUrl(options.uri, 'connectWebSocketAction: uri', ['wss:', 'ws:']);
  const sampleRate = options.sampleRate ?? 16000;
  if (sampleRate !== 16000 && sampleRate !== 8000 && sampleRate !== 24000)
    throw new ConfigError('connectWebSocketAction: sampleRate must be 8000, 16000 or 24000');

  const headers: Record<string, string | number | boolean> = { ...answerFields(options.answer) };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(
        `connectWebSocketAction: header ${JSON.stringify(name.slice(0, 40))} must be a string, number or boolean`,
      );
    }
    headers[name] = value;
  }
  const headerBytes = encoder.encode(JSON.stringify(headers)).byteLength;
  if (headerBytes > VONAGE_MAX_HEADER_BYTES) {
    throw new ConfigError(
      `connectWebSocketAction: headers are ${headerBytes} bytes as JSON; Vonage accepts at most ${VONAGE_MAX_HEADER_BYTES}`,
    );
  }

  const endpoint: VonageWebSocketEndpoint = { type: 'websocket', uri, 'content-type': `audio/l16;rate=${sampleRate}` };
  if (Object.keys(headers).length > 0) endpoint.headers = headers;
  const action: VonageConnectAction = { action: 'connect', endpoint: [endpoint] };
  if (options.eventUrl !== undefined)
    action.eventUrl = [checkUrl(options.eventUrl, 'connectWebSocketAction: eventUrl', ['https:', 'http:'])];
  if (options.eventMethod !== undefined) {
    if (options.eventMethod !== 'GET' && options.eventMethod !== 'POST')
      throw new ConfigError('connectWebSocketAction: eventMethod must be GET or POST');
    action.eventMethod = options.eventMethod;
  }
  if (options.eventType !== undefined) {
    if (options.eventType !== 'synchronous')
      throw new ConfigError('connectWebSocketAction: eventType can only be "synchronous"');
    action.eventType = options.eventType;
  }
  return action;
}

export type TalkOptions = Omit<VonageTalkAction, 'action'>;

/** A `talk` action: text spoken to the caller (`bargeIn` lets a key press or speech cut it short). */
export function talkAction(options: string | TalkOptions): VonageTalkAction {
  const fields: TalkOptions = typeof options === 'string' ? { text: options } : options;
  if (!fields || typeof fields.text !== 'string' || fields.text.length === 0)
    throw new ConfigError('talkAction: text must be a non-empty string');
  const action: VonageTalkAction = { action: 'talk', text: fields.text };
  if (fields.language !== undefined) action.language = fields.language;
  if (fields.style !== undefined) action.style = fields.style;
  if (fields.premium !== undefined) action.premium = fields.premium;
  if (fields.bargeIn !== undefined) action.bargeIn = fields.bargeIn;
  if (fields.loop !== undefined) action.loop = fields.loop;
  if (fields.level !== undefined) {
    if (!(Number.isFinite(fields.level) && fields.level >= -1 && fields.level <= 1))
      throw new ConfigError('talkAction: level must be between -1 and 1');
    action.level = fields.level;
  }
  return action;
}

export type ConnectWebSocketNccoOptions = ConnectWebSocketOptions & {
  /** Spoken before the call is connected to the bridge. */
  say?: string | TalkOptions;
};

/**
 * The NCCO an answer webhook returns to connect the call to the bridge:
 * `[talk?, connect → websocket]`. Serve it as `application/json`.
 */
export function connectWebSocketNcco(options: ConnectWebSocketNccoOptions): Ncco {
  const ncco: Ncco = [];
  if (options?.say !== undefined && options.say !== '') ncco.push(talkAction(options.say));
  ncco.push(connectWebSocketAction(options));
  return ncco;
}
