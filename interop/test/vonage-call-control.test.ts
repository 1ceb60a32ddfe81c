/**
 * Vonage call control: `@vonage/server-sdk`'s Voice client and our `VonageCallControl` pointed at
 * the same local HTTP server (`apiHost` / `baseUrl`), request by request: method, path, content
 * type, Authorization scheme (a Bearer application JWT, decoded and compared), and body.
 */
import { generateKeyPairSync } from 'node:crypto';
import { verifySignature } from '@vonage/jwt';
import { Vonage } from '@vonage/server-sdk';
import { NCCOBuilder, Talk } from '@vonage/voice';
import { VonageCallControl, connectWebSocketAction, connectWebSocketNcco, vonageTransfer } from '@switchboard/vonage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sdkThenOurs, startHttpCapture, type CapturedRequest, type HttpCapture } from './support/http-capture.js';

const APPLICATION_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab';
const CALL = '63f61863-4a51-4f6b-86e1-46edebcf9356';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;

let server: HttpCapture;
let sdk: Vonage;
let ours: VonageCallControl;

/** Vonage's answers: 204 for a call update, 200 with a message for DTMF. */
function answer(req: CapturedRequest) {
  if (req.path.endsWith('/dtmf')) return { status: 200, body: { message: 'DTMF sent', uuid: CALL } };
  return { status: 204, body: '' };
}

beforeAll(async () => {
  server = await startHttpCapture({ response: answer });
  sdk = new Vonage({ applicationId: APPLICATION_ID, privateKey: PRIVATE_PEM }, { apiHost: server.url });
  ours = new VonageCallControl({ applicationId: APPLICATION_ID, privateKey: PRIVATE_PEM, baseUrl: server.url });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.clear());

function bearerClaims(req: CapturedRequest): Record<string, unknown> {
  const match = /^Bearer (\S+)$/.exec(req.headers['authorization'] ?? '');
  expect(match, 'Authorization: Bearer <jwt>').not.toBeNull();
  const token = match![1]!;
  expect(verifySignature(token, PUBLIC_PEM)).toBe(true);
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Runs the SDK's call, then ours, and returns the two requests the server saw. */
const both = (theirs: () => Promise<unknown>, mine: () => Promise<unknown>) => sdkThenOurs(server, theirs, mine);

/** Checks what must be the same on both requests. */
function expectSameRequest(theirs: CapturedRequest, mine: CapturedRequest): void {
  expect(mine.method).toBe(theirs.method);
  expect(mine.path).toBe(theirs.path);
  expect(mine.query).toEqual(theirs.query);
  // Both JSON; ours adds no parameters the SDK lacks.
  expect(mine.headers['content-type']?.split(';')[0]).toBe(theirs.headers['content-type']?.split(';')[0]);
  expect(mine.body).toEqual(theirs.body);
  const sdkClaims = bearerClaims(theirs);
  const ourClaims = bearerClaims(mine);
  expect(Object.keys(ourClaims).sort()).toEqual(Object.keys(sdkClaims).sort());
  expect(ourClaims['application_id']).toBe(APPLICATION_ID);
  expect(sdkClaims['application_id']).toBe(APPLICATION_ID);
  expect(ourClaims['jti']).not.toBe(sdkClaims['jti']);
}

describe('Vonage Voice API call control, @vonage/server-sdk vs VonageCallControl', () => {
  it('hangup: PUT /v1/calls/{uuid} {"action":"hangup"}', async () => {
    const [theirs, mine] = await both(
      () => sdk.voice.hangupCall(CALL),
      () => ours.hangup(CALL),
    );
    expectSameRequest(theirs, mine);
    expect(mine.method).toBe('PUT');
    expect(mine.path).toBe(`/v1/calls/${CALL}`);
    expect(mine.body).toEqual({ action: 'hangup' });
  });

  it('transfer to an NCCO: PUT /v1/calls/{uuid} {"action":"transfer","destination":{"type":"ncco","ncco":[…]}}', async () => {
    const ncco = new NCCOBuilder().addAction(new Talk('Goodbye.')).build();
    const [theirs, mine] = await both(
      () => sdk.voice.transferCallWithNCCO(CALL, ncco),
      () => ours.transfer(CALL, { ncco: [{ action: 'talk', text: 'Goodbye.' }] }),
    );
    expectSameRequest(theirs, mine);
    expect(mine.body).toEqual({
      action: 'transfer',
      destination: { type: 'ncco', ncco: [{ action: 'talk', text: 'Goodbye.' }] },
    });
  });

  it('transfer to an NCCO that connects a WebSocket: our endpoint goes through as we wrote it', async () => {
    const action = connectWebSocketAction({ uri: 'wss://bridge.example.com/socket', headers: { tenant: 'acme' } });
    // `as never`: the SDK's NCCO types want its enum members, which no plain JSON object is (see vonage-ncco.test.ts).
    const [theirs, mine] = await both(
      () => sdk.voice.transferCallWithNCCO(CALL, [action as never]),
      () => ours.transfer(CALL, { ncco: [action] }),
    );
    // The SDK passes a websocket endpoint through unchanged, so the same NCCO gives the same body.
    expectSameRequest(theirs, mine);
    const endpoint = (mine.body as { destination: { ncco: Array<{ endpoint: Array<Record<string, unknown>> }> } })
      .destination.ncco[0]!.endpoint[0]!;
    expect(endpoint['content-type']).toBe('audio/l16;rate=16000');
  });

  it('transfer to an NCCO URL: {"destination":{"type":"ncco","url":[…]}}', async () => {
    const url = 'https://bridge.example.com/ncco/next';
    const [theirs, mine] = await both(
      () => sdk.voice.transferCallWithURL(CALL, url),
      () => ours.transfer(CALL, { url }),
    );
    expectSameRequest(theirs, mine);
    expect(mine.body).toEqual({ action: 'transfer', destination: { type: 'ncco', url: [url] } });
  });

  it('transfer to a number or a SIP URI: the connect action the SDK sends for the same endpoint', async () => {
    const [theirs, mine] = await both(
      () =>
        sdk.voice.transferCallWithNCCO(CALL, [
          { action: 'connect', from: '447700900000', endpoint: [{ type: 'phone', number: '447700900002' }] } as never,
        ]),
      () => ours.transfer(CALL, { to: '+447700900002', from: '+447700900000' }),
    );
    expectSameRequest(theirs, mine);
    server.clear();
    const [sipTheirs, sipMine] = await both(
      () =>
        sdk.voice.transferCallWithNCCO(CALL, [
          { action: 'connect', endpoint: [{ type: 'sip', uri: 'sip:agent@pbx.example.com' }] } as never,
        ]),
      () => ours.transfer(CALL, { to: 'sip:agent@pbx.example.com' }),
    );
    // The SDK adds an empty "standardHeaders" object to every SIP endpoint; Vonage's NCCO
    // reference makes it optional, and we leave it out.
    const sdkBody = sipTheirs.body as { destination: { ncco: Array<{ endpoint: Array<Record<string, unknown>> }> } };
    expect(sdkBody.destination.ncco[0]!.endpoint[0]!['standardHeaders']).toEqual({});
    delete sdkBody.destination.ncco[0]!.endpoint[0]!['standardHeaders'];
    expectSameRequest(sipTheirs, sipMine);
  });

  it('DTMF: PUT /v1/calls/{uuid}/dtmf {"digits":…}', async () => {
    const [theirs, mine] = await both(
      () => sdk.voice.playDTMF(CALL, '12*#'),
      () => ours.sendDtmf(CALL, '12*#'),
    );
    expectSameRequest(theirs, mine);
    expect(mine.path).toBe(`/v1/calls/${CALL}/dtmf`);
    expect(mine.body).toEqual({ digits: '12*#' });
  });

  it('mute, unmute, earmuff, unearmuff through update(): the SDK’s bodies', async () => {
    const pairs: Array<[() => Promise<unknown>, string]> = [
      [() => sdk.voice.muteCall(CALL), 'mute'],
      [() => sdk.voice.unmuteCall(CALL), 'unmute'],
      [() => sdk.voice.earmuffCall(CALL), 'earmuff'],
      [() => sdk.voice.unearmuffCall(CALL), 'unearmuff'],
    ];
    for (const [theirs, action] of pairs) {
      server.clear();
      const [a, b] = await both(theirs, () => ours.update(CALL, { action }));
      expectSameRequest(a, b);
    }
  });

  it('different on purpose: a uuid that is not a call id is refused before any request; the SDK puts it in the path as given', async () => {
    // The SDK interpolates the uuid into the URL unescaped: "../accounts" would leave /v1/calls.
    await expect(ours.hangup('../accounts')).rejects.toThrow(/uuid/);
    await sdk.voice.hangupCall('x/../../v2/other').catch(() => undefined);
    const [req] = await server.waitForRequests(1);
    expect(req!.path).not.toMatch(/^\/v1\/calls\//);
  });

  it('a call that already ended: the SDK rejects on 404; ours resolves { alreadyEnded: true }', async () => {
    server.respond({
      status: 404,
      body: { type: 'https://developer.nexmo.com/api-errors#not-found', title: 'Not Found', detail: 'Call not found' },
    });
    try {
      await expect(sdk.voice.hangupCall(CALL)).rejects.toBeDefined();
      await expect(ours.hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
    } finally {
      server.respond(answer);
    }
  });

  it('new call with an answer URL and advanced machine detection: the request createOutboundCall sends', async () => {
    const created = { uuid: CALL, status: 'started', direction: 'outbound', conversation_uuid: 'CON-1' };
    server.respond({ status: 201, body: created });
    try {
      let sdkResult: unknown;
      const [theirs, mine] = await both(
        async () =>
          (sdkResult = await sdk.voice.createOutboundCall({
            to: [{ type: 'phone', number: '447700900001' }],
            from: { type: 'phone', number: '447700900000' },
            answerUrl: ['https://bridge.example.com/vonage/answer'],
            eventUrl: ['https://bridge.example.com/vonage/event'],
            advancedMachineDetection: { behavior: 'continue', mode: 'detect_beep', beepTimeout: 45 },
            ringingTimer: 30,
          } as never)),
        () =>
          ours.createCall({
            to: '+447700900001',
            from: '+447700900000',
            answerUrl: 'https://bridge.example.com/vonage/answer',
            eventUrl: 'https://bridge.example.com/vonage/event',
            advancedMachineDetection: { behavior: 'continue', mode: 'detect_beep', beep_timeout: 45 },
            ringingTimer: 30,
          }),
      );
      expectSameRequest(theirs, mine);
      expect(mine.method).toBe('POST');
      expect(mine.path).toBe('/v1/calls');
      expect(mine.body).toMatchObject({
        advanced_machine_detection: { behavior: 'continue', mode: 'detect_beep', beep_timeout: 45 },
      });
      // Both read the same call uuid from the answer.
      expect(sdkResult).toMatchObject({ uuid: CALL, conversationUUID: 'CON-1' });
    } finally {
      server.respond(answer);
    }
  });

  it('new call running an NCCO that connects the media WebSocket: the request createOutboundCall sends', async () => {
    server.respond({ status: 201, body: { uuid: CALL, status: 'started', direction: 'outbound' } });
    try {
      const ncco = connectWebSocketNcco({ uri: 'wss://bridge.example.com/socket', headers: { tenant: 'acme' } });
      const [theirs, mine] = await both(
        () =>
          sdk.voice.createOutboundCall({
            to: [{ type: 'phone', number: '447700900001' }],
            from: { type: 'phone', number: '447700900000' },
            ncco: ncco as never,
            machineDetection: 'hangup',
          } as never),
        () => ours.createCall({ to: '447700900001', from: '447700900000', ncco, machineDetection: 'hangup' }),
      );
      expectSameRequest(theirs, mine);
      expect(mine.body).toMatchObject({ ncco, machine_detection: 'hangup' });
    } finally {
      server.respond(answer);
    }
  });

  it('vonageTransfer to a SIP URI: the transfer the SDK sends for a connect with the same headers', async () => {
    const headers = { reason: 'invoice dispute', summary: 'Invoice 42 was charged twice.', call_uuid: CALL };
    const transfer = vonageTransfer({ callControl: ours });
    const [theirs, mine] = await both(
      () =>
        sdk.voice.transferCallWithNCCO(CALL, [
          { action: 'connect', endpoint: [{ type: 'sip', uri: 'sip:billing@pbx.example.com', headers }] } as never,
        ]),
      () =>
        transfer({
          name: 'billing',
          destination: 'sip:billing@pbx.example.com',
          reason: headers.reason,
          summary: headers.summary,
          callId: CALL,
          transport: undefined as never, // vonageTransfer does not use it
        }),
    );
    // As above: the SDK adds an empty "standardHeaders" to every SIP endpoint.
    const sdkBody = theirs.body as { destination: { ncco: Array<{ endpoint: Array<Record<string, unknown>> }> } };
    delete sdkBody.destination.ncco[0]!.endpoint[0]!['standardHeaders'];
    expectSameRequest(theirs, mine);
    expect(mine.body).toMatchObject({ destination: { ncco: [{ endpoint: [{ headers }] }] } });
  });
});
