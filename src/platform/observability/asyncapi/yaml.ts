/**
 * A small, deterministic YAML writer for JSON data (objects, arrays, strings, numbers, booleans,
 * null). Strings that could read as anything but a string are written JSON-quoted, which YAML accepts.
 */
export function toYaml(value: unknown): string {
  return `${lines(value, 0).join('\n')}\n`;
}

const PLAIN = /^[A-Za-z_$#/][A-Za-z0-9 _.,()$#/'<>+-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  const plain = PLAIN.test(text) && !RESERVED.test(text) && !/[:#]\s|\s$|:$/.test(text) && !text.startsWith('#');
  return plain ? text : JSON.stringify(text);
}

const key = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_.$/-]*$/.test(k) ? k : JSON.stringify(k));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEmpty = (v: unknown) => (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0);

function lines(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if ((isObject(item) || Array.isArray(item)) && !isEmpty(item)) {
        const [first, ...rest] = lines(item, indent + 2);
        return [`${pad}- ${first.trimStart()}`, ...rest];
      }
      return [`${pad}- ${isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}`];
    });
  }
  if (isObject(value)) {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .flatMap(([k, v]) => {
        if (isEmpty(v)) return [`${pad}${key(k)}: ${Array.isArray(v) ? '[]' : '{}'}`];
        if (isObject(v) || Array.isArray(v)) return [`${pad}${key(k)}:`, ...lines(v, indent + 2)];
        return [`${pad}${key(k)}: ${scalar(v)}`];
      });
  }
  return [`${pad}${scalar(value)}`];
}
