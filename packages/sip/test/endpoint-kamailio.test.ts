/**
 * Two endpoints behind Kamailio's dispatcher (test/kamailio/dispatcher.cfg) on 127.0.0.1: new
 * calls are spread round-robin over both, the dispatcher's OPTIONS probes keep both in rotation
 * until one closes and then take it out, a draining endpoint's refusals (503) move new calls to the
 * other, a CANCEL follows its INVITE, and the requests within a call's dialog (ACK, re-INVITE,
 * BYE, either way) follow the Record-Route to the endpoint that owns the dialog, or back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SipEndpoint, SipCall } from '../src/index.js';
import { RawUa, answerTo, msg, offer, request, toTagOf, token } from './sipp/raw-ua.js';
import { DEADLINE, endpointWith, until } from './support/endpoint.js';
import { haveKamailio, kamailioVersion, startKamailio, type Kamailio } from './kamailio/kamailio.js';

const KAMAILIO = haveKamailio();
// A developer's machine may lack Kamailio; CI installs it (`.ci/run`) and must run these.
if (process.env.CI === 'true' && !KAMAILIO) {
  throw new Error(
    'CI: the Kamailio tests need kamailio with its dispatcher module (Debian package kamailio, installed by .ci/run)',
  );
}

type Instance = {
  endpoint: SipEndpoint;
  name: string;
  calls: SipCall[];
  ended: Array<{ callId: string; reason: string }>;
  /** While true, new calls are refused with 503 (the endpoint is draining before it stops). */
  draining: boolean;
  /** Calls with `X-Ring` whose `onInvite` waits (ringing) until released. */
  ringing: Map<string, () => void>;
};

describe.skipIf(!KAMAILIO)(
  `SipEndpoint behind Kamailio's dispatcher (${KAMAILIO ? kamailioVersion() : 'absent'})`,
  () => {
    const instances: Instance[] = [];
    let caller: SipEndpoint;
    let kamailio: Kamailio | undefined;
    let ua: RawUa;
    /** The called URI: Kamailio's address. */
    let agent: string;

    async function instance(name: string): Promise<Instance> {
      const endpoint = await endpointWith({
        contactUser: name,
        onInvite: async (invite) => {
          if (invite.headers.has('x-ring'))
            await new Promise<void>((resolve) => each.ringing.set(invite.callId, resolve));
          return each.draining ? { status: 503, reason: 'Draining' } : true;
        },
      });
      const each: Instance = { endpoint, name, calls: [], ended: [], draining: false, ringing: new Map() };
      endpoint.on('call', (call) => {
        each.calls.push(call);
        call.on('ended', ({ reason }) => each.ended.push({ callId: call.callId, reason }));
      });
      instances.push(each);
      return each;
    }

    /** The instance whose `call` event carried this Call-ID. */
    function ownerOf(callId: string): Instance | undefined {
      return instances.find((each) => each.calls.some((call) => call.callId === callId));
    }

    beforeAll(async () => {
      const a = await instance('a');
      const b = await instance('b');
      caller = await endpointWith({ contactUser: 'caller' });
      ua = await RawUa.open();
      kamailio = await startKamailio([a.endpoint.port, b.endpoint.port]);
      agent = `sip:agent@127.0.0.1:${kamailio.port}`;
    });

    afterAll(async () => {
      await kamailio?.close();
      ua?.close();
      await caller?.close();
      for (const each of instances) await each.endpoint.close();
    });

    /** Places a call through Kamailio; resolves with the caller's side and the instance that answered it. */
    async function place(): Promise<{ call: SipCall; owner: Instance }> {
      const call = await caller.call(agent);
      let owner: Instance | undefined;
      await until(() => (owner = ownerOf(call.callId)) !== undefined, `an endpoint to get call ${call.callId}`);
      return { call, owner: owner! };
    }

    it('spreads new calls over both endpoints, which answer its OPTIONS probes and keep in rotation', async () => {
      const placed = [];
      for (let i = 0; i < 6; i++) placed.push(await place());
      const [a, b] = instances;
      // Round-robin over two active destinations: every other call.
      expect(a!.calls.length).toBe(3);
      expect(b!.calls.length).toBe(3);
      // Hang up from the caller: its BYE goes along the route set (Kamailio) to the dialog's owner.
      for (const { call } of placed) await call.hangup();
      for (const { call, owner } of placed)
        await until(
          () => owner.ended.some((e) => e.callId === call.callId && e.reason === 'bye'),
          `the BYE of ${call.callId} at ${owner.name}`,
        );
      await until(() => a!.endpoint.calls.length + b!.endpoint.calls.length === 0, 'both endpoints to be idle');
      // Both answered every probe: neither left the rotation.
      expect(kamailio!.log).not.toMatch(/dispatcher: down/);
    });

    /**
     * The raw UA calls through Kamailio: INVITE, 200 OK, ACK along the route set; resolves once
     * the owner has the call.
     */
    async function rawCall() {
      const callId = token('kamailio-');
      const fromTag = token('f');
      const port = kamailio!.port;
      ua.send(request({ method: 'INVITE', port, ua, callId, fromTag, cseq: 1, body: offer(ua) }), port);
      const answer = await ua.next(
        (r) =>
          r.message?.type === 'response' &&
          r.message.status === 200 &&
          r.message.headers.get('call-id') === callId &&
          r.message.headers.get('cseq') === '1 INVITE',
        DEADLINE,
      );
      const ok = msg(answer);
      const toTag = toTagOf(answer);
      // Kamailio's Record-Route comes back in the 200 OK; the endpoint's Contact names the instance.
      const routes = ok.headers.getAll('record-route');
      expect(routes).toHaveLength(1);
      expect(routes[0]).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${port};lr`));
      const contact = /<([^>]+)>/.exec(ok.headers.get('contact') ?? '')?.[1];
      const owner = ownerOf(callId);
      if (!owner) throw new Error(`no endpoint emitted call ${callId}`);
      expect(contact).toBe(`sip:${owner.name}@127.0.0.1:${owner.endpoint.port}`);
      let cseq = 1;
      /** A request within the dialog: to the owner's Contact, by way of Kamailio. */
      const send = (method: string, body?: string) => {
        if (method !== 'ACK') cseq++;
        const text = request({
          method,
          port,
          ua,
          callId,
          fromTag,
          toTag,
          cseq,
          uri: contact!,
          headers: routes.map((route) => `Route: ${route}`),
          ...(body ? { body } : {}),
        });
        ua.send(text, port);
        return cseq;
      };
      send('ACK');
      const call = owner.calls.find((c) => c.callId === callId)!;
      await until(() => call.state === 'confirmed', `the ACK of ${callId} at ${owner.name}`);
      /** The final response to the request of this CSeq. */
      const final = async (seq: number, method: string) =>
        msg(
          await ua.next(
            (r) =>
              r.message?.type === 'response' &&
              r.message.headers.get('call-id') === callId &&
              r.message.headers.get('cseq') === `${seq} ${method}` &&
              r.message.status >= 200,
            DEADLINE,
          ),
        );
      return { callId, owner, call, send, final };
    }

    it("routes the caller's re-INVITE (hold), and its BYE, to the endpoint that owns the dialog", async () => {
      const dialog = await rawCall();
      const { callId, owner, call } = dialog;
      const hold = dialog.send('INVITE', offer(ua).replace('a=sendrecv', 'a=sendonly'));
      const held = await dialog.final(hold, 'INVITE');
      expect(held.type === 'response' && held.status).toBe(200);
      dialog.send('ACK');
      await until(() => call.held, `${owner.name} to put the call on hold`);

      const bye = dialog.send('BYE');
      const byeAnswer = await dialog.final(bye, 'BYE');
      expect(byeAnswer.type === 'response' && byeAnswer.status).toBe(200);
      await until(() => owner.ended.some((e) => e.callId === callId && e.reason === 'bye'), `the BYE at ${owner.name}`);
      // Had a request of the call reached the other instance, it would have answered 481 (no such dialog).
      expect(
        ua.inbox.filter((r) => r.message?.headers.get('call-id') === callId && /^SIP\/2\.0 481/.test(r.text)),
      ).toEqual([]);
    });

    it("sends the endpoint's BYE (the agent hangs up) back through Kamailio to the caller", async () => {
      const dialog = await rawCall();
      const { callId, owner, call } = dialog;
      const responses = owner.endpoint.counters.responses;
      const hangup = call.hangup();
      const received = await ua.next(
        (r) =>
          r.message?.type === 'request' && r.message.method === 'BYE' && r.message.headers.get('call-id') === callId,
        DEADLINE,
      );
      const bye = msg(received);
      // Kamailio relayed it: its Via on top of the endpoint's, its own Route consumed, to the caller's Contact.
      const vias = bye.headers.list('via');
      expect(vias).toHaveLength(2);
      expect(vias[0]).toContain(`127.0.0.1:${kamailio!.port}`);
      expect(vias[1]).toContain(`127.0.0.1:${owner.endpoint.port}`);
      expect(bye.type === 'request' && bye.uri).toBe(`sip:raw@127.0.0.1:${ua.port}`);
      expect(bye.headers.getAll('route')).toEqual([]);
      ua.send(answerTo(bye), kamailio!.port);
      // The 200 OK found its way back: the endpoint's BYE transaction got its answer (the endpoint
      // sends no other request here; Kamailio's probes are requests to it, not responses).
      await hangup;
      expect(owner.endpoint.counters.responses - responses).toBe(1);
      expect(owner.ended).toContainEqual({ callId, reason: 'hangup' });
    });

    it("relays the caller's CANCEL to the endpoint still ringing, whose 487 reaches the caller", async () => {
      const callId = token('kamailio-cancel-');
      const fromTag = token('f');
      const branch = token('z9hG4bK');
      const port = kamailio!.port;
      const invite = { port, ua, callId, fromTag, cseq: 1, branch };
      ua.send(request({ ...invite, method: 'INVITE', body: offer(ua), headers: ['X-Ring: yes'] }), port);
      let owner: Instance | undefined;
      await until(() => (owner = instances.find((each) => each.ringing.has(callId))) !== undefined, 'the ringing');
      const final = (method: string) =>
        ua.next(
          (r) =>
            r.message?.type === 'response' &&
            r.message.headers.get('call-id') === callId &&
            r.message.headers.get('cseq') === `1 ${method}` &&
            r.message.status >= 200,
          DEADLINE,
        );
      const ringing = await ua.next(
        (r) =>
          r.message?.type === 'response' && r.message.headers.get('call-id') === callId && r.message.status === 180,
        DEADLINE,
      );
      ua.send(request({ ...invite, method: 'CANCEL' }), port);
      expect(msg(await final('CANCEL'))).toMatchObject({ status: 200 });
      const terminated = await final('INVITE');
      expect(msg(terminated)).toMatchObject({ status: 487 });
      // The endpoint's own 487 (the To tag of its 180), not one Kamailio made up.
      expect(toTagOf(terminated)).toBe(toTagOf(ringing));
      // The ACK of a 487 ends Kamailio's transaction; Kamailio acknowledges the endpoint's itself.
      ua.send(request({ ...invite, method: 'ACK', toTag: toTagOf(terminated) }), port);
      // onInvite's answer, late, changes nothing.
      owner!.ringing.get(callId)!();
      await until(() => owner!.endpoint.calls.length === 0, `${owner!.name} to have no call`);
      expect(owner!.calls.some((call) => call.callId === callId)).toBe(false);
    });

    it('moves new calls to the other endpoint while one drains (503), whose call in progress goes on', async () => {
      const [a, b] = instances;
      // A call on b, up before it starts draining.
      let kept: { call: SipCall; owner: Instance } | undefined;
      while (!kept) {
        const placed = await place();
        if (placed.owner === b) kept = placed;
        else await placed.call.hangup();
      }
      const from = kamailio!.log.length;
      b!.draining = true;
      const bCalls = b!.calls.length;
      const placed = [];
      for (let i = 0; i < 2; i++) placed.push(await place());
      expect(placed.map(({ owner }) => owner.name)).toEqual(['a', 'a']);
      expect(b!.calls.length).toBe(bCalls);
      // At least one was offered to b first, refused, and handed on by the failure route; or b's
      // probe was refused first and took it out of rotation. Kamailio's log is read from its pipe:
      // on a busy machine the line comes after the call is up.
      const ids = placed.map(({ call }) => call.callId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
      const bDown = `dispatcher: down sip:127\\.0\\.0\\.1:${b!.endpoint.port}\\b`;
      await kamailio!.logged(new RegExp(`dispatch: (?:${ids}) again|${bDown}`), DEADLINE, from);
      // b's call is still up, and its BYE still reaches b.
      expect(kept.call.state).toBe('confirmed');
      await kept.call.hangup();
      await until(
        () => b!.ended.some((e) => e.callId === kept!.call.callId && e.reason === 'bye'),
        'the BYE of the call b kept',
      );
      for (const { call } of placed) await call.hangup();
      b!.draining = false;
      // The refusal took b out of rotation; its next probe brings it back.
      const bUri = `sip:127\\.0\\.0\\.1:${b!.endpoint.port}\\b`;
      await kamailio!.logged(new RegExp(`dispatcher: up ${bUri}`), DEADLINE, from);
      await until(() => a!.endpoint.calls.length + b!.endpoint.calls.length === 0, 'both endpoints to be idle');
    });

    it('takes a closed endpoint out of rotation once its probe fails; new calls all reach the other', async () => {
      const [a, b] = instances;
      const closed = b!.endpoint.port;
      const from = kamailio!.log.length;
      await b!.endpoint.close();
      await kamailio!.logged(new RegExp(`dispatcher: down sip:127\\.0\\.0\\.1:${closed}\\b`), DEADLINE, from);
      const before = a!.calls.length;
      const placed = [];
      for (let i = 0; i < 4; i++) placed.push(await place());
      expect(placed.map(({ owner }) => owner.name)).toEqual(['a', 'a', 'a', 'a']);
      expect(a!.calls.length - before).toBe(4);
      // None of them was first sent to the closed endpoint and retried: it was out of rotation.
      for (const { call } of placed) expect(kamailio!.log).not.toContain(`dispatch: ${call.callId} again`);
      for (const { call } of placed) await call.hangup();
      await until(() => a!.endpoint.calls.length === 0, 'a to be idle');
    });
  },
);
