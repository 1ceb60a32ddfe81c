/**
 * The official `twilio` library's RequestClient pointed at a local server: every request the
 * library makes for `https://api.twilio.com/...` (or any Twilio host) goes to `origin` instead,
 * through the documented `httpClient` client option.
 */
import twilio from 'twilio';

type RequestOptions<TData> = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0] & { data?: TData };

/** The library's RequestClient, sending every request to `origin` instead of Twilio's hosts. */
export class LocalRequestClient extends twilio.RequestClient {
  constructor(private readonly origin: string) {
    super();
  }

  override request<TData>(opts: RequestOptions<TData>) {
    const target = new URL(opts.uri);
    return super.request<TData>({ ...opts, uri: `${this.origin}${target.pathname}${target.search}` });
  }
}
