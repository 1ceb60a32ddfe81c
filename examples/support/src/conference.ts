/**
 * The conferences of the fake Twilio: who is in each, the hold audio fetched from `waitUrl` for
 * the first participant, Twilio's conference status callbacks (`participant-join`,
 * `participant-leave`, `conference-end`) to each participant's `statusCallback` that asked for
 * them, and `endConferenceOnExit`.
 */
import type { FakeCallLeg, FakeTwilioEvent } from './fake-twilio.js';

/** A leg in a conference. */
export type ConferenceLeg = FakeCallLeg & { endsConference?: boolean };

/** What the conferences need of the fake Twilio. */
export type ConferenceHost = {
  readonly accountSid: string;
  emit(kind: FakeTwilioEvent['kind'], text: string, callSid?: string): void;
  /** A signed webhook request. */
  post(leg: FakeCallLeg, url: string, params: Record<string, string>, what: string): Promise<unknown>;
  /** `the <who is on the call>`. */
  label(callSid: string): string;
  /** Ends another call. */
  end(callSid: string): void;
  newSid(prefix: string): string;
};

export class Conferences {
  /** Conference name -> the call sids in it. */
  readonly members = new Map<string, Set<string>>();
  readonly #host: ConferenceHost;
  readonly #callbacks = new Map<string, Array<{ url: string; events: string[]; leg: FakeCallLeg }>>();
  readonly #sids = new Map<string, string>();

  constructor(host: ConferenceHost) {
    this.#host = host;
  }

  /** `leg` joins conference `name` (the attributes of its `<Conference>`). */
  join(leg: ConferenceLeg, name: string, attributes: Record<string, string>): void {
    const members = this.members.get(name) ?? new Set<string>();
    this.members.set(name, members);
    members.add(leg.sid);
    leg.conference = name;
    const who = leg.callee?.label ?? leg.to;
    const started = members.size >= 2;
    this.#host.emit(
      'conference',
      started
        ? `the ${who} joins conference "${name}": ${[...members].map((s) => this.#host.label(s)).join(' and ')} are talking`
        : `the ${who} waits in conference "${name}"${attributes['waitUrl'] ? ` hearing ${attributes['waitUrl']}` : ' hearing hold music'}`,
      leg.sid,
    );
    if (attributes['endConferenceOnExit'] === 'true') leg.endsConference = true;
    const callback = attributes['statusCallback'];
    if (callback) {
      const events = (attributes['statusCallbackEvent'] ?? 'start end').split(/[\s,]+/);
      const subscribers = this.#callbacks.get(name) ?? [];
      subscribers.push({ url: callback, events, leg });
      this.#callbacks.set(name, subscribers);
    }
    this.#event(name, 'join', leg);
    const waitUrl = attributes['waitUrl'];
    if (!started && waitUrl) void this.#holdAudio(leg, waitUrl);
  }

  /** Fetches the conference's `waitUrl`, as Twilio does to play it to a participant on hold. */
  async #holdAudio(leg: ConferenceLeg, url: string): Promise<void> {
    try {
      const response = await fetch(url);
      const bytes = (await response.arrayBuffer()).byteLength;
      const type = response.headers.get('content-type') ?? 'no content type';
      this.#host.emit(
        'conference',
        `hold audio GET ${new URL(url).pathname} → ${response.status}, ${bytes} bytes of ${type}`,
        leg.sid,
      );
    } catch (error) {
      this.#host.emit('conference', `hold audio GET ${url} failed: ${(error as Error).message}`, leg.sid);
    }
  }

  /** `leg` leaves its conference; with `endConferenceOnExit` the conference ends for everyone. */
  leave(leg: ConferenceLeg): void {
    const name = leg.conference;
    if (name === undefined) return;
    leg.conference = undefined;
    const members = this.members.get(name);
    members?.delete(leg.sid);
    this.#host.emit('conference', `${this.#host.label(leg.sid)} left conference "${name}"`, leg.sid);
    this.#event(name, 'leave', leg);
    if (leg.endsConference && members) {
      for (const other of [...members]) this.#host.end(other);
    }
    if (members && members.size === 0 && this.members.get(name) === members) {
      this.#host.emit('conference', `conference "${name}" ended`);
      this.#event(name, 'end', leg);
      this.members.delete(name);
      this.#callbacks.delete(name);
    }
  }

  /** Twilio's conference status callbacks, to each participant's `statusCallback` that asked for the event. */
  #event(name: string, event: 'join' | 'leave' | 'end', leg: ConferenceLeg): void {
    const type = event === 'end' ? 'conference-end' : `participant-${event}`;
    for (const subscriber of this.#callbacks.get(name) ?? []) {
      if (!subscriber.events.includes(event)) continue;
      const params: Record<string, string> = {
        AccountSid: this.#host.accountSid,
        ConferenceSid: this.sid(name),
        FriendlyName: name,
        StatusCallbackEvent: type,
      };
      if (event !== 'end') params['CallSid'] = leg.sid;
      void this.#host.post(subscriber.leg, subscriber.url, params, `conference ${type}`);
    }
  }

  /** The conference's sid (`CF…`), made on first use. */
  sid(name: string): string {
    let conferenceSid = this.#sids.get(name);
    if (!conferenceSid) this.#sids.set(name, (conferenceSid = this.#host.newSid('CF')));
    return conferenceSid;
  }
}
