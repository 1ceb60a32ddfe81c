/**
 * Candidates for `detectMediaProtocol` (from `@switchboard/core`): the presets' gateways told
 * apart by the first frame each sends.
 *
 * - Vonage: `{"event":"websocket:connected",…}` (or its older form without `event`, with
 *   `"content-type":"audio/l16;…"`).
 * - Asterisk chan_websocket: `MEDIA_START …` (plain text) or `{"event":"MEDIA_START",…}` (JSON).
 * - jambonz: a JSON metadata object with `callSid` and `sampleRate` or `mixType`, and neither
 *   `event` nor `type`. (FreeSWITCH mod_audio_fork sends metadata of your own choosing, so it is
 *   recognisable only if you put those fields in it.)
 * - generic: `{"type":"start",…}`.
 *
 * A preset whose call starts on connect (`startOn: 'connect'`) announces nothing and cannot be
 * detected.
 */
import { ConfigError, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import { isJsonObject } from './preset.js';
import type { RawWebSocketPresetName } from './presets/index.js';
import { RawWebSocketProtocol, type RawWebSocketProtocolOptions } from './protocol.js';

function jsonObject(frame: MediaFrame): Record<string, unknown> | undefined {
  if (typeof frame !== 'string' || frame.length > 100_000 || !frame.trimStart().startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(frame);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const MATCHERS: Record<RawWebSocketPresetName, (frame: MediaFrame) => boolean> = {
  vonage: (frame) => {
    const message = jsonObject(frame);
    if (!message) return false;
    if (message['event'] === 'websocket:connected') return true;
    // The older form: no event, the content-type and the NCCO's headers.
    const contentType = message['content-type'];
    return message['event'] === undefined && typeof contentType === 'string' && /^\s*audio\/l16\b/i.test(contentType);
  },
  asterisk: (frame) => {
    if (typeof frame !== 'string') return false;
    if (/^\s*MEDIA_START(\s|$)/.test(frame)) return true;
    return jsonObject(frame)?.['event'] === 'MEDIA_START';
  },
  jambonz: (frame) => {
    const message = jsonObject(frame);
    if (!message || message['event'] !== undefined || message['type'] !== undefined) return false;
    return (
      typeof message['callSid'] === 'string' &&
      (message['sampleRate'] !== undefined || message['mixType'] !== undefined)
    );
  },
  generic: (frame) => jsonObject(frame)?.['type'] === 'start',
};

/**
 * The candidate of one preset; `options` configure the protocol it creates (format, frame
 * duration, pacing), as for `RawWebSocketProtocol`.
 */
export function rawWebSocketCandidate(
  preset: RawWebSocketPresetName,
  options: Omit<RawWebSocketProtocolOptions, 'preset'> = {},
): ProtocolCandidate {
  const matches = Object.hasOwn(MATCHERS, preset) ? MATCHERS[preset] : undefined;
  if (!matches)
    throw new ConfigError(
      `No detection for preset ${JSON.stringify(preset)}: use ${Object.keys(MATCHERS).join(', ')}.`,
    );
  // Checked once here, so a bad option fails where it is written rather than mid-call.
  new RawWebSocketProtocol({ ...options, preset });
  return { name: preset, matches, create: () => new RawWebSocketProtocol({ ...options, preset }) };
}

export const vonageCandidate: ProtocolCandidate = rawWebSocketCandidate('vonage');
export const asteriskCandidate: ProtocolCandidate = rawWebSocketCandidate('asterisk');
export const jambonzCandidate: ProtocolCandidate = rawWebSocketCandidate('jambonz');
export const genericCandidate: ProtocolCandidate = rawWebSocketCandidate('generic');

/** Every preset that announces itself: Vonage, Asterisk, jambonz, generic. */
export const rawWebSocketCandidates: readonly ProtocolCandidate[] = [
  vonageCandidate,
  asteriskCandidate,
  jambonzCandidate,
  genericCandidate,
];
