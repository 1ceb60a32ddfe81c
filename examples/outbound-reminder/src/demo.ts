/**
 * The appointment reminder on simulated calls: no API key, no network, no phone.
 *
 *   pnpm example:reminder              (from the repository root) a person answers, then a machine
 *   pnpm example:reminder -- --human   only the person
 *   pnpm example:reminder -- --machine only the answering machine
 *   pnpm example:reminder -- --speed 4 four times faster than real time
 */
import process from 'node:process';
import { runReminder, type Answerer } from './run.js';

function usage(): never {
  console.error('usage: demo [--human | --machine] [--speed N]');
  process.exit(2);
}

function parseArgs(argv: string[]): { cases: Answerer[]; speed: number } {
  const cases: Answerer[] = [];
  let speed = 1;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    else if (arg === '--human' || arg === '--person') cases.push('person');
    else if (arg === '--machine') cases.push('machine');
    else if (arg === '--speed' || arg.startsWith('--speed=')) {
      speed = Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
      if (!Number.isFinite(speed) || speed <= 0 || speed > 20) usage();
    } else usage();
  }
  return { cases: cases.length > 0 ? cases : ['person', 'machine'], speed };
}

/** mm:ss.s */
function clock(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  return `${String(Math.floor(tenths / 600)).padStart(2, '0')}:${((tenths % 600) / 10).toFixed(1).padStart(4, '0')}`;
}

async function main(): Promise<number> {
  const { cases, speed } = parseArgs(process.argv.slice(2));
  let failed = 0;
  for (const answeredBy of cases) {
    console.log('');
    console.log(
      `=== Reminder call answered by ${answeredBy === 'person' ? 'a person' : 'an answering machine'} (speed ${speed}x) ===`,
    );
    const run = await runReminder({ answeredBy, speed, print: (line, at) => console.log(`[${clock(at)}] ${line}`) });
    const { call } = run;
    console.log('');
    console.log(
      `Detection:   ${call.detection ? `${call.detection.carrierResult} (${call.detection.answeredBy})` : 'none'}`,
    );
    console.log(`Agent said:  ${call.said.map((s) => `"${s}"`).join('\n             ') || '(nothing)'}`);
    console.log(
      `Heard:       ${Math.round(run.heardMs)} ms of the agent, ${Math.round(run.cutMs)} ms cut; the last of it played at ${run.lastHeardAt === undefined ? '-' : clock(run.lastHeardAt)}`,
    );
    console.log(
      `Hang-up:     ${run.hangUpAt === undefined ? 'not through the REST API' : `Status=completed at ${clock(run.hangUpAt)}`}; call_end ${call.end?.reason}`,
    );
    console.log(
      `REST calls:  ${run.requests.map((r) => `${r.method} ${r.path.replace(/^.*\/Accounts\/AC\w+/, '')}${r.params['Status'] ? ` Status=${r.params['Status']}` : ''}`).join(', ')}`,
    );
    const heardAll =
      run.hangUpAt !== undefined && run.lastHeardAt !== undefined && run.lastHeardAt <= run.hangUpAt && run.cutMs === 0;
    const expected = answeredBy === 'person' ? 'human' : 'machine';
    if (!heardAll || call.detection?.answeredBy !== expected) {
      failed++;
      console.log('FAILED: the call did not go as expected');
    } else console.log('OK: the callee heard everything the agent said before the agent hung up');
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
