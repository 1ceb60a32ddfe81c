import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeConformance } from '@switchboard/conformance/vitest';
import { fuzzSeedFrames, protocolCandidateCases, runFuzz } from '@switchboard/conformance/testing';
import { AcmePeerSimulator, AcmeProtocol, acmeCandidate, conformance } from './fixtures/guide-adapter.js';

// The worked example of ADAPTERS.md, compiled and tested: the guide's code block is the fixture,
// character for character, and the adapter passes the conformance checks it can be judged by.

describe('the adapter guide', () => {
  it("shows the fixture's code as its worked example", () => {
    const guide = readFileSync(new URL('../ADAPTERS.md', import.meta.url), 'utf8');
    const fixture = readFileSync(new URL('./fixtures/guide-adapter.ts', import.meta.url), 'utf8');
    const block = /```ts\n(\/\/ acme\.ts:[\s\S]*?)```/.exec(guide)?.[1];
    expect(block, 'ADAPTERS.md has a ```ts block that starts with "// acme.ts:"').toBeDefined();
    expect(block).toBe(fixture);
  });

  it.each(protocolCandidateCases(acmeCandidate, { peer: new AcmePeerSimulator(), streamIdField: 'stream' }))(
    'candidate: %s',
    (_title, check) => check(),
  );

  it('decodes any frame into events or a ProtocolError', () => {
    const report = runFuzz(
      { name: 'acme', seeds: fuzzSeedFrames(new AcmePeerSimulator()), create: () => new AcmeProtocol() },
      { frames: 2000, seed: 1 },
    );
    expect(report.failures).toEqual([]);
  });
});

// Two short traces: a plain call, and one with DTMF, which Acme's stream does not carry
// (`dtmf.order` is skipped: n/a, the adapter declares dtmfIn: false).
describeConformance(conformance, { only: ['two-turn', 'dtmf'] });
