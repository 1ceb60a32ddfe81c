import { Buffer } from 'node:buffer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError, ConfigError } from '@switchboard/core';
import { PlivoCallControl, type PlivoCreateCallOptions } from '../src/call-control.js';
import { startFakeRest, type FakeRest } from '@switchboard/conformance/testing';

const AUTH_ID = 'MAZDQ1ZJY0ZDA2ZTJMZA';
const AUTH_TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const CALL = '1ed7fd89-df77-4ebf-8196-d5cf7222c918';
const BASIC = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;

let api: FakeRest;
let calls: PlivoCallControl;

beforeEach(async () => {
  api = await startFakeRest();
  calls = new PlivoCallControl({ authId: AUTH_ID, authToken: AUTH_TOKEN, baseUrl: api.url });
});

afterEach(async () => {
  await api.stop();
});

describe('PlivoCallControl', () => {
  it('hangs up with DELETE /v1/Account/{auth_id}/Call/{call_uuid}/ and Basic auth', async () => {
    api.reply = () => ({ status: 204 });
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: false });
    const [request] = api.requests;
    expect(request!.method).toBe('DELETE');
    expect(request!.path).toBe(`/v1/Account/${AUTH_ID}/Call/${CALL}/`);
    expect(request!.headers['authorization']).toBe(BASIC);
    expect(request!.body).toBe('');
  });

  it('resolves alreadyEnded when Plivo answers 404 for a call that is no longer live', async () => {
    api.reply = () => ({ status: 404, body: { api_id: 'c6a5f2a6-0000-11ef-9f4c-0242ac110002', error: 'not found' } });
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.transfer(CALL, { url: 'https://example.com/transfer.xml' })).resolves.toEqual({
      alreadyEnded: true,
    });
    await expect(calls.sendDtmf(CALL, '1')).resolves.toEqual({ alreadyEnded: true });
  });

  it('transfers the A leg to a Plivo XML URL', async () => {
    api.reply = () => ({ status: 202, body: { message: 'call transferred', api_id: 'x' } });
    await calls.transfer(CALL, { url: 'https://example.com/agent.xml', method: 'GET' });
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/v1/Account/${AUTH_ID}/Call/${CALL}/`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      legs: 'aleg',
      aleg_url: 'https://example.com/agent.xml',
      aleg_method: 'GET',
    });
  });

  it('sends DTMF digits to the A leg', async () => {
    api.reply = () => ({ status: 202, body: { message: 'digits sent', api_id: 'x' } });
    await calls.sendDtmf(CALL, '12#');
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/v1/Account/${AUTH_ID}/Call/${CALL}/DTMF/`);
    expect(request!.headers['authorization']).toBe(BASIC);
    expect(JSON.parse(request!.body)).toEqual({ digits: '12#', leg: 'aleg' });
  });

  it('throws a CallControlError with the status and Plivo’s message, never the token', async () => {
    api.reply = () => ({ status: 401, body: { api_id: 'x', error: 'authentication failed' } });
    const error = (await calls.hangup(CALL).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(401);
    expect(error.message).toContain('authentication failed');
    expect(error.message).not.toContain(AUTH_TOKEN);
    const unreachable = new PlivoCallControl({ authId: AUTH_ID, authToken: AUTH_TOKEN, baseUrl: 'http://127.0.0.1:1' });
    await expect(unreachable.hangup(CALL)).rejects.toBeInstanceOf(CallControlError);
  });

  it('never sends a hang-up without a call UUID (Plivo would end every call of the account)', async () => {
    await expect(calls.hangup('')).rejects.toThrow(ConfigError);
    await expect(calls.hangup('../Call')).rejects.toThrow(ConfigError);
    await expect(calls.transfer(CALL, { url: 'not a url' })).rejects.toThrow(ConfigError);
    await expect(calls.sendDtmf(CALL, 'A')).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
    expect(() => new PlivoCallControl({ authId: 'x/y', authToken: AUTH_TOKEN })).toThrow(ConfigError);
    expect(() => new PlivoCallControl({ authId: AUTH_ID, authToken: '' })).toThrow(ConfigError);
  });
});

describe('PlivoCallControl.createCall', () => {
  it('places a call with POST /v1/Account/{auth_id}/Call/ and asynchronous machine detection', async () => {
    api.reply = () => ({
      status: 201,
      body: { api_id: 'x', message: 'call fired', request_uuid: '9834029e-58b6-11e1-b8b7-a5bd0e4e126f' },
    });
    const result = await calls.createCall({
      from: '+14155550100',
      to: '+14155550123',
      answerUrl: 'https://agent.example.com/plivo/answer',
      machineDetection: 'true',
      machineDetectionTime: 4000,
      machineDetectionUrl: 'https://agent.example.com/plivo/amd',
      machineDetectionMethod: 'POST',
      hangupUrl: 'https://agent.example.com/plivo/hangup',
      ringTimeout: 30,
    });
    expect(result).toMatchObject({ requestUuid: '9834029e-58b6-11e1-b8b7-a5bd0e4e126f', message: 'call fired' });
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/v1/Account/${AUTH_ID}/Call/`);
    expect(request!.headers['authorization']).toBe(BASIC);
    expect(JSON.parse(request!.body)).toEqual({
      from: '14155550100',
      to: '14155550123',
      answer_url: 'https://agent.example.com/plivo/answer',
      machine_detection: 'true',
      machine_detection_time: 4000,
      machine_detection_url: 'https://agent.example.com/plivo/amd',
      machine_detection_method: 'POST',
      hangup_url: 'https://agent.example.com/plivo/hangup',
      ring_timeout: 30,
    });
  });

  it('dials several targets at once, SIP URIs with X-PH- headers', async () => {
    api.reply = () => ({ status: 201, body: { message: 'call fired', request_uuid: 'r1' } });
    await calls.createCall({
      from: '14155550100',
      to: ['14155550123', 'sip:agent@phone.plivo.com'],
      answerUrl: 'https://agent.example.com/a',
      answerMethod: 'GET',
      sipHeaders: { Campaign: 'spring', Ref: 'A%2D1' },
    });
    expect(JSON.parse(api.requests[0]!.body)).toMatchObject({
      to: '14155550123<sip:agent@phone.plivo.com',
      answer_method: 'GET',
      sip_headers: 'Campaign=spring,Ref=A%2D1',
    });
  });

  it('rejects a refused call (even a 404) as a CallControlError, not as a call that ended', async () => {
    api.reply = () => ({ status: 404, body: { api_id: 'x', error: 'not found' } });
    const error = await calls
      .createCall({ from: '14155550100', to: '14155550123', answerUrl: 'https://a.example.com/' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect((error as CallControlError).status).toBe(404);
  });

  it('refuses options Plivo would refuse, before any request', async () => {
    const base = { from: '14155550100', to: '14155550123', answerUrl: 'https://a.example.com/' };
    const bad: PlivoCreateCallOptions[] = [
      { ...base, from: '' },
      { ...base, to: [] },
      { ...base, to: 'not a number' },
      { ...base, answerUrl: 'ftp://a.example.com/' },
      { ...base, machineDetection: 'yes' as 'true' },
      { ...base, machineDetection: 'true' as const, machineDetectionTime: 1000 },
      { ...base, machineDetection: 'true' as const, machineDetectionTime: 10001 },
      { ...base, machineDetectionUrl: 'https://a.example.com/amd' },
      { ...base, machineDetection: 'true' as const, machineDetectionMethod: 'PUT' as 'POST' },
      { ...base, sipHeaders: { 'X-PH-Bad': 'v' } },
      { ...base, sipHeaders: { Good: 'not allowed!' } },
      { ...base, ringTimeout: 0 },
    ];
    for (const options of bad) await expect(calls.createCall(options)).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
  });
});
