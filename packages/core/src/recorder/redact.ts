/**
 * Redaction of what a recording keeps of a call's frames: phone numbers, custom parameters and,
 * when asked, call and stream ids. Works on any carrier's frames, JSON or text, with two sources
 * of knowledge:
 *
 * - the frames' shape: E.164-looking strings anywhere, fields named like a phone number (`from`,
 *   `to`, ...), and the objects carriers put custom parameters in (`customParameters`,
 *   `custom_parameters`, `channel_variables`, `metadata`);
 * - what the carrier's own protocol decoded from the call (its `call_start`): the custom
 *   parameters, `from`/`to` and the ids, found again as `key: value` fields, `key=value` pairs
 *   (Plivo's `extra_headers`, SIP `X-` headers) or exact values.
 */
import type { CallEvent } from '../types.js';
import type { AudioRedaction } from './audio.js';

/** What a recording redacts. Every field is optional; see each default. */
export type RecordingRedaction = {
  /**
   * E.164-looking numbers (`+` and 8 to 15 digits) in any JSON or text frame, the values of
   * fields named `from`, `to`, `caller`, `callee` (and alike), and the call's `from`/`to` wherever
   * they appear. Default true.
   */
  phoneNumbers?: boolean;
  /**
   * The values of the call's custom parameters (Twilio `start.customParameters`, Telnyx and
   * Exotel `custom_parameters`, Plivo `extra_headers`, Vonage and jambonz headers, Asterisk
   * channel variables, SIP `X-` headers); their names are kept. `{ keep: [...] }` keeps the
   * values of the named parameters (names compared case-insensitively). Default true.
   */
  customParameters?: boolean | { keep: readonly string[] };
  /**
   * Call and stream ids (`callSid`, `streamSid`, ... and the call's ids wherever they appear), replaced by `""`.
   * Default false.
   */
  ids?: boolean;
  /**
   * The caller's audio: `'noise'` (default) replaces it by noise that follows its loudness every
   * 10 ms, so the utterances stay where they were; `'silence'` by silence of the same length;
   * `'keep'` keeps it. The bridge's (the model's) audio is always kept.
   */
  audio?: AudioRedaction;
};

export type ResolvedRedaction = {
  phoneNumbers: boolean;
  customParameters: false | { keep: ReadonlySet<string> };
  ids: boolean;
  audio: AudioRedaction;
};

/** The redaction options with their defaults; `false` turns every redaction off. */
export function resolveRedaction(options: RecordingRedaction | false | undefined): ResolvedRedaction {
  if (options === false) return { phoneNumbers: false, customParameters: false, ids: false, audio: 'keep' };
  const o = options ?? {};
  const custom = o.customParameters ?? true;
  return {
    phoneNumbers: o.phoneNumbers ?? true,
    customParameters:
      custom === false ? false : { keep: new Set(custom === true ? [] : custom.keep.map((k) => k.toLowerCase())) },
    ids: o.ids ?? false,
    audio: o.audio ?? 'noise',
  };
}

/** The header's `redacted` list: what this recording hides. */
export function redactedLabels(r: ResolvedRedaction): string[] {
  const labels: string[] = [];
  if (r.phoneNumbers) labels.push('phone-numbers');
  if (r.customParameters)
    labels.push(
      r.customParameters.keep.size > 0
        ? `custom-parameters:except:${[...r.customParameters.keep].join(',')}`
        : 'custom-parameters',
    );
  if (r.ids) labels.push('ids');
  if (r.audio !== 'keep') labels.push(`audio:${r.audio}`);
  return labels;
}

/** What replaces a redacted value. */
export const REDACTED = '[redacted]';

const E164 = /\+[0-9]{8,15}(?![0-9])/g;
const PHONE_KEYS = new Set([
  'from',
  'to',
  'caller',
  'callee',
  'called',
  'calling',
  'caller_id',
  'callerid',
  'ani',
  'dnis',
  'caller_number',
  'callee_number',
  'from_number',
  'to_number',
]);
const PARAM_CONTAINERS = new Set([
  'customparameters',
  'custom_parameters',
  'channel_variables',
  'metadata',
  'extra_headers',
  'extraheaders',
]);
const ID_KEYS = new Set([
  'accountsid',
  'callsid',
  'streamsid',
  'call_sid',
  'stream_sid',
  'call_control_id',
  'call_session_id',
  'call_leg_id',
  'stream_id',
  'streamid',
  'callid',
  'call_id',
  'uuid',
  'conversation_uuid',
]);
/**
 * Base64 (audio, a key) is never searched for numbers: a string of whole base64 quanta, at least
 * 16 characters, with a letter or a slash in it (a phone number alone has neither).
 */
function isBlob(text: string): boolean {
  return text.length >= 16 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text) && /[A-Za-z/]/.test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A phone number of the same length, all zeros: the text keeps its syntax (a SIP URI stays one). */
function zeroed(match: string): string {
  return `+${'0'.repeat(match.length - 1)}`;
}

/**
 * What replaces a caller or callee the call named: a URI stays a URI of the same scheme (a SIP
 * request still parses, so that its recording replays), anything else becomes {@link REDACTED}.
 */
function personStandIn(person: string): string {
  const scheme = /^(sips?|tel):/i.exec(person)?.[1];
  if (!scheme) return REDACTED;
  return scheme.toLowerCase() === 'tel' ? `${scheme}:+0` : `${scheme}:redacted@redacted.invalid`;
}

/** What the call has told so far (its `call_start`s), to find again in its frames. */
export class RedactionState {
  readonly #options: ResolvedRedaction;
  /** Custom parameters to hide: lower-cased name → values. */
  readonly #params = new Map<string, Set<string>>();
  #pairPatterns: RegExp[] = [];
  readonly #people = new Set<string>();
  readonly #ids = new Set<string>();

  constructor(options: ResolvedRedaction) {
    this.#options = options;
  }

  /** Learns the values of a decoded `call_start`. */
  learn(event: CallEvent): void {
    if (event.type !== 'call_start') return;
    const custom = this.#options.customParameters;
    if (custom) {
      for (const [name, value] of Object.entries(event.customParameters ?? {})) {
        const key = name.toLowerCase();
        if (custom.keep.has(key) || typeof value !== 'string' || value === '') continue;
        let values = this.#params.get(key);
        if (!values) this.#params.set(key, (values = new Set()));
        if (values.has(value)) continue;
        values.add(value);
        // `name=value` (Plivo extra_headers) and `name: value` (SIP X- headers).
        this.#pairPatterns.push(new RegExp(`(${escapeRegExp(name)}\\s*[=:]\\s*)${escapeRegExp(value)}`, 'gi'));
      }
    }
    if (this.#options.phoneNumbers) {
      for (const person of [event.from, event.to])
        if (typeof person === 'string' && person.length >= 4) this.#people.add(person);
    }
    if (this.#options.ids) {
      for (const id of [event.callId, event.streamId]) if (typeof id === 'string' && id !== '') this.#ids.add(id);
    }
  }

  /** A redacted deep copy of a parsed JSON frame. */
  json(value: unknown): unknown {
    return this.#walk(value, undefined, false);
  }

  /** A text frame (or a string field) with phone numbers and `name=value` parameters redacted. */
  text(text: string): string {
    if (isBlob(text)) return text;
    let out = text;
    if (this.#options.phoneNumbers) {
      out = out.replace(E164, zeroed);
      for (const person of this.#people) if (out.includes(person)) out = out.split(person).join(personStandIn(person));
    }
    for (const pattern of this.#pairPatterns) out = out.replace(pattern, `$1${REDACTED}`);
    return out;
  }

  #walk(value: unknown, key: string | undefined, inParams: boolean): unknown {
    if (typeof value === 'string') return this.#string(value, key, inParams);
    if (Array.isArray(value)) return value.map((item) => this.#walk(item, key, inParams));
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    const container =
      this.#options.customParameters !== false && key !== undefined && PARAM_CONTAINERS.has(key.toLowerCase());
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      Object.defineProperty(out, k, {
        value: this.#walk(v, k, inParams || container),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  #string(value: string, key: string | undefined, inParams: boolean): string {
    const lower = key?.toLowerCase();
    const o = this.#options;
    if (o.ids && value !== '' && (this.#ids.has(value) || (lower !== undefined && ID_KEYS.has(lower)))) return '';
    const custom = o.customParameters;
    if (custom && lower !== undefined && !custom.keep.has(lower)) {
      if (inParams) return REDACTED;
      if (this.#params.get(lower)?.has(value)) return REDACTED;
    }
    if (o.phoneNumbers && lower !== undefined && PHONE_KEYS.has(lower) && value !== '') {
      const zeros = value.replace(E164, zeroed);
      return zeros !== value && /^\+0+$/.test(zeros) ? zeros : REDACTED;
    }
    return this.text(value);
  }
}
