import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError, ConfigError } from '@switchboard/core';
import { TelnyxCallControl } from '../src/call-control.js';
import { startFakeRest, type FakeRest } from '@switchboard/conformance/testing';

const API_KEY = 'KEY0188A1B2C3D4E5F60718293A4B5C6D_test';
const CALL = 'v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ';

/** Telnyx's answer to a command for a call that has ended (Call Control error 90018). */
const ALREADY_ENDED = {
  status: 422,
  body: {
    errors: [
      {
        code: '90018',
        title: 'Call has already ended',
        detail: "This call is no longer active and can't receive commands.",
      },
    ],
  },
};

let api: FakeRest;
let baseUrl: string;
let calls: TelnyxCallControl;

beforeEach(async () => {
  api = await startFakeRest();
  baseUrl = api.url;
  calls = new TelnyxCallControl({ apiKey: API_KEY, baseUrl });
});

afterEach(async () => {
  await api.stop();
});

describe('TelnyxCallControl', () => {
  it('hangs up with POST /v2/calls/{id}/actions/hangup, Bearer auth and a JSON body', async () => {
    api.reply = () => ({ status: 200, body: { data: { result: 'ok' } } });
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: false });
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v2/calls/v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ/actions/hangup');
    expect(request!.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({});
  });

  it('resolves alreadyEnded on 422 with code 90018, so hanging up twice is harmless', async () => {
    api.reply = () => ALREADY_ENDED;
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.transfer(CALL, { to: '+13125550001' })).resolves.toEqual({ alreadyEnded: true });
  });

  it('transfers with to, from and extra fields', async () => {
    await calls.transfer(CALL, { to: 'sip:agent@pbx.example.com', from: '+13125550000', extra: { timeout_secs: 30 } });
    const [request] = api.requests;
    expect(request!.path).toBe(`/v2/calls/${CALL}/actions/transfer`);
    expect(JSON.parse(request!.body)).toEqual({
      to: 'sip:agent@pbx.example.com',
      from: '+13125550000',
      timeout_secs: 30,
    });
  });

  it('sends DTMF with digits and duration_millis', async () => {
    await calls.sendDtmf(CALL, '1234#', { durationMs: 250 });
    const [request] = api.requests;
    expect(request!.path).toBe(`/v2/calls/${CALL}/actions/send_dtmf`);
    expect(JSON.parse(request!.body)).toEqual({ digits: '1234#', duration_millis: 250 });
  });

  it('percent-encodes what a path segment cannot hold, keeping the colon', async () => {
    await calls.hangup('v3:a/b?c');
    expect(api.requests[0]!.path).toBe('/v2/calls/v3:a%2Fb%3Fc/actions/hangup');
  });

  it('throws a CallControlError with status and Telnyx code for other failures, without the key', async () => {
    api.reply = () => ({
      status: 401,
      body: { errors: [{ code: '10009', title: 'Authentication failed', detail: 'The API key is invalid.' }] },
    });
    const error = (await calls.hangup(CALL).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(401);
    expect(error.providerCode).toBe('10009');
    expect(error.message).toContain('Authentication failed');
    expect(error.message).not.toContain(API_KEY);
    api.reply = () => ({ status: 422, body: { errors: [{ code: '90015', title: 'Invalid parameter' }] } });
    await expect(calls.hangup(CALL)).rejects.toMatchObject({ status: 422, providerCode: '90015' });
    api.reply = () => ({ status: 500, body: 'oops' });
    await expect(calls.hangup(CALL)).rejects.toMatchObject({ status: 500 });
  });

  it('reports a request that never completes as a CallControlError', async () => {
    const unreachable = new TelnyxCallControl({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:1' });
    await expect(unreachable.hangup(CALL)).rejects.toBeInstanceOf(CallControlError);
    const hung = new TelnyxCallControl({
      apiKey: API_KEY,
      timeoutMs: 20,
      fetch: (_url, init) =>
        new Promise<Response>((_, reject) =>
          init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)),
        ),
    });
    await expect(hung.hangup(CALL)).rejects.toThrow(/timed out/);
  });

  it('refuses bad options and arguments with a ConfigError before any request', async () => {
    expect(() => new TelnyxCallControl({ apiKey: '' })).toThrow(ConfigError);
    expect(() => new TelnyxCallControl({ apiKey: API_KEY, baseUrl: 'ftp://x' })).toThrow(ConfigError);
    expect(() => new TelnyxCallControl({ apiKey: API_KEY, timeoutMs: 0 })).toThrow(ConfigError);
    await expect(calls.hangup('')).rejects.toThrow(ConfigError);
    await expect(calls.transfer(CALL, { to: ' ' })).rejects.toThrow(ConfigError);
    await expect(calls.sendDtmf(CALL, '12x')).rejects.toThrow(ConfigError);
    await expect(calls.sendDtmf(CALL, '1', { durationMs: 50 })).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
  });
});
