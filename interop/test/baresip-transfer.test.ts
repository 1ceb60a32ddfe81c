/**
 * The agent transfers a call from baresip 1.0 (a real SIP user agent, Debian's package) on
 * 127.0.0.1: the model says a few words and calls transfer_call; the endpoint sends the REFER
 * (sipTransfer) once they were played; baresip places the new call (to the same endpoint, as the
 * "human") and reports it in NOTIFYs; the handler resolves and the endpoint leaves the first call.
 * What baresip does with the call's context, on the REFER or in its Refer-To URI, is recorded
 * here: it is why the context goes on the REFER by default (see the package README).
 */
import { RealtimeAgent } from '@openai/agents-realtime';
import { transferCallTool } from '@switchboard/core';
import { loadAgentReplies, type SimulatorTurn } from '@switchboard/conformance';
import { sipTransfer } from '@switchboard/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointRig } from './support/baresip-rig.js';
import { Baresip, baresipSkipReason, titled, waitFor } from './support/baresip.js';

const SKIP = baresipSkipReason();

/** The SIP messages of a baresip trace (`-s`) that start with `start`. */
function messages(trace: string, start: RegExp): string[] {
  return trace.split('\u001b[36;1m#').filter((m) => start.test(m));
}

describe.skipIf(SKIP !== undefined)(titled('SipEndpoint transfers a call from baresip (REFER)', SKIP), () => {
  let rig: EndpointRig;
  const running: Baresip[] = [];

  beforeAll(async () => {
    const reply = loadAgentReplies().find((t): t is Extract<SimulatorTurn, { kind: 'audio' }> => t.kind === 'audio')!;
    const words = { ...reply, audio: reply.audio.slice(0, 24_000 * 1.5) };
    const args = { destination: 'sales', reason: 'billing question', summary: 'Refund for order 42' };
    rig = await EndpointRig.start([{ ...words, call: { name: 'transfer_call', arguments: args } }]);
  });

  afterAll(async () => {
    for (const ua of running) await ua.stop();
    await rig?.close();
  });

  /**
   * An endpoint whose agent transfers to `sales` (that same endpoint) with `sipTransfer(options)`,
   * and a baresip call to it.
   */
  async function transferredCall(user: string, options: Parameters<typeof sipTransfer>[0]) {
    const transfer = sipTransfer(options);
    const outcomes: unknown[] = [];
    let port = 0;
    const agent = new RealtimeAgent({
      name: 'Agent',
      instructions: 'Transfer billing questions.',
      tools: [
        transferCallTool({
          destinations: { sales: 'sip:sales@127.0.0.1' },
          // The "human" is the same endpoint: its port is known once it listens.
          transfer: (request) =>
            transfer({ ...request, destination: `sip:sales@127.0.0.1:${port}` }).then(
              (result) => (outcomes.push(result), result),
              (error: unknown) => {
                outcomes.push(error);
                throw error;
              },
            ),
        }),
      ],
    });
    const endpoint = await rig.endpoint({}, agent);
    port = endpoint.port;
    const domain = `127.0.0.1:${port}`;
    const ua = await Baresip.start({ accounts: [{ user, domain, callTransfer: true }], sipTrace: true });
    running.push(ua);
    await ua.dial(user, `sip:agent@${domain}`);
    const id = (await ua.waitForEvent(user, 'CALL_ESTABLISHED')).id!;
    const first = await rig.call(id);
    await waitFor('the model session', () => first.call.transport.status === 'connected');
    first.call.transport.sendEvent({ type: 'response.create' });
    await waitFor('the transfer handler to settle', () => outcomes.length > 0, 60_000);
    return { ua, port, first, outcomes, refer: () => messages(ua.output, /^REFER sip:/m)[0] ?? '' };
  }

  it('with the context on the REFER (the default): baresip calls the target and reports 200, the endpoint leaves', async () => {
    const { ua, port, first, outcomes, refer } = await transferredCall('plain', {});
    expect(outcomes).toEqual([
      { transferred: true, destination: 'sales', target: `sip:sales@127.0.0.1:${port}`, waitedFor: 'completed' },
    ]);
    await waitFor('the first call to end', () => first.call.state === 'ended', 30_000);
    expect(first.call.endReason).toBe('hangup');
    expect(first.callEnds).toEqual(['transferred']);
    // The REFER as baresip received it: the context as header fields.
    expect(refer()).toMatch(/^Refer-To: <sip:sales@127\.0\.0\.1:\d+>\r?$/m);
    expect(refer()).toMatch(/^X-Transfer-Reason: billing question\r?$/m);
    expect(refer()).toMatch(/^X-Transfer-Summary: Refund for order 42\r?$/m);
    // baresip's new call reached the target, without the REFER's header fields.
    const second = rig.calls.find((c) => c.call !== first.call && c.call.requestUri.startsWith('sip:sales@'));
    expect(second?.call.customParameters).toEqual({});
    // baresip's own trace of the NOTIFY that reported the 200 (the endpoint acted on it already:
    // 'completed'); its stdout can reach this process after the datagram did, on a busy machine.
    await waitFor('baresip to print its NOTIFY with the 200', () =>
      messages(ua.output, /^NOTIFY sip:/m).some((m) => /^SIP\/2\.0 200 OK/m.test(m)),
    );
    await ua.command('hangup');
  }, 120_000);

  it('with the context in the Refer-To URI: baresip 1.0 cannot place the call (500), the handler rejects, the call goes on', async () => {
    const { ua, first, outcomes, refer } = await transferredCall('uri', { context: 'refer-to' });
    expect(refer()).toMatch(
      /^Refer-To: <sip:sales@127\.0\.0\.1:\d+\?X-Transfer-Destination=sales&X-Transfer-Reason=billing%20question&/m,
    );
    // baresip formats the URI as a printf format: `%20q` and the like garble it, and its INVITE never leaves.
    expect(ua.output).toMatch(/transfer: connect error/);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ name: 'CallControlError', status: 500 });
    expect(first.call.state).not.toBe('ended');
    await ua.command('hangup');
    await waitFor('the call to end', () => first.call.state === 'ended', 30_000);
  }, 120_000);
});
