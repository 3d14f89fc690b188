import { describe, expect, it } from 'vitest';
import { claimOnce, Gate, waitUntil } from './index.js';

describe('Gate', () => {
  it('lets callers through while open and holds them, in order, while closed', async () => {
    const gate = new Gate();
    const order: string[] = [];
    expect(gate.call(() => 1)).toBe(1);
    gate.close();
    gate.run(() => order.push('a'));
    const b = gate.call(async () => {
      order.push('b');
      return 'b';
    });
    const c = gate.call(() => {
      throw new Error('c failed');
    });
    expect(gate.heldCount).toBe(3);
    expect(order).toEqual([]);
    gate.open();
    expect(order).toEqual(['a', 'b']);
    await expect(b).resolves.toBe('b');
    await expect(c).rejects.toThrow('c failed');
    expect(gate.isOpen).toBe(true);
  });

  it('keeps the rest held when a released caller closes it again', () => {
    const gate = new Gate();
    const ran: number[] = [];
    gate.close();
    gate.run(() => {
      ran.push(1);
      gate.close();
    });
    gate.run(() => ran.push(2));
    gate.open();
    expect(ran).toEqual([1]);
    expect(gate.heldCount).toBe(1);
    gate.open();
    expect(ran).toEqual([1, 2]);
  });
});

describe('waitUntil', () => {
  it('resolves true when the condition holds, false after the timeout', async () => {
    let done = false;
    setTimeout(() => {
      done = true;
    }, 30);
    await expect(waitUntil(() => done, { timeoutMs: 5_000 })).resolves.toBe(true);
    await expect(waitUntil(() => false, { timeoutMs: 30 })).resolves.toBe(false);
  });
});

describe('claimOnce', () => {
  it('claims an object once per tag, invisibly', () => {
    const pool = {};
    expect(claimOnce(pool, 'a', 1)).toBeUndefined();
    expect(claimOnce(pool, 'a', 2)).toBe(1);
    expect(claimOnce(pool, 'b', 3)).toBeUndefined();
    expect(Object.keys(pool)).toEqual([]);
  });
});
