// A product catalog and its full-text index, built at start from a deterministic generator
// (as an app would from a data file or a database dump).
const ADJECTIVES = [
  'red',
  'blue',
  'green',
  'compact',
  'heavy',
  'light',
  'smart',
  'classic',
  'modern',
  'rugged',
  'silent',
  'rapid',
  'solar',
  'wireless',
  'ergonomic',
  'vintage',
  'premium',
  'eco',
  'foldable',
  'waterproof',
];
const NOUNS = [
  'lamp',
  'chair',
  'desk',
  'kettle',
  'drill',
  'backpack',
  'speaker',
  'monitor',
  'keyboard',
  'bicycle',
  'tent',
  'jacket',
  'camera',
  'blender',
  'router',
  'headphones',
  'watch',
  'printer',
  'stove',
  'mixer',
];
const MATERIALS = ['steel', 'oak', 'bamboo', 'aluminium', 'carbon', 'cotton', 'leather', 'glass', 'ceramic', 'recycled plastic'];

function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Builds the catalog and an inverted index: token -> sorted product ids. */
export function buildCatalog(size = 60_000) {
  const random = generator(42);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const products = new Array(size);
  const postings = new Map();
  for (let id = 0; id < size; id++) {
    const name = `${pick(ADJECTIVES)} ${pick(ADJECTIVES)} ${pick(NOUNS)}`;
    const description = `A ${pick(ADJECTIVES)} ${pick(NOUNS)} made of ${pick(MATERIALS)}, ${Math.floor(random() * 90) + 10} cm, model ${id.toString(36)}`;
    products[id] = { id, sku: `SKU-${id.toString(36).toUpperCase()}`, name, description, price: Math.round(random() * 50_000) / 100 };
    for (const token of new Set(`${name} ${description}`.toLowerCase().split(/[^a-z0-9]+/))) {
      if (token.length < 2) continue;
      const list = postings.get(token);
      if (list) list.push(id);
      else postings.set(token, [id]);
    }
  }
  const index = new Map([...postings].map(([token, ids]) => [token, Int32Array.from(ids)]));
  const bySku = new Map(products.map((product) => [product.sku, product]));
  return {
    size,
    bySku,
    search(query, limit = 10) {
      const tokens = query
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((token) => token.length > 1);
      if (tokens.length === 0) return [];
      const lists = tokens.map((token) => index.get(token) ?? new Int32Array()).sort((a, b) => a.length - b.length);
      const [first, ...rest] = lists;
      const sets = rest.map((list) => new Set(list));
      const hits = [];
      for (const id of first) {
        if (sets.every((set) => set.has(id))) hits.push(products[id]);
        if (hits.length === limit) break;
      }
      return hits;
    },
  };
}
