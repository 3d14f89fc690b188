import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

const entry = {
  index: 'src/index.ts',
  kit: 'src/kit/index.ts',
  testing: 'src/testing.ts',
  image: 'src/image/index.ts',
  protocol: 'src/protocol/index.ts',
  register: 'src/register.ts',
};

export default defineConfig({
  ...packageBuild,
  entry,
  dts: { entry: { index: entry.index, kit: entry.kit, testing: entry.testing, image: entry.image, protocol: entry.protocol, register: entry.register } },
  shims: true,
});
