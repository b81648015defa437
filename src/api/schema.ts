// A small structural schema and a strict decoder: unknown fields, wrong types and bad values are
// reported with their field path (`spec.containers[0].ports[1].containerPort`), all at once, like the
// Kubernetes API server's strict field validation.

export type Schema =
  | { t: 'string'; enum?: readonly string[]; check?: (v: string) => string | undefined }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'number' }
  | { t: 'bool' }
  | { t: 'intOrString'; check?: (v: number | string) => string | undefined }
  | { t: 'stringMap'; checkKey?: (k: string) => string | undefined; checkValue?: (v: string) => string | undefined }
  | { t: 'any' }
  | { t: 'array'; of: Schema }
  | { t: 'object'; fields: Record<string, Schema>; required?: readonly string[]; open?: boolean };

export interface FieldError {
  path: string;
  message: string;
}

export const S = {
  str: (check?: (v: string) => string | undefined): Schema => ({ t: 'string', check }),
  oneOf: (...values: string[]): Schema => ({ t: 'string', enum: values }),
  int: (min?: number, max?: number): Schema => ({ t: 'int', min, max }),
  num: (): Schema => ({ t: 'number' }),
  bool: (): Schema => ({ t: 'bool' }),
  intOrStr: (check?: (v: number | string) => string | undefined): Schema => ({ t: 'intOrString', check }),
  map: (checkKey?: (k: string) => string | undefined, checkValue?: (v: string) => string | undefined): Schema => ({
    t: 'stringMap',
    checkKey,
    checkValue,
  }),
  any: (): Schema => ({ t: 'any' }),
  arr: (of: Schema): Schema => ({ t: 'array', of }),
  obj: (fields: Record<string, Schema>, required: string[] = []): Schema => ({ t: 'object', fields, required }),
  /** An object whose own fields are checked but which may carry others (status written by the server). */
  open: (fields: Record<string, Schema>): Schema => ({ t: 'object', fields, open: true }),
};

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export function validate(value: unknown, schema: Schema, path: string, errors: FieldError[] = []): FieldError[] {
  const fail = (message: string) => errors.push({ path, message });
  if (value === undefined || value === null) return errors; // optional unless listed as required
  switch (schema.t) {
    case 'any':
      return errors;
    case 'string': {
      if (typeof value !== 'string') return fail(`expected a string, got ${typeName(value)}`), errors;
      if (schema.enum && !schema.enum.includes(value)) {
        fail(`unsupported value ${JSON.stringify(value)}: supported values ${schema.enum.map((e) => `"${e}"`).join(', ')}`);
      }
      const msg = schema.check?.(value);
      if (msg) fail(msg);
      return errors;
    }
    case 'int':
    case 'number': {
      if (typeof value !== 'number' || Number.isNaN(value)) return fail(`expected a number, got ${typeName(value)}`), errors;
      if (schema.t === 'int') {
        if (!Number.isInteger(value)) return fail(`expected an integer, got ${value}`), errors;
        if (schema.min !== undefined && value < schema.min) fail(`${value} is out of range: must be >= ${schema.min}`);
        else if (schema.max !== undefined && value > schema.max) fail(`${value} is out of range: must be <= ${schema.max}`);
      }
      return errors;
    }
    case 'bool':
      if (typeof value !== 'boolean') fail(`expected true or false, got ${typeName(value)}`);
      return errors;
    case 'intOrString': {
      if (typeof value !== 'number' && typeof value !== 'string') return fail(`expected a number or a string, got ${typeName(value)}`), errors;
      const msg = schema.check?.(value);
      if (msg) fail(msg);
      return errors;
    }
    case 'stringMap': {
      if (typeName(value) !== 'object') return fail(`expected a map, got ${typeName(value)}`), errors;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const p = `${path}[${JSON.stringify(k)}]`;
        if (typeof v !== 'string') errors.push({ path: p, message: `expected a string value, got ${typeName(v)} (quote it in YAML)` });
        const km = schema.checkKey?.(k);
        if (km) errors.push({ path: p, message: km });
        if (typeof v === 'string') {
          const vm = schema.checkValue?.(v);
          if (vm) errors.push({ path: p, message: vm });
        }
      }
      return errors;
    }
    case 'array': {
      if (!Array.isArray(value)) return fail(`expected a list, got ${typeName(value)}`), errors;
      value.forEach((item, i) => {
        if (item === null || item === undefined) errors.push({ path: `${path}[${i}]`, message: 'empty list item' });
        else validate(item, schema.of, `${path}[${i}]`, errors);
      });
      return errors;
    }
    case 'object': {
      if (typeName(value) !== 'object') return fail(`expected an object, got ${typeName(value)}`), errors;
      const obj = value as Record<string, unknown>;
      for (const req of schema.required ?? []) {
        if (obj[req] === undefined || obj[req] === null || obj[req] === '') {
          errors.push({ path: join(path, req), message: 'Required value' });
        }
      }
      for (const [k, v] of Object.entries(obj)) {
        const sub = schema.fields[k];
        if (!sub) {
          if (!schema.open) errors.push({ path: join(path, k), message: `unknown field "${k}"` });
          continue;
        }
        validate(v, sub, join(path, k), errors);
      }
      return errors;
    }
  }
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

// --- the name and label rules of Kubernetes (apimachinery validation) ---

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function dns1123Label(v: string): string | undefined {
  if (v.length > 63) return `${JSON.stringify(v)} must be no more than 63 characters`;
  if (!DNS1123_LABEL.test(v)) {
    return `${JSON.stringify(v)} is not a valid DNS-1123 label: lower case alphanumeric characters or '-', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return `${JSON.stringify(v)} must be no more than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(v)) {
    return `${JSON.stringify(v)} is not a valid DNS-1123 subdomain: lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function labelKey(k: string): string | undefined {
  const slash = k.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [k.slice(0, slash), k.slice(slash + 1)] : [undefined, k];
  if (prefix !== undefined && dns1123Subdomain(prefix)) return `invalid label key ${JSON.stringify(k)}: prefix must be a DNS-1123 subdomain`;
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `invalid label key ${JSON.stringify(k)}: name part must be 1-63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63 || !QUALIFIED_NAME.test(v)) {
    return `invalid label value ${JSON.stringify(v)}: at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function portName(v: string): string | undefined {
  if (v.length > 15 || !IANA_SVC_NAME.test(v) || !/[a-z]/.test(v) || v.includes('--')) {
    return `${JSON.stringify(v)} is not a valid port name (IANA_SVC_NAME: at most 15 lower-case alphanumerics or '-', with a letter)`;
  }
  return undefined;
}
