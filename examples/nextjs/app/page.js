// Rendered on each request: what a restored copy serves is rendered by the copy, with its environment.
export const dynamic = 'force-dynamic';

const products = Array.from({ length: 200 }, (_, index) => ({ sku: `SKU-${index}`, price: (index * 37) % 500 }));

export default function Home() {
  return (
    <main>
      <h1>Hello from {process.env.GREETING ?? 'Next.js'}</h1>
      <ul>
        {products.slice(0, 20).map((product) => (
          <li key={product.sku}>
            {product.sku}: {product.price}
          </li>
        ))}
      </ul>
    </main>
  );
}
