/**
 * The voice agent of the example: a greeter with a weather tool, a tool that needs approval,
 * and (against the real API only) the hosted DeepWiki MCP server.
 */
import { hostedMcpTool } from '@openai/agents';
import { RealtimeAgent, backgroundResult, tool } from '@openai/agents/realtime';
import { z } from 'zod';

/** Answers straight away, as a background result: the model uses it on its next turn. */
export const weatherTool = tool({
  name: 'weather',
  description: 'Get the weather in a given location.',
  parameters: z.object({ location: z.string() }),
  execute: async ({ location }) => backgroundResult(`The weather in ${location} is sunny.`),
});

/** Runs only after the server approves the call (see `tool_approval_requested` in server.ts). */
export const secretTool = tool({
  name: 'secret',
  description: 'A secret tool to tell the special number.',
  parameters: z.object({
    question: z.string().describe('The question to ask the secret tool; mainly about the special number.'),
  }),
  execute: async ({ question }) => `The answer to ${question} is 42.`,
  needsApproval: true,
});

export type AgentOptions = {
  /**
   * Add the hosted DeepWiki MCP tool. The OpenAI Realtime API connects to MCP servers itself;
   * the offline realtime simulator cannot, so the server enables this only when it talks to
   * the real API (no `realtimeUrl`).
   */
  hostedMcp: boolean;
};

export function createAgent(options: AgentOptions): RealtimeAgent {
  return new RealtimeAgent({
    name: 'Greeter',
    instructions: 'You are a friendly assistant. When you use a tool always first say what you are about to do.',
    tools: [
      ...(options.hostedMcp
        ? [hostedMcpTool({ serverLabel: 'deepwiki', serverUrl: 'https://mcp.deepwiki.com/sse' })]
        : []),
      secretTool,
      weatherTool,
    ],
  });
}
