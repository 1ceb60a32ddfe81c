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

  it('dials with POST /v2/calls: a bidirectional RTP stream to the media route and machine detection', async () => {
    api.reply = () => ({
      status: 200,
      body: { data: { call_control_id: CALL, call_leg_id: 'leg-1', call_session_id: 'sess-1', is_alive: false } },
    });
    const result = await calls.dial({
      to: '+13125550001',
      from: '+13125550000',
      connectionId: '7267xxxxxxxxxxxxxx',
      streamUrl: 'wss://agent.example.com/media',
      answeringMachineDetection: 'detect_words',
      amdConfig: { total_analysis_time_millis: 5000 },
      clientState: 'reminder:42',
      webhookUrl: 'https://agent.example.com/telnyx',
      timeoutSecs: 30,
    });
    expect(result).toMatchObject({ callControlId: CALL, callLegId: 'leg-1', callSessionId: 'sess-1' });
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v2/calls');
    expect(request!.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(JSON.parse(request!.body)).toEqual({
      to: '+13125550001',
      from: '+13125550000',
      connection_id: '7267xxxxxxxxxxxxxx',
      stream_url: 'wss://agent.example.com/media',
      stream_track: 'inbound_track',
      stream_bidirectional_mode: 'rtp',
      stream_bidirectional_codec: 'PCMU',
      answering_machine_detection: 'detect_words',
      answering_machine_detection_config: { total_analysis_time_millis: 5000 },
      client_state: Buffer.from('reminder:42').toString('base64'),
      webhook_url: 'https://agent.example.com/telnyx',
      timeout_secs: 30,
    });
  });

  it('dials an L16 stream with its sampling rate, and sends only the fields given', async () => {
    api.reply = () => ({ status: 200, body: { data: { call_control_id: CALL } } });
    await calls.dial({ to: 'sip:a@b.example', from: '+1312', connectionId: 'c', customHeaders: [] });
    expect(JSON.parse(api.requests[0]!.body)).toEqual({ to: 'sip:a@b.example', from: '+1312', connection_id: 'c' });
    await calls.dial({
      to: '+1',
      from: '+2',
      connectionId: 'c',
      streamUrl: 'wss://x/media',
      streamCodec: 'L16',
      streamSamplingRate: 16000,
      customHeaders: [{ name: 'X-Campaign', value: 'spring' }],
    });
    expect(JSON.parse(api.requests[1]!.body)).toMatchObject({
      stream_bidirectional_codec: 'L16',
      stream_bidirectional_sampling_rate: 16000,
      custom_headers: [{ name: 'X-Campaign', value: 'spring' }],
    });
  });

  it('refuses a dial Telnyx would refuse, before any request; an answer without a call id is a CallControlError', async () => {
    const base = { to: '+1', from: '+2', connectionId: 'c' };
    await expect(calls.dial({ ...base, connectionId: '' })).rejects.toThrow(/connectionId/);
    await expect(calls.dial({ ...base, streamUrl: 'https://x' })).rejects.toThrow(/ws:\/\//);
    await expect(calls.dial({ ...base, streamUrl: 'wss://x', streamCodec: 'L16' })).rejects.toThrow(
      /streamSamplingRate/,
    );
    await expect(calls.dial({ ...base, streamCodec: 'PCMA' })).rejects.toThrow(/need `streamUrl`/);
    await expect(calls.dial({ ...base, timeoutSecs: 2 })).rejects.toThrow(ConfigError);
    await expect(calls.dial({ ...base, amdConfig: {} })).rejects.toThrow(/answeringMachineDetection/);
    await expect(calls.dial({ ...base, answeringMachineDetection: 'maybe' as unknown as 'detect' })).rejects.toThrow(
      ConfigError,
    );
    await expect(calls.dial({ ...base, customHeaders: [{ name: 'X-A', value: 'a\r\nB: c' }] })).rejects.toThrow(
      /line break/,
    );
    await expect(calls.dial({ ...base, customHeaders: [{ name: 'X A', value: 'a' }] })).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
    api.reply = () => ({ status: 200, body: { data: {} } });
    await expect(calls.dial(base)).rejects.toBeInstanceOf(CallControlError);
  });

  it('speaks, bridges and stops streaming with the Call Control actions', async () => {
    await calls.speak(CALL, 'A caller about a refund.', { voice: 'male', language: 'en-US' });
    await calls.bridge(CALL, 'v3:other');
    await calls.stopStreaming(CALL, 'stream-1');
    await calls.stopStreaming(CALL);
    expect(api.requests.map((r) => [r.path.replace(`/v2/calls/${CALL}/actions/`, ''), JSON.parse(r.body)])).toEqual([
      ['speak', { payload: 'A caller about a refund.', voice: 'male', language: 'en-US' }],
      ['bridge', { call_control_id: 'v3:other' }],
      ['streaming_stop', { stream_id: 'stream-1' }],
      ['streaming_stop', {}],
    ]);
    await expect(calls.speak(CALL, '')).rejects.toThrow(ConfigError);
    await expect(calls.bridge(CALL, '')).rejects.toThrow(ConfigError);
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
