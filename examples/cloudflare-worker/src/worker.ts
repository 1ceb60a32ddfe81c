/**
 * A Twilio phone agent on Cloudflare Workers.
 *
 *   POST /incoming-call        Twilio's voice webhook: answers with <Connect><Stream> TwiML
 *   GET  /media                the media WebSocket, bridged to the model inside this Worker
 *   GET  /calls/<CallSid>/media  the same, inside the call's own Durable Object
 *   GET  /calls/<CallSid>      that call's status and counters (from its Durable Object)
 */
import {
  createCallDurableObject,
  enableLogging,
  forwardToCallObject,
  handleMediaUpgrade,
  type DurableObjectNamespaceLike,
  type MediaUpgradeOptions,
} from '@switchboard/cloudflare';
import { connectStreamTwiml, validateTwilioSignature } from '@switchboard/twilio';
import { createAgent } from './agent.js';

export interface Env {
  /** Secret: `wrangler secret put OPENAI_API_KEY`. */
  OPENAI_API_KEY: string;
  /** Secret: `wrangler secret put TWILIO_AUTH_TOKEN`. When set, every Twilio request must be signed. */
  TWILIO_AUTH_TOKEN?: string;
  /** Model endpoint override, e.g. the realtime simulator (`ws://127.0.0.1:8788/v1/realtime`) in development. */
  OPENAI_REALTIME_URL?: string;
  /** Realtime model. */
  OPENAI_MODEL?: string;
  /** "true": each call runs in its own Durable Object (CALLS). */
  CALLS_IN_DURABLE_OBJECTS?: string;
  /** `debug` namespaces to log, e.g. "switchboard:*". */
  DEBUG?: string;
  CALLS: DurableObjectNamespaceLike;
}

type Context = { waitUntil(promise: Promise<unknown>): void };

/** How a call is bridged: the same for the Worker and the Durable Object. */
function callOptions(env: Env, context?: Context): MediaUpgradeOptions {
  return {
    apiKey: env.OPENAI_API_KEY,
    ...(env.OPENAI_REALTIME_URL ? { url: env.OPENAI_REALTIME_URL } : {}),
    model: env.OPENAI_MODEL || 'gpt-realtime',
    agent: createAgent(),
    sessionOptions: {
      config: { audio: { input: { turnDetection: { type: 'semantic_vad', interruptResponse: true } } } },
    },
    ...(env.TWILIO_AUTH_TOKEN ? { verification: { twilio: { authToken: env.TWILIO_AUTH_TOKEN } } } : {}),
    ...(context ? { context } : {}),
    onCall: ({ transport, session }) => {
      transport.on('call_start', (call) => console.log(`call ${call.callId} started (stream ${call.streamId})`));
      transport.on('call_end', ({ reason }) => console.log(`call ended: ${reason}`));
      session.on('error', ({ error }) => console.log(`call error: ${(error as Error)?.message ?? String(error)}`));
    },
  };
}

/** One Durable Object per call: export the class under the binding's `class_name`. */
export const CallObject = createCallDurableObject<Env>((env) => callOptions(env));

/**
 * The media URL Twilio should connect to: ws:// only for `wrangler dev` reached on localhost.
 * Any other host gets wss://, even when the Worker sees http:// (`wrangler dev` behind a tunnel).
 */
function streamUrl(request: Request, path: string): string {
  const url = new URL(path, request.url);
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  url.protocol = url.protocol === 'http:' && loopback ? 'ws:' : 'wss:';
  return url.href;
}

async function incomingCall(request: Request, env: Env): Promise<Response> {
  const form = request.method === 'POST' ? new URLSearchParams(await request.text()) : new URLSearchParams();
  if (env.TWILIO_AUTH_TOKEN) {
    const valid = await validateTwilioSignature({
      authToken: env.TWILIO_AUTH_TOKEN,
      signature: request.headers.get('x-twilio-signature'),
      url: request.url,
      params: form,
    });
    if (!valid) return new Response('Forbidden', { status: 403 });
  }
  const callSid = form.get('CallSid') ?? '';
  const inObject = env.CALLS_IN_DURABLE_OBJECTS === 'true' && /^CA[0-9a-f]{32}$/i.test(callSid);
  const twiml = connectStreamTwiml({
    url: streamUrl(request, inObject ? `/calls/${callSid}/media` : '/media'),
    parameters: { from: form.get('From') ?? '' },
  });
  return new Response(twiml, { headers: { 'content-type': 'text/xml' } });
}

export default {
  async fetch(request: Request, env: Env, ctx: Context): Promise<Response> {
    enableLogging(env.DEBUG);
    const { pathname } = new URL(request.url);
    if (pathname === '/incoming-call') return incomingCall(request, env);
    if (pathname === '/media') return handleMediaUpgrade(request, callOptions(env, ctx));
    const call = /^\/calls\/(CA[0-9a-f]{32})(\/media)?$/i.exec(pathname);
    if (call) return forwardToCallObject(request, env.CALLS, call[1]);
    if (pathname === '/')
      return new Response('Switchboard phone agent: point a Twilio number at POST /incoming-call\n');
    return new Response('Not found', { status: 404 });
  },
};
