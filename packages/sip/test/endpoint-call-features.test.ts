/**
 * Agent call features on the SIP endpoint, end to end on loopback UDP: a raw UA calls, the
 * realtime simulator plays the model, and the model's tools hang up (BYE) or transfer (REFER) the
 * call once the caller heard what the agent said. The raw UA timestamps every SIP message and RTP
 * packet as it arrives, which is what the caller would have heard and when.
 */
import { RealtimeAgent, RealtimeSession, type FunctionTool } from '@openai/agents-realtime';
import { endCallTool, transferCallTool } from '@switchboard/core';
import {
  RealtimeSimulator,
  agentHangupScript,
  loadAgentReplies,
  MODEL_SAMPLE_RATE,
  type SimulatorTurn,
} from '@switchboard/conformance';
import { afterEach, describe, expect, it } from 'vitest';
import { sipTransfer, type SipCall, type SipEndpoint, type SipTransferOptions } from '../src/index.js';
import { isRtcp, parseRtp } from '../src/endpoint/rtp/packet.js';
import { answerTo, msg, request, type RawUa } from './sipp/raw-ua.js';
import { DEADLINE, dial, until, useEndpoints } from './support/endpoint.js';

const opened = useEndpoints();
const simulators: RealtimeSimulator[] = [];
const sessions: RealtimeSession[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  for (const simulator of simulators.splice(0)) await simulator.stop();
});

/** How far the endpoint sends ahead of RTP's clock (the protocol's default lead), ms. */
const LEAD_MS = 40;
/** Rounding: the transport's clock counts whole ms. */
const SLACK_MS = 30;
/**
 * When each call's first packet of agent audio left (performance.now()), seen by a media observer
 * on the sending side: a busy event loop can only delay the UA's timestamps of what arrives
 * later, so the gap measured from here to the UA's receipt of the BYE or REFER is never shorter
 * than the real one.
 */
const firstSent = new Map<SipCall, number>();

function replyAudio(index: number): Extract<SimulatorTurn, { kind: 'audio' }> {
  const replies = loadAgentReplies().filter((t): t is Extract<SimulatorTurn, { kind: 'audio' }> => t.kind === 'audio');
  return replies[index]!;
}

function msOf(turn: Extract<SimulatorTurn, { kind: 'audio' }>): number {
  return (turn.audio.length / MODEL_SAMPLE_RATE) * 1000;
}

/** An endpoint whose calls run a session of an agent with `tools`, against a simulator playing `script`. */
async function agentEndpoint(
  script: SimulatorTurn[],
  tools: FunctionTool<any, any, any>[],
): Promise<{ endpoint: SipEndpoint; calls: SipCall[] }> {
  const simulator = new RealtimeSimulator({ script });
  await simulator.start();
  simulators.push(simulator);
  const endpoint = await opened.endpoint({ transport: { url: `${simulator.url}?model=gpt-realtime` } });
  const calls: SipCall[] = [];
  endpoint.on('call', (call) => {
    calls.push(call);
    call.transport.observeMedia({
      agentAudio: () => {
        if (!firstSent.has(call)) firstSent.set(call, performance.now());
      },
    });
    const agent = new RealtimeAgent({ name: 'Agent', instructions: 'Help the caller.', tools });
    const session = new RealtimeSession(agent, {
      transport: call.transport,
      model: 'gpt-realtime',
      context: { transport: call.transport },
      config: { audio: { input: { turnDetection: { type: 'server_vad', interruptResponse: false } } } },
    });
    session.on('error', () => undefined);
    sessions.push(session);
    void session.connect({ apiKey: 'sk-test' }).catch(() => undefined);
  });
  return { endpoint, calls };
}

/** The audio packets (not RFC 4733, not comfort noise) the UA received. */
function audioPackets(ua: RawUa): Array<{ at: number; bytes: number }> {
  const out: Array<{ at: number; bytes: number }> = [];
  for (const packet of ua.rtpInbox) {
    if (isRtcp(packet.bytes)) continue;
    const parsed = parseRtp(packet.bytes);
    if (parsed.payloadType === 0 || parsed.payloadType === 8)
      out.push({ at: packet.at, bytes: parsed.payload.byteLength });
  }
  return out;
}

/** The model speaks first: the agent's reply starts without waiting for the caller. */
async function speakFirst(call: SipCall): Promise<void> {
  await until(() => call.transport.status === 'connected', 'the model session');
  call.transport.sendEvent({ type: 'response.create' });
}

describe('SipEndpoint call features', () => {
  it('end_call: the BYE comes after the last RTP packet of the goodbye, not before its playout time', async () => {
    const script = agentHangupScript();
    const goodbye = script[0] as Extract<SimulatorTurn, { kind: 'audio' }>;
    const goodbyeMs = msOf(goodbye);
    const { endpoint } = await agentEndpoint(script, [endCallTool()]);
    const ua = await opened.ua();
    const { call } = await dial(ua, endpoint);
    const ends: Array<string | undefined> = [];
    call.transport.on('call_end', (event: { reason?: string }) => ends.push(event.reason));
    await speakFirst(call);

    const bye = await ua.request('BYE', DEADLINE + goodbyeMs);
    ua.send(answerTo(msg(bye)), endpoint.port);
    const packets = audioPackets(ua).filter((p) => p.at <= bye.at);
    // All of the goodbye (20 ms packets of 160 bytes at 8 kHz) had arrived when the BYE did.
    const sentMs = packets.reduce((n, p) => n + p.bytes / 8, 0);
    expect(sentMs).toBeGreaterThanOrEqual(goodbyeMs - 20);
    // Not before the last packet's playout time: RTP's clock from the first packet, less the lead.
    expect(bye.at - firstSent.get(call)!).toBeGreaterThanOrEqual(sentMs - LEAD_MS - SLACK_MS);
    await until(() => call.state === 'ended', 'the call to end');
    expect(ends).toEqual(['agent_hangup']);
  }, 60_000);

  describe('transfer_call with sipTransfer', () => {
    const reason = 'billing question';
    const summary = 'Caller wants a refund\r\nX-Injected: 1 for order 42';

    function transferScript(): SimulatorTurn[] {
      const reply = replyAudio(0);
      return [{ ...reply, call: { name: 'transfer_call', arguments: { destination: 'sales', reason, summary } } }];
    }

    async function transferCall(options: SipTransferOptions = {}) {
      const outcomes: unknown[] = [];
      const handler = sipTransfer(options);
      const tool = transferCallTool({
        destinations: { sales: 'sip:sales@pbx.example.com', support: '+15550001111' },
        transfer: async (req) => {
          try {
            const result = await handler(req);
            outcomes.push(result);
            return result;
          } catch (error) {
            outcomes.push(error);
            throw error;
          }
        },
      });
      const { endpoint } = await agentEndpoint(transferScript(), [tool]);
      const ua = await opened.ua();
      const dialog = await dial(ua, endpoint, { headers: ['X-campaign: spring', 'X-account: 7731'] });
      const ends: Array<string | undefined> = [];
      dialog.call.transport.on('call_end', (event: { reason?: string }) => ends.push(event.reason));
      await speakFirst(dialog.call);
      const refer = await ua.request('REFER', DEADLINE + 10_000);
      return { endpoint, ua, dialog, refer, outcomes, ends };
    }

    function notify(ua: RawUa, endpoint: SipEndpoint, dialog: { callId: string; fromTag: string; toTag: string }) {
      let cseq = 10;
      return (fragment: string, state: string) =>
        ua.send(
          request({
            method: 'NOTIFY',
            port: endpoint.port,
            ua,
            ...dialog,
            cseq: ++cseq,
            headers: ['Event: refer', `Subscription-State: ${state}`],
            body: `${fragment}\r\n`,
            contentType: 'message/sipfrag;version=2.0',
          }),
          endpoint.port,
        );
    }

    it("sends the REFER after the agent's words were played, with the call's context in Refer-To and on the REFER", async () => {
      const { endpoint, ua, dialog, refer, outcomes, ends } = await transferCall({ context: 'both' });
      const message = msg(refer);
      // Every packet of the agent's words ("let me transfer you") had arrived when the REFER did.
      const packets = audioPackets(ua).filter((p) => p.at <= refer.at);
      const sentMs = packets.reduce((n, p) => n + p.bytes / 8, 0);
      expect(sentMs).toBeGreaterThanOrEqual(msOf(replyAudio(0)) - 20);
      expect(refer.at - firstSent.get(dialog.call)!).toBeGreaterThanOrEqual(sentMs - LEAD_MS - SLACK_MS);

      // Refer-To: the destination, with the context as URI headers (RFC 3261 §19.1.5).
      const referTo = message.headers.get('refer-to')!;
      const match = /^<(sip:sales@pbx\.example\.com)\?([^>]*)>$/.exec(referTo);
      expect(match, referTo).not.toBeNull();
      const uriHeaders = Object.fromEntries(
        match![2]!.split('&').map((pair) => pair.split('=').map(decodeURIComponent) as [string, string]),
      );
      const flatSummary = 'Caller wants a refund X-Injected: 1 for order 42';
      expect(uriHeaders).toEqual({
        'X-campaign': 'spring',
        'X-account': '7731',
        'X-Transfer-Destination': 'sales',
        'X-Transfer-Reason': reason,
        'X-Transfer-Summary': flatSummary,
      });
      // The same fields on the REFER itself; the model's line break did not make a header of its own.
      expect(message.headers.get('x-transfer-reason')).toBe(reason);
      expect(message.headers.get('x-transfer-summary')).toBe(flatSummary);
      expect(message.headers.get('x-campaign')).toBe('spring');
      expect(message.headers.get('x-injected')).toBeUndefined();
      expect(message.headers.get('referred-by')).toMatch(/^<sip:agent@127\.0\.0\.1:\d+>$/);

      // The transferee accepts, reports progress, then the new call answered: the endpoint hangs up.
      ua.send(answerTo(message, 202, 'Accepted'), endpoint.port);
      const send = notify(ua, endpoint, dialog);
      send('SIP/2.0 100 Trying', 'active;expires=60');
      await ua.response(200, 'NOTIFY', DEADLINE);
      expect(outcomes).toEqual([]);
      send('SIP/2.0 200 OK', 'terminated;reason=noresource');
      await ua.response(200, 'NOTIFY', DEADLINE);
      const bye = msg(await ua.request('BYE', DEADLINE));
      ua.send(answerTo(bye), endpoint.port);
      await until(() => outcomes.length > 0, 'the transfer handler to settle');
      expect(outcomes).toEqual([
        { transferred: true, destination: 'sales', target: 'sip:sales@pbx.example.com', waitedFor: 'completed' },
      ]);
      await until(() => dialog.call.state === 'ended', 'the call to end');
      expect(ends).toEqual(['transferred']);
    }, 60_000);

    it('rejects with a CallControlError when the new call failed, and keeps the call', async () => {
      const { endpoint, ua, dialog, refer, outcomes } = await transferCall({ customParameters: ['account'] });
      const message = msg(refer);
      // By default the context goes on the REFER only; and only the custom parameter asked for.
      expect(message.headers.get('refer-to')).toBe('<sip:sales@pbx.example.com>');
      expect(message.headers.get('x-account')).toBe('7731');
      expect(message.headers.get('x-campaign')).toBeUndefined();
      ua.send(answerTo(message, 202, 'Accepted'), endpoint.port);
      notify(ua, endpoint, dialog)('SIP/2.0 486 Busy Here', 'terminated;reason=noresource');
      await ua.response(200, 'NOTIFY', DEADLINE);
      await until(() => outcomes.length > 0, 'the transfer handler to settle');
      expect(outcomes[0]).toMatchObject({ name: 'CallControlError', status: 486 });
      expect(dialog.call.state).not.toBe('ended');
      void dialog.call.hangup();
      const bye = msg(await ua.request('BYE', DEADLINE));
      ua.send(answerTo(bye), endpoint.port);
    }, 60_000);
  });
});
