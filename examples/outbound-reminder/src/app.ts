/**
 * An appointment-reminder service that calls out through Twilio with an OpenAI realtime agent.
 *
 *   remind(appointment)   places the call (`TwilioCallControl.createCall`) with asynchronous
 *                         answering machine detection (`DetectMessageEnd`) and TwiML that connects
 *                         the call's audio to this server's /media route
 *   POST /amd             Twilio's AMD result (signature verified), read with
 *                         `readTwilioMachineDetection` and routed to the call by its CallSid
 *                         (`CallDirectory`: the result may come before the call's stream does)
 *   POST /status          Twilio's call status callback (signature verified), logged
 *   WS   /media           the call's Media Stream (signed upgrade verified): one
 *                         `RealtimeSession` per call over a `TwilioRealtimeTransport`
 *
 * The agent listens without answering until the app knows who picked up: a person gets the
 * reminder at once, a machine only once its greeting is over (`greetingEnded`). The agent's
 * `end_call` tool hangs up through Twilio's REST API (the transport's `hangUp` option) once
 * everything it said was played.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { RealtimeSession, type RealtimeSessionConfig } from '@openai/agents/realtime';
import {
  CallDirectory,
  connectOrEnd,
  type CallEndEvent,
  type CallStartEvent,
  type MachineDetectionEvent,
} from '@switchboard/core';
import {
  TwilioCallControl,
  TwilioRealtimeTransport,
  connectStreamTwiml,
  readTwilioMachineDetection,
  readTwilioSignatureHeader,
  validateTwilioSignature,
} from '@switchboard/twilio';
import {
  acceptTwilioMediaStreams,
  agentLine,
  closeAppServer,
  exampleApiKey,
  readForm,
  reply,
} from '@switchboard/example-support';
import { WebSocketServer, type WebSocket } from 'ws';
import { ANSWERED_BY_PERSON, GREETING_OVER, createReminderAgent, type Appointment } from './agent.js';

export type ReminderAppOptions = {
  twilio: {
    accountSid: string;
    authToken: string;
    /** Your Twilio number: the calls come from it. */
    from: string;
    /** Twilio's REST API origin; the offline demo points it at its fake. Default Twilio's. */
    baseUrl?: string;
  };
  /** OpenAI API key; not needed with `realtimeUrl` (a stand-in such as the realtime simulator). */
  openaiApiKey?: string;
  realtimeUrl?: string;
  /**
   * The URL Twilio reaches this server at (`https://abc.ngrok.app`). Default: the local address
   * it listens on (enough for the offline demo).
   */
  publicUrl?: string;
  /**
   * How long to wait for the detection result before treating the callee as a person, ms. Twilio
   * always reports, `unknown` at its `MachineDetectionTimeout` (30 s by default): this only covers a
   * callback that never arrives. Default 40 000.
   */
  detectionTimeoutMs?: number;
  /** Where to listen. Default 127.0.0.1, a free port (what the offline demo needs). */
  host?: string;
  port?: number;
  /** The calls' clock (the demo scales it). Default `Date.now`. */
  now?: () => number;
  /** One line per event of a call. Default `console.log`. */
  log?: (line: string) => void;
};

/** One reminder call, as the app saw it. */
export type ReminderCall = {
  readonly appointment: Appointment;
  /** Twilio's CallSid, once Twilio queued the call. */
  callSid: string;
  /** The detection result that decided how the agent went on (the first one). */
  detection?: MachineDetectionEvent;
  /** What the agent said, in order (final transcripts). */
  readonly said: string[];
  callStart?: CallStartEvent;
  end?: CallEndEvent;
  /** Resolves when the call's stream has ended. */
  readonly ended: Promise<CallEndEvent>;
};

export type ReminderApp = {
  /** Where the server listens (`http://127.0.0.1:<port>`). */
  readonly url: string;
  readonly directory: CallDirectory;
  /** By appointment id. */
  readonly calls: Map<string, ReminderCall>;
  /** Each detection result Twilio sent, and what the directory did with it (`held`: before its call's stream). */
  readonly detections: Array<{ callId: string; carrierResult: string; outcome: 'delivered' | 'held' | 'dropped' }>;
  /** Places the reminder call. Resolves once Twilio queued it. */
  remind(appointment: Appointment): Promise<ReminderCall>;
  close(): Promise<void>;
};

/** Listen first: the model hears the callee, but answers nobody until the app says who it is. */
const LISTEN_ONLY = { type: 'server_vad', createResponse: false, interruptResponse: false } as const;
const CONVERSATION = { type: 'server_vad', createResponse: true, interruptResponse: true } as const;

function sessionConfig(turnDetection: typeof LISTEN_ONLY | typeof CONVERSATION): Partial<RealtimeSessionConfig> {
  return { audio: { input: { turnDetection }, output: { voice: 'verse' } } };
}

export async function startReminderApp(options: ReminderAppOptions): Promise<ReminderApp> {
  const log = options.log ?? ((line: string) => console.log(line));
  const apiKey = exampleApiKey(options, 'startReminderApp');
  const { authToken } = options.twilio;
  const callControl = new TwilioCallControl({
    accountSid: options.twilio.accountSid,
    authToken,
    ...(options.twilio.baseUrl ? { baseUrl: options.twilio.baseUrl } : {}),
  });
  const directory = new CallDirectory();
  const calls = new Map<string, ReminderCall>();
  const detections: ReminderApp['detections'] = [];
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let publicUrl = options.publicUrl?.replace(/\/$/, '') ?? '';

  const server: Server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      log(`${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 400, 'Bad request\n');
    });
  });

  /** Twilio signs the URL it requested (ours, as we told it) and the form fields. */
  async function signed(req: IncomingMessage, params: Record<string, string>): Promise<boolean> {
    return validateTwilioSignature({
      authToken,
      signature: readTwilioSignatureHeader(req.headers),
      url: `${publicUrl}${req.url ?? ''}`,
      params,
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/amd' && path !== '/status')) return reply(res, 404, 'Not found\n');
    const params = await readForm(req);
    if (!(await signed(req, params))) {
      log(`rejected POST ${path}: missing or invalid X-Twilio-Signature`);
      return reply(res, 403, 'Forbidden\n');
    }
    if (path === '/status') {
      log(`call ${params['CallSid']} status: ${params['CallStatus']}`);
      return reply(res, 204);
    }
    const event = readTwilioMachineDetection(params);
    if (!event) return reply(res, 400, 'Not a machine detection result\n');
    const outcome = directory.deliver(event);
    detections.push({ callId: event.callId, carrierResult: event.carrierResult, outcome });
    log(`call ${event.callId} AMD: ${event.carrierResult} (${event.answeredBy}) → ${outcome}`);
    return reply(res, 204);
  }

  acceptTwilioMediaStreams(server, { authToken, publicUrl: () => publicUrl, wss, log, startCall });

  function startCall(ws: WebSocket): void {
    const transport = new TwilioRealtimeTransport({
      twilioWebSocket: ws,
      ...(options.realtimeUrl ? { url: options.realtimeUrl } : {}),
      ...(options.now ? { now: options.now } : {}),
      // The agent's end_call ends the call at Twilio; the transport then closes the stream.
      hangUp: async ({ callId }) => {
        if (callId) await callControl.hangup(callId);
      },
    });
    directory.add(transport);
    let call: ReminderCall | undefined;
    let decided = false;
    let connected: RealtimeSession | undefined;
    const pending: MachineDetectionEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const agentCalls = new Map<string, true>();

    transport.on('call_start', (event) => {
      // The appointment's id came back as a <Stream> parameter (the REST answer may not be in yet).
      call = calls.get(event.customParameters['appointment'] ?? '');
      if (!call || call.callStart) {
        log(`stream for an unknown call ${event.callId}: hanging up`);
        call = undefined;
        transport.end('unknown_call');
        return;
      }
      call.callStart = event;
      call.callSid ||= event.callId ?? '';
      const appointment = call.appointment;
      log(`call ${event.callId}: stream ${event.streamId} open, appointment ${event.customParameters['appointment']}`);
      const session = new RealtimeSession(createReminderAgent(appointment), {
        transport,
        model: 'gpt-realtime',
        config: sessionConfig(LISTEN_ONLY),
        // The call tools find the call here.
        context: { transport },
      });
      wire(session, call);
      timer = setTimeout(() => decide(undefined), options.detectionTimeoutMs ?? 40_000);
      void connectOrEnd(session, transport, { apiKey }, { onError: (error) => log(`model: ${String(error)}`) }).then(
        (ok) => {
          if (!ok) return;
          connected = session;
          for (const detection of pending.splice(0)) decide(detection);
        },
      );
    });

    // Listening from the start: a result the directory held comes with the call's call_start.
    transport.on('machine_detection', (detection) => decide(detection));

    function decide(detection: MachineDetectionEvent | undefined): void {
      if (decided || !call || call.end) return;
      // The agent acts on a result once its session is connected (a held one comes before).
      const session = connected;
      if (!session) {
        if (detection) pending.push(detection);
        return;
      }
      if (detection && detection.answeredBy === 'machine' && !detection.greetingEnded) {
        log(`call ${call.callSid}: a machine; waiting for the end of its greeting`);
        return;
      }
      decided = true;
      clearTimeout(timer);
      if (detection) call.detection = detection;
      const who = detection?.answeredBy ?? 'unknown';
      if (who === 'machine') {
        log(`call ${call.callSid}: the greeting is over; the agent leaves a voicemail`);
        session.sendMessage(GREETING_OVER);
      } else if (who === 'fax') {
        log(`call ${call.callSid}: a fax answered; hanging up`);
        void transport.endAfterPlayback({ reason: 'fax' });
      } else {
        log(
          `call ${call.callSid}: ${detection ? 'a person answered' : 'no detection result in time'}; the agent speaks`,
        );
        transport.updateSessionConfig(sessionConfig(CONVERSATION));
        session.sendMessage(ANSWERED_BY_PERSON);
      }
    }

    function wire(session: RealtimeSession, call: ReminderCall): void {
      session.on('history_updated', (history) => {
        for (const item of history) {
          const text = agentLine(item);
          if (text === undefined || agentCalls.has(item.itemId)) continue;
          agentCalls.set(item.itemId, true);
          call.said.push(text);
          log(`call ${call.callSid}: agent said "${text}"`);
        }
      });
      session.on('agent_tool_start', (_context, _agent, tool) =>
        log(`call ${call.callSid}: the agent calls ${tool.name}`),
      );
      session.on('error', (event) => log(`call ${call.callSid}: session error: ${String(event.error)}`));
    }

    transport.on('error', (event) => log(`transport error: ${String((event as { error?: unknown }).error)}`));
    transport.on('call_end', (event) => {
      clearTimeout(timer);
      if (!call) return log(`a stream ended before its call started (${event.reason})`);
      call.end = event;
      log(`call ${call.callSid}: ended (${event.reason})`);
      (call as { resolve?: (e: CallEndEvent) => void }).resolve?.(event);
    });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  if (!publicUrl) publicUrl = url;

  return {
    url,
    directory,
    calls,
    detections,
    async remind(appointment) {
      const twiml = connectStreamTwiml({
        url: `${publicUrl.replace(/^http/, 'ws')}/media`,
        parameters: { appointment: appointment.id },
      });
      if (calls.has(appointment.id)) throw new Error(`remind: appointment ${appointment.id} was called already`);
      let resolve!: (event: CallEndEvent) => void;
      const ended = new Promise<CallEndEvent>((r) => (resolve = r));
      const call: ReminderCall & { resolve: typeof resolve } = { appointment, callSid: '', said: [], ended, resolve };
      calls.set(appointment.id, call);
      let created: Awaited<ReturnType<TwilioCallControl['createCall']>>;
      try {
        created = await callControl.createCall({
          to: appointment.to,
          from: options.twilio.from,
          twiml,
          // Asynchronous detection: the stream starts at once, the result comes to /amd.
          machineDetection: { mode: 'DetectMessageEnd', callbackUrl: `${publicUrl}/amd` },
          statusCallback: `${publicUrl}/status`,
        });
      } catch (error) {
        calls.delete(appointment.id);
        throw error;
      }
      call.callSid = created.callSid;
      log(`call ${created.callSid} placed to ${appointment.to} (${created.status ?? 'queued'})`);
      return call;
    },
    async close() {
      await closeAppServer(server, wss);
    },
  };
}
