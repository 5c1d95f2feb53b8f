// Device profile parts with every default, for tests that build profiles in code.
import type { FieldSpec } from '../../src/devices/types.js';

/** A field as the loader fills it in: `name` and what the test sets, the rest defaults. */
export const field = (o: Partial<FieldSpec> & { name: string }): FieldSpec => ({
  unit: null, column: null, path: null, key: null, group: null, offset: null, type: null, endian: 'big',
  register: null, table: 'holding', wordOrder: 'big', scale: 1, add: 0, ...o,
});
