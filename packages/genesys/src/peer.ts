import { ConfigError, ProtocolError, type AudioFormat, type CallEvent, type OutboundCommand } from '@switchboard/core';
import {
  type PeerSimulator,
  checkExactKeys,
  isJsonObject,
  peerAudioConverter,
  readFrameObject,
} from '@switchboard/core/protocol';
import {
  NULL_UUID,
  SERVER_MESSAGE_TYPES,
  channelFormat,
  clientMessage,
  readMediaParameter,
  sameMedia,
  sampleBytes,
  type GenesysMediaParameter,
  type ClientMessageType,
} from './wire.js';

export type GenesysPeerSimulatorOptions = {
  /** The format `open` offers: `PCMU` (default) or `L16`, 8 kHz. */
  format?: 'PCMU' | 'L16';
  /** Offer both channels (`external`, `internal`) interleaved, as AudioHook monitoring does. Default false. */
  stereo?: boolean;
  /** The audio events' format (converted to the offered one). Default the offered format, one channel. */
  inputFormat?: AudioFormat;
  /** Send a `ping` after every this many audio frames (0: never). Default 50. */
  pingEvery?: number;
  /** Largest binary frame Genesys accepts from the bridge, bytes. Default 64 000. */
  maxFrameBytes?: number;
  /** `organizationId` of `open`. Default a random UUID. */
  organizationId?: string;
};

/** Code of the ProtocolError raised for a frame Genesys would not accept from the bridge. */
export const GENESYS_INVALID_FRAME_CODE = 'genesys_invalid_frame';
/** Code of the ProtocolError for bot audio Genesys would not take: before `opened`, after `disconnect`, a bad size. */
export const GENESYS_INVALID_AUDIO_CODE = 'genesys_invalid_audio';

function invalid(message: string, frame: unknown, code = GENESYS_INVALID_FRAME_CODE): never {
  throw new ProtocolError('genesys', message, { frame, code });
}

const SERVER_KEYS = ['version', 'type', 'seq', 'clientseq', 'id', 'parameters'];

/**
 * Genesys Cloud's side of an Audio Connector session, for tests and offline development.
 *
 * `encodeInbound` writes what Genesys sends: `open` (the call's start: session id, conversation,
 * participant, offered media, input variables), binary audio, `ping` every
 * {@link GenesysPeerSimulatorOptions.pingEvery} frames, `dtmf`, and `close` at the end. Like
 * Genesys, it sends no audio before the bridge's `opened`: the caller's audio waits, and leaves
 * with the next frame once `opened` came back. `decodeOutbound` is strict the way Genesys is:
 * every server message must carry the next `seq`, this session's `id`, a `clientseq` it has seen,
 * and exactly the envelope's fields; `opened` must name an offered media entry; bot audio only
 * between `opened` and `disconnect`, in whole samples, at most `maxFrameBytes`; a `pong` only for a
 * `ping`, a `closed` only for a `close`.
 */
export class GenesysPeerSimulator implements PeerSimulator {
  readonly #options: GenesysPeerSimulatorOptions;
  readonly #offer: GenesysMediaParameter;
  readonly #input: AudioFormat;
  readonly #pingEvery: number;
  readonly #maxFrameBytes: number;
  #convert: (bytes: Uint8Array) => Uint8Array;
  #session: string | undefined;
  #seq = 0;
  #serverSeq = 0;
  #positionMs = 0;
  #opened = false;
  #disconnected = false;
  #closeSent = false;
  #pings = 0;
  #frames = 0;
  #waiting: Uint8Array[] = [];
  #replies: Array<{ type: ClientMessageType; parameters: Record<string, unknown> }> = [];
  #outputVariables: Record<string, string> | undefined;
  #bargeIns = 0;

  constructor(options: GenesysPeerSimulatorOptions = {}) {
    this.#options = options;
    const format = options.format ?? 'PCMU';
    if (format !== 'PCMU' && format !== 'L16')
      throw new ConfigError('GenesysPeerSimulator: format must be PCMU or L16');
    this.#offer = {
      type: 'audio',
      format,
      channels: options.stereo ? ['external', 'internal'] : ['external'],
      rate: 8000,
    };
    this.#input = options.inputFormat ?? channelFormat(this.#offer);
    this.#convert = peerAudioConverter(this.#input, channelFormat(this.#offer));
    this.#pingEvery = options.pingEvery ?? 50;
    this.#maxFrameBytes = options.maxFrameBytes ?? 64_000;
  }

  /** The format of one channel on the wire. */
  get format(): AudioFormat {
    return channelFormat(this.#offer);
  }

  /** The session id of the last `open`. */
  get sessionId(): string | undefined {
    return this.#session;
  }

  /** True once the bridge answered `opened`. */
  get opened(): boolean {
    return this.#opened;
  }

  /** The output variables of the bridge's `disconnect`, once it sent one. */
  get outputVariables(): Record<string, string> | undefined {
    return this.#outputVariables;
  }

  /** Pings the bridge has not answered yet. */
  get unansweredPings(): number {
    return this.#pings;
  }

  /** `barge_in` events the bridge sent. */
  get bargeIns(): number {
    return this.#bargeIns;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    const frames: Array<string | Uint8Array> = this.#replies.splice(0).map((r) => this.#message(r.type, r.parameters));
    switch (event.type) {
      case 'call_start':
        frames.push(this.#open(event));
        break;
      case 'audio': {
        const wire = this.#convert(event.payload);
        if (wire.byteLength === 0) break;
        this.#waiting.push(this.#interleave(wire));
        if (this.#opened) frames.push(...this.#release());
        break;
      }
      case 'dtmf':
        if (this.#opened) frames.push(this.#message('dtmf', { digit: event.digit }));
        break;
      case 'call_end':
        if (this.#session === undefined || this.#closeSent) break;
        if (this.#opened) frames.push(...this.#release());
        this.#closeSent = true;
        frames.push(this.#message('close', { reason: this.#disconnected ? 'disconnect' : 'end' }));
        break;
      case 'playback_ack':
      case 'playback_cleared':
      case 'flow_control':
        break;
    }
    return frames;
  }

  /**
   * Frames a Genesys bridge must refuse as malformed: text that is not JSON, a message whose `seq`
   * is not a number, a `dtmf` whose digit is no key (it takes its `seq`), and for L16 a binary
   * frame of half a sample.
   */
  malformedFrames(): Array<string | Uint8Array> {
    const id = JSON.stringify(this.#session ?? NULL_UUID);
    const frames: Array<string | Uint8Array> = [
      '{"version":"2","type":"ping",',
      `{"version":"2","type":"ping","seq":"x","serverseq":0,"position":"PT0S","id":${id},"parameters":{}}`,
      this.#message('dtmf', { digit: 'x' }),
    ];
    if (this.#offer.format === 'L16') frames.push(new Uint8Array(3));
    return frames;
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    if (typeof frame !== 'string') return this.#audio(frame);
    const message = readFrameObject(frame, invalid);
    checkExactKeys(message, SERVER_KEYS, [], 'the message', frame, invalid);
    const type = message['type'];
    if (message['version'] !== '2') invalid('version is not "2"', frame);
    if (typeof type !== 'string' || !(SERVER_MESSAGE_TYPES as readonly string[]).includes(type))
      invalid(`${JSON.stringify(type)} is not a server message`, frame);
    if (message['seq'] !== this.#serverSeq + 1)
      invalid(`seq ${String(message['seq'])} is not ${this.#serverSeq + 1}`, frame);
    const clientseq = message['clientseq'];
    if (typeof clientseq !== 'number' || !Number.isSafeInteger(clientseq) || clientseq < 0 || clientseq > this.#seq)
      invalid(`clientseq ${String(clientseq)} is not one Genesys sent`, frame);
    if (message['id'] !== this.#session) invalid('id is not the session id', frame);
    const parameters = message['parameters'];
    if (!isJsonObject(parameters)) invalid('parameters is not an object', frame);
    const commands = this.#serverMessage(type, parameters, frame);
    // Counted once accepted: a refused message leaves the sequence where it was.
    this.#serverSeq += 1;
    return commands;
  }

  #serverMessage(type: string, parameters: Record<string, unknown>, frame: string): OutboundCommand[] {
    switch (type) {
      case 'opened': {
        if (this.#opened) invalid('opened twice', frame);
        const media = parameters['media'];
        const chosen = Array.isArray(media) && media.length === 1 ? readMediaParameter(media[0]) : undefined;
        if (!chosen || !sameMedia(chosen, this.#offer)) invalid('opened does not name the offered media', frame);
        this.#opened = true;
        return [];
      }
      case 'pong':
        if (this.#pings === 0) invalid('pong without a ping', frame);
        this.#pings -= 1;
        return [];
      case 'closed':
        if (!this.#closeSent) invalid('closed without a close', frame);
        return [];
      case 'event': {
        const entities = parameters['entities'];
        if (!Array.isArray(entities) || !entities.every((e) => isJsonObject(e) && typeof e['type'] === 'string'))
          invalid('event.parameters.entities is not a list of typed entities', frame);
        const bargeIn = entities.some((e) => (e as Record<string, unknown>)['type'] === 'barge_in');
        if (bargeIn) this.#bargeIns += 1;
        return bargeIn ? [{ type: 'clear' }] : [];
      }
      case 'disconnect':
        return this.#disconnect(parameters, frame);
      case 'pause':
      case 'resume':
        if (!this.#opened) invalid(`${type} before opened`, frame);
        this.#replies.push({
          type: type === 'pause' ? 'paused' : 'resumed',
          parameters: this.#resumedParameters(type),
        });
        return [];
      default:
        return [];
    }
  }

  #resumedParameters(type: string): Record<string, unknown> {
    return type === 'pause' ? {} : { start: `PT${this.#positionMs / 1000}S`, discarded: 'PT0S' };
  }

  #disconnect(parameters: Record<string, unknown>, frame: string): OutboundCommand[] {
    const reason = parameters['reason'];
    if (reason !== 'completed' && reason !== 'unauthorized' && reason !== 'error')
      invalid('disconnect.parameters.reason is not completed, unauthorized or error', frame);
    const variables = parameters['outputVariables'];
    if (variables !== undefined) {
      if (!isJsonObject(variables) || !Object.values(variables).every((v) => typeof v === 'string'))
        invalid('disconnect.parameters.outputVariables is not an object of strings', frame);
      this.#outputVariables = { ...(variables as Record<string, string>) };
    }
    if (parameters['info'] !== undefined && typeof parameters['info'] !== 'string')
      invalid('disconnect.parameters.info is not a string', frame);
    this.#disconnected = true;
    return [{ type: 'hangup' }];
  }

  #audio(frame: Uint8Array): OutboundCommand[] {
    const n = frame.byteLength;
    if (!this.#opened) invalid('bot audio before opened', frame, GENESYS_INVALID_AUDIO_CODE);
    if (this.#disconnected) invalid('bot audio after disconnect', frame, GENESYS_INVALID_AUDIO_CODE);
    if (n === 0 || n > this.#maxFrameBytes)
      invalid(`bot audio frame of ${n} bytes (1 to ${this.#maxFrameBytes})`, frame, GENESYS_INVALID_AUDIO_CODE);
    if (n % sampleBytes(this.#offer) !== 0)
      invalid(`bot audio frame of ${n} bytes is not whole samples`, frame, GENESYS_INVALID_AUDIO_CODE);
    return [{ type: 'audio', payload: frame }];
  }

  #release(): Array<string | Uint8Array> {
    const frames: Array<string | Uint8Array> = [];
    for (const bytes of this.#waiting.splice(0)) {
      frames.push(bytes);
      const samples = bytes.byteLength / (sampleBytes(this.#offer) * this.#offer.channels.length);
      this.#positionMs += samples / 8;
      this.#frames += 1;
      if (this.#pingEvery > 0 && this.#frames % this.#pingEvery === 0) {
        this.#pings += 1;
        frames.push(this.#message('ping', {}));
      }
    }
    return frames;
  }

  /** One channel of the wire format → the offered channels, the agent's (`internal`) silent. */
  #interleave(wire: Uint8Array): Uint8Array {
    if (this.#offer.channels.length === 1) return wire;
    const width = sampleBytes(this.#offer);
    const silence = this.#offer.format === 'PCMU' ? 0xff : 0;
    const out = new Uint8Array(wire.byteLength * 2).fill(silence);
    for (let i = 0, o = 0; i < wire.byteLength; i += width, o += 2 * width)
      for (let b = 0; b < width; b++) out[o + b] = wire[i + b]!;
    return out;
  }

  #open(event: Extract<CallEvent, { type: 'call_start' }>): string {
    // A new session: its counters start over, and so does the conversion's filter state.
    this.#session = event.streamId || globalThis.crypto.randomUUID();
    this.#seq = 0;
    this.#serverSeq = 0;
    this.#positionMs = 0;
    this.#opened = false;
    this.#disconnected = false;
    this.#closeSent = false;
    this.#pings = 0;
    this.#frames = 0;
    this.#waiting = [];
    this.#replies = [];
    this.#convert = peerAudioConverter(this.#input, channelFormat(this.#offer));
    const participant: Record<string, string> = { id: globalThis.crypto.randomUUID() };
    if (event.from !== undefined) participant['ani'] = event.from;
    participant['aniName'] = '';
    if (event.to !== undefined) participant['dnis'] = event.to;
    return this.#message('open', {
      organizationId: this.#options.organizationId ?? globalThis.crypto.randomUUID(),
      conversationId: event.callId ?? globalThis.crypto.randomUUID(),
      participant,
      media: [{ ...this.#offer, channels: [...this.#offer.channels] }],
      language: 'en-US',
      inputVariables: { ...event.customParameters },
    });
  }

  #message(type: ClientMessageType, parameters: Record<string, unknown>): string {
    this.#seq += 1;
    return clientMessage(
      type,
      this.#seq,
      this.#serverSeq,
      this.#positionMs,
      this.#session ?? NULL_UUID,
      parameters as never,
    );
  }
}
