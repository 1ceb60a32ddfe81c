/**
 * The pieces of the AudioHook wire format shared by the protocol (our side) and the peer simulator
 * (Genesys's side): message envelopes, media parameters and durations. See reference/genesys.md
 * in the repository for the sources of every fact.
 *
 * Every text message, both ways, is a JSON object `{version: "2", id, type, seq, parameters}`;
 * the client's (Genesys's) also carry `serverseq` (the last server `seq` it saw) and `position`
 * (the stream position as an ISO 8601 duration, `PT1.24S`), the server's carry `clientseq` (the
 * last client `seq` it saw). Audio travels in binary frames, no header: PCMU (one byte a sample)
 * or L16 (16-bit little-endian), 8 kHz, channels interleaved in the order the media entry names
 * them.
 */
import { ProtocolError, type AudioFormat } from '@switchboard/core';
import { isJsonObject, type JsonObject } from '@switchboard/core/protocol';

export const PROVIDER = 'genesys';
export const AUDIOHOOK_VERSION = '2';

/** Messages Genesys (the client) sends. */
export const CLIENT_MESSAGE_TYPES = [
  'open',
  'close',
  'ping',
  'paused',
  'resumed',
  'discarded',
  'update',
  'error',
  'dtmf',
  'playback_started',
  'playback_completed',
] as const;
/** Messages the server (the bridge) sends. */
export const SERVER_MESSAGE_TYPES = [
  'opened',
  'closed',
  'pong',
  'pause',
  'resume',
  'disconnect',
  'event',
  'updated',
  'reconnect',
] as const;

export type ClientMessageType = (typeof CLIENT_MESSAGE_TYPES)[number];
export type ServerMessageType = (typeof SERVER_MESSAGE_TYPES)[number];

/** One entry of `open.parameters.media`, and the one `opened` names back. */
export type GenesysMediaParameter = {
  type: 'audio';
  format: 'PCMU' | 'L16';
  /** Interleaving order of the binary frames' channels: `external` (the caller), `internal` (the agent). */
  channels: Array<'external' | 'internal'>;
  rate: number;
};

/** Why the server asks Genesys to end the session (`disconnect.parameters.reason`). */
export type GenesysDisconnectReason = 'completed' | 'unauthorized' | 'error';

/** The null UUID: Genesys's connection probe names this conversation and participant. */
export const NULL_UUID = '00000000-0000-0000-0000-000000000000';

/** A UUID as Genesys writes ids: 8-4-4-4-12 hexadecimal digits. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/** A non-negative safe integer, or undefined. */
export function sequenceNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** `PT1.5S` → 1500 (ms); undefined for anything that is not a duration in seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 40) return undefined;
  const match = /^PT(\d+(?:\.\d+)?)S$/.exec(value);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** 1500 (ms) → `PT1.5S`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms)) / 1000;
  return `PT${seconds}S`;
}

/** Reads one media entry; undefined when it is not one (the caller decides whether that is an error). */
export function readMediaParameter(value: unknown): GenesysMediaParameter | undefined {
  if (!isJsonObject(value)) return undefined;
  const { type, format, channels, rate } = value;
  if (type !== 'audio' || (format !== 'PCMU' && format !== 'L16')) return undefined;
  if (typeof rate !== 'number' || !Number.isSafeInteger(rate) || rate <= 0) return undefined;
  if (!Array.isArray(channels) || channels.length === 0 || channels.length > 2) return undefined;
  if (!channels.every((c) => c === 'external' || c === 'internal')) return undefined;
  if (new Set(channels).size !== channels.length) return undefined;
  return { type, format, channels: [...(channels as Array<'external' | 'internal'>)], rate };
}

/** The {@link AudioFormat} of one channel of a media entry. */
export function channelFormat(media: GenesysMediaParameter): AudioFormat {
  return { encoding: media.format === 'PCMU' ? 'pcmu' : 'l16', sampleRate: media.rate, channels: 1 };
}

/** Bytes of one sample of one channel. */
export function sampleBytes(media: GenesysMediaParameter): number {
  return media.format === 'PCMU' ? 1 : 2;
}

/** Same entry, field for field. */
export function sameMedia(a: GenesysMediaParameter, b: GenesysMediaParameter): boolean {
  return (
    a.format === b.format &&
    a.rate === b.rate &&
    a.channels.length === b.channels.length &&
    a.channels.every((c, i) => b.channels[i] === c)
  );
}

/** The caller's channel (`external`) of an interleaved frame. */
export function externalChannel(frame: Uint8Array, media: GenesysMediaParameter): Uint8Array {
  const index = media.channels.indexOf('external');
  if (media.channels.length === 1) return frame;
  const width = sampleBytes(media);
  const stride = width * media.channels.length;
  const out = new Uint8Array(frame.byteLength / media.channels.length);
  for (let i = 0, o = 0; i < frame.byteLength; i += stride, o += width) {
    for (let b = 0; b < width; b++) out[o + b] = frame[i + index * width + b]!;
  }
  return out;
}

/** A message envelope as a plain object, before it is written. */
export type Envelope = { type: string; seq: number; id: string; parameters: JsonObject } & JsonObject;

/** Writes a server message: `{version, type, seq, clientseq, id, parameters}`. */
export function serverMessage(
  type: ServerMessageType,
  seq: number,
  clientseq: number,
  id: string,
  parameters: JsonObject,
): string {
  return JSON.stringify({ version: AUDIOHOOK_VERSION, type, seq, clientseq, id, parameters });
}

/** Writes a client message: `{version, type, seq, serverseq, position, id, parameters}`. */
export function clientMessage(
  type: ClientMessageType,
  seq: number,
  serverseq: number,
  positionMs: number,
  id: string,
  parameters: JsonObject,
): string {
  return JSON.stringify({
    version: AUDIOHOOK_VERSION,
    type,
    seq,
    serverseq,
    position: formatDuration(positionMs),
    id,
    parameters,
  });
}
