/**
 * Capability operations answer `{result: value}` where Python values that JSON cannot say
 * plainly are tagged (`$record`, `$tuple`, `$float`, ...). The export dialog only needs
 * plain data, so records become their fields, tuples become arrays, special floats become
 * numbers. Bytes and frames stay tagged: nothing here renders them.
 */
export function fromWire(value: unknown): any {
  if (Array.isArray(value)) {
    return value.map(fromWire);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length >= 1 && keys[0].startsWith('$')) {
    const body = obj[keys[0]];
    switch (keys[0]) {
      case '$record':
        if (obj.fields && typeof obj.fields === 'object') {
          return fromWire(obj.fields);
        }
        break;
      case '$tuple':
        if (keys.length === 1 && Array.isArray(body)) {
          return body.map(fromWire);
        }
        break;
      case '$float':
        if (keys.length === 1 && typeof body === 'string') {
          return body === 'NaN' ? NaN : body === '-Infinity' ? -Infinity : Infinity;
        }
        break;
      case '$dict':
        if (keys.length === 1 && body && typeof body === 'object') {
          return plainObject(body as Record<string, unknown>);
        }
        break;
      case '$items':
        if (keys.length === 1 && Array.isArray(body)) {
          const out: Record<string, unknown> = {};
          for (const pair of body) {
            if (Array.isArray(pair) && pair.length === 2) {
              out[String(fromWire(pair[0]))] = fromWire(pair[1]);
            }
          }
          return out;
        }
        break;
    }
  }
  return plainObject(obj);
}

function plainObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] = fromWire(v);
  }
  return out;
}

/** The value of an op's answer, whether or not the client already unwrapped `result`. */
export function opResult<T>(answer: unknown): T {
  if (
    answer &&
    typeof answer === 'object' &&
    !Array.isArray(answer) &&
    Object.keys(answer).length === 1 &&
    'result' in (answer as Record<string, unknown>)
  ) {
    return fromWire((answer as Record<string, unknown>).result) as T;
  }
  return fromWire(answer) as T;
}
