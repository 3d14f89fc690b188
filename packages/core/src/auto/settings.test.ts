import { describe, expect, it } from 'vitest';
import { AUTO_INTEGRATIONS, readAutoSettings } from './settings.js';

describe('CRAC_AUTO', () => {
  it.each([[undefined], [''], ['on'], ['ALL'], ['1']])('%s turns everything on', (value) => {
    expect([...readAutoSettings({ CRAC_AUTO: value }).enabled]).toEqual([...AUTO_INTEGRATIONS]);
  });

  it.each([['off'], ['0'], ['none'], ['false']])('%s turns everything off', (value) => {
    expect(readAutoSettings({ CRAC_AUTO: value })).toEqual({ enabled: new Set(), unknown: [] });
  });

  it('takes a list, and reports the words it does not know', () => {
    expect(readAutoSettings({ CRAC_AUTO: 'servers, pg,redis' })).toEqual({ enabled: new Set(['servers', 'pg']), unknown: ['redis'] });
  });
});
