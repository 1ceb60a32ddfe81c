/**
 * Recordings of binary carriers replay frame for frame: a call recorded over Vonage (L16 16 kHz
 * binary audio, JSON control) and over the generic raw WebSocket preset (L16 24 kHz) replays
 * through the adapter of the same carrier with no check failing, and through Twilio's as n/a; so
 * do a SIP call carried over a WebSocket (its INVITE and BYE as text, RTP packets as binary) and a
 * SignalWire call (Twilio's JSON with L16 payloads).
 * In-process (`replayAndCheck`), not through the CLI.
 */
import { parseTrace, replayAndCheck, traceExpect, type CheckedReplay } from '@switchboard/conformance';
import { SipRealtimeTransport } from '@switchboard/sip';
import { conformance as sip } from '@switchboard/sip/testing';
import { SignalWireRealtimeTransport } from '@switchboard/twilio';
import { conformance as twilio, signalwireConformance as signalwire } from '@switchboard/twilio/testing';
import { VonageRealtimeTransport } from '@switchboard/vonage';
import { conformance as vonage } from '@switchboard/vonage/testing';
import { RawWebSocketRealtimeTransport } from '@switchboard/websocket';
import { conformance as websocketAdapters } from '@switchboard/websocket/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConformanceAdapter } from '../src/protocol.js';
import { recordCall, removeRecordings } from './helpers/recording.js';

afterAll(removeRecordings);

const failures = (checked: CheckedReplay) =>
  checked.outcomes.filter((o) => o.outcome.status === 'fail').map((o) => `${o.check.id}: ${o.outcome.detail}`);
const statuses = (checked: CheckedReplay) =>
  Object.fromEntries(checked.outcomes.map((o) => [o.check.id, o.outcome.status]));

async function recordAndReplay(
  name: string,
  adapter: ConformanceAdapter,
  withRecording: Parameters<typeof recordCall>[2],
) {
  const { file, text, original } = await recordCall(name, adapter, withRecording);
  const recorded = parseTrace(text, file);
  const [own, other] = await Promise.all([replayAndCheck(adapter, recorded), replayAndCheck(twilio, recorded)]);
  return { recorded, original, own, other };
}

describe('a recording of a binary carrier', () => {
  it('of a Vonage call (L16 16 kHz) replays frame for frame through the Vonage adapter and is n/a through Twilio', async () => {
    const { recorded, original, own, other } = await recordAndReplay(
      'recorded-vonage',
      vonage,
      (record) =>
        ({ connection, url, now, clock }) =>
          new VonageRealtimeTransport({
            vonageWebSocket: connection,
            url,
            now,
            clock,
            format: vonage.carrierFormat!,
            record,
          }),
    );
    expect(recorded.header.carrier).toBe('vonage');
    expect(recorded.lines!.some((l) => 'binary' in l)).toBe(true);
    // The facts come from the binary frames, read by Vonage's protocol.
    const facts = traceExpect(recorded, { protocol: vonage.createProtocol!() });
    expect(facts.starts?.[0]?.format).toEqual({ encoding: 'l16', sampleRate: 16000, channels: 1 });
    expect(facts.dtmf).toEqual(traceExpect(original).dtmf);
    expect(facts.inboundMediaBytes).toBeGreaterThan(0);
    expect(facts.utterances.length).toBe(traceExpect(original).utterances.length);

    expect(own.result.notReplayed).toBeUndefined();
    expect(failures(own)).toEqual([]);
    expect(statuses(own)).toMatchObject({ 'input.lossless': 'pass', 'dtmf.order': 'pass', 'lifecycle.close': 'pass' });
    expect(own.result.carrier.framesSent).toBe(
      recorded.lines!.filter((l) => 'frame' in l || 'binary' in l || 'text' in l).length,
    );

    expect(other.result.notReplayed).toBe('a vonage trace');
    expect(other.outcomes.map((o) => o.outcome)).toEqual(
      other.outcomes.map(() => ({ status: 'n/a', detail: 'a vonage trace' })),
    );
  }, 120_000);

  it('of a generic raw WebSocket call (L16 24 kHz) replays frame for frame through that preset and is n/a through Twilio', async () => {
    const generic = websocketAdapters.find((a) => a.name === 'websocket/generic')!;
    const { recorded, own, other } = await recordAndReplay(
      'recorded-generic',
      generic,
      (record) =>
        ({ connection, url, now, clock }) =>
          new RawWebSocketRealtimeTransport({
            websocket: connection,
            preset: { preset: 'generic', format: generic.carrierFormat! },
            url,
            now,
            clock,
            record,
          }),
    );
    expect(recorded.header.carrier).toBe('generic');
    expect(recorded.lines!.some((l) => 'binary' in l)).toBe(true);

    expect(own.result.notReplayed).toBeUndefined();
    expect(failures(own)).toEqual([]);
    expect(statuses(own)).toMatchObject({ 'input.lossless': 'pass', 'dtmf.order': 'pass' });

    expect(other.result.notReplayed).toBe('a generic trace');
    expect(other.outcomes.every((o) => o.outcome.status === 'n/a')).toBe(true);
  }, 120_000);

  it('of an Asterisk (μ-law, JSON control) and a jambonz call (L16 8 kHz) replays frame for frame through that preset', async () => {
    const replays = (['asterisk', 'jambonz'] as const).map(async (preset) => {
      const adapter = websocketAdapters.find((a) => a.name === `websocket/${preset}`)!;
      const { recorded, own, other } = await recordAndReplay(
        `recorded-${preset}`,
        adapter,
        (record) =>
          ({ connection, url, now, clock }) =>
            new RawWebSocketRealtimeTransport({
              websocket: connection,
              preset: { preset, format: adapter.carrierFormat! },
              url,
              now,
              clock,
              record,
            }),
      );
      return {
        preset,
        carrier: recorded.header.carrier,
        notReplayed: own.result.notReplayed,
        failures: failures(own),
        lossless: statuses(own)['input.lossless'],
        other: other.result.notReplayed,
      };
    });
    expect(await Promise.all(replays)).toEqual([
      {
        preset: 'asterisk',
        carrier: 'asterisk',
        notReplayed: undefined,
        failures: [],
        lossless: 'pass',
        other: 'a asterisk trace',
      },
      {
        preset: 'jambonz',
        carrier: 'jambonz',
        notReplayed: undefined,
        failures: [],
        lossless: 'pass',
        other: 'a jambonz trace',
      },
    ]);
  }, 120_000);

  it('of a SIP call over a WebSocket (INVITE as text, RTP as binary) replays frame for frame through the SIP adapter', async () => {
    const { recorded, original, own, other } = await recordAndReplay(
      'recorded-sip',
      sip,
      (record) =>
        ({ connection, url, now, clock }) =>
          new SipRealtimeTransport({ connection, url, now, clock, record }),
    );
    expect(recorded.header.carrier).toBe('sip');
    // The phone numbers are redacted, but the INVITE stays a SIP request: its URIs keep their syntax.
    const invite = recorded.lines!.find(
      (l): l is { t: number; text: string } => 'text' in l && l.text.startsWith('INVITE '),
    )!;
    expect(invite.text).toMatch(/^INVITE sip:\S+ SIP\/2\.0\r\n/);
    expect(invite.text).not.toContain('sip:bridge@127.0.0.1');
    // The caller's audio is masked, its telephone events are not: the digits are the caller's.
    const facts = traceExpect(recorded, { protocol: sip.createProtocol!() });
    expect(facts.dtmf).toEqual(traceExpect(original).dtmf);
    expect(facts.starts?.filter((s) => !s.synthesized)).toHaveLength(1);

    expect(own.result.notReplayed).toBeUndefined();
    expect(failures(own)).toEqual([]);
    expect(statuses(own)).toMatchObject({
      'input.lossless': 'pass',
      'dtmf.order': 'pass',
      'metadata.first': 'pass',
      'lifecycle.close': 'pass',
    });
    expect(other.result.notReplayed).toBe('a sip trace');
    // The malformed frames go out a quarter into the call, counted in all its lines, binary ones included: after the
    // INVITE.
    const wire = own.result.carrier.wire;
    const inviteAt = wire.findIndex(
      (w) => w.dir === 'sent' && typeof w.data === 'string' && w.data.startsWith('INVITE '),
    );
    const malformedAt = wire.findIndex((w) => w.data === own.result.carrier.malformed[0]?.frame);
    const inbound = recorded.lines!.filter((l) => 'frame' in l || 'binary' in l || 'text' in l).length;
    expect(inviteAt).toBe(0);
    expect(wire.slice(0, malformedAt).filter((w) => w.dir === 'sent').length).toBe(Math.floor(inbound / 4));
  }, 120_000);

  it('of a SignalWire call (L16 16 kHz in JSON) replays frame for frame through the SignalWire adapter', async () => {
    const { recorded, own, other } = await recordAndReplay(
      'recorded-signalwire',
      signalwire,
      (record) =>
        ({ connection, url, now, clock }) =>
          new SignalWireRealtimeTransport({ signalwireWebSocket: connection, url, now, clock, record }),
    );
    expect(recorded.header.carrier).toBe('signalwire');
    expect(traceExpect(recorded, { protocol: signalwire.createProtocol!() }).starts?.[0]?.format).toEqual({
      encoding: 'l16',
      sampleRate: 16000,
      channels: 1,
    });
    expect(own.result.notReplayed).toBeUndefined();
    expect(failures(own)).toEqual([]);
    expect(statuses(own)).toMatchObject({ 'input.lossless': 'pass', 'dtmf.order': 'pass', 'metadata.first': 'pass' });
    expect(other.result.notReplayed).toBe('a signalwire trace');
  }, 120_000);
});
