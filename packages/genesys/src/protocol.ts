/**
 * Genesys Cloud AudioHook, as the Audio Connector (bidirectional bot audio) uses it.
 *
 * Wire format (sources in reference/genesys.md): JSON text messages with a sequence number on each
 * side (`seq`, and the other side's last one as `clientseq`/`serverseq`), binary audio frames with
 * no header. Genesys opens every session with `open` (conversation, participant, offered media,
 * `inputVariables`) and sends no audio until the server answered `opened` naming one of the
 * offered media; it pings (`ping` → `pong`), may pause and resume the audio, reports DTMF
 * (`dtmf`) and the bot audio's playback (`playback_started` / `playback_completed`), and ends
 * the session with `close` → `closed`, after which it closes the socket. The server asks for the
 * end with `disconnect` (its `outputVariables` go back to the Architect flow) and interrupts its
 * own audio with an `event` whose entity is `barge_in`.
 *
 * What the core lacked, and how it is met here without timers: the replies (`opened`, `pong`,
 * `closed`) are answers, not commands. {@link GenesysAudioHookProtocol.decode} queues them; the
 * transport's connection sends them right after the frame was handled, and every `encode` sends
 * what is queued ahead of its own frames, so `opened` always precedes the first audio.
 */
import {
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
  ConfigError,
} from '@switchboard/core';
import {
  FrameParse,
  KEYPAD_DIGIT,
  callStartEvent,
  isJsonObject,
  readFrameObject,
  stringRecord,
  type JsonObject,
} from '@switchboard/core/protocol';
import {
  AUDIOHOOK_VERSION,
  CLIENT_MESSAGE_TYPES,
  NULL_UUID,
  channelFormat,
  externalChannel,
  fail,
  parseDuration,
  readMediaParameter,
  sampleBytes,
  sequenceNumber,
  serverMessage,
  type GenesysDisconnectReason,
  type GenesysMediaParameter,
  type ServerMessageType,
} from './wire.js';

export type GenesysAudioHookProtocolOptions = {
  /**
   * Formats the bridge accepts, in order of preference: the first offered wins. Default
   * `['PCMU', 'L16']` (μ-law passes through to the model untouched).
   */
  formats?: Array<'PCMU' | 'L16'>;
  /**
   * Duration of each binary audio frame sent to Genesys, ms. Default 200: Genesys limits how many
   * messages a session may send (the public sample keeps under 5 a second), so bot audio leaves
   * in few, larger frames.
   */
  frameMs?: number;
  /** Largest binary frame either way, bytes. Default 64 000 (the bot audio sample's chunk size). */
  maxFrameBytes?: number;
  /** Bot audio kept queued at Genesys, ms (`null`: no pacing). Default 1000. */
  leadMs?: number | null;
  /**
   * The session id of the upgrade request (`Audiohook-Session-Id`): when given, an `open` naming
   * another id is refused.
   */
  sessionId?: string;
  /**
   * The organization of the upgrade request (`Audiohook-Organization-Id`): when given, an `open`
   * naming another organization is refused, as Genesys's reference server does.
   */
  organizationId?: string;
  /**
   * Also send the output variables with `closed` when Genesys closed the session first. Default
   * false: Genesys's own samples return them with `disconnect` only, and document `closed` without
   * parameters; Pipecat's serializer sends them with `closed`. Turn it on if your flow misses them.
   */
  closedOutputVariables?: boolean;
};

/** What `open` said, beyond what `call_start` carries. */
export type GenesysOpenParameters = {
  organizationId: string;
  conversationId: string;
  participant: { id?: string; ani?: string; aniName?: string; dnis?: string };
  media: GenesysMediaParameter;
  language?: string;
  /** The integration's custom configuration (`customConfig`), as sent. */
  customConfig?: JsonObject;
  /** The Architect flow's input variables (`inputVariables`), also `call_start.customParameters`. */
  inputVariables: Record<string, string>;
};

/** How the bridge asks Genesys to end the session (`disconnect`). */
export type GenesysDisconnect = {
  /** Default `completed`: the bot finished, the flow takes its success path. */
  reason?: GenesysDisconnectReason;
  /** Free text for Genesys's logs. */
  info?: string;
  /** Returned to the Architect flow's output variables (strings only). */
  outputVariables?: Record<string, string>;
};

const FORMATS = new Set(['PCMU', 'L16']);
const DEFAULT_FRAME_MS = 200;
const DEFAULT_MAX_FRAME_BYTES = 64_000;
const DEFAULT_LEAD_MS = 1000;
const PCMU_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new ConfigError(`GenesysAudioHookProtocol: ${name} must be a positive integer`);
  return value;
}

function optionalString(value: unknown, name: string, frame: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`open.parameters.${name} is not a string`, frame);
  return value;
}

function checkStringMap(value: unknown, name: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isJsonObject(value)) throw new ConfigError(`${name} must be an object of strings`);
  for (const [key, v] of Object.entries(value))
    if (typeof v !== 'string') throw new ConfigError(`${name}.${key} must be a string`);
  return { ...(value as Record<string, string>) };
}

/**
 * The AudioHook protocol, server side. Pure: its state is the session (id, sequence numbers, the
 * negotiated media) and the replies waiting to be sent. Capabilities: no playback
 * acknowledgements (the core's playout clock), a clear (`barge_in`), DTMF in, paced output in
 * frames of {@link GenesysAudioHookProtocolOptions.frameMs}.
 */
export class GenesysAudioHookProtocol implements MediaStreamProtocol {
  readonly name = 'genesys';
  readonly capabilities: ProtocolCapabilities;
  readonly defaultFormat: AudioFormat = { ...PCMU_8K };
  readonly maxFrameBytes: number;

  readonly #formats: Array<'PCMU' | 'L16'>;
  readonly #expectedSession: string | undefined;
  readonly #closedOutputVariables: boolean;
  readonly #expectedOrganization: string | undefined;
  readonly #parses = new FrameParse();
  #session: string | undefined;
  #clientSeq = 0;
  #serverSeq = 0;
  #media: GenesysMediaParameter | undefined;
  #open: GenesysOpenParameters | undefined;
  #opened = false;
  #paused = false;
  #closeReceived = false;
  #disconnectSent = false;
  #replies: string[] = [];
  #disconnect: GenesysDisconnect = {};
  #positionMs = 0;

  constructor(options: GenesysAudioHookProtocolOptions = {}) {
    const formats = options.formats ?? ['PCMU', 'L16'];
    if (!Array.isArray(formats) || formats.length === 0 || !formats.every((f) => FORMATS.has(f)))
      throw new ConfigError('GenesysAudioHookProtocol: formats must list "PCMU" and/or "L16"');
    this.#formats = [...formats];
    const frameMs = positive(options.frameMs, 'frameMs', DEFAULT_FRAME_MS);
    this.maxFrameBytes = positive(options.maxFrameBytes, 'maxFrameBytes', DEFAULT_MAX_FRAME_BYTES);
    if (frameMs * 16 > this.maxFrameBytes)
      throw new ConfigError('GenesysAudioHookProtocol: a frame of frameMs of L16 must fit in maxFrameBytes');
    const leadMs = options.leadMs === null ? null : positive(options.leadMs, 'leadMs', DEFAULT_LEAD_MS);
    this.capabilities = {
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: frameMs, maxBytes: this.maxFrameBytes },
      ...(leadMs === null ? {} : { pacing: { leadMs } }),
    };
    this.#expectedSession = options.sessionId;
    this.#closedOutputVariables = options.closedOutputVariables === true;
    this.#expectedOrganization = options.organizationId;
  }

  /** The session id (`open.id`), once Genesys opened the session. */
  get sessionId(): string | undefined {
    return this.#session;
  }

  /** What `open` said; undefined before it (and for a connection probe). */
  get openParameters(): GenesysOpenParameters | undefined {
    return this.#open;
  }

  /** The media entry the bridge answered with in `opened`. */
  get media(): GenesysMediaParameter | undefined {
    return this.#media;
  }

  /** The stream position of the caller's audio received, ms (what Genesys calls `position`). */
  get positionMs(): number {
    return this.#positionMs;
  }

  /** True while Genesys reports the audio paused (`paused` until `resumed`). */
  get paused(): boolean {
    return this.#paused;
  }

  /** True once the session is open (`opened` queued or sent) and not yet closed by Genesys. */
  get sessionOpen(): boolean {
    return this.#opened && !this.#closeReceived;
  }

  /** True once Genesys sent `close` (the bridge answers `closed`; Genesys then closes the socket). */
  get closeReceived(): boolean {
    return this.#closeReceived;
  }

  /** True once the bridge sent `disconnect`. */
  get disconnectSent(): boolean {
    return this.#disconnectSent;
  }

  /** What the next `disconnect` (the core's `hangup`) carries: its reason, info and output variables. */
  setDisconnect(disconnect: GenesysDisconnect): void {
    const reason = disconnect.reason ?? 'completed';
    if (!['completed', 'unauthorized', 'error'].includes(reason))
      throw new ConfigError('disconnect reason must be "completed", "unauthorized" or "error"');
    if (disconnect.info !== undefined && typeof disconnect.info !== 'string')
      throw new ConfigError('disconnect info must be a string');
    this.#disconnect = {
      reason,
      ...(disconnect.info === undefined ? {} : { info: disconnect.info }),
      outputVariables: {
        ...this.#disconnect.outputVariables,
        ...checkStringMap(disconnect.outputVariables, 'outputVariables'),
      },
    };
  }

  /** Replies waiting to be sent (`opened`, `pong`, `closed`, ...), oldest first; the queue is emptied. */
  takeReplies(): string[] {
    if (this.#replies.length === 0) return [];
    const replies = this.#replies;
    this.#replies = [];
    return replies;
  }

  /** `disconnect` with what {@link setDisconnect} set (default reason `completed`), after any queued replies. */
  disconnect(override?: GenesysDisconnect): string[] {
    if (!this.sessionOpen || this.#disconnectSent) return this.takeReplies();
    const d = override ? { ...this.#disconnect, ...override } : this.#disconnect;
    const parameters: JsonObject = { reason: d.reason ?? 'completed' };
    if (d.info !== undefined) parameters['info'] = d.info;
    if (d.outputVariables && Object.keys(d.outputVariables).length > 0)
      parameters['outputVariables'] = { ...d.outputVariables };
    this.#disconnectSent = true;
    return [...this.takeReplies(), this.#message('disconnect', parameters)];
  }

  /** Asks Genesys to pause (`pause`) or resume (`resume`) the audio it sends. */
  requestPause(paused: boolean): string[] {
    if (!this.sessionOpen || this.#disconnectSent) return this.takeReplies();
    return [...this.takeReplies(), this.#message(paused ? 'pause' : 'resume', {})];
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    if (typeof frame !== 'string') return this.#decodeAudio(frame);
    const message = readFrameObject(frame, fail, this.#parses);
    return this.#decodeMessage(message, frame);
  }

  rawMessage(frame: string | Uint8Array): unknown {
    if (typeof frame !== 'string') return { type: 'audio', bytes: frame.byteLength };
    return this.#parses.rawMessage(frame);
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    const sendable = this.sessionOpen && !this.#disconnectSent;
    switch (command.type) {
      case 'audio':
        if (!sendable || command.payload.byteLength === 0) return this.takeReplies();
        return [...this.takeReplies(), command.payload];
      case 'clear':
        if (!sendable) return this.takeReplies();
        return [...this.takeReplies(), this.#message('event', { entities: [{ type: 'barge_in', data: {} }] })];
      case 'hangup':
        return this.disconnect();
      case 'mark':
      case 'dtmf':
        return this.takeReplies();
    }
  }

  #message(type: ServerMessageType, parameters: JsonObject): string {
    this.#serverSeq += 1;
    return serverMessage(type, this.#serverSeq, this.#clientSeq, this.#session ?? NULL_UUID, parameters);
  }

  #reply(type: ServerMessageType, parameters: JsonObject): void {
    this.#replies.push(this.#message(type, parameters));
  }

  #decodeAudio(frame: Uint8Array): CallEvent[] {
    const media = this.#media;
    if (!this.#opened || media === undefined)
      fail('binary audio before the session was opened', frame, 'genesys_audio_before_open');
    if (this.#closeReceived) fail('binary audio after close', frame, 'genesys_audio_after_close');
    const n = frame.byteLength;
    if (n > this.maxFrameBytes) fail(`binary frame of ${n} bytes is over the ${this.maxFrameBytes}-byte limit`, frame);
    const block = sampleBytes(media) * media.channels.length;
    if (n % block !== 0)
      fail(`binary frame of ${n} bytes is not whole samples of ${media.format} × ${media.channels.length}`, frame);
    if (n === 0) return [];
    this.#positionMs += ((n / block) * 1000) / media.rate;
    return [{ type: 'audio', payload: externalChannel(frame, media) }];
  }

  #decodeMessage(message: JsonObject, frame: string): CallEvent[] {
    if (message['version'] !== AUDIOHOOK_VERSION) fail('message version is not "2"', frame);
    const type = message['type'];
    if (typeof type !== 'string') fail('message without a string type', frame);
    const seq = sequenceNumber(message['seq']);
    if (seq === undefined || seq === 0) fail('seq is not a positive integer', frame);
    const serverseq = sequenceNumber(message['serverseq']);
    if (serverseq === undefined) fail('serverseq is not a non-negative integer', frame);
    const id = message['id'];
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) fail('id is not a session id', frame);
    if (!isJsonObject(message['parameters'])) fail('parameters is not an object', frame);
    if (parseDuration(message['position']) === undefined) fail('position is not a duration (PT<seconds>S)', frame);
    // Genesys opens one session per socket; an open with another id starts a new one over.
    if (type === 'open' && this.#session !== undefined && id !== this.#session) this.#reset();
    if (seq <= this.#clientSeq) fail(`seq ${seq} repeats or goes back (last ${this.#clientSeq})`, frame);
    if (serverseq > this.#serverSeq)
      fail(`serverseq ${serverseq} is ahead of the last message sent (${this.#serverSeq})`, frame);
    if (this.#session !== undefined && id !== this.#session)
      fail(`id ${JSON.stringify(id.slice(0, 40))} is not this session's`, frame, 'genesys_session_mismatch');
    if (this.#session === undefined && this.#expectedSession !== undefined && id !== this.#expectedSession)
      fail('id is not the session id of the upgrade request', frame, 'genesys_session_mismatch');
    this.#clientSeq = seq;
    const parameters = message['parameters'];
    if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) return [];
    if (type !== 'open' && !this.#opened && type !== 'close' && type !== 'ping' && type !== 'error')
      fail(`${type} before open`, frame);
    switch (type) {
      case 'open':
        return this.#decodeOpen(id, parameters, frame);
      case 'ping':
        this.#reply('pong', {});
        return [];
      case 'close':
        return this.#decodeClose(parameters, frame);
      case 'paused':
        this.#paused = true;
        return [];
      case 'resumed':
        this.#paused = false;
        return [];
      case 'dtmf': {
        const digit = parameters['digit'];
        if (typeof digit !== 'string' || !KEYPAD_DIGIT.test(digit)) fail('dtmf.parameters.digit is not a key', frame);
        return [{ type: 'dtmf', digit: digit.toUpperCase() }];
      }
      case 'error': {
        const code = parameters['code'];
        const text = typeof parameters['message'] === 'string' ? parameters['message'].slice(0, 200) : '';
        fail(`Genesys reported an error ${String(code).slice(0, 10)}: ${text}`, frame, 'genesys_client_error');
      }
      // eslint-disable-next-line no-fallthrough
      default:
        // discarded, update, playback_started, playback_completed: reported as raw messages only.
        return [];
    }
  }

  #reset(): void {
    this.#session = undefined;
    this.#clientSeq = 0;
    this.#serverSeq = 0;
    this.#media = undefined;
    this.#open = undefined;
    this.#opened = false;
    this.#paused = false;
    this.#closeReceived = false;
    this.#disconnectSent = false;
    this.#replies = [];
    this.#positionMs = 0;
  }

  #decodeClose(parameters: JsonObject, frame: string): CallEvent[] {
    if (this.#closeReceived) fail('a second close', frame);
    this.#closeReceived = true;
    const variables = this.#disconnect.outputVariables;
    const withVariables = this.#closedOutputVariables && !this.#disconnectSent && variables !== undefined;
    this.#reply(
      'closed',
      withVariables && Object.keys(variables).length > 0 ? { outputVariables: { ...variables } } : {},
    );
    const reason = parameters['reason'];
    return [
      { type: 'call_end', reason: typeof reason === 'string' && reason.length > 0 ? reason.slice(0, 64) : 'end' },
    ];
  }

  #decodeOpen(id: string, parameters: JsonObject, frame: string): CallEvent[] {
    if (this.#opened) fail('a second open in one session', frame);
    const offered = parameters['media'];
    if (!Array.isArray(offered)) fail('open.parameters.media is not an array', frame);
    const conversationId = optionalString(parameters['conversationId'], 'conversationId', frame);
    const organizationId = optionalString(parameters['organizationId'], 'organizationId', frame);
    if (conversationId === undefined || organizationId === undefined)
      fail('open without organizationId and conversationId', frame);
    if (this.#expectedOrganization !== undefined && organizationId !== this.#expectedOrganization)
      fail('open names another organization than the upgrade request', frame, 'genesys_organization_mismatch');
    const participantValue = parameters['participant'] ?? {};
    if (!isJsonObject(participantValue)) fail('open.parameters.participant is not an object', frame);
    const participant: GenesysOpenParameters['participant'] = {};
    for (const key of ['id', 'ani', 'aniName', 'dnis'] as const) {
      const value = participantValue[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') fail(`open.parameters.participant.${key} is not a string`, frame);
      participant[key] = value;
    }
    const customConfig = parameters['customConfig'];
    if (customConfig !== undefined && !isJsonObject(customConfig))
      fail('open.parameters.customConfig is not an object', frame);
    const inputVariables = parameters['inputVariables'];
    if (inputVariables !== undefined && !isJsonObject(inputVariables))
      fail('open.parameters.inputVariables is not an object', frame);
    const language = optionalString(parameters['language'], 'language', frame);
    this.#session = id;
    this.#opened = true;
    if (offered.length === 0) {
      // Genesys's connection probe (null conversation, no media): answered, no call starts.
      this.#reply('opened', { media: [], startPaused: false });
      return [];
    }
    const media = this.#choose(offered);
    if (media === undefined) {
      this.#reply('disconnect', { reason: 'error', info: 'No supported media format was offered' });
      this.#disconnectSent = true;
      fail(
        `no offered media is ${this.#formats.join(' or ')} with an external channel`,
        frame,
        'genesys_unsupported_media',
      );
    }
    this.#media = media;
    this.#reply('opened', { media: [{ ...media, channels: [...media.channels] }], startPaused: false });
    this.#open = {
      organizationId,
      conversationId,
      participant,
      media,
      inputVariables: stringRecord(inputVariables),
      ...(customConfig === undefined ? {} : { customConfig: customConfig as JsonObject }),
      ...(language === undefined ? {} : { language }),
    };
    return [
      callStartEvent({
        streamId: id,
        callId: conversationId,
        from: participant.ani,
        to: participant.dnis,
        format: channelFormat(media),
        customParameters: { ...this.#open.inputVariables },
        raw: { type: 'open', id, parameters },
      }),
    ];
  }

  /** The first offered media of the preferred formats at 8 kHz with an external channel; mono first. */
  #choose(offered: unknown[]): GenesysMediaParameter | undefined {
    const valid = offered
      .map(readMediaParameter)
      .filter((m): m is GenesysMediaParameter => m !== undefined && m.rate === 8000 && m.channels.includes('external'));
    for (const format of this.#formats) {
      const of = valid.filter((m) => m.format === format);
      const mono = of.find((m) => m.channels.length === 1);
      if (mono ?? of[0]) return mono ?? of[0];
    }
    return undefined;
  }
}
