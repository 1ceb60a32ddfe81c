import { createConformanceAdapter } from '@switchboard/cloudflare/testing';
import { describeConformance } from '@switchboard/conformance/vitest';

// The other way to build a Worker: wrangler's default conditions pick the Agents SDK's `workerd`
// build, which needs the nodejs_compat flag. Two traces (a barge-in, DTMF) show that path works too.
describeConformance(createConformanceAdapter({ nodeCompat: true }), { only: ['marks-after-clear', 'dtmf'] });
