import { describeConformance } from '@switchboard/conformance/vitest';
import { azureConformanceAdapter } from '../src/conformance.js';

// Two traces through ACS's other shape: a 24 kHz stream (pcm24KMono, the model's own rate, passed
// through untouched) whose silent frames come without their samples (`silent: true`, empty
// `data`). The bridge must read each as 20 ms of silence: the gaps of timestamp-gap are sent as
// such frames, and input.lossless holds only if every one of them reaches the model.
describeConformance(
  azureConformanceAdapter({ name: 'azure-24k-empty-silence', sampleRate: 24000, silentFrames: 'empty' }),
  {
    only: ['timestamp-gap', 'barge-in'],
  },
);
