import { conformance } from '@switchboard/cloudflare/testing';
import { describeConformance } from '@switchboard/conformance/vitest';

// The Worker deployment path (handleMediaUpgrade in workerd, the bare runtime: no nodejs_compat)
// against every trace of the bundled corpus, every check.
describeConformance(conformance);
