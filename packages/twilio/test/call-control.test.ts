import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { CallControlError, ConfigError } from '@switchboard/core';
import { TwilioCallControl, type TwilioCreateCallOptions } from '../src/call-control.js';

const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';
const CALL = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';

type Recorded = { url: string; init: RequestInit };

/** A fetch that records each request and answers with the given responses in turn. */
function fakeFetch(...responses: Array<Response | Error | ((init: RequestInit) => Promise<Response>)>) {
  const calls: Recorded[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    const next = responses.shift();
    if (next === undefined) throw new Error('unexpected request');
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next(init ?? {});
    return next;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const CALL_RESOURCE = { sid: CALL, status: 'completed' };

function headersOf(init: RequestInit): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function formOf(init: RequestInit): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(String(init.body)).entries());
}

describe('TwilioCallControl.hangup', () => {
  it('posts Status=completed to the call resource with Basic auth of account sid and token', async () => {
    const { fetch, calls } = fakeFetch(json(200, CALL_RESOURCE));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.hangup(CALL)).resolves.toEqual({ alreadyEnded: false });

    expect(calls).toHaveLength(1);
    const [{ url, init }] = calls as [Recorded];
    expect(url).toBe(`https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}.json`);
    expect(init.method).toBe('POST');
    const headers = headersOf(init);
    expect(headers['authorization']).toBe(`Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`);
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(init.body).toBe('Status=completed');
    expect(init.signal).toBeInstanceOf(AbortSignal);
  });

  it('uses an API key pair and a custom base URL', async () => {
    const { fetch, calls } = fakeFetch(json(200, CALL_RESOURCE));
    const keySid = 'SK0123456789abcdef0123456789abcdef';
    const control = new TwilioCallControl({
      accountSid: ACCOUNT,
      apiKeySid: keySid,
      apiKeySecret: 'key-secret',
      baseUrl: 'http://127.0.0.1:4010/',
      fetch,
    });
    await control.hangup(CALL);
    expect(calls[0]!.url).toBe(`http://127.0.0.1:4010/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}.json`);
    expect(headersOf(calls[0]!.init)['authorization']).toBe(
      `Basic ${Buffer.from(`${keySid}:key-secret`).toString('base64')}`,
    );
  });

  it('resolves alreadyEnded when Twilio answers 404 with code 20404', async () => {
    const { fetch } = fakeFetch(
      json(404, {
        code: 20404,
        message: `The requested resource /2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}.json was not found`,
        more_info: 'https://www.twilio.com/docs/errors/20404',
        status: 404,
      }),
    );
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
  });

  it('treats a 404 without Twilio’s 20404 code as a failure', async () => {
    const { fetch } = fakeFetch(new Response('<html>not found</html>', { status: 404 }));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const error = await control.hangup(CALL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect((error as CallControlError).status).toBe(404);
    expect((error as CallControlError).providerCode).toBeUndefined();
  });
});

describe('TwilioCallControl.transfer', () => {
  it('dials a phone number with a caller id', async () => {
    const { fetch, calls } = fakeFetch(json(200, CALL_RESOURCE));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.transfer(CALL, { to: '+15551230003', callerId: '+15551230002' })).resolves.toEqual({
      alreadyEnded: false,
    });
    expect(formOf(calls[0]!.init)).toEqual({
      Twiml: '<Response><Dial callerId="+15551230002">+15551230003</Dial></Response>',
    });
  });

  it('dials a SIP URI with <Sip> and escapes it', async () => {
    const { fetch, calls } = fakeFetch(json(200, CALL_RESOURCE));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await control.transfer(CALL, { to: 'sip:agent@pbx.example.com;transport=tls?X-Queue=a&X-Tier=b' });
    expect(formOf(calls[0]!.init)['Twiml']).toBe(
      '<Response><Dial><Sip>sip:agent@pbx.example.com;transport=tls?X-Queue=a&amp;X-Tier=b</Sip></Dial></Response>',
    );
  });

  it('sends TwiML given by the caller unchanged', async () => {
    const { fetch, calls } = fakeFetch(json(200, CALL_RESOURCE));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const twiml = '<Response><Enqueue>support</Enqueue></Response>';
    await control.transfer(CALL, { twiml });
    expect(formOf(calls[0]!.init)).toEqual({ Twiml: twiml });
  });

  it('reports a call that already ended', async () => {
    const { fetch } = fakeFetch(json(404, { code: 20404, message: 'not found', status: 404 }));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.transfer(CALL, { to: '+15551230003' })).resolves.toEqual({ alreadyEnded: true });
  });

  it('rejects an empty target before any request', async () => {
    const { fetch, calls } = fakeFetch();
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.transfer(CALL, { to: '  ' })).rejects.toBeInstanceOf(ConfigError);
    await expect(control.transfer(CALL, { twiml: '' })).rejects.toBeInstanceOf(ConfigError);
    expect(calls).toHaveLength(0);
  });
});

describe('TwilioCallControl.update', () => {
  it('returns the parsed call resource', async () => {
    const { fetch, calls } = fakeFetch(json(200, { sid: CALL, status: 'in-progress' }));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const result = await control.update(CALL, { Url: 'https://voice.example.com/next', Method: 'POST' });
    expect(result).toEqual({ alreadyEnded: false, body: { sid: CALL, status: 'in-progress' } });
    expect(formOf(calls[0]!.init)).toEqual({ Url: 'https://voice.example.com/next', Method: 'POST' });
  });

  it('maps a Twilio error to CallControlError with status, code and message but never the token', async () => {
    const { fetch } = fakeFetch(
      json(400, {
        code: 21220,
        message: 'Call is not in-progress. Cannot redirect.',
        more_info: 'https://www.twilio.com/docs/errors/21220',
        status: 400,
      }),
    );
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const error = (await control.transfer(CALL, { to: '+15551230003' }).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(400);
    expect(error.providerCode).toBe(21220);
    expect(error.message).toContain('Call is not in-progress');
    expect(error.message).toContain('21220');
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it('maps an authentication failure without echoing credentials', async () => {
    const { fetch } = fakeFetch(json(401, { code: 20003, message: 'Authenticate', status: 401 }));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const error = (await control.hangup(CALL).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(401);
    expect(error.providerCode).toBe(20003);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain(Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64'));
  });

  it('wraps a network failure in CallControlError', async () => {
    const cause = new TypeError('fetch failed');
    const { fetch } = fakeFetch(cause);
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const error = (await control.hangup(CALL).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.cause).toBe(cause);
    expect(error.status).toBeUndefined();
  });

  it('aborts a request that outlives timeoutMs', async () => {
    const hang = (init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const { fetch } = fakeFetch(hang);
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch, timeoutMs: 5 });
    const error = (await control.hangup(CALL).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.message).toMatch(/timed out after 5 ms/);
  });

  it('rejects a malformed call sid before any request', async () => {
    const { fetch, calls } = fakeFetch();
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.hangup('CA123')).rejects.toBeInstanceOf(ConfigError);
    await expect(control.hangup(`${CALL}/../../x`)).rejects.toBeInstanceOf(ConfigError);
    expect(calls).toHaveLength(0);
  });
});

describe('TwilioCallControl configuration', () => {
  it.each([
    ['a malformed account sid', { accountSid: 'AC123', authToken: TOKEN }],
    ['no credentials', { accountSid: ACCOUNT }],
    ['an API key sid without its secret', { accountSid: ACCOUNT, apiKeySid: 'SK0123456789abcdef0123456789abcdef' }],
    ['a base URL that is not http(s)', { accountSid: ACCOUNT, authToken: TOKEN, baseUrl: 'ftp://api.example' }],
    ['a non-positive timeout', { accountSid: ACCOUNT, authToken: TOKEN, timeoutMs: 0 }],
  ])('throws ConfigError for %s', (_label, options) => {
    expect(() => new TwilioCallControl(options)).toThrow(ConfigError);
  });

  it('does not put the token in configuration errors', () => {
    let error: unknown;
    try {
      new TwilioCallControl({ accountSid: 'bad', authToken: TOKEN });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});

describe('TwilioCallControl.createCall', () => {
  const CREATED = { sid: 'CA0123456789abcdef0123456789abcdef', status: 'queued' };

  /** Places a call answered by `https://app.example.com/answer`, with `extra` options; returns the requests made. */
  async function createAnswered(extra: Partial<TwilioCreateCallOptions>) {
    const { fetch, calls } = fakeFetch(json(201, CREATED));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await control.createCall({
      to: '+15551230000',
      from: '+15559870000',
      url: 'https://app.example.com/answer',
      ...extra,
    } as TwilioCreateCallOptions);
    return calls;
  }

  function formEntries(init: RequestInit): Array<[string, string]> {
    return [...new URLSearchParams(String(init.body)).entries()];
  }

  it('posts To, From and the <Connect><Stream> TwiML to the Calls resource and returns the new sid', async () => {
    const { fetch, calls } = fakeFetch(json(201, CREATED));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const created = await control.createCall({
      to: '+15551230000',
      from: '+15559870000',
      stream: { url: 'wss://media.example.com/twilio', parameters: { reminder: 'dentist' } },
    });
    expect(created).toEqual({ callSid: CREATED.sid, status: 'queued', body: CREATED });
    const [{ url, init }] = calls as [Recorded];
    expect(url).toBe(`https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Calls.json`);
    expect(init.method).toBe('POST');
    const form = formOf(init);
    expect(form['To']).toBe('+15551230000');
    expect(form['From']).toBe('+15559870000');
    expect(form['Twiml']).toContain('<Connect><Stream url="wss://media.example.com/twilio">');
    expect(form['Twiml']).toContain('<Parameter name="reminder" value="dentist"/>');
  });

  it('asks for asynchronous machine detection with its callback and tuning', async () => {
    const calls = await createAnswered({
      machineDetection: {
        mode: 'DetectMessageEnd',
        callbackUrl: 'https://app.example.com/amd',
        timeoutSeconds: 20,
        speechThresholdMs: 2400,
        speechEndThresholdMs: 1200,
        silenceTimeoutMs: 5000,
      },
      statusCallback: 'https://app.example.com/status',
      statusCallbackEvents: ['answered', 'completed'],
      timeoutSeconds: 25,
    });
    const entries = formEntries(calls[0]!.init);
    expect(entries.filter(([name]) => name === 'StatusCallbackEvent')).toEqual([
      ['StatusCallbackEvent', 'answered'],
      ['StatusCallbackEvent', 'completed'],
    ]);
    expect(formOf(calls[0]!.init)).toMatchObject({
      Url: 'https://app.example.com/answer',
      MachineDetection: 'DetectMessageEnd',
      AsyncAmd: 'true',
      AsyncAmdStatusCallback: 'https://app.example.com/amd',
      MachineDetectionTimeout: '20',
      MachineDetectionSpeechThreshold: '2400',
      MachineDetectionSpeechEndThreshold: '1200',
      MachineDetectionSilenceTimeout: '5000',
      StatusCallback: 'https://app.example.com/status',
      Timeout: '25',
    });
  });

  it('sends synchronous detection without AsyncAmd', async () => {
    const calls = await createAnswered({
      machineDetection: { mode: 'Enable', async: false },
    });
    const form = formOf(calls[0]!.init);
    expect(form['MachineDetection']).toBe('Enable');
    expect(form).not.toHaveProperty('AsyncAmd');
  });

  it.each([
    ['no TwiML source', { to: '+1555', from: '+1555' }],
    ['two TwiML sources', { to: '+1555', from: '+1555', twiml: '<Response/>', url: 'https://a.example.com/' }],
    [
      'asynchronous detection without a callback',
      { to: '+1', from: '+1', twiml: '<Response/>', machineDetection: { mode: 'Enable' } },
    ],
    [
      'an unknown detection mode',
      {
        to: '+1',
        from: '+1',
        twiml: '<Response/>',
        machineDetection: { mode: 'Maybe', callbackUrl: 'https://a.example.com/' },
      },
    ],
    [
      'a detection timeout out of range',
      {
        to: '+1',
        from: '+1',
        twiml: '<Response/>',
        machineDetection: { mode: 'Enable', callbackUrl: 'https://a.example.com/', timeoutSeconds: 90 },
      },
    ],
    [
      'events without a status callback',
      { to: '+1', from: '+1', twiml: '<Response/>', statusCallbackEvents: ['answered'] },
    ],
    ['an extra parameter that repeats an option', { to: '+1', from: '+1', twiml: '<Response/>', params: { To: '+2' } }],
    ['a stream url without wss', { to: '+1', from: '+1', stream: { url: 'http://media.example.com/' } }],
  ])('rejects %s before any request', async (_name, options) => {
    const { fetch, calls } = fakeFetch();
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.createCall(options as never)).rejects.toBeInstanceOf(ConfigError);
    expect(calls).toHaveLength(0);
  });

  it('maps a refusal to a CallControlError with Twilio’s code', async () => {
    const { fetch } = fakeFetch(
      json(400, { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 }),
    );
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    const error = await control
      .createCall({ to: 'nope', from: '+15559870000', twiml: '<Response/>' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect(error).toMatchObject({ status: 400, providerCode: 21211 });
  });

  it('fails when Twilio’s answer names no call sid', async () => {
    const { fetch } = fakeFetch(json(201, { status: 'queued' }));
    const control = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, fetch });
    await expect(control.createCall({ to: '+1555', from: '+1556', twiml: '<Response/>' })).rejects.toBeInstanceOf(
      CallControlError,
    );
  });
});

describe('TwilioCallControl on SignalWire’s Compatibility API', () => {
  const PROJECT = 'b3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
  const SW_CALL = 'c0ffee00-1234-4abc-8def-0123456789ab';

  it('sends to the Space under /api/laml with the Project ID and API token, and takes UUID call ids', async () => {
    const { fetch, calls } = fakeFetch(json(201, { sid: SW_CALL, status: 'queued' }), json(200, { sid: SW_CALL }));
    const control = new TwilioCallControl({
      accountSid: PROJECT,
      authToken: 'PTsecret',
      signalwireSpaceUrl: 'example.signalwire.com',
      fetch,
    });
    const created = await control.createCall({ to: '+15551230000', from: '+15559870000', twiml: '<Response/>' });
    expect(created.callSid).toBe(SW_CALL);
    await control.hangup(SW_CALL);
    expect(calls.map((c) => c.url)).toEqual([
      `https://example.signalwire.com/api/laml/2010-04-01/Accounts/${PROJECT}/Calls.json`,
      `https://example.signalwire.com/api/laml/2010-04-01/Accounts/${PROJECT}/Calls/${SW_CALL}.json`,
    ]);
    expect(headersOf(calls[0]!.init)['authorization']).toBe(
      `Basic ${Buffer.from(`${PROJECT}:PTsecret`).toString('base64')}`,
    );
  });

  it('refuses Twilio sids, and a Space that is not a host name', async () => {
    expect(
      () =>
        new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, signalwireSpaceUrl: 'example.signalwire.com' }),
    ).toThrow(ConfigError);
    expect(
      () =>
        new TwilioCallControl({ accountSid: PROJECT, authToken: TOKEN, signalwireSpaceUrl: 'https://x.example.com/' }),
    ).toThrow(ConfigError);
    const { fetch, calls } = fakeFetch();
    const control = new TwilioCallControl({
      accountSid: PROJECT,
      authToken: TOKEN,
      signalwireSpaceUrl: 'example.signalwire.com',
      fetch,
    });
    await expect(control.hangup(CALL)).rejects.toBeInstanceOf(ConfigError);
    expect(calls).toHaveLength(0);
  });
});
