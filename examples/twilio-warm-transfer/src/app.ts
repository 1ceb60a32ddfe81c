/**
 * A Twilio voice agent that hands callers to a person with a warm transfer.
 *
 *   POST /voice             the number's voice webhook (signature verified): TwiML connecting the
 *                           call to /media
 *   WS   /media             the Media Stream (signed upgrade verified): one `RealtimeSession` per
 *                           call over a `TwilioRealtimeTransport`, with the front-desk agent
 *   POST /transfer-status   the transfer's callbacks: the human's call status and the conference's
 *                           events (signature verified), handed to `TwilioWarmTransfer.handleStatus`,
 *                           which brings the caller back when nobody takes the call
 *   GET  /hold.wav          the hold music the caller hears in the conference (`waitUrl`)
 *
 * The agent's `transfer_call` waits until the caller heard "please hold", then
 * `TwilioWarmTransfer` moves the caller into a conference (the stream, and with it the agent, ends;
 * the caller hears /hold.wav), calls the billing team with the model's summary as a whisper, and
 * joins them to the caller when they answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { RealtimeSession } from '@openai/agents/realtime';
import { connectOrEnd, encodeWav, decodeMuLaw, type CallEndEvent, type CallStartEvent } from '@switchboard/core';
import {
  acceptTwilioMediaStreams,
  agentLine,
  closeAppServer,
  exampleApiKey,
  holdMusic,
  readForm,
  reply,
} from '@switchboard/example-support';
import {
  TwilioCallControl,
  TwilioRealtimeTransport,
  TwilioWarmTransfer,
  connectStreamTwiml,
  readTwilioSignatureHeader,
  validateTwilioSignature,
  type TwilioWarmTransferUpdate,
} from '@switchboard/twilio';
import { WebSocketServer, type WebSocket } from 'ws';
import { createFrontDeskAgent } from './agent.js';

export type WarmTransferAppOptions = {
  twilio: {
    accountSid: string;
    authToken: string;
    /** Your Twilio number: the billing team sees the transferred call come from it. */
    from: string;
    /** Twilio's REST API origin; the offline demo points it at its fake. Default Twilio's. */
    baseUrl?: string;
  };
  openaiApiKey?: string;
  realtimeUrl?: string;
  /** The URL Twilio reaches this server at. Default: the local address it listens on. */
  publicUrl?: string;
  /** Where to listen. Default 127.0.0.1, a free port (what the offline demo needs). */
  host?: string;
  port?: number;
  /** The calls' clock (the demo scales it). Default `Date.now`. */
  now?: () => number;
  log?: (line: string) => void;
};

/** One call to the agent, as the app saw it. */
export type FrontDeskCall = {
  callStart: CallStartEvent;
  /** What the agent said, in order (final transcripts). */
  readonly said: string[];
  /** The transfer's progress, as `handleStatus` read each callback. */
  readonly transfer: TwilioWarmTransferUpdate[];
  end?: CallEndEvent;
};

export type WarmTransferApp = {
  readonly url: string;
  /** By CallSid. */
  readonly calls: Map<string, FrontDeskCall>;
  close(): Promise<void>;
};

/** Thirty seconds of hold music, served as a WAV file. */
const HOLD_WAV = encodeWav(decodeMuLaw(holdMusic(30_000)), 8000);

export async function startWarmTransferApp(options: WarmTransferAppOptions): Promise<WarmTransferApp> {
  const log = options.log ?? ((line: string) => console.log(line));
  const apiKey = exampleApiKey(options, 'startWarmTransferApp');
  const { authToken } = options.twilio;
  const callControl = new TwilioCallControl({
    accountSid: options.twilio.accountSid,
    authToken,
    ...(options.twilio.baseUrl ? { baseUrl: options.twilio.baseUrl } : {}),
  });
  const calls = new Map<string, FrontDeskCall>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const server: Server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      log(`${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 400, 'Bad request\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const publicUrl = options.publicUrl?.replace(/\/$/, '') ?? url;

  const warm = new TwilioWarmTransfer({
    callControl,
    from: options.twilio.from,
    statusCallback: `${publicUrl}/transfer-status`,
    holdAudioUrl: `${publicUrl}/hold.wav`,
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/hold.wav') return reply(res, 200, HOLD_WAV, 'audio/wav');
    if (req.method !== 'POST' || (path !== '/voice' && path !== '/transfer-status'))
      return reply(res, 404, 'Not found\n');
    const params = await readForm(req);
    // Twilio signs the URL it requested, query included, and the form fields.
    const requested = `${publicUrl}${req.url ?? ''}`;
    const valid = await validateTwilioSignature({
      authToken,
      signature: readTwilioSignatureHeader(req.headers),
      url: requested,
      params,
    });
    if (!valid) {
      log(`rejected POST ${path}: missing or invalid X-Twilio-Signature`);
      return reply(res, 403, 'Forbidden\n');
    }
    if (path === '/voice') {
      const twiml = connectStreamTwiml({ url: `${publicUrl.replace(/^http/, 'ws')}/media` });
      return reply(res, 200, twiml, 'text/xml');
    }
    const update = await warm.handleStatus(requested, params);
    if (update.outcome !== 'ignored') {
      calls.get(update.callerSid)?.transfer.push(update);
      const detail = update.outcome === 'returned' ? ` (${update.status}): the caller is brought back` : '';
      const what = params['StatusCallbackEvent'] ?? `call ${params['CallStatus']}`;
      log(`transfer ${update.conference}: ${what} → ${update.outcome}${detail}`);
    }
    return reply(res, 204);
  }

  acceptTwilioMediaStreams(server, { authToken, publicUrl: () => publicUrl, wss, log, startCall });

  function startCall(ws: WebSocket): void {
    const transport = new TwilioRealtimeTransport({
      twilioWebSocket: ws,
      ...(options.realtimeUrl ? { url: options.realtimeUrl } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    const session = new RealtimeSession(createFrontDeskAgent(warm.handler()), {
      transport,
      model: 'gpt-realtime',
      config: { audio: { output: { voice: 'verse' } } },
      // transfer_call finds the call here.
      context: { transport },
    });
    let call: FrontDeskCall | undefined;
    transport.on('call_start', (event) => {
      call = { callStart: event, said: [], transfer: [] };
      calls.set(event.callId ?? event.streamId, call);
      log(`call ${event.callId}: stream ${event.streamId} open; the agent answers`);
    });
    const seen = new Set<string>();
    session.on('history_updated', (history) => {
      for (const item of history) {
        const text = agentLine(item);
        if (text === undefined || seen.has(item.itemId) || !call) continue;
        seen.add(item.itemId);
        call.said.push(text);
        log(`agent said "${text}"`);
      }
    });
    session.on('agent_tool_start', (_context, _agent, tool, details) => {
      const args = 'arguments' in details.toolCall ? String(details.toolCall.arguments) : '';
      log(`the agent calls ${tool.name}(${args}); it waits until the caller heard everything`);
    });
    session.on('agent_tool_end', (_context, _agent, tool, result) => log(`${tool.name} → ${result}`));
    session.on('error', (event) => log(`session error: ${String(event.error)}`));
    transport.on('call_end', (event) => {
      if (call) call.end = event;
      log(`the agent's stream ended (${event.reason}); the agent has left the call`);
      try {
        session.close();
      } catch {
        // Already closed.
      }
    });
    void connectOrEnd(session, transport, { apiKey }, { onError: (error) => log(`model: ${String(error)}`) });
  }

  return {
    url,
    calls,
    async close() {
      await closeAppServer(server, wss);
    },
  };
}
