/**
 * The ModelOps REST API as seen from the browser.
 *
 * Every call goes through Jupyter's `ServerConnection`, so the notebook server's token,
 * XSRF cookie and base URL apply: the sidebar never holds a credential of its own.
 * Two sources answer the same API: the notebook server's own store (`local`) and the
 * team's shared registry, reached through the server's authenticated proxy (`registry`),
 * which adds the registry token server-side.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { decodeValue } from './wire';

export type Source = 'local' | 'registry';

const PREFIX: Record<Source, string> = {
  local: 'modelops/api/v1',
  registry: 'modelops/registry/api/v1'
};

/** An error answered by the API: its `type` (e.g. `Forbidden`) and one-line message. */
export class ModelOpsAPIError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details: Record<string, unknown> = {}
  ) {
    super(message);
  }
}

export type Query = Record<
  string,
  string | number | boolean | undefined | null | Array<string | number>
>;

function encodeQuery(query: Query | undefined): string {
  if (!query) {
    return '';
  }
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A client for one source; cheap to create, holds no state but the settings. */
export class ModelOpsAPI {
  constructor(
    readonly source: Source = 'local',
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** The same API on the other source (the shared registry, or back to local). */
  on(source: Source): ModelOpsAPI {
    return source === this.source ? this : new ModelOpsAPI(source, this.settings);
  }

  /** `GET`/`POST`/... a path under the API prefix, e.g. `/runs`; JSON in, JSON out. */
  async request<T = any>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown } = {}
  ): Promise<T> {
    const url =
      URLExt.join(this.settings.baseUrl, PREFIX[this.source], path) +
      encodeQuery(options.query);
    const init: RequestInit = { method };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ModelOpsAPIError(0, 'NetworkError', `cannot reach the server: ${error}`);
    }
    const text = await response.text();
    let data: any = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      const err = data && typeof data === 'object' ? data.error : undefined;
      throw new ModelOpsAPIError(
        response.status,
        err?.type ?? 'HTTPError',
        err?.message ?? `${response.status} ${response.statusText}`,
        err?.details ?? {}
      );
    }
    return data as T;
  }

  get<T = any>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** A capability operation (`POST /ops/<op>` with keyword arguments): its result as
   * plain JSON. */
  async op<T = any>(name: string, kwargs: Record<string, unknown> = {}): Promise<T> {
    const answer = await this.request<{ result: unknown }>('POST', `/ops/${name}`, {
      body: kwargs
    });
    return decodeValue(answer?.result) as T;
  }
}
