import ts from 'typescript';

// Pricing rules written in TypeScript, transpiled at start (as apps do with ts-node, tsx or a
// plugin system): loading the compiler and transpiling is real start-up work.
function ruleSource(index) {
  return `
    interface Line { sku: string; qty: number; price: number }
    type Discount = { label: string; amount: number };
    export class Rule${index} {
      constructor(private readonly threshold: number = ${10 + index}) {}
      apply(line: Line): Discount | undefined {
        if (line.qty >= this.threshold) return { label: 'volume-${index}', amount: Math.round(line.price * line.qty * ${(index % 7) + 1}) / 100 };
        return undefined;
      }
    }
    export const rule = new Rule${index}();
  `;
}

/** Transpiles and loads the pricing rules; returns a function that prices a line. */
export function loadRules(count = 40) {
  const rules = [];
  for (let index = 0; index < count; index++) {
    const { outputText } = ts.transpileModule(ruleSource(index), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    const module = { exports: {} };
    new Function('module', 'exports', outputText)(module, module.exports);
    rules.push(module.exports.rule);
  }
  return {
    count,
    price(line) {
      const discounts = rules.map((rule) => rule.apply(line)).filter(Boolean);
      const best = discounts.reduce((max, discount) => (discount.amount > max.amount ? discount : max), { label: 'none', amount: 0 });
      return { ...line, total: Math.round((line.price * line.qty - best.amount) * 100) / 100, discount: best };
    },
  };
}
