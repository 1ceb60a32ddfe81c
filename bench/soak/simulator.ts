/**
 * The realtime simulator process of the soak. It answers every call in real time and forgets each
 * session once it closes (keeping only counts), so that a long run holds only the live calls.
 */
import { RealtimeSimulator, type SimulatedSession } from '@switchboard/conformance';
import type { SimulatorTotals } from './common.js';

const simulator = new RealtimeSimulator({ speed: 1 });
const totals: SimulatorTotals = {
  sessions: 0,
  violations: 0,
  responses: 0,
  cancels: 0,
  truncations: 0,
  errorsSent: 0,
  open: 0,
};

function forget(session: SimulatedSession): void {
  totals.violations += session.violations.length;
  totals.responses += session.responses.length;
  totals.cancels += session.cancels.length;
  totals.truncations += session.truncations.length;
  totals.errorsSent += session.errors.length;
  const at = simulator.sessions.indexOf(session);
  if (at >= 0) simulator.sessions.splice(at, 1);
}

simulator.on('session', (session) => {
  totals.sessions++;
  void session.closed.then(() => forget(session));
});
const { url } = await simulator.start();
process.send!({ type: 'ready', url });

process.on('message', (message: { type: string }) => {
  if (message.type !== 'report') return;
  totals.open = simulator.sessions.length;
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  process.send!(
    { type: 'report', totals: { ...totals }, rssBytes: memory.rss, cpuMs: (cpu.user + cpu.system) / 1000 },
    () => undefined,
  );
});
process.on('disconnect', () => {
  void simulator.stop().then(() => process.exit(0));
});
