/**
 * The `telnyx` SDK and our `TelnyxCallControl`, both pointed at a test file's capture server, and
 * their requests compared as Telnyx reads them.
 */
import Telnyx from 'telnyx';
import { TelnyxCallControl } from '@switchboard/telnyx';
import { apiView, sdkThenOurs, type CapturedRequest, type HttpCapture } from './http-capture.js';

export const TELNYX_API_KEY = 'KEY0123456789ABCDEF_interop';

/** What Telnyx reads from a request: what any carrier's API reads, and Accept. */
export function telnyxWire(request: CapturedRequest) {
  return { ...apiView(request), accept: request.headers['accept'] };
}

export type TelnyxClients = {
  readonly sdk: Telnyx;
  readonly ours: TelnyxCallControl;
  /** Runs the SDK's request, then ours, and returns both as Telnyx reads them. */
  both(
    viaSdk: () => Promise<unknown>,
    viaOurs: () => Promise<unknown>,
  ): Promise<{ sdk: ReturnType<typeof telnyxWire>; ours: ReturnType<typeof telnyxWire> }>;
};

/** Makes both clients once `server` runs (register after `useHttpCapture`). */
export function useTelnyxClients(hooks: { beforeAll(fn: () => void): void }, server: HttpCapture): TelnyxClients {
  let sdk: Telnyx | undefined;
  let ours: TelnyxCallControl | undefined;
  hooks.beforeAll(() => {
    // The SDK's base URL includes the API version; ours is the origin (it writes /v2 itself).
    sdk = new Telnyx({ apiKey: TELNYX_API_KEY, baseURL: `${server.url}/v2`, maxRetries: 0 });
    ours = new TelnyxCallControl({ apiKey: TELNYX_API_KEY, baseUrl: server.url });
  });
  const ready = <T>(client: T | undefined): T => {
    if (!client) throw new Error('useTelnyxClients: the clients exist only while the file’s tests run');
    return client;
  };
  return {
    get sdk() {
      return ready(sdk);
    },
    get ours() {
      return ready(ours);
    },
    async both(viaSdk, viaOurs) {
      const [theirs, mine] = await sdkThenOurs(server, viaSdk, viaOurs);
      return { sdk: telnyxWire(theirs), ours: telnyxWire(mine) };
    },
  };
}
