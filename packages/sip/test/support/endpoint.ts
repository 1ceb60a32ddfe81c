/**
 * Endpoints on loopback UDP for the endpoint tests: short RFC 3261 timers, no model or a
 * RealtimeSession per call, and polling with a deadline a loaded machine can meet.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach } from 'vitest';
import { SipEndpoint, type SipCall, type SipEndpointOptions } from '../../src/index.js';
import type { SipMessage } from '../../src/endpoint/sip/message.js';
import { RawUa, answerTo, msg, offer, request, toTagOf, token, type Received } from '../sipp/raw-ua.js';

/** T1 of these tests, ms (RFC 3261's is 500). */
export const T1 = 40;
export const TIMERS = { t1: T1, t2: 8 * T1, t4: 10 * T1 };
/** How long a test waits for something that must happen (a loaded machine may be slow). */
export const DEADLINE = 20_000;
/** The RTP ports of endpoints without a model. */
export const RTP_PORTS = { min: 30000, max: 40000 };
/** A model URL nothing listens on: the call's transport only buffers the caller's audio. */
export const NO_MODEL = 'ws://127.0.0.1:9/v1/realtime';

/**
 * A listening endpoint on 127.0.0.1 (UDP, port 0) with the short timers, no RTP timeout and no
 * model; `options` replace any of these.
 */
export async function endpointWith(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
  const endpoint = new SipEndpoint({
    host: '127.0.0.1',
    port: 0,
    transports: ['udp'],
    timers: TIMERS,
    rtp: { ports: RTP_PORTS, timeoutMs: null },
    transport: { url: NO_MODEL },
    ...options,
  });
  await endpoint.listen();
  return endpoint;
}

/**
 * A listening endpoint on 127.0.0.1 (UDP, port 0) whose every call runs a RealtimeSession on the
 * model at `modelUrl` (server VAD, without interrupt_response), closed when the call ends.
 */
export async function endpointWithModel(modelUrl: string, rtp: SipEndpointOptions['rtp']): Promise<SipEndpoint> {
  const endpoint = new SipEndpoint({
    host: '127.0.0.1',
    port: 0,
    transports: ['udp'],
    rtp,
    transport: { url: `${modelUrl}?model=gpt-realtime` },
  });
  endpoint.on('call', (call) => {
    const session = new RealtimeSession(new RealtimeAgent({ name: 'Test agent', instructions: 'Answer briefly.' }), {
      transport: call.transport,
      model: 'gpt-realtime',
      config: { audio: { input: { turnDetection: { type: 'server_vad', interruptResponse: false } } } },
    });
    session.on('error', () => undefined);
    void session.connect({ apiKey: 'sk-test' }).catch(() => undefined);
    call.on('ended', () => session.close());
  });
  await endpoint.listen();
  return endpoint;
}

/** Polls `condition` until it holds, or fails after `deadlineMs` naming `what` it waited for. */
export async function until(condition: () => boolean, what: string, deadlineMs = DEADLINE): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Endpoints and raw UAs opened by each test of a `describe`, closed after it in the order they
 * were opened.
 */
export function useEndpoints(): { endpoint(options?: SipEndpointOptions): Promise<SipEndpoint>; ua(): Promise<RawUa> } {
  const opened: Array<SipEndpoint | RawUa> = [];
  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close();
  });
  return {
    async endpoint(options) {
      const endpoint = await endpointWith(options);
      opened.push(endpoint);
      return endpoint;
    },
    async ua() {
      const ua = await RawUa.open();
      opened.push(ua);
      return ua;
    },
  };
}

/** A call the raw UA set up with an endpoint. */
export type Dialog = {
  call: SipCall;
  callId: string;
  fromTag: string;
  toTag: string;
  /** The endpoint's 200 OK to the INVITE. */
  ok: Received;
  /**
   * A re-INVITE with `body` as its offer (none when undefined), and the ACK of its 200 OK (with
   * `ackBody`, when given). Resolves with its final response; only with one of `status`, when given.
   */
  reinvite(
    body: string | undefined,
    options?: { headers?: string[]; ackBody?: string; status?: number },
  ): Promise<Received>;
};

/**
 * The raw UA calls `endpoint`: an INVITE (offering the UA's RTP socket unless `body` is given),
 * the endpoint's 200 OK, the ACK; resolves once the endpoint has the call.
 */
export async function dial(
  ua: RawUa,
  endpoint: SipEndpoint,
  options: { callId?: string; body?: string; headers?: string[] } = {},
): Promise<Dialog> {
  const port = endpoint.port;
  const callId = options.callId ?? token('call-');
  const fromTag = token('f');
  const called = new Promise<SipCall>((resolve) => endpoint.once('call', resolve));
  const headers = options.headers ? { headers: options.headers } : {};
  ua.send(
    request({ method: 'INVITE', port, ua, callId, fromTag, cseq: 1, body: options.body ?? offer(ua), ...headers }),
    port,
  );
  const ok = await ua.response(200, 'INVITE', DEADLINE);
  const toTag = toTagOf(ok);
  ua.send(request({ method: 'ACK', port, ua, callId, fromTag, toTag, cseq: 1 }), port);
  const call = await called;
  let cseq = 1;
  const reinvite: Dialog['reinvite'] = async (body, { headers, ackBody, status } = {}) => {
    const seq = ++cseq;
    ua.send(
      request({
        method: 'INVITE',
        port,
        ua,
        callId,
        fromTag,
        toTag,
        cseq: seq,
        ...(body ? { body } : {}),
        ...(headers ? { headers } : {}),
      }),
      port,
    );
    // This re-INVITE's answer: not a retransmission of an earlier one (a slow machine's ACK may be late).
    const answer = await ua.next(
      (r) =>
        r.message?.type === 'response' &&
        r.message.headers.get('cseq') === `${seq} INVITE` &&
        (status === undefined ? r.message.status >= 200 : r.message.status === status),
      DEADLINE,
    );
    const final = msg(answer);
    if (final.type === 'response' && final.status === 200) {
      ua.send(
        request({ method: 'ACK', port, ua, callId, fromTag, toTag, cseq: seq, ...(ackBody ? { body: ackBody } : {}) }),
        port,
      );
    }
    return answer;
  };
  return { call, callId, fromTag, toTag, ok, reinvite };
}

/** The raw UA takes the BYE the endpoint sends, and answers it 200 OK. */
export async function byeFrom(ua: RawUa, endpoint: SipEndpoint): Promise<SipMessage> {
  const bye = msg(await ua.request('BYE', DEADLINE));
  ua.send(answerTo(bye), endpoint.port);
  return bye;
}
