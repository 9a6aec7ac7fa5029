/**
 * The API as the registry views call it.
 *
 * JupyterLab's default server settings use `cache: 'no-store'`, for which
 * `ServerConnection` appends a `?<timestamp>` cache buster to every URL; the ModelOps
 * API refuses unknown query parameters (400). `noBuster` returns the same API with
 * `cache: 'no-cache'` (the browser still revalidates every answer), made once per API.
 */
import { ModelOpsAPI } from '../api';

const clones = new WeakMap<ModelOpsAPI, ModelOpsAPI>();

export function noBuster(api: ModelOpsAPI): ModelOpsAPI {
  if (api.settings.init?.cache !== 'no-store') {
    return api;
  }
  let clone = clones.get(api);
  if (!clone) {
    clone = new ModelOpsAPI(api.source, {
      ...api.settings,
      init: { ...api.settings.init, cache: 'no-cache' }
    });
    clones.set(api, clone);
  }
  return clone;
}
