/**
 * The warm transfer on a simulated call: no API key, no network, no phone.
 *
 *   pnpm example:warm-transfer              (from the repository root)
 *   pnpm example:warm-transfer -- --speed 4 four times faster than real time
 *   pnpm example:warm-transfer -- --no-answer  nobody takes the call: the caller is brought back
 */
import process from 'node:process';
import { runWarmTransfer } from './run.js';

function usage(): never {
  console.error('usage: demo [--speed N] [--no-answer]');
  process.exit(2);
}

/** mm:ss.s */
function clock(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  return `${String(Math.floor(tenths / 600)).padStart(2, '0')}:${((tenths % 600) / 10).toFixed(1).padStart(4, '0')}`;
}

async function main(): Promise<number> {
  let speed = 1;
  let answered = true;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    else if (arg === '--no-answer') answered = false;
    else if (arg === '--speed' || arg.startsWith('--speed=')) {
      speed = Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
      if (!Number.isFinite(speed) || speed <= 0 || speed > 20) usage();
    } else usage();
  }
  console.log(`=== A caller asks for a person: warm transfer to the billing team (speed ${speed}x) ===`);
  const run = await runWarmTransfer({ speed, answered, print: (line, at) => console.log(`[${clock(at)}] ${line}`) });
  console.log('');
  console.log(`Agent said:   ${run.call?.said.map((s) => `"${s}"`).join('\n              ') || '(nothing)'}`);
  console.log(
    `Heard:        ${Math.round(run.heardMs)} ms of the agent, ${Math.round(run.cutMs)} ms cut; the last of it played at ${run.lastHeardAt === undefined ? '-' : clock(run.lastHeardAt)}, the call was moved at ${run.movedAt === undefined ? '-' : clock(run.movedAt)}`,
  );
  console.log(`Conference:   ${run.conference.join(', ') || '(none)'}`);
  console.log(`Transfer:     ${run.call?.transfer.map((u) => u.outcome).join(' → ') || '(no callbacks)'}`);
  console.log(
    `REST calls:   ${run.requests.map((r) => `${r.method} ${r.path.replace(/^.*\/Accounts\/AC\w+/, '')}`).join(', ')}`,
  );
  const outcomes = run.call?.transfer.map((u) => u.outcome) ?? [];
  const heardAll = run.movedAt !== undefined && run.lastHeardAt !== undefined && run.lastHeardAt <= run.movedAt;
  const ok = heardAll && run.cutMs === 0 && outcomes.includes(answered ? 'joined' : 'returned');
  console.log(
    ok
      ? answered
        ? 'OK: the caller heard "please hold" in full, waited on hold, and was joined with the billing team'
        : 'OK: nobody took the call, and the caller was brought back'
      : 'FAILED: the transfer did not go as expected',
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
