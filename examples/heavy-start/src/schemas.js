import Ajv from 'ajv';

// Request schemas, compiled at start: a real API has dozens to hundreds of them.
function schemaFor(index) {
  const properties = {};
  for (let field = 0; field < 12; field++) {
    properties[`field${field}`] =
      field % 4 === 0
        ? { type: 'string', pattern: `^[a-z]{1,${8 + (index % 5)}}$` }
        : field % 4 === 1
          ? { type: 'integer', minimum: 0, maximum: 1000 + index }
          : field % 4 === 2
            ? {
                type: 'array',
                items: { type: 'object', properties: { id: { type: 'string' }, qty: { type: 'integer', minimum: 1 } }, required: ['id'] },
                maxItems: 50,
              }
            : { enum: ['a', 'b', 'c', `v${index}`] };
  }
  return { $id: `request-${index}`, type: 'object', properties, additionalProperties: false };
}

/** Compiles the API's request schemas; returns the quote validator and how many were compiled. */
export function compileSchemas(count = 220) {
  const ajv = new Ajv({ allErrors: true, coerceTypes: true });
  for (let index = 0; index < count; index++) ajv.compile(schemaFor(index));
  const quote = ajv.compile({
    $id: 'quote',
    type: 'object',
    properties: { sku: { type: 'string', pattern: '^SKU-[0-9A-Z]+$' }, qty: { type: 'integer', minimum: 1, maximum: 1000 } },
    required: ['sku', 'qty'],
  });
  return { count: count + 1, quote };
}
