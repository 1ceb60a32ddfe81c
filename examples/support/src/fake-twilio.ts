/**
 * A local stand-in for Twilio, for the offline examples: the REST API's calls, call updates and
 * conference participants on 127.0.0.1, and the call legs those create. Like Twilio, it fetches
 * a call's TwiML from its `Url` (a signed POST), runs it (`<Connect><Stream>` opens the Media
 * Stream to your server with a signed upgrade and plays the callee into it; `<Dial><Conference>`
 * joins a conference; `<Say>`, `<Play>`, `<Pause>`, `<Dial>` a number, `<Hangup>`), posts the
 * asynchronous answering-machine-detection result to `AsyncAmdStatusCallback` (signed with
 * X-Twilio-Signature), and ends a call on `Status=completed`. Everything it does is in `events`.
 *
 * It is what the examples need, not Twilio: the TwiML attributes it does not read are ignored.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CallerSimulator } from '@switchboard/conformance';
import { computeTwilioSignature } from '@switchboard/twilio';
import { stepMs, type Callee } from './callee.js';
import { Conferences } from './conference.js';
import { runMediaStream, type StreamHost } from './media-stream.js';
import { parseTwiml, streamOf, type TwimlNode } from './twiml-reader.js';

export type FakeTwilioOptions = {
  /** Default `AC` + 32 zeros' worth of a made-up account. */
  accountSid?: string;
  /** The account's auth token: REST requests must use it, and the fake signs its webhooks with it. */
  authToken: string;
  /** Who answers each number dialed; `undefined`: nobody (the call ends `no-answer`). */
  answer: (to: string) => Callee | undefined;
  /** Replay speed of the callee's audio; 1 is real time. Default 1. */
  speed?: number;
  /** The call clock (ms) for `events` and the legs' playout. Default: real time × speed. */
  now?: () => number;
};

export type FakeTwilioEvent = {
  /** On the call clock. */
  at: number;
  callSid?: string;
  kind: 'rest' | 'webhook' | 'call' | 'stream' | 'amd' | 'twiml' | 'conference';
  /** One line for people. */
  text: string;
};

/** A REST request the fake received. */
export type FakeTwilioRequest = { at: number; method: string; path: string; params: Record<string, string> };

/** One call leg. */
export type FakeCallLeg = {
  readonly sid: string;
  readonly to: string;
  readonly from: string;
  /** The parameters of the request that created it. */
  readonly params: Record<string, string>;
  readonly callee: Callee | undefined;
  status: 'queued' | 'in-progress' | 'completed' | 'no-answer';
  /** The Media Stream's carrier side while one is open (and after: its log stays). */
  stream: CallerSimulator | undefined;
  /** Every stream the leg had, in order. */
  readonly streams: CallerSimulator[];
  /** The conference it is in. */
  conference: string | undefined;
  /** When it ended (call clock). */
  endedAt: number | undefined;
  /** Resolves when it ends. */
  readonly ended: Promise<void>;
};

const API = '/2010-04-01/Accounts/';
const FORM = 'application/x-www-form-urlencoded';

function sid(prefix: string, n: number): string {
  return prefix + n.toString(16).padStart(32, '0');
}

function twilioError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
}

type Leg = FakeCallLeg & {
  generation: number;
  end: () => void;
  wake: () => void;
  changed: Promise<void>;
  /** Who the Media Stream plays, when not all of `callee` (see `Callee.amd.beforeStream`). */
  streamCallee?: Callee;
  /** Joined its conference with `endConferenceOnExit`. */
  endsConference?: boolean;
};

export class FakeTwilio {
  readonly accountSid: string;
  readonly requests: FakeTwilioRequest[] = [];
  readonly events: FakeTwilioEvent[] = [];
  readonly legs = new Map<string, FakeCallLeg>();
  readonly now: () => number;
  readonly #options: FakeTwilioOptions;
  readonly #speed: number;
  readonly #listeners = new Set<(event: FakeTwilioEvent) => void>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #conferences: Conferences;
  #server: Server | undefined;
  #url = '';
  #count = 0;

  private constructor(options: FakeTwilioOptions) {
    this.#options = options;
    this.accountSid = options.accountSid ?? 'AC' + 'feed'.repeat(8);
    this.#conferences = new Conferences({
      accountSid: this.accountSid,
      emit: (kind, text, callSid) => this.#emit(kind, text, callSid),
      post: (leg, url, params, what) => this.#post(leg, url, params, what),
      label: (callSid) => this.#label(callSid),
      end: (callSid) => (this.legs.get(callSid) as Leg | undefined)?.end(),
      newSid: (prefix) => sid(prefix, ++this.#count),
    });
    this.#speed = options.speed ?? 1;
    const t0 = performance.now();
    this.now = options.now ?? (() => (performance.now() - t0) * this.#speed);
  }

  /** Starts the REST server on 127.0.0.1 (a free port). */
  static async start(options: FakeTwilioOptions): Promise<FakeTwilio> {
    const fake = new FakeTwilio(options);
    const server = createServer((req, res) => void fake.#handle(req, res));
    fake.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    fake.#url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return fake;
  }

  /** Conference name -> the call sids in it. */
  get conferences(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#conferences.members;
  }

  /** The REST API's base URL: give it to the client as its `baseUrl`. */
  get url(): string {
    return this.#url;
  }

  /** Called with every event as it happens. Returns a function that removes the listener. */
  onEvent(listener: (event: FakeTwilioEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A call comes in to one of your numbers: like Twilio, the fake requests the number's voice URL
   * (a signed POST) and runs the TwiML it answers. `caller` is who is calling.
   */
  incomingCall(options: { from: string; to: string; url: string; caller: Callee }): FakeCallLeg {
    const leg = this.#newLeg(options.to, options.from, { Url: options.url, Direction: 'inbound' }, options.caller);
    this.#emit(
      'call',
      `incoming call ${leg.sid} from the ${options.caller.label} (${options.from}) to ${options.to}`,
      leg.sid,
    );
    leg.status = 'in-progress';
    void this.#runTwiml(leg, 0, undefined, options.url);
    return leg;
  }

  /** The person on the leg hangs up. */
  hangUp(callSid: string): void {
    const leg = this.legs.get(callSid) as Leg | undefined;
    if (!leg || leg.endedAt !== undefined) return;
    this.#emit('call', `the ${leg.callee?.label ?? leg.to} hangs up`, callSid);
    leg.end();
  }

  /** Ends every leg and closes the server. */
  async stop(): Promise<void> {
    for (const leg of this.legs.values()) (leg as Leg).end();
    for (const timer of this.#timers) clearTimeout(timer);
    for (const leg of this.legs.values()) for (const stream of leg.streams) stream.dispose();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #emit(kind: FakeTwilioEvent['kind'], text: string, callSid?: string): void {
    const event: FakeTwilioEvent = { at: this.now(), kind, text, ...(callSid ? { callSid } : {}) };
    this.events.push(event);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is not the fake's.
      }
    }
  }

  /** Waits `ms` of call time. */
  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#timers.delete(timer);
          resolve();
        },
        Math.max(0, ms / this.#speed),
      );
      this.#timers.add(timer);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    // A repeated field (`StatusCallbackEvent=answered&StatusCallbackEvent=completed`) keeps every value.
    const params: Record<string, string> = {};
    for (const name of new Set(form.keys())) params[name] = form.getAll(name).join(' ');
    const path = (req.url ?? '').split('?')[0]!;
    const method = req.method ?? 'GET';
    this.requests.push({ at: this.now(), method, path, params });
    const expected = 'Basic ' + Buffer.from(`${this.accountSid}:${this.#options.authToken}`).toString('base64');
    if (req.headers.authorization !== expected) return twilioError(res, 401, 20003, 'Authenticate');
    const prefix = `${API}${this.accountSid}/`;
    if (!path.startsWith(prefix) || method !== 'POST') return twilioError(res, 404, 20404, 'Not found');
    const rest = path.slice(prefix.length);
    let match: RegExpExecArray | null;
    if (rest === 'Calls.json') return this.#createCall(params, res);
    if ((match = /^Calls\/(CA[0-9a-f]{32})\.json$/.exec(rest))) return this.#updateCall(match[1]!, params, res);
    if ((match = /^Conferences\/([^/]+)\/Participants\.json$/.exec(rest)))
      return this.#addParticipant(decodeURIComponent(match[1]!), params, res);
    return twilioError(res, 404, 20404, `The requested resource ${path} was not found`);
  }

  #createCall(params: Record<string, string>, res: ServerResponse, conference?: string): void {
    const { To: to, From: from } = params;
    if (!to) return twilioError(res, 400, 21201, "No 'To' number is specified");
    if (!from) return twilioError(res, 400, 21213, "No 'From' number is specified");
    if (!conference && !params['Url'] && !params['Twiml'])
      return twilioError(res, 400, 21205, 'Either a Url or Twiml parameter is required');
    const leg = this.#newLeg(to, from, params);
    this.#emit('rest', `POST Calls.json → 201, call ${leg.sid} to ${to}`, leg.sid);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        conference
          ? {
              account_sid: this.accountSid,
              call_sid: leg.sid,
              conference_sid: sid('CF', ++this.#count),
              label: params['Label'] ?? null,
              status: 'queued',
            }
          : {
              sid: leg.sid,
              account_sid: this.accountSid,
              to,
              from,
              status: 'queued',
              direction: 'outbound-api',
              api_version: '2010-04-01',
            },
      ),
    );
    void this.#runLeg(leg, conference);
  }

  #addParticipant(conference: string, params: Record<string, string>, res: ServerResponse): void {
    this.#createCall(params, res, conference);
  }

  #updateCall(callSid: string, params: Record<string, string>, res: ServerResponse): void {
    const leg = this.legs.get(callSid) as Leg | undefined;
    if (!leg) return twilioError(res, 404, 20404, `The requested resource Calls/${callSid}.json was not found`);
    const what = params['Status']
      ? `Status=${params['Status']}`
      : params['Twiml']
        ? 'new TwiML'
        : params['Url']
          ? `Url=${params['Url']}`
          : '(nothing)';
    if (leg.status === 'completed' && !params['Status'])
      return twilioError(res, 400, 21220, 'Call is not in-progress. Cannot redirect.');
    this.#emit('rest', `POST Calls/${callSid}.json ${what}`, callSid);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ sid: callSid, account_sid: this.accountSid, status: params['Status'] ?? leg.status }));
    if (params['Status'] === 'completed' || params['Status'] === 'canceled') {
      leg.end();
    } else if (params['Twiml'] || params['Url']) {
      // The leg leaves what it was doing (its Media Stream ends) and runs the new TwiML.
      leg.generation++;
      leg.wake();
      void this.#runTwiml(leg, leg.generation, params['Twiml'], params['Url']);
    }
  }

  #newLeg(to: string, from: string, params: Record<string, string>, callee = this.#options.answer(to)): Leg {
    const callSid = sid('CA', ++this.#count);
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const leg: Leg = {
      sid: callSid,
      to,
      from,
      params,
      callee,
      status: 'queued',
      stream: undefined,
      streams: [],
      conference: undefined,
      endedAt: undefined,
      ended,
      generation: 0,
      changed: Promise.resolve(),
      wake: () => undefined,
      end: () => {
        if (leg.endedAt !== undefined) return;
        leg.endedAt = this.now();
        leg.status = leg.status === 'queued' ? 'no-answer' : 'completed';
        leg.stream?.hangUp();
        leg.wake();
        this.#emit('call', `call ${callSid} (${leg.callee?.label ?? to}) ended: ${leg.status}`, callSid);
        this.#conferences.leave(leg);
        void this.#statusCallback(leg);
        end();
      },
    };
    this.#arm(leg);
    this.legs.set(callSid, leg);
    return leg;
  }

  /** A fresh `changed` promise: resolves at the leg's next update or end. */
  #arm(leg: Leg): void {
    leg.changed = new Promise<void>((resolve) => {
      leg.wake = () => {
        resolve();
        this.#arm(leg);
      };
    });
  }

  async #runLeg(leg: Leg, conference: string | undefined): Promise<void> {
    await this.#wait(300); // ringing
    if (leg.endedAt !== undefined) return;
    if (!leg.callee) {
      this.#emit('call', `call ${leg.sid} to ${leg.to}: no answer`, leg.sid);
      return leg.end();
    }
    leg.status = 'in-progress';
    this.#emit('call', `call ${leg.sid} answered by the ${leg.callee.label}`, leg.sid);
    if (/\banswered\b/.test(leg.params['StatusCallbackEvent'] ?? '')) void this.#statusCallback(leg);
    const amd = leg.callee.amd;
    if (amd?.beforeStream && this.#asyncAmd(leg)) {
      // The stream comes up late: Twilio hears the first steps and decides before it opens.
      let heardMs = 0;
      for (const step of leg.callee.steps.slice(0, amd.afterStep + 1)) {
        if ('say' in step) this.#emit('call', `the ${leg.callee.label} says "${step.say}" (no stream yet)`, leg.sid);
        heardMs += stepMs(step);
      }
      await this.#wait(heardMs + (amd.afterMs ?? 0));
      leg.streamCallee = { ...leg.callee, steps: leg.callee.steps.slice(amd.afterStep + 1) };
      await this.#amdCallback(leg, heardMs + (amd.afterMs ?? 0));
    }
    if (conference) {
      await this.#join(leg, leg.generation, conference, {});
      if (leg.endedAt === undefined) leg.end();
      return;
    }
    await this.#runTwiml(leg, 0, leg.params['Twiml'], leg.params['Url']);
  }

  async #runTwiml(leg: Leg, generation: number, twiml: string | undefined, url: string | undefined): Promise<void> {
    let text = twiml;
    if (!text && url) text = await this.#fetchTwiml(leg, url);
    if (leg.generation !== generation || leg.endedAt !== undefined) return;
    let response: TwimlNode;
    try {
      response = parseTwiml(text ?? '');
    } catch (error) {
      this.#emit('twiml', `call ${leg.sid}: ${(error as Error).message}; the call ends`, leg.sid);
      return leg.end();
    }
    for (const verb of response.children) {
      if (leg.generation !== generation || leg.endedAt !== undefined) return;
      await this.#verb(leg, generation, verb);
    }
    if (leg.generation === generation && leg.endedAt === undefined) leg.end();
  }

  async #fetchTwiml(leg: Leg, url: string): Promise<string | undefined> {
    const params = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: leg.sid,
      CallStatus: 'in-progress',
      Direction: leg.params['Direction'] ?? 'outbound-api',
      From: leg.from,
      To: leg.to,
    };
    const response = await this.#post(leg, url, params, 'TwiML');
    return response?.status === 200 ? response.text : undefined;
  }

  /** A signed webhook request, as Twilio signs them. */
  async #post(
    leg: FakeCallLeg,
    url: string,
    params: Record<string, string>,
    what: string,
  ): Promise<{ status: number; text: string } | undefined> {
    try {
      const signature = await computeTwilioSignature(this.#options.authToken, url, params);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': FORM, 'x-twilio-signature': signature },
        body: new URLSearchParams(params),
      });
      const text = await response.text();
      this.#emit('webhook', `${what} POST ${new URL(url).pathname} (signed) → ${response.status}`, leg.sid);
      return { status: response.status, text };
    } catch (error) {
      this.#emit('webhook', `${what} POST ${url} failed: ${(error as Error).message}`, leg.sid);
      return undefined;
    }
  }

  async #verb(leg: Leg, generation: number, verb: TwimlNode): Promise<void> {
    const who = leg.callee?.label ?? leg.to;
    switch (verb.name) {
      case 'Connect': {
        const stream = streamOf(verb);
        if (stream) await this.#stream(leg, generation, stream.url, stream.parameters);
        return;
      }
      case 'Say':
        this.#emit('twiml', `the ${who} hears <Say>: "${verb.text}"`, leg.sid);
        return this.#until(leg, this.#wait(verb.text.split(/\s+/).length * 330));
      case 'Play':
        this.#emit('twiml', `the ${who} hears <Play> ${verb.text}`, leg.sid);
        return this.#until(leg, this.#wait(2000));
      case 'Pause':
        return this.#until(leg, this.#wait(Number(verb.attributes['length'] ?? 1) * 1000));
      case 'Hangup':
        return leg.end();
      case 'Dial': {
        const room = verb.children.find((c) => c.name === 'Conference');
        if (room) return this.#join(leg, generation, room.text, room.attributes);
        const target = verb.children.find((c) => c.name === 'Number' || c.name === 'Sip')?.text ?? verb.text;
        this.#emit('twiml', `the ${who} is dialed through to ${target} (<Dial>): the transfer is done`, leg.sid);
        await leg.changed;
        return;
      }
      default:
        this.#emit('twiml', `<${verb.name}> is not simulated; skipped`, leg.sid);
    }
  }

  /** Resolves when `work` does or the leg changes, whichever is first. */
  async #until(leg: Leg, work: Promise<void>): Promise<void> {
    await Promise.race([work, leg.changed]);
  }

  async #join(leg: Leg, generation: number, name: string, attributes: Record<string, string>): Promise<void> {
    this.#conferences.join(leg, name, attributes);
    while (leg.generation === generation && leg.endedAt === undefined) await leg.changed;
    if (leg.endedAt === undefined) this.#conferences.leave(leg);
  }

  #label(callSid: string): string {
    const leg = this.legs.get(callSid);
    return `the ${leg?.callee?.label ?? leg?.to ?? callSid}`;
  }

  async #statusCallback(leg: Leg): Promise<void> {
    const url = leg.params['StatusCallback'];
    if (!url) return;
    await this.#post(
      leg,
      url,
      { AccountSid: this.accountSid, CallSid: leg.sid, CallStatus: leg.status },
      'status callback',
    );
  }

  /** Whether the call asked for asynchronous answering machine detection, and the callee has a result. */
  #asyncAmd(leg: FakeCallLeg): boolean {
    return Boolean(
      leg.params['MachineDetection'] &&
      leg.params['AsyncAmd'] === 'true' &&
      leg.params['AsyncAmdStatusCallback'] &&
      leg.callee?.amd,
    );
  }

  /** The detection result to `AsyncAmdStatusCallback`, signed. */
  async #amdCallback(leg: FakeCallLeg, detectionMs: number): Promise<void> {
    const answeredBy = leg.callee!.amd!.answeredBy;
    this.#emit('amd', `AMD decided: AnsweredBy=${answeredBy}`, leg.sid);
    await this.#post(
      leg,
      leg.params['AsyncAmdStatusCallback']!,
      {
        AccountSid: this.accountSid,
        AnsweredBy: answeredBy,
        CallSid: leg.sid,
        MachineDetectionDuration: String(Math.round(detectionMs)),
      },
      'AMD callback',
    );
  }

  /** `<Connect><Stream>`: the callee talks to your server until the stream or the leg ends. */
  #stream(leg: Leg, generation: number, url: string, parameters: Record<string, string>): Promise<void> {
    const host: StreamHost = {
      accountSid: this.accountSid,
      authToken: this.#options.authToken,
      speed: this.#speed,
      now: this.now,
      emit: (kind, text, callSid) => this.#emit(kind, text, callSid),
      asyncAmd: (l) => this.#asyncAmd(l),
      amdCallback: (l, ms) => this.#amdCallback(l, ms),
    };
    return runMediaStream(host, leg, generation, sid('MZ', ++this.#count), url, parameters);
  }
}
