import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start real Mosquitto/influxd processes; give them time on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel forks, one per core; each suite owns its servers on free ports.
    pool: 'forks',
  },
});
