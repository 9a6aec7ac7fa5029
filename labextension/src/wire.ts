/**
 * Capability operations (`POST /ops/<op>`) answer `{result}` with typed values: records
 * as `{$record, fields}`, tuples, non-finite floats... The sidebar wants plain JSON, so
 * `ModelOpsAPI.op` decodes every answer once, here.
 */

/** Plain JSON from the server's tagged values (records become their fields). */
export function decodeValue(value: unknown): any {
  if (Array.isArray(value)) {
    return value.map(decodeValue);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if ('$record' in obj && obj.fields && typeof obj.fields === 'object') {
    return decodeValue(obj.fields);
  }
  if (keys.length === 1) {
    const body = obj[keys[0]];
    switch (keys[0]) {
      case '$float':
        return Number(body); // NaN, Infinity, -Infinity
      case '$tuple':
        return decodeValue(body);
      case '$dict':
        return decodeValue(body);
      case '$items':
        return Array.isArray(body)
          ? Object.fromEntries(
              body.map(pair => [String(decodeValue(pair[0])), decodeValue(pair[1])])
            )
          : {};
      case '$bytes':
        return body; // base64 text; nothing in the sidebar shows bytes
      default:
        break;
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    out[key] = decodeValue(obj[key]);
  }
  return out;
}
