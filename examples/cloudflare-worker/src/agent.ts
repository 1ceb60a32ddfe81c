import { RealtimeAgent, tool } from '@openai/agents-realtime';
import { z } from 'zod';

/** The phone agent: short answers, one tool. */
export function createAgent(): RealtimeAgent {
  return new RealtimeAgent({
    name: 'Phone agent',
    instructions: 'You answer the phone for a small weather service. Keep answers short and friendly.',
    tools: [
      tool({
        name: 'weather',
        description: 'The weather in a city.',
        parameters: z.object({ location: z.string() }),
        execute: async ({ location }) => `The weather in ${location} is sunny, 22 degrees.`,
      }),
    ],
  });
}
