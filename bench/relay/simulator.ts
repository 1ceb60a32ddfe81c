/** The realtime simulator process of the relay benchmark. */
import { RealtimeSimulator, type SimulatedSession } from '@switchboard/conformance';
import { base64Encode } from '@switchboard/core';
import { payloadKey, wallNow, type SimulatorCallReport } from './shared.js';

const speed = Number(process.argv[2] ?? 1);
const simulator = new RealtimeSimulator({ speed });
const sessions: Array<{ session: SimulatedSession; base: number; call: string }> = [];
simulator.on('session', (session) => {
  const call = new URL(session.connection.url, 'http://x').searchParams.get('call') ?? String(sessions.length);
  sessions.push({ session, base: wallNow() - session.now(), call });
});
const { url } = await simulator.start();
process.send!({ type: 'ready', url });

process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    sessions.length = 0;
    process.send!({ type: 'reset-done' });
    return;
  }
  if (message.type !== 'report') return;
  const calls: SimulatorCallReport[] = sessions.map(({ session, base, call }) => ({
    call,
    appends: session.inputAudio.map((bytes, i) => [
      payloadKey(base64Encode(bytes)),
      base + session.inputAudioReceivedAt[i]!,
    ]),
    inputBytes: session.inputAudio.reduce((n, b) => n + b.byteLength, 0),
    responses: session.responses.map((r) => ({
      itemId: r.itemId,
      status: r.status,
      audioBytesSent: r.audioBytesSent,
      firstAudioAt: r.firstAudioAt == null ? null : base + r.firstAudioAt,
    })),
    truncations: session.truncations.map((t) => ({
      itemId: t.itemId,
      audioEndMs: t.audioEndMs,
      at: base + t.at,
      accepted: t.accepted,
    })),
    violations: session.violations.length,
  }));
  process.send!({ type: 'report', calls }, () => undefined);
});
process.on('disconnect', () => {
  void simulator.stop().then(() => process.exit(0));
});
